"""The engine is pure: it imports only the standard library, jsonschema, jinja2 and WhatsApp's limits,
and never reads the clock or opens files."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "flowapp" / "engine"
THIRD_PARTY = {"jsonschema", "jinja2"}
FLOWAPP_ALLOWED = ("flowapp.engine", "flowapp.whatsapp.payloads")
# Calls that read the clock or touch the outside world: methods (datetime.now, time.time) and open().
FORBIDDEN_METHODS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "urlopen", "getaddrinfo"}
FORBIDDEN_FUNCTIONS = {"open", "input"}


def _modules() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_imports_only_what_is_allowed():
    """stdlib, jsonschema, jinja2, the engine itself and flowapp.whatsapp.payloads; nothing else."""
    offences = []
    for path in _modules():
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "flowapp":
                allowed = any(name == ok or name.startswith(ok + ".") for ok in FLOWAPP_ALLOWED)
            else:
                allowed = top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__"
            if not allowed:
                offences.append(f"{path.relative_to(ENGINE)} imports {name}")
    assert offences == []


def test_engine_never_reads_the_clock_or_opens_files():
    """No datetime.now(), time.time(), open()...: `now` is always passed in."""
    offences = []
    for path in _modules():
        if path.parent.name == "schema":
            continue  # the schema generator writes its file: a developer tool, not the engine's runtime
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_METHODS:
                offences.append(f"{path.relative_to(ENGINE)}:{node.lineno} calls .{node.func.attr}()")
            if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_FUNCTIONS:
                offences.append(f"{path.relative_to(ENGINE)}:{node.lineno} calls {node.func.id}()")
    assert offences == []


def test_small_modules():
    """Files stay under ~400 lines (STYLE.md)."""
    assert [p.name for p in _modules() if len(p.read_text().splitlines()) > 400] == []

"""Layers: data flows web/jobs -> services -> (models, engine, whatsapp); nothing imports upward."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flowapp"

# package -> module prefixes it must never import
FORBIDDEN = {
    "engine": (
        "flask",
        "flowapp.web",
        "flowapp.services",
        "flowapp.jobs",
        "flowapp.models",
        "flowapp.extensions",
        "flowapp.whatsapp",
        "sqlalchemy",
        "requests",
        "redis",
        "rq",
    ),
    "whatsapp": (
        "flask",
        "flowapp.web",
        "flowapp.services",
        "flowapp.jobs",
        "flowapp.models",
        "flowapp.extensions",
        "flowapp.engine",
        "sqlalchemy",
        "rq",
    ),
    "services": ("flowapp.web",),
    "jobs": ("flowapp.web",),
    "models": ("flowapp.web", "flowapp.services", "flowapp.jobs", "requests", "redis"),
}


# Exceptions, each pure itself: the engine's validator checks WhatsApp's limits from one source.
ALLOWED = {"engine": ("flowapp.whatsapp.payloads", "flowapp.whatsapp.media_rules")}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package):
    """No module in `package` imports a forbidden layer or library."""
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, f"flowapp/{package} has no modules"
    offences = []
    for path in files:
        for name in imports_of(path):
            if name in ALLOWED.get(package, ()):
                continue
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offences.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert offences == []


def test_checker_catches_an_upward_import(tmp_path):
    """The checker itself sees a forbidden import (so the test above cannot pass vacuously)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from flowapp.web import auth\nimport flask\n")
    assert {"flowapp.web", "flask"} <= imports_of(bad)

"""Layers: data flows web/jobs -> pipeline -> services -> (models, engine, whatsapp); nothing imports upward.

Every import counts: at module level or inside a function, absolute or relative (`from ..jobs import
x`), and `from flowapp import jobs` as much as `import flowapp.jobs`.
"""

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "flowapp"

# layer (a package or a module of flowapp) -> module prefixes it must never import
FORBIDDEN = {
    "engine": (
        "flask",
        "flowapp.web",
        "flowapp.pipeline",
        "flowapp.services",
        "flowapp.jobs",
        "flowapp.models",
        "flowapp.extensions",
        "flowapp.work",
        "flowapp.whatsapp",
        "flowapp.ai",
        "sqlalchemy",
        "requests",
        "redis",
        "rq",
    ),
    "whatsapp": (
        "flask",
        "flowapp.web",
        "flowapp.pipeline",
        "flowapp.services",
        "flowapp.jobs",
        "flowapp.models",
        "flowapp.extensions",
        "flowapp.work",
        "flowapp.engine",
        "sqlalchemy",
        "rq",
    ),
    # The language-model adapter, like the WhatsApp one: HTTP only.
    "ai": (
        "flask",
        "flowapp.web",
        "flowapp.pipeline",
        "flowapp.services",
        "flowapp.jobs",
        "flowapp.models",
        "flowapp.extensions",
        "flowapp.work",
        "flowapp.engine",
        "flowapp.whatsapp",
        "flowapp.sandbox",
        "sqlalchemy",
        "redis",
        "rq",
    ),
    # The inbound pipeline sits between the jobs and the services.
    "pipeline": ("flowapp.web", "flowapp.jobs"),
    # Services describe follow-up work (flowapp.work) and never enqueue it themselves.
    "services": ("flowapp.web", "flowapp.jobs", "flowapp.pipeline"),
    "jobs": ("flowapp.web",),
    "extensions.py": ("flowapp.web", "flowapp.jobs", "flowapp.pipeline", "flowapp.services"),
    "work.py": ("flowapp.web", "flowapp.jobs", "flowapp.pipeline", "flowapp.services"),
    "models": (
        "flowapp.web",
        "flowapp.jobs",
        "flowapp.pipeline",
        "flowapp.services",
        "flowapp.extensions",
        "flowapp.work",
        "requests",
        "redis",
    ),
}

# Exceptions, each pure itself: the engine's validator checks WhatsApp's limits from one source.
ALLOWED = {"engine": ("flowapp.whatsapp.payloads", "flowapp.whatsapp.media_rules")}

# Packages that must not import each other in a circle.
CYCLE_FREE = ("services", "jobs", "web", "pipeline")


def module_name(path: Path, root: Path = ROOT) -> str:
    """`flowapp/services/outbox.py` -> `flowapp.services.outbox` (a package's `__init__` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute dotted names.

    `from a import b` counts as both `a` and `a.b`, since b may be a module: `from flowapp import
    jobs` imports flowapp.jobs.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):  # walks into functions: local imports count too
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute module of `from <level dots><module> import ...` written in `package`."""
    if node.level == 0:
        return node.module
    parts = package.split(".")
    if node.level - 1 >= len(parts):
        raise ValueError(f"relative import beyond the top-level package in {package}")
    base = ".".join(parts[: len(parts) - (node.level - 1)])
    return f"{base}.{node.module}" if node.module else base


def layer_files(layer: str, package: Path = PACKAGE) -> list[Path]:
    path = package / layer
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def offences(layer: str, package: Path = PACKAGE) -> list[str]:
    """Forbidden imports in `layer`, as "<file> imports <module>" lines."""
    found = []
    for path in layer_files(layer, package):
        for name in sorted(imports_of(path, package.parent)):
            if _within(name, ALLOWED.get(layer, ())):
                continue
            if _within(name, FORBIDDEN[layer]):
                found.append(f"{path.relative_to(package.parent).as_posix()} imports {name}")
    return found


def _within(name: str, prefixes) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    """No module in `layer` imports a forbidden layer or library."""
    assert (PACKAGE / layer).exists(), f"flowapp/{layer} is gone: update the rules"
    files = layer_files(layer)
    assert files, f"flowapp/{layer} has no modules"
    assert offences(layer) == []


def package_graph(package: Path = PACKAGE, layers=CYCLE_FREE) -> dict[str, set[str]]:
    """Which of `layers` each layer imports, from every import of its modules."""
    top = package.name
    graph = {layer: set() for layer in layers if (package / layer).is_dir()}
    for layer in graph:
        for path in layer_files(layer, package):
            for name in imports_of(path, package.parent):
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == top and parts[1] in graph and parts[1] != layer:
                    graph[layer].add(parts[1])
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in `graph` (first node repeated at the end), or None."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_cycle_between_layers():
    """services, jobs, web and pipeline import each other one way only."""
    graph = package_graph()
    # The graph is real: the edges every layering has must be seen (else the check proves nothing).
    assert {"services"} <= graph["jobs"] and {"services"} <= graph["web"], graph
    assert cycle(graph) is None, f"import cycle: {' -> '.join(cycle(graph))}"


def test_checker_sees_relative_local_and_package_imports(tmp_path):
    """Relative imports resolve against the file's package; function-local and `from flowapp import
    jobs` imports count."""
    services = tmp_path / "flowapp" / "services"
    services.mkdir(parents=True)
    (services / "__init__.py").write_text("from . import outbox\n")
    bad = services / "bad.py"
    bad.write_text(
        "from ..jobs import sends\n"
        "from . import outbox\n"
        "def later():\n"
        "    from flowapp.web import auth\n"
        "    import flask\n"
        "def package_style():\n"
        "    from flowapp import jobs\n"
    )
    names = imports_of(bad, tmp_path)
    assert {"flowapp.jobs", "flowapp.jobs.sends", "flowapp.services.outbox"} <= names
    assert {"flowapp.web", "flowapp.web.auth", "flask", "flowapp.jobs"} <= names
    assert "flowapp.services.outbox" in imports_of(services / "__init__.py", tmp_path)
    assert offences("services", tmp_path / "flowapp") == [
        "flowapp/services/bad.py imports flowapp.jobs",
        "flowapp/services/bad.py imports flowapp.jobs.sends",
        "flowapp/services/bad.py imports flowapp.web",
        "flowapp/services/bad.py imports flowapp.web.auth",
    ]


def test_checker_catches_a_cycle(tmp_path):
    """A circle through a relative and a function-local import is found (so the test above cannot
    pass vacuously); the same layers without it are fine."""
    package = tmp_path / "flowapp"
    for layer in ("services", "jobs", "web"):
        (package / layer).mkdir(parents=True)
        (package / layer / "__init__.py").write_text("")
    (package / "web" / "views.py").write_text("from flowapp.jobs import sends\n")
    (package / "jobs" / "sends.py").write_text("from ..services import outbox\n")
    outbox = package / "services" / "outbox.py"
    outbox.write_text("def kick():\n    from flowapp.jobs import sends\n")
    assert cycle(package_graph(package)) in (
        ["services", "jobs", "services"],
        ["jobs", "services", "jobs"],
    )
    outbox.write_text("from flowapp.models import OutboxEntry\n")
    assert package_graph(package) == {"services": set(), "jobs": {"services"}, "web": {"jobs"}}
    assert cycle(package_graph(package)) is None

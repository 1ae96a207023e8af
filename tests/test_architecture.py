"""The import graph runs one way: routes (pages) and api (JSON) → services → models.

Every `import` in app/ is read with ast, those inside functions too (a late import is still a
dependency). A failure names the edge: `app/services/x.py:12 app.services.x -> app.routes`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# The web layer: what answers HTTP requests. A service needs none of it.
WEB = ("app.routes", "app.api", "app.web", "app.templating", "app.deps", "app.main")
WEB += ("app.middleware", "app.errors", "app.live")
# A service that genuinely renders (HTML for a mail, say) may import app.templating; it is
# named here with the reason. None does today.
RENDERING_SERVICES: dict[str, str] = {}


def _module(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module(p): p for p in sorted(APP.rglob("*.py"))}


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in MODULES else base), node.lineno


EDGES = list(
    dict.fromkeys(
        (name, target, line)
        for name, path in MODULES.items()
        for target, line in _imports(name, path)
        if target == "app" or target.startswith("app.")
    )
)


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _edge(source: str, target: str, line: int) -> str:
    return f"{MODULES[source].relative_to(APP.parent)}:{line} {source} -> {target}"


def test_the_graph_is_read():
    # A guard on the walker itself: known edges are found, a late import in a function too.
    pairs = {(s, t) for s, t, _line in EDGES}
    assert ("app.routes.posts", "app.services.posts") in pairs
    assert ("app.cli.digest", "app.routes") in pairs


def test_services_and_models_do_not_import_the_web_layer():
    bad = [
        _edge(s, t, line)
        for s, t, line in EDGES
        if _within(s, "app.services", "app.models")
        and _within(t, *WEB)
        and not (t == "app.templating" and s in RENDERING_SERVICES)
    ]
    assert not bad, "services and models must not import routes/api/web:\n" + "\n".join(bad)


def test_models_do_not_import_services():
    bad = [
        _edge(s, t, line)
        for s, t, line in EDGES
        if _within(s, "app.models") and _within(t, "app.services")
    ]
    assert not bad, "\n".join(bad)


def test_pages_and_api_do_not_import_each_other():
    bad = [
        _edge(s, t, line)
        for s, t, line in EDGES
        if (_within(s, "app.routes") and _within(t, "app.api"))
        or (_within(s, "app.api") and _within(t, "app.routes"))
    ]
    assert not bad, "what both need belongs in a service:\n" + "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_services_import_each_other_without_cycles():
    graph: dict[str, set[str]] = {}
    for s, t, _line in EDGES:
        if _within(s, "app.services") and _within(t, "app.services") and s != t:
            graph.setdefault(s, set()).add(t)
    bad = [
        _edge(s, t, line)
        for cycle in _cycles(graph)
        for s, t, line in EDGES
        if s in cycle and t in cycle and s != t
    ]
    assert not bad, "an import cycle among services:\n" + "\n".join(bad)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

"""Every audit action and every changed-field key the code can write has a label in
app/labels.py, in Japanese and in English.

They are found in the code, not in a hand list: every `audit.record(...)` call in app/ is read
with ast and its action and its `before`/`after` keys followed back to where they come from —
a literal, a class's constant (`Actions.hide_post`), a module constant, a local variable
(`before = {...}`, `before["title"] = ...`), a function's returned dict (`user_snapshot`),
a comprehension over a literal list, or the arguments a local helper is called with
(`change(Actions.unit_rename, "name", ...)`). A call whose action or keys cannot be followed
fails the test with its place: write it so that it can be (a literal, a constant).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import i18n, labels

pytestmark = pytest.mark.nodb

APP = Path(__file__).resolve().parent.parent / "app"


class Unresolved(Exception):
    def __init__(self, node: ast.AST, why: str) -> None:
        super().__init__(f"line {getattr(node, 'lineno', '?')}: {why}: {ast.unparse(node)}")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(APP.rglob("*.py"))}
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST]


_loaded: dict[str, Module] = {}


def load(name: str) -> Module:
    if name not in _loaded:
        path = MODULES[name]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        _loaded[name] = Module(name, path, tree, parents)
    return _loaded[name]


def own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function (or module) body, not those of functions or classes in it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*FUNCS, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def scopes(mod: Module, node: ast.AST) -> list[ast.AST]:
    """The functions around `node`, innermost first, then the module."""
    out: list[ast.AST] = []
    at = mod.parents.get(node)
    while at is not None:
        if isinstance(at, FUNCS):
            out.append(at)
        at = mod.parents.get(at)
    return [*out, mod.tree]


def _imported(mod: Module, name: str) -> tuple[Module, str] | None:
    for node in mod.tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
            for alias in node.names:
                if (alias.asname or alias.name) == name and node.module in MODULES:
                    return load(node.module), alias.name
    return None


def _module_level(mod: Module, name: str) -> tuple[Module, ast.AST] | None:
    """What `name` is at the top of `mod` (an assignment, a def or a class), imports followed."""
    for node in mod.tree.body:
        if isinstance(node, (*FUNCS, ast.ClassDef)) and node.name == name:
            return mod, node
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return mod, node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == name and node.value is not None:
                return mod, node.value
    found = _imported(mod, name)
    return _module_level(*found) if found else None


class Resolver:
    """What an expression can be: `values` (the strings it may hold), `keys` (the keys of the
    dict it may be) and `items` (what iterating it may give)."""

    def values(self, mod: Module, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.values(mod, node.body) | self.values(mod, node.orelse)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self._class_constant(mod, node)
        if isinstance(node, ast.Name):
            return self._name(mod, node, "values")
        raise Unresolved(node, "a value that cannot be followed")

    def keys(self, mod: Module, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and node.value is None:
            return set()
        if isinstance(node, ast.Dict):
            out: set[str] = set()
            for key, value in zip(node.keys, node.values, strict=True):
                out |= self.keys(mod, value) if key is None else self.values(mod, key)
            return out
        if isinstance(node, ast.DictComp):
            return self._comprehended(mod, node.key, node.generators)
        if isinstance(node, ast.Name):
            return self._name(mod, node, "keys")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._returned_keys(mod, node.func)
        raise Unresolved(node, "changes whose keys cannot be followed")

    def items(self, mod: Module, node: ast.AST) -> set[str]:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(self.values(mod, e) for e in node.elts))
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return self._comprehended(mod, node.elt, node.generators)
        if isinstance(node, (ast.Dict, ast.DictComp)):
            return self.keys(mod, node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("items", "keys"):
                return self.keys(mod, node.func.value)
        if isinstance(node, ast.Name):
            return self._name(mod, node, "items")
        raise Unresolved(node, "an iterable that cannot be followed")

    def _comprehended(
        self, mod: Module, element: ast.AST, generators: list[ast.comprehension]
    ) -> set[str]:
        if isinstance(element, ast.Name):
            for gen in generators:
                target = gen.target
                first = target.elts[0] if isinstance(target, ast.Tuple) else target
                if isinstance(first, ast.Name) and first.id == element.id:
                    return self.items(mod, gen.iter)
        return self.values(mod, element)

    def _class_constant(self, mod: Module, node: ast.Attribute) -> set[str]:
        assert isinstance(node.value, ast.Name)
        found = _module_level(mod, node.value.id)
        if found and isinstance(found[1], ast.ClassDef):
            for stmt in found[1].body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == node.attr for t in stmt.targets)
                    and isinstance(stmt.value, ast.Constant)
                ):
                    return {stmt.value.value}
        raise Unresolved(node, "not a constant of a class")

    def _returned_keys(self, mod: Module, func: ast.Name) -> set[str]:
        found = _module_level(mod, func.id)
        if not found or not isinstance(found[1], FUNCS):
            raise Unresolved(func, "a call of something that is not a function of the app")
        where, fn = found
        returns = [n for n in own_nodes(fn) if isinstance(n, ast.Return) and n.value is not None]
        if not returns:
            raise Unresolved(func, "a function that returns nothing")
        return set().union(*(self.keys(where, r.value) for r in returns if r.value))

    def _name(self, mod: Module, node: ast.Name, mode: str) -> set[str]:
        follow = getattr(self, mode)
        for scope in scopes(mod, node):
            found: set[str] = set()
            bound = False
            if isinstance(scope, FUNCS):
                params = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
                kwonly = [a.arg for a in scope.args.kwonlyargs]
                if node.id in params or node.id in kwonly:
                    index = params.index(node.id) if node.id in params else None
                    return self._arguments(mod, scope, node.id, index, mode)
            for n in own_nodes(scope) if scope is not mod.tree else ():
                value = self._assigned(n, node.id)
                if value is not None:
                    bound = True
                    found |= follow(mod, value)
                if mode in ("keys", "items"):
                    for key in self._subscripted(n, node.id):
                        bound = True
                        found |= self.values(mod, key)
            if bound:
                return found
        top = _module_level(mod, node.id)
        if top is not None and not isinstance(top[1], (*FUNCS, ast.ClassDef)):
            return follow(top[0], top[1])  # type: ignore[no-any-return]
        raise Unresolved(node, "a name bound nowhere it can be followed")

    @staticmethod
    def _assigned(n: ast.AST, name: str) -> ast.AST | None:
        if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in n.targets
        ):
            return n.value
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            if n.target.id == name and n.value is not None:
                return n.value
        return None

    @staticmethod
    def _subscripted(n: ast.AST, name: str) -> Iterator[ast.AST]:
        """The keys of `name[key] = ...` (also as one of several targets)."""
        if not isinstance(n, ast.Assign):
            return
        for target in n.targets:
            for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == name
                ):
                    yield t.slice

    def _arguments(
        self, mod: Module, fn: ast.AST, name: str, index: int | None, mode: str
    ) -> set[str]:
        """A parameter: what the function is called with where it is defined (a local
        helper such as `change(...)`)."""
        assert isinstance(fn, FUNCS)
        outer = scopes(mod, fn)[0]
        calls = [
            n
            for n in own_nodes(outer)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == fn.name
        ]
        if not calls:
            raise Unresolved(fn, f"parameter {name} of a function called from elsewhere")
        found: set[str] = set()
        for call in calls:
            given = [k.value for k in call.keywords if k.arg == name]
            if not given and index is not None and index < len(call.args):
                given = [call.args[index]]
            if not given:
                raise Unresolved(call, f"a call that does not give {name}")
            found |= getattr(self, mode)(mod, given[0])
        return found


@dataclass
class Written:
    actions: set[str]
    keys: set[str]
    target_types: set[str]
    calls: int


def _record_calls(mod: Module) -> Iterator[ast.Call]:
    for node in ast.walk(mod.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "record"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "audit"
        ):
            yield node


def written() -> Written:
    resolver = Resolver()
    out = Written(set(), set(), set(), 0)
    problems = []
    for name in MODULES:
        mod = load(name)
        for call in _record_calls(mod):
            out.calls += 1
            place = f"{mod.path.relative_to(APP.parent)}:{call.lineno}"
            try:
                out.actions |= resolver.values(mod, call.args[2])
                for kw in call.keywords:
                    if kw.arg in ("before", "after"):
                        out.keys |= resolver.keys(mod, kw.value)
            except Unresolved as exc:
                problems.append(f"{place}: {exc}")
            try:
                out.target_types |= resolver.values(mod, call.args[3])
            except Unresolved:
                pass  # a target type worked out at run time (flags.dismiss: post or comment)
    assert not problems, "audit.record calls the test cannot follow:\n" + "\n".join(problems)
    return out


def test_the_calls_are_read():
    # A guard on the reader itself: a literal, a class constant, a module constant, a local
    # helper's argument, a snapshot function, tuple targets and comprehensions are all found.
    found = written()
    assert found.calls >= 35
    assert {
        "bulletin.item_add",
        "post.hide",
        "users.import",
        "unit.rename",
        "unit.reactivate",
        "complaint.update",
        "user.role",
    } <= found.actions
    assert {
        "flags_resolved",  # a literal
        "one_time_password",  # after["one_time_password"] = ...
        "email",  # user_snapshot(...)'s returned dict, and details_before["email"], ...
        "parent",  # change(Actions.unit_move, "parent", ...)
        "title",  # {name: "redacted" for name in redacted}
        "summary",  # changed_before["summary"] = ...
        "received_on",  # _public_fields(...) through a dict comprehension
    } <= found.keys
    assert {"post", "bulletin", "user", "unit", "kpi_month"} <= found.target_types


def _labels_in(locale: str, group: str) -> dict[str, str]:
    token = i18n.current_locale.set(locale)
    try:
        return dict(labels.LABELS[group]())
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.parametrize(
    ("group", "what"),
    [("audit_action", "actions"), ("audit_field", "keys"), ("audit_target", "target_types")],
)
def test_everything_written_has_a_label_in_both_languages(group, what):
    found: set[str] = getattr(written(), what)
    ja, en = _labels_in("ja", group), _labels_in("en", group)
    assert sorted(found - set(en)) == [], f"no label in app/labels.py ({group})"
    untranslated = sorted(k for k in found if ja[k] == en[k])
    assert untranslated == [], f"no Japanese for these labels ({group})"

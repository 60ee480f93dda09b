"""The shape of the code, checked statically (docs/architecture.md): no import circle among the modules of
``src/orderfactory``, no module over 500 lines, and a JSON:API engine that knows no domain app.

The import graph is read with ``ast`` from the source files, without importing them: every ``import`` and
``from ... import``, at module level and inside functions alike (a late import is still a dependency, only a
hidden one), resolved to the module it loads (``from orderfactory.core import scope`` is the module
``orderfactory.core.scope``; ``from orderfactory.core.scope import Scope`` is that module too). Imports under
``if TYPE_CHECKING:`` never run and do not count for circles. Migrations are left out: they are generated.

Circles and long modules that exist today are listed below as ratchets: a new one fails, a listed one may
only shrink, and an entry that is no longer needed fails too, so that the list is trimmed as the code gets
better. Both lists must end empty (issue #12).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "orderfactory"
MAX_LINES = 500

# Today's import circles (strongly connected components of the import graph). They must shrink to none: the
# refactor of issue #12 removes them. Never add one; when a circle shrinks or goes, update or remove its entry.
ALLOWED_CIRCLES: list[frozenset[str]] = []

# Today's modules over MAX_LINES, with their length as a ceiling they may not grow past; an entry leaves the
# list when its module is MAX_LINES or shorter, or gone (issue #12 splits them).
ALLOWED_LONG_MODULES: dict[str, int] = {}

DOMAIN_APPS = (
    "orders",
    "factories",
    "subscriptions",
    "catalog",
    "customers",
    "payments",
    "promotions",
    "inventory",
    "events",
    "addresses",
    "auth",
    "console",
)


def source_files() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.relative_to(PACKAGE).parts:
            yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(
    tree: ast.Module, module: str, is_package: bool, type_checking: bool
) -> Iterator[tuple[str | None, list[str]]]:
    """Each import of ``tree`` as (the module a ``from`` names, or None; the dotted names it loads: ``from a
    import b`` gives ``a.b``, whatever b is), relative imports resolved; with ``type_checking`` False, none
    under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and not type_checking and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield None, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            yield origin, [f"{origin}.{alias.name}" for alias in node.names if alias.name != "*"]
        stack.extend(ast.iter_child_nodes(node))


def import_graph(type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of orderfactory it imports (the deepest module each imported name names)."""
    files = {module_name(path): path for path in source_files()}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        targets: set[str] = set()
        for origin, names in imported_names(tree, module, path.name == "__init__.py", type_checking):
            # ``from package import submodule`` depends on the submodule: the package's __init__ runs first
            # (Python's package mechanics), but it is the package only when a name is not a module of its own.
            if origin is not None and (not names or not all(name in files for name in names)):
                names = [origin, *names]
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_import_graph_finds_a_circle_it_is_given() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}

    assert circles(graph) == [frozenset({"a", "b", "c"})]


def test_imports_are_resolved_to_modules_late_ones_included_type_checking_ones_not() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from orderfactory.core import scope\n"
        "from . import hooks\n"
        "if TYPE_CHECKING:\n"
        "    from orderfactory.orders.models import Order\n"
        "def late():\n"
        "    import orderfactory.tasks\n"
    )

    names = {
        name
        for _, loaded in imported_names(tree, "orderfactory.core.writes", False, type_checking=False)
        for name in loaded
    }

    assert {"orderfactory.core.scope", "orderfactory.core.hooks", "orderfactory.tasks"} <= names
    assert not any(name.startswith("orderfactory.orders") for name in names)


def test_no_new_import_circle() -> None:
    found = circles(import_graph())

    new = [sorted(c) for c in found if not any(c <= allowed for allowed in ALLOWED_CIRCLES)]
    assert not new, f"new import circles (never allowed): {new}"
    stale = [sorted(a) for a in ALLOWED_CIRCLES if a not in found]
    assert not stale, (
        f"allowed circles that shrank or are gone: {stale}; now found {[sorted(c) for c in found]}: "
        "update or remove their entries in ALLOWED_CIRCLES"
    )


def test_no_module_over_500_lines() -> None:
    lengths = {
        path.relative_to(SRC).as_posix(): len(path.read_text().splitlines()) for path in source_files()
    }

    too_long = {name: n for name, n in lengths.items() if n > ALLOWED_LONG_MODULES.get(name, MAX_LINES)}
    assert not too_long, f"modules over {MAX_LINES} lines or over their ceiling: {too_long}"
    stale = {name: lengths.get(name) for name in ALLOWED_LONG_MODULES if lengths.get(name, 0) <= MAX_LINES}
    assert not stale, f"remove these entries of ALLOWED_LONG_MODULES (length now): {stale}"


def test_the_jsonapi_engine_imports_no_domain_app() -> None:
    graph = import_graph(type_checking=True)
    reaching = {
        module: sorted(t for t in targets if t.split(".")[1:2] and t.split(".")[1] in DOMAIN_APPS)
        for module, targets in graph.items()
        if module == "orderfactory.jsonapi" or module.startswith("orderfactory.jsonapi.")
    }
    assert not {m: t for m, t in reaching.items() if t}


def test_a_submodule_imported_from_its_package_is_an_import_of_the_submodule() -> None:
    graph = import_graph()

    # editing.py says ``from orderfactory.orders.services import building, lines, ...``: it depends on those
    # modules, not on the package's __init__ that re-exports editing itself.
    assert "orderfactory.orders.services.building" in graph["orderfactory.orders.services.editing"]
    assert "orderfactory.orders.services" not in graph["orderfactory.orders.services.editing"]

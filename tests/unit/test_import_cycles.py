"""No import cycles among the modules of `services/` and `shared/`.

A cycle makes a module's meaning depend on which of the two was imported first, and is
usually hidden by moving one import into a function: that is how the customers and routing
cycles of issue 26 looked. The graph is read with `ast` (nothing is imported). The first
check takes module-level imports only, including those under a module-level `if`/`try`/
`with` or in a class body (they run at import time), but not those inside functions nor
under `if TYPE_CHECKING:`; the second adds the imports inside functions, so a cycle hidden
in a function fails too. A module that needs to break a cycle moves what both sides use
into a small module of its own (`customers/snapshots.py`, `routing/dialogue.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt], deferred: bool = False) -> Iterator[ast.stmt]:
    """The statements a module runs when imported; with `deferred`, function bodies too
    (never `if TYPE_CHECKING:` blocks)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if deferred:
                yield from _import_time_statements(node.body, deferred)
            continue
        yield node
        if isinstance(node, ast.If):
            if not _type_checking(node.test):
                yield from _import_time_statements(node.body, deferred)
            yield from _import_time_statements(node.orelse, deferred)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _import_time_statements(block, deferred)
            for handler in node.handlers:
                yield from _import_time_statements(handler.body, deferred)
        elif isinstance(node, ast.With | ast.AsyncWith | ast.ClassDef):
            yield from _import_time_statements(node.body, deferred)
        elif deferred and isinstance(node, ast.For | ast.AsyncFor | ast.While):
            yield from _import_time_statements(node.body + node.orelse, deferred)


def _imported(module: str, path: Path, known: dict[str, Path], deferred: bool = False) -> set[str]:
    """The project modules `module` imports at import time (with `deferred`, also inside
    its functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in _import_time_statements(tree.body, deferred):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in known:  # `from pkg import submodule`
                    found.add(f"{source}.{alias.name}")
                elif source in known:
                    found.add(source)
    found.discard(module)
    return found


def import_graph(deferred: bool = False) -> dict[str, set[str]]:
    known = project_modules()
    return {module: _imported(module, path, known, deferred) for module, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_services_and_shared() -> None:
    graph = import_graph()
    assert len(graph) > 100, "the modules were not found"
    found = cycles(graph)
    assert not found, "import cycles (module-level imports):\n" + "\n".join(
        " ↔ ".join(component) for component in found
    )


def test_no_cycle_hidden_in_a_function_either() -> None:
    found = cycles(import_graph(deferred=True))
    assert not found, "import cycles (counting imports inside functions):\n" + "\n".join(
        " ↔ ".join(component) for component in found
    )


def test_the_check_sees_a_cycle_and_ignores_what_never_runs_at_import_time(
    tmp_path: Path,
) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = (
        "from typing import TYPE_CHECKING\n"
        "import services.x\n"
        "if TYPE_CHECKING:\n    import services.y\n"
        "def f():\n    import services.z\n"
        "try:\n    from services import w\nexcept ImportError:\n    pass\n"
    )
    path = tmp_path / "m.py"
    path.write_text(source)
    known = {name: path for name in ("services", "services.x", "services.y", "services.z")}
    known["services.w"] = path
    assert _imported("services.m", path, known) == {"services.x", "services.w"}
    assert _imported("services.m", path, known, deferred=True) == {
        "services.x",
        "services.w",
        "services.z",
    }

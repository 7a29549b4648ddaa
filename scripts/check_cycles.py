"""Fail on any import cycle between the project's modules (`make lint` and CI run this).

Reads every module's source with `ast` (nothing is imported), keeps the imports made at module
level (function-level imports run later and cannot form an import-time cycle; each one carries a
comment saying why it is there), and looks for strongly connected components of the graph.
`if TYPE_CHECKING:` blocks are ignored: they never run. Prints each cycle as `a → b → … → a` and
exits 1 if there is any.

    python scripts/check_cycles.py [--packages bosco accounts ...] [--show-function-imports]
"""

from __future__ import annotations

import argparse
import ast
import configparser
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def contract_packages(root: Path) -> tuple[str, ...]:
    """The project's packages, as the import contract lists them (`.importlinter` root_packages),
    so a new app is checked for cycles the day it joins the contract."""
    config = configparser.ConfigParser()
    config.read(root / ".importlinter")
    return tuple(config["importlinter"]["root_packages"].split())


PACKAGES = contract_packages(ROOT)


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the packages (migrations included)."""
    found: dict[str, Path] = {}
    for package in packages:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: top level, and inside top-level if/try/with."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                pending.extend(node.body)
            pending.extend(node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, ast.With):
            pending.extend(node.body)


def function_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run only when a function (or class body) runs; `if TYPE_CHECKING:` ones never run."""
    skip = set(map(id, module_level_imports(tree)))
    for node in tree.body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skip |= {id(inner) for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
            yield node


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Project modules this import statement loads (the deepest known module of each name)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _absolute(node, module, is_package)
        # `from pkg import sub` loads the submodule; `from pkg import name` needs pkg/__init__ itself.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    out: set[str] = set()
    for name in names:
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        if parts:
            out.add(".".join(parts))
    out.discard(module)
    return out


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    files = module_files(root, packages)
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in module_level_imports(tree):
            edges |= targets(node, module, path.name == "__init__.py", modules)
        # Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first, unless they are the importing
        # module's own packages (already being imported when this module runs).
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        for target in list(edges):
            parts = target.split(".")
            edges |= {".".join(parts[:i]) for i in range(1, len(parts))} & modules - own
        edges.discard(module)
        graph[module] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is deep enough to trouble recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, for the report."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES))
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--show-function-imports", action="store_true", help="list imports made inside functions")
    args = parser.parse_args(argv)
    graph = import_graph(args.root, args.packages)
    if args.show_function_imports:
        for _module, path in sorted(module_files(args.root, args.packages).items()):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in function_level_imports(tree):
                print(f"{path.relative_to(args.root)}:{node.lineno}: {ast.unparse(node)}")
    cycles = strongly_connected(graph)
    for component in cycles:
        print("import cycle: " + " → ".join(one_cycle(graph, component)))
        if len(component) > 2:
            print("  (modules in this tangle: " + ", ".join(component) + ")")
    if cycles:
        print(f"{len(cycles)} import cycle(s) between project modules", file=sys.stderr)
        return 1
    print(f"no import cycles among {len(graph)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())

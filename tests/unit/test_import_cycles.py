"""No import cycles between the repository's modules, lazy imports included.

An import inside a function, or under ``TYPE_CHECKING``, that closes a cycle is still a cycle:
the two modules cannot be understood, tested or moved one without the other. Each import is
mapped to the repository module it names (``from a.b import c`` names ``a.b.c`` when that file
exists, else ``a.b``); a cycle is a strongly connected component of that graph.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from tests.fixtures.imports import (
    CODE,
    REPO,
    Import,
    imports,
    module_of,
    modules,
    named_module,
    write_module,
)


def import_graph(packages: tuple[str, ...], root: Path) -> dict[str, dict[str, list[Import]]]:
    """For each module, the repository modules it imports and the imports that name each."""
    known = modules(packages, root)
    graph: dict[str, dict[str, list[Import]]] = {module: {} for module in known}
    for package in packages:
        for found in imports(package, root):
            source, target = module_of(found.file), named_module(found.name, known)
            if target is not None and target != source:
                graph[source].setdefault(target, []).append(found)
    return graph


def strongly_connected(graph: dict[str, dict[str, list[Import]]]) -> list[list[str]]:
    """Tarjan's components of more than one module, each sorted, in a fixed order."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return sorted(components)


def import_cycles(packages: tuple[str, ...], root: Path = REPO) -> list[str]:
    """Each cycle of ``packages``: its modules, then every import that keeps it closed."""
    graph = import_graph(packages, root)
    found = []
    for component in strongly_connected(graph):
        members = set(component)
        lines = [f"cycle of {', '.join(component)}:"]
        for module in component:
            for target, named in sorted(graph[module].items()):
                if target in members:
                    lines += [f"  {where} imports {what}" for where, what in _grouped(named)]
        found.append("\n".join(lines))
    return found


def _grouped(named: Iterable[Import]) -> list[tuple[str, str]]:
    """``file:line`` and the names one statement imports, one entry a statement."""
    by_statement: dict[str, list[str]] = defaultdict(list)
    for found in named:
        by_statement[f"{found.file}:{found.line}"].append(found.name)
    return [(where, ", ".join(names)) for where, names in by_statement.items()]


def test_the_repository_has_no_import_cycles() -> None:
    cycles = import_cycles(CODE)
    assert cycles == [], "\n".join(cycles)


def test_a_cycle_closed_by_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    write_module(tmp_path, "shop.__init__", "")
    write_module(tmp_path, "shop.orders", "from shop.stock import reserve, release\n")
    write_module(tmp_path, "shop.stock", "def reserve():\n    from shop import orders\n")
    write_module(tmp_path, "shop.report", "import shop.orders\n")  # into the cycle, not in it
    assert import_cycles(("shop",), tmp_path) == [
        "cycle of shop.orders, shop.stock:\n"
        "  shop/orders.py:1 imports shop.stock.reserve, shop.stock.release\n"
        "  shop/stock.py:2 imports shop.orders"
    ]


def test_cycles_through_packages_and_type_checking_imports_are_found(tmp_path: Path) -> None:
    write_module(tmp_path, "shop.__init__", "from .orders import Order\nPRICE = 1\n")
    write_module(tmp_path, "shop.orders", "from shop import PRICE\n")
    write_module(tmp_path, "till.__init__", "")
    write_module(tmp_path, "till.a", "from till.b import x\n")
    write_module(tmp_path, "till.b", "if TYPE_CHECKING:\n    import till.a\n")
    assert import_cycles(("shop", "till"), tmp_path) == [
        "cycle of shop, shop.orders:\n"
        "  shop/__init__.py:1 imports shop.orders.Order\n"
        "  shop/orders.py:1 imports shop.PRICE",
        "cycle of till.a, till.b:\n  till/a.py:1 imports till.b.x\n  till/b.py:2 imports till.a",
    ]


def test_imports_of_other_packages_and_of_the_module_itself_close_no_cycle(
    tmp_path: Path,
) -> None:
    write_module(tmp_path, "shop.__init__", "from shop import helpers\nimport os.path\n")
    write_module(tmp_path, "shop.helpers", "from json import dumps\nimport shop.helpers\n")
    assert import_cycles(("shop",), tmp_path) == []

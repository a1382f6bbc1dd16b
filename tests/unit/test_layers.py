"""The README's package table (Architecture), held true by reading every import of the code.

Imports inside functions and under ``TYPE_CHECKING`` count too: a rule broken lazily is
still broken.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imports(package: str, root: Path = REPO) -> Iterator[tuple[str, int, str]]:
    """(file, line, dotted name) of everything the modules of ``package`` import; ``from a
    import b`` yields ``a.b``, which is how a submodule imported that way is named."""
    for path in sorted((root / package).rglob("*.py")):
        where = path.relative_to(root)
        for node in ast.walk(ast.parse(path.read_text(), str(where))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield str(where), node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(where, node)
                for alias in node.names:
                    yield str(where), node.lineno, f"{module}.{alias.name}"


def _absolute(where: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = where.with_suffix("").parts[: -node.level]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def broken(package: str, allowed: Callable[[str], bool]) -> list[str]:
    """The imports of ``package`` that ``allowed`` refuses, where they are."""
    return [
        f"{where}:{line} imports {name}"
        for where, line, name in imports(package)
        if not allowed(name)
    ]


def test_the_reader_sees_lazy_relative_and_submodule_imports(tmp_path: Path) -> None:
    routes = tmp_path / "api" / "routes"
    routes.mkdir(parents=True)
    (routes / "fake.py").write_text(
        "import workers.sweeper\n"
        "if TYPE_CHECKING:\n    from workers.leases import FailureReason\n"
        "def f():\n    from workers import lifecycle\n    from .x import y\n"
    )
    assert [name for _, _, name in imports("api", tmp_path)] == [
        "workers.sweeper",
        "workers.leases.FailureReason",
        "workers.lifecycle",
        "api.routes.x.y",
    ]


def test_the_domain_imports_the_standard_library_only() -> None:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        return top in sys.stdlib_module_names or top == "evidence"

    assert broken("evidence", allowed) == []


@pytest.mark.parametrize(
    ("package", "never"),
    [("storage", ("workers", "api")), ("workers", ("api",))],
)
def test_lower_packages_never_import_the_ones_above(package: str, never: tuple[str, ...]) -> None:
    assert broken(package, lambda name: not any(_in(name, above) for above in never)) == []


def test_the_api_imports_of_the_workers_only_the_broker_that_sends_jobs() -> None:
    """Everything else of an item's lifecycle it reaches through bukti.operations."""

    def allowed(name: str) -> bool:
        return not _in(name, "workers") or _in(name, "workers.broker")

    assert broken("api", allowed) == []

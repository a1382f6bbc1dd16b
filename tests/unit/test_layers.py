"""The README's package table (Architecture), held true by reading every import of the code;
and two rules of how modules use one another: no module imports another's private names,
and no test module imports from another test module (shared helpers live in
``tests/fixtures``).

Imports inside functions and under ``TYPE_CHECKING`` count too: a rule broken lazily is
still broken.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.imports import CODE, REPO, absolute_module, imports, write_module


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
    write_module(
        tmp_path,
        "api.routes.fake",
        "import workers.sweeper\n"
        "if TYPE_CHECKING:\n    from workers.leases import FailureReason\n"
        "def f():\n    from workers import lifecycle\n    from .x import y\n",
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


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _is_ours(name: str, packages: tuple[str, ...]) -> bool:
    return any(_in(name, package) for package in packages)


def private_uses(package: str, root: Path = REPO) -> Iterator[tuple[str, int, str]]:
    """(file, line, dotted name) of each private name of another module of ours that the
    modules of ``package`` reach: imported (``from a import _b``, ``import a._b``) or read
    as an attribute of a module imported whole (``from a import b`` then ``b._c``)."""
    ours = (*CODE, "tests")
    for where, line, name in imports(package, root):
        if _is_ours(name, ours) and any(map(_is_private, name.split(".")[1:])):
            yield where, line, name
    for path in sorted((root / package).rglob("*.py")):
        where = path.relative_to(root)
        tree = ast.parse(path.read_text(), str(where))
        modules = _modules_bound(where, tree, root, ours)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _is_private(node.attr)
            ):
                yield str(where), node.lineno, f"{modules[node.value.id]}.{node.attr}"


def _modules_bound(where: Path, tree: ast.AST, root: Path, ours: tuple[str, ...]) -> dict[str, str]:
    """The local names that a module binds to modules of ours, and the modules they name."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and _is_ours(alias.name, ours):
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            module = absolute_module(where, node)
            for alias in node.names:
                name = f"{module}.{alias.name}"
                path = root.joinpath(*name.split("."))
                if _is_ours(name, ours) and (
                    path.with_suffix(".py").exists() or (path / "__init__.py").exists()
                ):
                    bound[alias.asname or alias.name] = name
    return bound


def test_the_reader_sees_private_names_imported_or_read_from_a_module(tmp_path: Path) -> None:
    write_module(tmp_path, "api.routes.evidence", "def _enqueue(): ...\ndef visible(): ...\n")
    write_module(
        tmp_path,
        "api.routes.resumable",
        "from api.routes.evidence import _enqueue, visible\n"
        "from api.routes import evidence\n"
        "from . import evidence as ev\n"
        "import api.routes._hidden\n"
        "from os import _exit\n"
        "from api import __version__\n"
        "def f(x):\n    evidence._enqueue(); ev._enqueue(); x._private; evidence.visible()\n",
    )
    assert sorted(name for _, _, name in private_uses("api", tmp_path)) == [
        "api.routes._hidden",
        "api.routes.evidence._enqueue",
        "api.routes.evidence._enqueue",
        "api.routes.evidence._enqueue",
    ]


@pytest.mark.parametrize("package", CODE)
def test_no_module_uses_another_modules_private_names(package: str) -> None:
    """What two modules share is public: a private name is its own module's to change."""
    assert list(private_uses(package)) == []


def test_the_reader_sees_imports_from_test_modules(tmp_path: Path) -> None:
    write_module(
        tmp_path,
        "tests.unit.test_b",
        "from tests.unit.test_a import helper\n"
        "from tests.fixtures.photos import sample\n"
        "def test_x():\n    from .test_a import other\n    from tests.unit import test_a\n",
    )
    assert [name for _, _, name in imports_of_test_modules(tmp_path)] == [
        "tests.unit.test_a.helper",
        "tests.unit.test_a.other",
        "tests.unit.test_a",
    ]


def imports_of_test_modules(root: Path = REPO) -> Iterator[tuple[str, int, str]]:
    """(file, line, dotted name) of each import, anywhere below tests/, from a test module."""
    for where, line, name in imports("tests", root):
        if _in(name, "tests") and any(part.startswith("test_") for part in name.split(".")):
            yield where, line, name


def test_no_test_module_imports_from_another_test_module() -> None:
    """Helpers two test modules share live in tests/fixtures, the one world every test uses."""
    assert list(imports_of_test_modules()) == []

"""docs/vocabulary.md names exactly the statuses, kinds, roles and flags the code has."""

from __future__ import annotations

import re
from pathlib import Path

from evidence.flags import SEVERITY, Code
from evidence.status import Kind, Role, Status

DOC = Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md"


def _section(title: str) -> dict[str, list[str]]:
    text = DOC.read_text()
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \|(.*)\|$", body, flags=re.MULTILINE)
    return {name: [cell.strip() for cell in rest.split("|")] for name, rest in rows}


def test_every_flag_code_is_documented_with_its_severity() -> None:
    documented = {code: cells[0] for code, cells in _section("Flags").items()}
    assert documented == {code.value: severity.value for code, severity in SEVERITY.items()}
    assert set(SEVERITY) == set(Code)


def test_every_status_kind_and_role_is_documented() -> None:
    assert set(_section("Evidence statuses")) == {status.value for status in Status}
    assert set(_section("Kinds of evidence")) == {kind.value for kind in Kind}
    assert set(_section("Roles")) == {role.value for role in Role}

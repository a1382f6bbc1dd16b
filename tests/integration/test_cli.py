"""The operators' command line: users, imports, usage, month closing; clear messages on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bukti.cli import main
from bukti.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Path]:
    """Point the command line at the test's database and data directory."""
    monkeypatch.setenv("BUKTI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BUKTI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_imports_schools_and_teachers_then_adds_a_user_with_a_token(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schools = cli_env / "schools.csv"
    schools.write_text(
        "name,lat,lon,radius_m,timezone\nSMKN 1 Cianjur,-6.8168,107.1425,150,Asia/Jakarta\n"
    )
    teachers = cli_env / "teachers.csv"
    teachers.write_text("nip,name,school_id\n198003102005012007,Erni Wardhani,1\n")
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "import", "schools", str(schools))[1].strip() == "imported 1 schools"
    assert run(capsys, "import", "teachers", str(teachers))[1].strip() == "imported 1 teachers"
    code, out, _ = run(
        capsys, "user", "add", "--name", "Erni", "--role", "teacher", "--teacher-id", "1"
    )
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("bkt_")


def test_a_bad_csv_row_names_its_line_and_imports_nothing(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1,-6.8,107.1\nSMKN 2,-96,107.1\n")
    code, _, err = run(capsys, "import", "schools", str(schools))
    assert code == 2 and "schools.csv:3: lat" in err and "Traceback" not in err
    usage = run(capsys, "usage")[1]
    assert json.loads(usage) == []


def test_a_user_for_a_missing_teacher_is_a_clear_error(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    code, _, err = run(
        capsys, "user", "add", "--name", "x", "--role", "teacher", "--teacher-id", "99"
    )
    assert code == 2 and err.strip() == "bukti: teacher 99 not found"
    code, _, err = run(capsys, "user", "add", "--name", "x", "--role", "reviewer")
    assert code == 2 and "school_id" in err


def test_close_month_flags_teachers_once(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1,-6.8,107.1\n")
    teachers = cli_env / "teachers.csv"
    teachers.write_text("nip,name,school_id\n198003102005012007,Erni,1\n")
    run(capsys, "migrate")
    run(capsys, "import", "schools", str(schools))
    run(capsys, "import", "teachers", str(teachers))
    assert "2 missing" in run(capsys, "close-month", "--month", "2026-09")[1]
    assert "0 missing" in run(capsys, "close-month", "--month", "2026-09")[1]
    code, _, err = run(capsys, "close-month", "--month", "September")
    assert code == 2 and "YYYY-MM" in err

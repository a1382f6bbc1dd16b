"""The operators' command line: users, imports, usage, month closing; clear messages on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bukti.cli import main
from bukti.settings import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]


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
    assert "1 added, 0 updated" in run(capsys, "import", "schools", str(schools))[1]
    assert "1 added, 0 updated" in run(capsys, "import", "teachers", str(teachers))[1]
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
    assert code == 2 and "schools.csv line 3, field 'lat'" in err and "Traceback" not in err
    usage = json.loads(run(capsys, "usage", "--json")[1])
    assert usage["rows"] == [] and usage["total"]["held_bytes"] == 0


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


def test_importing_again_updates_by_natural_key_instead_of_duplicating(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1 Cianjur,-6.8,107.1\nSMAN 2 Bogor,-6.6,106.8\n")
    run(capsys, "import", "schools", str(schools))
    schools.write_text(
        "name,lat,lon,radius_m\nsmkn 1  cianjur,-6.8,107.1,200\nSMAN 2 Bogor,-6.6,106.8,150\n"
    )
    code, out, _ = run(capsys, "import", "schools", str(schools))
    assert code == 0 and "0 added, 1 updated, 1 unchanged (matched by name)" in out
    teachers = cli_env / "teachers.csv"
    teachers.write_text("nip,name,school_id\n198003102005012007,Erni,1\n")
    run(capsys, "import", "teachers", str(teachers))
    teachers.write_text("nip,name,school_id\n198003102005012007,Erni Wardhani,2\n")
    assert "0 added, 1 updated" in run(capsys, "import", "teachers", str(teachers))[1]


def test_every_bad_row_is_named_in_words_and_nothing_is_imported(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    teachers = cli_env / "teachers.csv"
    teachers.write_text(
        "nip,name,school_id\n12,Erni,1\n198003102005012007,Asep,9\n198003102005012007,Ani,9\n"
    )
    code, _, err = run(capsys, "import", "teachers", str(teachers))
    assert code == 2 and "Traceback" not in err
    assert "teachers.csv line 2, field 'nip'" in err
    assert "teachers.csv line 3, field 'school_id': no school 9" in err
    assert "line 4: NIP 198003102005012007 repeats line 3" in err
    binary = cli_env / "schools.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "import", "schools", str(binary))
    assert code == 2 and "not UTF-8 text" in err


def test_a_large_file_reports_its_progress(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\n" + "".join(f"SD {n},-6.8,107.1\n" for n in range(2000)))
    code, out, err = run(capsys, "import", "schools", str(schools))
    assert code == 0 and "2000 added" in out
    assert "checked 1,000 of 2,000 rows" in err


def test_commands_outside_the_data_dir_refuse_to_create_an_empty_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUKTI_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("BUKTI_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        code, _, err = run(capsys, "usage")
    finally:
        get_settings.cache_clear()
    assert code == 2 and "no database at" in err and "BUKTI_DATA_DIR" in err
    assert not (tmp_path / "nowhere" / "bukti.db").exists()


def test_tokens_are_listed_added_rotated_and_revoked_from_the_command_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    run(capsys, "user", "add", "--name", "Ops", "--role", "admin")
    code, out, _ = run(capsys, "token", "add", "--user-id", "1", "--label", "script")
    assert code == 0 and out.strip().splitlines()[-1].startswith("bkt_")
    listed = run(capsys, "token", "list", "--user-id", "1")[1]
    assert "first token" in listed and "script" in listed and "bkt_" not in listed
    code, out, _ = run(capsys, "token", "rotate", "2")
    assert (
        code == 0
        and "token 2 is revoked" in out
        and out.strip().splitlines()[-1].startswith("bkt_")
    )
    assert run(capsys, "token", "revoke", "1")[1].strip() == "token 1 is revoked"
    assert "revoked" in run(capsys, "token", "list", "--user-id", "1")[1]
    assert run(capsys, "user", "deactivate", "1")[0] == 0
    assert "inactive" in run(capsys, "user", "list")[1]


def test_close_month_refuses_a_month_that_has_not_ended_and_skips_later_starts(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1,-6.8,107.1\n")
    teachers = cli_env / "teachers.csv"
    teachers.write_text(
        "nip,name,school_id,start_date\n"
        "198003102005012007,Erni,1,2026-09-01\n"
        "197501012000031002,Asep,1,2026-09-02\n"  # starts after 1 September: owes October first
    )
    run(capsys, "migrate")
    run(capsys, "import", "schools", str(schools))
    run(capsys, "import", "teachers", str(teachers))
    assert "2 missing" in run(capsys, "close-month", "--month", "2026-09")[1]
    code, _, err = run(capsys, "close-month", "--month", "2099-01")
    assert code == 2 and "2099-01 has not ended yet" in err


def test_imports_a_school_calendar_and_names_a_bad_line_and_field(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1,-6.8,107.1\nSMAN 2,-6.9,107.6\n")
    run(capsys, "migrate")
    run(capsys, "import", "schools", str(schools))
    calendar = cli_env / "kalender.csv"
    calendar.write_text(
        "school_id,label,start,end,weekdays,check_in_by,check_out_from,day_off\n"
        "1,Jumat,,,4,,11:30,\n"
        "1,Ramadan,2027-02-08,2027-03-09,,08:00,14:00,\n"
        "2,Hari jadi sekolah,2026-11-02,2026-11-02,,,,yes\n"
    )
    code, out, _ = run(capsys, "import", "calendar", str(calendar))
    assert code == 0 and "3 calendar entries for 2 school(s)" in out
    bad = cli_env / "salah.csv"
    bad.write_text(
        "school_id,label,start,end,weekdays,check_in_by,check_out_from,day_off\n"
        "1,Jumat,,,4,,11:30,\n"
        "1,Ramadan,2027-02-08,2027-03-09,,8 pagi,14:00,\n"
    )
    code, _, err = run(capsys, "import", "calendar", str(bad))
    assert code == 2 and f"{bad}:3: check_in_by: " in err and "HH:MM" in err
    from bukti.bootstrap import Services
    from storage.models import School

    services = Services(get_settings())
    with services.sessions() as session:
        first = session.get(School, 1)
        assert first is not None and [entry["label"] for entry in first.calendar] == [
            "Jumat",
            "Ramadan",
        ]  # the bad file changed nothing
    services.close()
    unknown = cli_env / "sekolah9.csv"
    unknown.write_text("school_id,label,start,end,day_off\n9,Libur,2026-11-02,2026-11-02,yes\n")
    code, _, err = run(capsys, "import", "calendar", str(unknown))
    assert code == 2 and "school 9 not found" in err


def test_a_user_added_with_a_password_signs_in_and_an_operator_can_reset_it(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.fixtures.web import sign_in

    schools = cli_env / "schools.csv"
    schools.write_text("name,lat,lon\nSMKN 1 Cianjur,-6.8168,107.1425\n")
    run(capsys, "migrate")
    run(capsys, "import", "schools", str(schools))
    monkeypatch.setattr("sys.stdin", io.StringIO("rahasia-sekali-123\n"))
    code, out, _ = run(
        capsys,
        *("user", "add", "--name", "Koordinator", "--role", "reviewer", "--school-id", "1"),
        *("--login", "koordinator", "--password"),
    )
    assert code == 0 and "sign in on the pages as koordinator" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "user", "password", "--login", "koordinator")
    assert code == 2 and "at least 10 characters" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-baru-12345\n"))
    assert run(capsys, "user", "password", "--login", "KOORDINATOR")[0] == 0
    code, _, err = run(capsys, "user", "password", "--user-id", "99")
    assert code == 2 and "no user 99" in err

    get_settings.cache_clear()
    with TestClient(create_app(get_settings(), enqueue=lambda *a: None)) as client:
        sign_in(client, "koordinator", "sandi-baru-12345")
        assert client.get("/api/v1/users/me").json()["name"] == "Koordinator"

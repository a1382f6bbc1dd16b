"""The audit trail's hash chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from bukti.cli import main
from bukti.settings import get_settings
from storage.audit import Actor, append, verify_chain
from storage.db import build_engine, build_sessions, transaction
from storage.models import AuditEntry

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(database_url)
    yield build_sessions(engine)
    engine.dispose()


def _write(sessions: sessionmaker[Session], count: int) -> None:
    for n in range(count):
        with transaction(sessions) as session:
            append(
                session,
                Actor(7, "Koordinator"),
                "review.decided",
                f"evidence:{n}",
                evidence_id=n,
                school_id=1,
                data={"old": None, "new": {"decision": "approved", "n": n}},
            )


def test_an_untouched_chain_verifies(sessions: sessionmaker[Session]) -> None:
    _write(sessions, 5)
    with sessions() as session:
        report = verify_chain(session)
    assert report.is_intact
    assert report.checked == 5


def test_an_edited_entry_breaks_the_chain_there(sessions: sessionmaker[Session]) -> None:
    _write(sessions, 5)
    with transaction(sessions) as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.seq == 3).values(data={"new": "approved?"})
        )
    with sessions() as session:
        report = verify_chain(session)
    assert (report.broken_at, report.checked) == (3, 2)
    assert "changed" in (report.problem or "")


def test_a_removed_entry_is_found(sessions: sessionmaker[Session]) -> None:
    _write(sessions, 5)
    with transaction(sessions) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    with sessions() as session:
        report = verify_chain(session)
    assert report.broken_at == 2
    assert "missing" in (report.problem or "")


def test_removing_the_newest_entries_is_found(sessions: sessionmaker[Session]) -> None:
    _write(sessions, 4)
    with transaction(sessions) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 3))
    with sessions() as session:
        report = verify_chain(session)
    assert report.broken_at == 3
    assert "removed" in (report.problem or "")


def test_concurrent_writers_never_fork_the_chain(sessions: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            _write(sessions, 10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        report = verify_chain(session)
    assert report.is_intact
    assert report.checked == 40


def test_the_verify_command_names_the_first_break(
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("BUKTI_DATABASE_URL", database_url)
    monkeypatch.setenv("BUKTI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    _write(sessions, 3)
    assert main(["audit", "verify"]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out
    with transaction(sessions) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor_name="x"))
    assert main(["audit", "verify"]) == 1
    assert "broken at entry 2" in capsys.readouterr().out
    get_settings.cache_clear()

"""Migrations on both databases: from empty to head, and 0010 moving users' tokens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.auth import find_principal, token_digest
from storage.db import alembic_config, build_engine, build_sessions, upgrade

pytestmark = [pytest.mark.integration]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    name = f"bukti_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_existing_users_keep_their_tokens_through_the_token_table_migration(
    empty_url: str,
) -> None:
    command.upgrade(alembic_config(empty_url), "0004")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, role, token_sha256, is_active, created_at) VALUES "
                "('admin (BUKTI_ADMIN_TOKEN)', 'admin', :a, true, CURRENT_TIMESTAMP), "
                "('Erni', 'admin', :b, true, CURRENT_TIMESTAMP)"
            ),
            {"a": token_digest("env-secret"), "b": token_digest("erni-secret")},
        )
    engine.dispose()
    upgrade(empty_url)
    engine = build_engine(empty_url)
    with build_sessions(engine)() as session:
        erni = find_principal(session, "erni-secret")
        labels = session.execute(text("SELECT label FROM api_tokens ORDER BY id")).scalars().all()
    engine.dispose()
    assert erni is not None and erni.name == "Erni"
    assert labels == ["BUKTI_ADMIN_TOKEN", "first token"]
    command.downgrade(alembic_config(empty_url), "0004")
    command.upgrade(alembic_config(empty_url), "head")

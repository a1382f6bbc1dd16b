"""The engine Bukti builds for PostgreSQL: what its connections leave on the server."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.db import build_engine

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_statements_run_often_are_not_prepared(database_url: str) -> None:
    # psycopg would prepare a statement at its fifth run and drop it at the next ROLLBACK,
    # which every read-only session ends with: a Parse and a DEALLOCATE ALL for nothing
    engine = build_engine(database_url)
    try:
        with engine.connect() as connection:
            for _ in range(6):
                connection.execute(text("SELECT count(*) FROM evidence WHERE id > :id"), {"id": 0})
            prepared = connection.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
    finally:
        engine.dispose()
    assert prepared == 0

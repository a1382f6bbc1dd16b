"""Database engines and sessions, and the Alembic upgrade that every start runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while a worker writes; foreign keys are off by default
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # No server-side prepared statements (psycopg prepares a statement on its fifth run on a
    # connection): a ROLLBACK makes psycopg forget every statement it prepared and send
    # DEALLOCATE ALL, and every session that only reads ends with one, so in a worker no
    # statement lived to be reused. A job paid a Parse for each of its executemany INSERTs
    # and a DEALLOCATE ALL round trip for nothing.
    psycopg = make_url(url).get_driver_name() == "psycopg"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"prepare_threshold": None} if psycopg else {},
    )


def build_sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit; changes are audited."""
    from storage import audit_hook

    audit_hook.install()
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with sessions() as session, session.begin():
        yield session


def is_postgres(session: Session) -> bool:
    """True when the session's database is PostgreSQL (else it is SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def upsert(postgres: bool, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` in PostgreSQL's or SQLite's own dialect, which knows
    ``on_conflict_do_nothing`` and ``on_conflict_do_update`` (the two alike). A caller builds
    its statement once per dialect and runs it with its rows as parameters (executemany): a
    statement of literal rows is built, keyed and compiled again on every call."""
    return postgresql.insert(table) if postgres else sqlite.insert(table)


def alembic_config(url: str) -> Config:
    """Alembic's configuration for ``url``, independent of the working directory."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    command.upgrade(alembic_config(url), "head")

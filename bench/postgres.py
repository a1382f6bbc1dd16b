"""The PostgreSQL server a bench runs on: a scratch database of the bench's own, dropped
however the bench ends."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import upgrade


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (any driver)."""
    return make_url(url).get_backend_name() == "postgresql"


def psycopg_url(url: str) -> str:
    """``url`` with the driver the service ships (psycopg 3), whichever it named."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def server_url(named: str | None) -> str:
    """The PostgreSQL server to use: ``named``, else ``BUKTI_TEST_POSTGRES_URL``, else
    ``BUKTI_DATABASE_URL``; psycopg driver."""
    url = named or os.environ.get("BUKTI_TEST_POSTGRES_URL") or os.environ.get("BUKTI_DATABASE_URL")
    if not url or not is_postgres(url):
        raise SystemExit("name a PostgreSQL server: --postgres postgresql://user@host:port/db")
    return psycopg_url(url)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """In the block, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that the clean-up
    in ``finally`` clauses runs on either (only the main thread receives signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A migrated database of its own on the server (its URL), dropped when the block ends,
    raises, or is interrupted by Ctrl-C or SIGTERM. Its name carries this process's id, so
    one left by a killed bench tells whose it was."""
    name = f"bukti_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with sigterm_as_interrupt():
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            upgrade(url)
            yield url
        finally:
            # IF EXISTS: an interrupt may have come before the server created it; FORCE: the
            # service's connections may outlive it when it was killed
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

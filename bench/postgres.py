"""The PostgreSQL server a bench runs on: a scratch database of the bench's own, dropped
however the bench ends, and the server's processes, whose CPU the bench reads where this
machine can see them (a server on this machine, not in a container of its own)."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.process_cpu import tree_cpu_seconds
from storage.db import upgrade
from tests.fixtures.serve import processes

#: how far the postmaster's start (its own word) and its process's (from /proc, whose boot
#: time is in whole seconds) may differ: 60 ms apart on this project's machine
START_TOLERANCE_S = 5.0


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


@dataclass(frozen=True)
class BenchDatabase:
    """Where a bench's service keeps its records: SQLite under its data directory (``url``
    None), or a scratch PostgreSQL database, with the server's postmaster when this machine
    can read its processes' CPU."""

    url: str | None = None
    postmaster: int | None = None

    @property
    def is_server_cpu_read(self) -> bool:
        """Whether the database's work is measured apart from the service's processes."""
        return self.postmaster is not None

    def server_cpu_seconds(self) -> float:
        """CPU seconds so far of all the server's processes (0 where they are not read)."""
        return tree_cpu_seconds(self.postmaster) if self.postmaster is not None else 0.0


@contextmanager
def bench_database(server: str | None) -> Iterator[BenchDatabase]:
    """SQLite when ``server`` is None, else a scratch database on that PostgreSQL server."""
    if server is None:
        yield BenchDatabase()
        return
    with scratch_database(server) as url:
        yield BenchDatabase(url, postmaster_pid(url))


def postmaster_pid(url: str) -> int | None:
    """The process id of the server's postmaster (the parent of all its processes) when this
    machine's /proc shows it, else None."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            backend, started = conn.execute(
                text("SELECT pg_backend_pid(), extract(epoch FROM pg_postmaster_start_time())")
            ).one()
            # while the connection, and so its backend process, lives
            return postmaster_of(int(backend), float(started))
    finally:
        engine.dispose()


def postmaster_of(backend_pid: int, started_at: float) -> int | None:
    """The parent of process ``backend_pid`` if it is a postgres started at ``started_at``
    (Unix time), else None: a server in a container of its own names pids of its namespace,
    which here may be other processes' or none."""
    table = processes()
    backend = table.get(backend_pid)
    parent = table.get(backend.ppid) if backend is not None else None
    if parent is None or "postgres" not in parent.command:
        return None
    boot = next(
        int(line.split()[1])
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("btime ")
    )
    parent_started = boot + parent.started / os.sysconf("SC_CLK_TCK")
    if abs(parent_started - started_at) > START_TOLERANCE_S:
        return None
    return parent.pid


def server_description(url: str) -> str:
    """``PostgreSQL 15.20 at host:port``, as the server names its version."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    parts = make_url(url)
    return f"PostgreSQL {str(version).split()[0]} at {parts.host or 'a local socket'}:{parts.port or 5432}"

"""The benches on PostgreSQL: their scratch databases on the real server, made, migrated and
dropped however a bench ends, and the server's processes' CPU read from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.postgres import bench_database, postmaster_of, postmaster_pid, scratch_database
from bench.process_cpu import tree_cpu_seconds

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

#: a bench that makes its scratch database, says its URL and waits to be interrupted
# Ctrl-C reaches a bench run from a terminal with SIGINT at Python's default; a test run
# started in the background (a non-interactive shell's `&`, as CI may be) has it ignored, and
# every child inherits that: the bench is given the terminal's disposition first.
WAITING_BENCH = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from bench.postgres import scratch_database
with scratch_database(sys.argv[1]) as url:
    print(url, flush=True)
    time.sleep(120)
"""


def databases(server_url: str) -> set[str]:
    """The names of the server's databases."""
    engine = create_engine(server_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
    finally:
        engine.dispose()


def test_a_scratch_database_is_made_migrated_and_dropped_after_the_block(
    postgres_server_url: str,
) -> None:
    with scratch_database(postgres_server_url) as url:
        name = make_url(url).database
        assert name is not None
        assert name.startswith(f"bukti_bench_{os.getpid()}_")
        assert name in databases(postgres_server_url)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        engine.dispose()
    assert name not in databases(postgres_server_url)


def test_two_scratch_databases_of_one_bench_have_their_own_names(
    postgres_server_url: str,
) -> None:
    with (
        scratch_database(postgres_server_url) as first,
        scratch_database(postgres_server_url) as second,
    ):
        assert make_url(first).database != make_url(second).database


def test_a_scratch_database_is_dropped_when_the_block_fails(postgres_server_url: str) -> None:
    with (
        pytest.raises(RuntimeError, match="the bench failed"),
        scratch_database(postgres_server_url) as url,
    ):
        name = make_url(url).database
        raise RuntimeError("the bench failed")
    assert name not in databases(postgres_server_url)


def test_a_scratch_database_is_dropped_while_a_killed_service_still_holds_connections(
    postgres_server_url: str,
) -> None:
    with scratch_database(postgres_server_url) as url:
        name = make_url(url).database
        service = create_engine(url)
        left_open = service.connect()
        left_open.execute(text("SELECT 1"))
    assert name not in databases(postgres_server_url)
    left_open.invalidate()
    service.dispose()


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_a_scratch_database_is_dropped_when_the_bench_is_interrupted(
    postgres_server_url: str, signal_number: int
) -> None:
    bench = subprocess.Popen(
        [sys.executable, "-c", WAITING_BENCH, postgres_server_url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bench.stdout is not None
        name = make_url(bench.stdout.readline().strip()).database
        assert name in databases(postgres_server_url)
        bench.send_signal(signal_number)
        bench.wait(60)
    finally:
        bench.kill()
    assert bench.returncode != 0
    assert name not in databases(postgres_server_url)


def test_a_bench_without_a_server_keeps_its_records_in_sqlite_and_reads_no_server() -> None:
    with bench_database(None) as database:
        assert database.url is None
        assert not database.is_server_cpu_read


def test_a_bench_on_a_server_on_this_machine_reads_its_cpu(postgres_server_url: str) -> None:
    with bench_database(postgres_server_url) as database:
        assert database.url is not None
        name = make_url(database.url).database
        server = postmaster_pid(postgres_server_url)
        assert server is not None
        assert database.postmaster == server
        assert database.is_server_cpu_read
        assert database.server_cpu_seconds() > 0
    assert name not in databases(postgres_server_url)


def test_the_servers_cpu_counts_a_connection_that_ended_between_two_readings(
    postgres_server_url: str,
) -> None:
    postmaster = postmaster_pid(postgres_server_url)
    assert postmaster is not None, "the test server runs on this machine"
    before = tree_cpu_seconds(postmaster)
    engine = create_engine(postgres_server_url)
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # ~0.5 s of the server's CPU on this project's machine
        conn.execute(text("SELECT sum(i) FROM generate_series(1, 5000000) AS i")).scalar_one()
    engine.dispose()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{backend}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{backend}").exists(), "the server reaped the connection's process"
    assert tree_cpu_seconds(postmaster) - before > 0.1


def test_a_process_that_is_no_postgres_servers_backend_has_no_postmaster(
    postgres_server_url: str,
) -> None:
    assert postmaster_of(os.getpid(), time.time()) is None
    engine = create_engine(postgres_server_url)
    with engine.connect() as conn:
        backend, started = conn.execute(
            text("SELECT pg_backend_pid(), extract(epoch FROM pg_postmaster_start_time())")
        ).one()
        assert postmaster_of(backend, float(started)) == postmaster_pid(postgres_server_url)
        # the same pid, as a server in another pid namespace could name it: started elsewhen
        assert postmaster_of(backend, float(started) - 3600) is None
    engine.dispose()

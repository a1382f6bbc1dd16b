"""The benches on PostgreSQL: their scratch databases on the real server, made, migrated and
dropped however a bench ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.postgres import scratch_database

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

#: a bench that makes its scratch database, says its URL and waits to be interrupted
WAITING_BENCH = """
import sys, time
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

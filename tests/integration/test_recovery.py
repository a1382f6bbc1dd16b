"""Recovery with real worker processes: whatever dies, every item ends, once.

Each case puts a backlog through real ``dramatiq workers.actors`` processes while something
fails (the worker is SIGKILLed mid-item, Redis is flushed or restarted empty, S3 or
PostgreSQL is cut off and comes back), and ends with every item terminal (0 lost, 0 stuck)
and recorded exactly once (0 processed twice: one outcome event per item). The API here does
not sweep: the workers' own sweep recovers everything. Leases and sweeps are short so that
each case takes seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from bukti.bootstrap import Services
from bukti.embedded_redis import start_redis
from bukti.settings import Settings
from storage.backends.s3 import S3Store
from tests.fixtures.app import (
    TERMINAL,
    WorkerFactory,
    World,
    make_world,
    wait_for_processing,
)
from tests.fixtures.photos import CAMERA_PICTURES, camera_jpeg
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.services import TcpProxy, free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short leases, frequent sweeps, quick automatic retries."""
    return settings.model_copy(
        update={
            "lease_s": 3,
            "sweep_interval_s": 0.5,
            "pickup_grace_s": 2,
            "auto_retry_min_s": 1,
            "auto_retry_max_s": 2,
        }
    )


def api(settings: Settings) -> TestClient:
    """The API queueing to the real broker, without a sweep of its own."""
    return TestClient(create_app(settings, Services(settings), sweep=False))


def upload_backlog(world: World, count: int, size: int = 1200) -> list[int]:
    """``count`` camera photos of CAMERA_PICTURES in turn, one per day's activity, in order of
    receipt (past the sixth, resized copies of earlier ones: recycled photos, flagged as such)."""
    ids = []
    for i in range(count):
        day = f"2026-10-{13 + i:02d}"
        content = camera_jpeg(
            CAMERA_PICTURES[i % len(CAMERA_PICTURES)],
            size=size + 16 * i,
            day=day,
            gps_seconds=(0.48 + i / 4, 33.0),
        )
        ids.append(world.upload(content, activity_id=world.activity(day)["id"]))
    return ids


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def statuses(client: TestClient, world: World, ids: list[int]) -> list[str]:
    return [
        client.get(f"/api/v1/evidence/{i}", headers=world.teacher_auth).json()["status"]
        for i in ids
    ]


def assert_each_ended_once(
    client: TestClient, world: World, ids: list[int], timeout_s: float = 90
) -> list[list[dict[str, Any]]]:
    """Every item terminal and not failed (0 lost, 0 stuck), recorded once (0 twice)."""
    ended = {"accepted", "flagged"}
    deadline = time.monotonic() + timeout_s
    while not set(final := statuses(client, world, ids)) <= ended:
        assert time.monotonic() < deadline, f"not every item ended: {Counter(final)}"
        time.sleep(0.1)
    logs = []
    for evidence_id in ids:
        events = client.get(
            f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
        ).json()
        outcomes = [e for e in events if e["step"] == "pipeline" and e["outcome"] in TERMINAL]
        last, now = [e["outcome"] for e in outcomes][-1:], final[ids.index(evidence_id)]
        if last != [now]:
            # a later copy that finished first is flagged when its original is processed
            assert (last, now) == (["accepted"], "flagged"), events
            assert any(e["step"] == "dedup" and e["outcome"] == "earlier-copy" for e in events)
        recorded = [e for e in outcomes if e["outcome"] in ended]
        assert len(recorded) == 1, events
        assert [e["step"] for e in events if e["step"] == "archive"] == ["archive"], events
        logs.append(events)
    return logs


def test_a_worker_killed_mid_item_loses_nothing_and_does_nothing_twice(
    settings: Settings, start_worker: WorkerFactory
) -> None:
    with api(settings) as client:
        world = make_world(client)
        # queued before the worker starts: it works through them faster than they are sent
        ids = upload_backlog(world, 6, size=2400)
        first = start_worker(settings, "first", processes=1, threads=1)
        wait_for_processing(settings, ids)
        first.kill()
        start_worker(settings, "second", processes=1, threads=2)
        logs = assert_each_ended_once(client, world, ids)
    # the killed worker's item was taken over when its lease expired
    assert any(e["outcome"] == "stranded" for events in logs for e in events)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A throwaway Redis (its URL) and a function that restarts it empty."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(start_redis(url, tmp_path / f"redis-{len(processes)}"))

    def restart_empty() -> None:
        os.killpg(processes[-1].pid, signal.SIGKILL)  # a crash: nothing written out
        processes[-1].wait(10)
        start()

    start()
    yield url, restart_empty
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.mark.parametrize("loss", ["flushall", "restarted empty"])
def test_a_backlog_lost_by_redis_is_processed_anyway(
    settings: Settings,
    start_worker: WorkerFactory,
    own_redis: tuple[str, Callable[[], None]],
    loss: str,
) -> None:
    url, restart_empty = own_redis
    settings = settings.model_copy(update={"redis_url": url})
    with api(settings) as client:
        world = make_world(client)
        ids = upload_backlog(world, 8, size=600)
        queued = redis.Redis.from_url(url)
        assert queued.llen("dramatiq:evidence") == len(ids)
        if loss == "flushall":
            queued.flushall()
        else:
            restart_empty()
        assert redis.Redis.from_url(url).llen("dramatiq:evidence") == 0
        start_worker(settings, "worker", processes=1, threads=2)
        assert_each_ended_once(client, world, ids)


def test_an_s3_outage_fails_items_that_retry_by_themselves_once_it_is_back(
    settings: Settings,
    start_worker: WorkerFactory,
    seaweedfs_s3_endpoint: S3Endpoint,
    s3_store_factory: Callable[..., S3Store],
) -> None:
    store = s3_store_factory(seaweedfs_s3_endpoint)
    upstream = seaweedfs_s3_endpoint.endpoint_url.removeprefix("http://")
    host, port = upstream.rsplit(":", 1)
    proxy = TcpProxy(lambda: socket.create_connection((host, int(port)), timeout=5))
    try:
        proxied = settings.model_copy(
            update={
                "storage_backend": "s3",
                "s3_endpoint_url": f"http://127.0.0.1:{proxy.port}",
                "s3_bucket": store.bucket,
                "s3_prefix": store.prefix,
                "s3_access_key_id": seaweedfs_s3_endpoint.access_key_id,
                "s3_secret_access_key": SecretStr(seaweedfs_s3_endpoint.secret_access_key),
            }
        )
        with api(proxied) as client:
            world = make_world(client)
            proxy.cut()
            start_worker(proxied, "worker", processes=1, threads=2)
            ids = upload_backlog(world, 4, size=600)
            wait_until(
                lambda: statuses(client, world, ids).count("failed") == len(ids),
                60,
                "every item failed while S3 is down",
            )
            item = client.get(f"/api/v1/evidence/{ids[0]}", headers=world.teacher_auth).json()
            assert item["reason"].startswith("The archive could not be reached")
            proxy.restore()
            logs = assert_each_ended_once(client, world, ids)
        for events in logs:
            requeued = [e["detail"] for e in events if e["outcome"] == "requeued"]
            assert requeued and requeued[-1] == "automatic retry: the storage answers again"
        # originals, renditions and thumbnails (the photos' previews)
        assert len(list(store.iter_keys())) == 3 * len(ids)
    finally:
        proxy.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_cut_strands_nothing(
    settings: Settings,
    start_worker: WorkerFactory,
    postgres_proxy: tuple[TcpProxy, str],
) -> None:
    proxy, through = postgres_proxy
    worker_settings = settings.model_copy(update={"database_url": through})
    with api(settings) as client:
        world = make_world(client)
        ids = upload_backlog(world, 8, size=1600)
        start_worker(worker_settings, "worker", processes=1, threads=2)
        wait_for_processing(settings, ids)
        proxy.cut()
        time.sleep(4)  # longer than a lease: the worker can neither claim, renew nor record
        proxy.restore()
        assert_each_ended_once(client, world, ids)

"""/readyz tells the truth: dependencies and live workers; workers' heartbeats in Redis."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient

from api.app import create_app
from bukti.bootstrap import Services
from bukti.cli import main
from bukti.settings import Settings, get_settings
from tests.fixtures.services import free_port
from workers.liveness import KEY_PREFIX, Beat, Heartbeat, live_workers, publish

pytestmark = pytest.mark.integration


@pytest.fixture
def heartbeats(redis_url: str) -> Iterator[redis.Redis]:
    """The session's Redis, without any worker heartbeat left by earlier tests."""
    client = redis.Redis.from_url(redis_url)

    def forget() -> None:
        for key in client.scan_iter(match=f"{KEY_PREFIX}*"):
            client.delete(key)

    forget()
    yield client
    forget()
    client.close()


def a_beat(pid: int = 4242) -> Beat:
    return Beat(host="worker-host", pid=pid, started_at=time.time(), threads=1)


def test_ready_when_every_dependency_answers_and_a_worker_beats(
    client: TestClient, heartbeats: redis.Redis, settings: Settings
) -> None:
    publish(heartbeats, a_beat(), settings.heartbeat_timeout_ms)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "workers": "1 live",
        "storage": "ok",
    }


def test_not_ready_without_a_live_worker_while_still_alive(
    client: TestClient, heartbeats: redis.Redis
) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert int(ready.headers["Retry-After"]) > 0
    body = ready.json()
    assert body["detail"] == "not ready: no live worker"
    assert body["checks"]["workers"] == "none seen in the last 15 s"
    assert body["live_workers"] == 0
    assert client.get("/healthz").status_code == 200


def test_not_ready_names_a_broker_that_does_not_answer(
    settings: Settings, services: Services
) -> None:
    nowhere = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    services.settings = nowhere
    with TestClient(create_app(nowhere, services, enqueue=lambda evidence_id: None)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "Retry-After" in ready.headers
    assert ready.json()["detail"] == "not ready: broker"
    assert ready.json()["checks"]["broker"].startswith("error")


def test_a_heartbeat_that_is_not_renewed_expires(heartbeats: redis.Redis) -> None:
    publish(heartbeats, a_beat(), timeout_ms=300)
    assert [b.pid for b in live_workers(heartbeats)] == [4242]
    deadline = time.monotonic() + 10
    while live_workers(heartbeats) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_workers(heartbeats) == []


def test_live_workers_of_one_host_leave_the_others_out(heartbeats: redis.Redis) -> None:
    publish(heartbeats, a_beat(1), 10_000)
    publish(heartbeats, Beat(host="elsewhere", pid=2, started_at=0.0, threads=2), 10_000)
    assert [b.pid for b in live_workers(heartbeats, "worker-host")] == [1]
    assert sorted(b.host for b in live_workers(heartbeats)) == ["elsewhere", "worker-host"]


def test_a_running_worker_beats_and_a_stopped_one_is_gone_at_once(
    heartbeats: redis.Redis, redis_url: str
) -> None:
    broker = StubBroker()
    broker.add_middleware(Heartbeat(redis_url, timeout_ms=10_000))
    worker = Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        beats = live_workers(heartbeats, socket.gethostname())
        assert [(b.pid, b.threads) for b in beats] == [(os.getpid(), 2)]
        assert 0 < heartbeats.pttl(beats[0].key) <= 10_000
    finally:
        worker.stop()
    assert live_workers(heartbeats) == []


def test_worker_check_passes_only_while_a_worker_of_this_host_beats(
    heartbeats: redis.Redis,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUKTI_REDIS_URL", redis_url)
    monkeypatch.setenv("BUKTI_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        publish(heartbeats, a_beat(), 10_000)  # another host's worker does not count
        assert main(["worker", "--check"]) == 1
        assert f"no live worker on {socket.gethostname()}" in capsys.readouterr().out
        here = Beat(host=socket.gethostname(), pid=77, started_at=time.time(), threads=1)
        publish(heartbeats, here, 10_000)
        assert main(["worker", "--check"]) == 0
        assert f"1 live worker process(es) on {socket.gethostname()}" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()

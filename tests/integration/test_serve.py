"""`bukti serve` as operators run it: a worker that dies, stops and kills, a restart with a backlog.

Real processes throughout (the process boundary is what these tests are about): serve, its
private Redis (keeping its queue in an append-only file), its Dramatiq invocations and their
worker processes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.app import TERMINAL, World, make_world, wait_for_terminal
from tests.fixtures.photos import CAMERA_PICTURES, jpeg_bytes
from tests.fixtures.serve import ServeFactory, alive
from tests.fixtures.services import free_port

pytestmark = pytest.mark.integration

#: a killed worker's message comes back after this (Dramatiq's heartbeat), and /readyz
#: forgets a dead worker after it: short, so that the tests do not wait 15 s for either
FAST_HEARTBEAT = {"BUKTI_HEARTBEAT_TIMEOUT_MS": "3000"}


def upload_photos(world: World, count: int) -> list[int]:
    """``count`` distinct small photos for a teacher's day drafts; their ids."""
    return [
        world.upload(
            jpeg_bytes(CAMERA_PICTURES[n % len(CAMERA_PICTURES)], 85, (320 + 8 * n, 240 + 6 * n)),
            name=f"IMG_{n}.jpg",
            date=f"2026-10-{1 + n % 28:02d}",
        )
        for n in range(count)
    ]


def statuses(client: httpx.Client, world: World, ids: list[int]) -> list[str]:
    return [
        client.get(f"/api/v1/evidence/{i}", headers=world.teacher_auth).json()["status"]
        for i in ids
    ]


def finish(client: httpx.Client, world: World, ids: list[int]) -> list[dict[str, Any]]:
    return [wait_for_terminal(client, i, world.teacher_auth, timeout_s=120) for i in ids]


def wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.1)


def wait_for_metrics(port: int, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            if response.status_code == 200:
                return response.text
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_a_killed_worker_is_restarted_and_a_killed_serve_leaves_no_process(
    start_serve: ServeFactory, tmp_path: Path
) -> None:
    metrics_port = free_port()
    serve = start_serve(
        tmp_path / "data",
        "--workers",
        "2",
        BUKTI_WORKER_METRICS_PORT=str(metrics_port),
        **FAST_HEARTBEAT,
    )
    world = make_world(serve.client)
    ids = upload_photos(world, 12)
    wait_until(lambda: serve.client.get("/readyz").json()["live_workers"] == 2)
    # the first invocation serves the workers' metrics port: kill its worker
    victim = next(w for w in serve.workers() if w.ppid == serve.masters()[0].pid)
    os.kill(victim.pid, signal.SIGKILL)

    items = finish(serve.client, world, ids)
    assert {item["status"] for item in items} <= {"accepted", "flagged"}, items
    wait_until(lambda: len(serve.workers()) == 2)
    assert victim.pid not in {w.pid for w in serve.workers()}
    assert "restarting it in 1 s" in serve.output()
    assert "restarted as pid" in serve.output()
    # one exposition server for every worker process of the host, back after the restart
    metrics = wait_for_metrics(metrics_port)
    assert "dramatiq_messages_total" in metrics
    assert "Address already in use" not in serve.output()

    # even SIGKILL, which serve cannot catch, leaves nothing behind that consumes the queue
    tree = serve.tree()
    # Redis, two Dramatiq invocations, their two workers and the metrics' exposition server
    assert len(tree) == 6, tree
    serve.process.kill()
    serve.process.wait(10)
    assert alive(tree, within_s=30) == []


def test_a_backlog_survives_ctrl_c_and_restarts_and_sigterm_leaves_no_process(
    start_serve: ServeFactory, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    # the API alone: every upload waits in the queue
    first = start_serve(data, "--no-workers")
    world = make_world(first.client)
    ids = upload_photos(world, 12)
    tree = first.tree()
    first.process.send_signal(signal.SIGINT)  # Ctrl-C
    assert first.process.wait(30) == 0
    assert alive(tree, within_s=30) == []
    # one log format for every line, uvicorn's access lines included
    access = [line for line in first.output().splitlines() if "POST /api/v1/evidence" in line]
    assert len(access) == 12, first.output()[-2000:]
    assert all(json.loads(line)["logger"] == "uvicorn.access" for line in access), access[:2]

    # the queue was kept on disk (Redis's append-only file): a worker takes it up, and is
    # stopped with Ctrl-C part-way through
    second = start_serve(data, "--workers", "1", **FAST_HEARTBEAT)
    deadline = time.monotonic() + 60
    while not any(s in TERMINAL for s in statuses(second.client, world, ids)):
        assert time.monotonic() < deadline, "nothing was processed"
        time.sleep(0.05)
    tree = second.tree()
    second.process.send_signal(signal.SIGINT)
    assert second.process.wait(30) == 0
    assert alive(tree, within_s=30) == []

    third = start_serve(data, "--workers", "2", **FAST_HEARTBEAT)
    items = finish(third.client, world, ids)
    assert {item["status"] for item in items} <= {"accepted", "flagged"}, items
    assert all(item["archive"]["original_key"] for item in items)
    tree = third.tree()
    third.process.send_signal(signal.SIGTERM)
    assert third.process.wait(30) == 0
    assert alive(tree, within_s=30) == []

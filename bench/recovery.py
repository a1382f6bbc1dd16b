"""Recovery under load: a worker killed, and `bukti serve` stopped and started with a backlog.

Runs `bukti serve` as an operator does (2 worker processes, its private Redis keeping its
queue in an append-only file, SQLite, local disk, the default settings), with 12 MP phone-like
JPEGs made from Debian's wallpapers (install mate-backgrounds and plasma-workspace-wallpapers),
uploaded from 4 client threads:

- **worker SIGKILL**: one third into the uploads, one Dramatiq worker process is killed with
  SIGKILL; the supervisor restarts it, and its message in hand comes back after the heartbeat
  timeout;
- **serve Ctrl-C and restart**: once every upload is in, with most of them still queued,
  serve gets SIGINT (Ctrl-C); then it is started again on the same data directory.

For each: items lost (an accepted upload that is gone) or stuck (not terminal 300 s after the
event), items failed, the time from the event until every item is terminal, and for the stop
the time until serve and every process it started are gone.

    .venv/bin/python -m bench.recovery [--photos 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.e2e_throughput import camera_jpeg, wallpapers
from tests.fixtures.app import TERMINAL, World, make_world
from tests.fixtures.serve import ServeFactory, alive

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "recovery.md"
STUCK_AFTER_S = 300


@dataclass(frozen=True)
class Outcome:
    """What became of a batch after one event."""

    case: str
    photos: int
    lost: int
    stuck: int
    statuses: dict[str, int]
    terminal_after_s: float
    note: str


def upload_all(
    base: str,
    world: World,
    photos: list[bytes],
    count: int,
    on_upload: Callable[[int], None] | None = None,
) -> list[int]:
    """Upload ``count`` photos from 4 threads; ``on_upload(n)`` is called after each."""

    def one(n: int) -> int:
        with httpx.Client(base_url=base, timeout=120) as client:
            response = client.post(
                "/api/v1/evidence",
                headers=world.teacher_auth,
                data={"date": f"2026-10-{1 + n % 28:02d}"},
                files={"file": (f"IMG_{n}.jpg", photos[n % len(photos)], "image/jpeg")},
            )
        response.raise_for_status()
        if on_upload is not None:
            on_upload(n)
        return int(response.json()["id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def settle(
    client: httpx.Client, world: World, ids: list[int], since: float
) -> tuple[int, int, Counter[str], float]:
    """Wait until every item is terminal (or STUCK_AFTER_S passed): lost, stuck, statuses, s."""
    deadline = since + STUCK_AFTER_S
    pending = set(ids)
    statuses: Counter[str] = Counter()
    lost = 0
    finished = since
    while pending and time.monotonic() < deadline:
        for evidence_id in sorted(pending):
            response = client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth)
            if response.status_code == 404:
                lost += 1
                pending.discard(evidence_id)
                continue
            status = response.json()["status"]
            if status in TERMINAL:
                statuses[status] += 1
                pending.discard(evidence_id)
                finished = time.monotonic()
        time.sleep(0.2)
    return lost, len(pending), statuses, finished - since


def worker_kill(
    factory: ServeFactory, root: Path, photos: list[bytes], count: int, *, kill: bool = True
) -> Outcome:
    """One third into the uploads, SIGKILL a worker process (or, as a baseline, do nothing)."""
    serve = factory(root / ("kill" if kill else "baseline"), "--workers", "2")
    world = make_world(serve.client)
    victim = serve.workers()[0]
    killed_at: list[float] = []

    def kill_once(n: int) -> None:
        if n >= count // 3 and not killed_at:
            killed_at.append(time.monotonic())
            if kill:
                os.kill(victim.pid, signal.SIGKILL)

    ids = upload_all(f"http://127.0.0.1:{serve.port}", world, photos, count, kill_once)
    lost, stuck, statuses, after_s = settle(serve.client, world, ids, killed_at[0])
    restarted = "restarted as pid" in serve.output()
    serve.process.send_signal(signal.SIGTERM)
    serve.process.wait(60)
    if not kill:
        return Outcome(
            "none (baseline): timed from a third into the uploads",
            count,
            lost,
            stuck,
            dict(statuses),
            after_s,
            "",
        )
    return Outcome(
        "worker SIGKILL (1 of 2) a third into the uploads",
        count,
        lost,
        stuck,
        dict(statuses),
        after_s,
        "the supervisor restarted it" if restarted else "NOT restarted",
    )


def serve_restart(factory: ServeFactory, root: Path, photos: list[bytes], count: int) -> Outcome:
    data = root / "restart"
    first = factory(data, "--workers", "2")
    world = make_world(first.client)
    ids = upload_all(f"http://127.0.0.1:{first.port}", world, photos, count, None)
    backlog = sum(
        first.client.get(f"/api/v1/evidence/{i}", headers=world.teacher_auth).json()["status"]
        not in TERMINAL
        for i in ids
    )
    tree = first.tree()
    stopped_at = time.monotonic()
    first.process.send_signal(signal.SIGINT)
    first.process.wait(60)
    left = alive(tree, within_s=30)
    gone_s = time.monotonic() - stopped_at
    started_at = time.monotonic()
    second = factory(data, "--workers", "2")
    lost, stuck, statuses, after_s = settle(second.client, world, ids, started_at)
    second.process.send_signal(signal.SIGTERM)
    second.process.wait(60)
    return Outcome(
        f"serve Ctrl-C with {backlog} of {count} not terminal, then started again",
        count,
        lost,
        stuck,
        dict(statuses),
        after_s,
        f"serve and its {len(tree)} processes gone {gone_s:.1f} s after Ctrl-C"
        + (f"; {len(left)} LEFT RUNNING" if left else ""),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    args = parser.parse_args()
    sources = wallpapers()
    photos = [camera_jpeg(sources[i % len(sources)], i) for i in range(min(args.photos, 20))]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        factory = ServeFactory(root)
        try:
            outcomes = [
                worker_kill(factory, root, photos, args.photos, kill=False),
                worker_kill(factory, root, photos, args.photos),
                serve_restart(factory, root, photos, args.photos),
            ]
        finally:
            factory.kill_all()
    size_mb = sum(len(p) for p in photos) / len(photos) / 1e6
    lines = [
        "# Recovery benchmark",
        "",
        f"`.venv/bin/python -m bench.recovery` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} "
        f"cores, load average {os.getloadavg()[0]:.2f} at the end): `bukti serve`, 2 worker "
        f"processes x 1 thread, default settings (heartbeat timeout 15 s); {args.photos} "
        f"12 MP JPEGs of {size_mb:.1f} MB on average, from 4 client threads.",
        "",
        "| event | photos | lost | stuck | statuses | all terminal after | note |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.case} | {o.photos} | {o.lost} | {o.stuck} | {o.statuses} "
            f"| {o.terminal_after_s:.1f} s | {o.note} |"
        )
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

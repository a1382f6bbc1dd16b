"""Recovery under load: a worker killed, and `bukti serve` stopped and started with a backlog.

Runs `bukti serve` as an operator does (2 worker processes, its private Redis keeping its
queue in an append-only file, SQLite, local disk, the default settings), with 12 MP phone-like
JPEGs made from Debian's wallpapers (install mate-backgrounds and plasma-workspace-wallpapers),
uploaded from 4 client threads:

- **worker SIGKILL**: one third into the uploads, one Dramatiq worker process is killed with
  SIGKILL; the supervisor restarts it, and its message in hand comes back after the heartbeat
  timeout;
- **serve Ctrl-C and restart**: once every upload is in, with most of them still queued,
  serve gets SIGINT (Ctrl-C); then it is started again on the same data directory;
- **Redis flushed**: a third into the uploads, FLUSHALL on serve's Redis (every queued
  message gone);
- **Redis restarted empty**: serve uses a Redis the bench started; a third into the uploads
  it is killed (SIGKILL) and started again with nothing on disk;
- **S3 down**: the archive is a SeaweedFS S3 server behind a TCP proxy, cut a third into the
  uploads for ``--s3-down-s`` (120 s), then restored;
- **PostgreSQL down**: the database (``BUKTI_TEST_POSTGRES_URL``'s server, a fresh database)
  behind a TCP proxy, cut a third into the uploads for ``--pg-down-s`` (60 s); the API answers
  503 meanwhile and the clients send again, as the teacher's page does.

For each: items lost (an accepted upload that is gone) or stuck (not terminal 300 s after the
event), items failed, the time from the event until every item is terminal, and for the stop
the time until serve and every process it started are gone.

    .venv/bin/python -m bench.recovery [--photos 100] [--cases kill,restart,flush,redis,s3,pg]

Every case runs with the default settings (lease 20 s, sweep every 10 s, pickup grace 60 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from bench.e2e_throughput import camera_jpeg, wallpapers
from bukti.embedded_redis import start_redis
from tests.fixtures.app import TERMINAL, World, make_world
from tests.fixtures.serve import ServeFactory, alive
from tests.fixtures.services import TcpProxy, free_port

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
            while True:  # a 503 (the database is down) is sent again, as the page does
                response = client.post(
                    "/api/v1/evidence",
                    headers=world.teacher_auth,
                    data={"date": f"2026-10-{1 + n % 28:02d}"},
                    files={"file": (f"IMG_{n}.jpg", photos[n % len(photos)], "image/jpeg")},
                )
                if response.status_code != 503:
                    break
                time.sleep(1)
        response.raise_for_status()
        if on_upload is not None:
            on_upload(n)
        return int(response.json()["id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def settle(
    client: httpx.Client,
    world: World,
    ids: list[int],
    since: float,
    final: frozenset[str] = frozenset(TERMINAL),
) -> tuple[int, int, Counter[str], float]:
    """Wait until every item is in a ``final`` status (or STUCK_AFTER_S passed): lost,
    stuck, statuses, seconds."""
    deadline = since + STUCK_AFTER_S
    pending = set(ids)
    statuses: Counter[str] = Counter()
    lost = 0
    finished = since
    while pending and time.monotonic() < deadline:
        for evidence_id in sorted(pending):
            try:
                response = client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth)
            except httpx.TransportError:
                continue
            if response.status_code == 503:  # the database is down: ask again later
                continue
            if response.status_code == 404:
                lost += 1
                pending.discard(evidence_id)
                continue
            status = response.json()["status"]
            if status in final:
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


def outage(
    factory: ServeFactory,
    data: Path,
    photos: list[bytes],
    count: int,
    case: str,
    cut: Callable[[], None],
    restore: Callable[[], None] | None = None,
    down_s: float = 0,
    **env: str,
) -> Outcome:
    """A third into the uploads ``cut()``; after ``down_s`` (in the background) ``restore()``."""
    serve = factory(data, "--workers", "2", **env)
    world = make_world(serve.client)
    cut_at: list[float] = []
    restored = threading.Event()

    def back_later() -> None:
        time.sleep(down_s)
        if restore is not None:
            restore()
        restored.set()

    def cut_once(n: int) -> None:
        if n >= count // 3 and not cut_at:
            cut_at.append(time.monotonic())
            cut()
            threading.Thread(target=back_later, daemon=True).start()

    ids = upload_all(f"http://127.0.0.1:{serve.port}", world, photos, count, cut_once)
    # `failed` is not the end here: an item failed by the outage must be retried by itself
    ended = frozenset({"accepted", "flagged", "rejected"})
    lost, stuck, statuses, after_s = settle(serve.client, world, ids, cut_at[0], ended)
    restored.wait()
    outcomes: Counter[str] = Counter()
    twice = 0
    for evidence_id in ids:
        events = serve.client.get(
            f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
        ).json()
        pipeline = [e["outcome"] for e in events if e["step"] == "pipeline"]
        outcomes.update(pipeline)
        twice += sum(o in ("accepted", "flagged") for o in pipeline) > 1
    serve.process.send_signal(signal.SIGTERM)
    serve.process.wait(60)
    note = (
        f"{twice} recorded twice; on the way {outcomes['failed']} failed and were retried "
        f"by the sweep ({outcomes['requeued']} requeues), {outcomes['stranded']} leases of "
        "stopped jobs taken over"
    )
    return Outcome(case, count, lost, stuck, dict(statuses), after_s, note)


def redis_flushed(factory: ServeFactory, root: Path, photos: list[bytes], count: int) -> Outcome:
    data = root / "flush"
    port = factory.redis_ports.setdefault(data, free_port())
    return outage(
        factory,
        data,
        photos,
        count,
        "Redis FLUSHALL a third into the uploads",
        lambda: redis.Redis(port=port).flushall(),
    )


def redis_restarted(factory: ServeFactory, root: Path, photos: list[bytes], count: int) -> Outcome:
    url = f"redis://127.0.0.1:{free_port()}/0"
    servers: list[subprocess.Popen[bytes]] = []
    go, finished = threading.Event(), threading.Event()

    def keeper() -> None:
        # Redis dies with the thread that started it (parent-death signal): one that lives on
        servers.append(start_redis(url, root / "redis-0"))
        go.wait()
        os.killpg(servers[-1].pid, signal.SIGKILL)
        servers[-1].wait(10)
        servers.append(start_redis(url, root / "redis-1"))
        finished.wait()

    thread = threading.Thread(target=keeper, daemon=True)
    thread.start()
    while not servers:
        time.sleep(0.05)
    try:
        return outage(
            factory,
            root / "redis",
            photos,
            count,
            "Redis SIGKILLed a third into the uploads, restarted empty",
            go.set,
            BUKTI_REDIS_URL=url,
        )
    finally:
        finished.set()
        thread.join(10)
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)


def s3_down(
    factory: ServeFactory, root: Path, photos: list[bytes], count: int, down_s: float
) -> Outcome:
    from tests.fixtures.s3 import SeaweedFSServer, find_weed_binary

    (root / "weed").mkdir()
    weed = SeaweedFSServer(find_weed_binary(), root / "weed")
    endpoint = weed.start()
    host, port = endpoint.endpoint_url.removeprefix("http://").rsplit(":", 1)
    proxy = TcpProxy(lambda: socket.create_connection((host, int(port)), timeout=5))
    try:
        return outage(
            factory,
            root / "s3",
            photos,
            count,
            f"S3 (SeaweedFS) unreachable for {down_s:.0f} s from a third into the uploads",
            proxy.cut,
            proxy.restore,
            down_s,
            BUKTI_STORAGE_BACKEND="s3",
            BUKTI_S3_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}",
            BUKTI_S3_BUCKET="bench-recovery",
            BUKTI_S3_CREATE_BUCKET="true",
            BUKTI_S3_ACCESS_KEY_ID=endpoint.access_key_id,
            BUKTI_S3_SECRET_ACCESS_KEY=endpoint.secret_access_key,
        )
    finally:
        proxy.close()
        weed.stop()


def postgres_down(
    factory: ServeFactory, root: Path, photos: list[bytes], count: int, down_s: float
) -> Outcome:
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(
        os.environ.get("BUKTI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
    )
    name = f"bench_recovery_{os.getpid()}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    proxy = TcpProxy(
        lambda: socket.create_connection(
            (server.host or "127.0.0.1", server.port or 5432), timeout=5
        )
    )
    through = server.set(
        drivername="postgresql+psycopg", host="127.0.0.1", port=proxy.port, database=name
    )
    try:
        return outage(
            factory,
            root / "pg",
            photos,
            count,
            f"PostgreSQL unreachable for {down_s:.0f} s from a third into the uploads",
            proxy.cut,
            proxy.restore,
            down_s,
            BUKTI_DATABASE_URL=through.render_as_string(hide_password=False),
        )
    finally:
        proxy.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


CASES = ("kill", "restart", "flush", "redis", "s3", "pg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--cases", default=",".join(CASES), help="which of " + ",".join(CASES))
    parser.add_argument("--s3-down-s", type=float, default=120)
    parser.add_argument("--pg-down-s", type=float, default=60)
    args = parser.parse_args()
    cases = args.cases.split(",")
    sources = wallpapers()
    photos = [camera_jpeg(sources[i % len(sources)], i) for i in range(min(args.photos, 20))]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        factory = ServeFactory(root)
        try:
            outcomes = []
            if "kill" in cases:
                outcomes.append(worker_kill(factory, root, photos, args.photos, kill=False))
                outcomes.append(worker_kill(factory, root, photos, args.photos))
            if "restart" in cases:
                outcomes.append(serve_restart(factory, root, photos, args.photos))
            if "flush" in cases:
                outcomes.append(redis_flushed(factory, root, photos, args.photos))
            if "redis" in cases:
                outcomes.append(redis_restarted(factory, root, photos, args.photos))
            if "s3" in cases:
                outcomes.append(s3_down(factory, root, photos, args.photos, args.s3_down_s))
            if "pg" in cases:
                outcomes.append(postgres_down(factory, root, photos, args.photos, args.pg_down_s))
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
    # each case's row replaces the row of the same case from an earlier run
    rows = {line.split(" | ")[0]: line for line in lines if line.startswith("| ")}
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            key = line.split(" | ")[0]
            if line.startswith("| ") and key not in rows and not line.startswith("| event"):
                lines.append(line)
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

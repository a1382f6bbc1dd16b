"""End to end: photos per second through `bukti serve` with 1, 2 and 4 worker processes.

For each number of worker processes (one thread each) it starts `bukti serve` (a private
Redis, SQLite, local disk, the default settings) on a free port, then
- idle: uploads photos one at a time and times upload -> terminal status;
- burst: uploads N photos from 4 client threads as fast as they go, and reads from each
  item's event log when it was received and when it ended: photos/s (first upload to last
  terminal), p50/p95 upload -> terminal in the burst, the burst's whole time, and how far
  items ended in their order of arrival (the share of pairs that ended in arrival order);
- CPU: the worker processes' and the API's CPU seconds per photo over the burst (from /proc).
With ``--database-url`` naming a PostgreSQL server, each run has a scratch database of its own
there (dropped at its end, on failure, Ctrl-C or SIGTERM too), and the CPU of the server's
processes over the burst is reported beside the workers' (on SQLite the database's work is
inside the workers' figure); it is read from /proc, so only for a server on this machine whose
processes it can see ("not measured" otherwise), and it counts every database on that server.
Photos are 12 MP camera-like JPEGs made from the wallpapers Debian ships (install
mate-backgrounds and plasma-workspace-wallpapers), with EXIF as a phone writes it; with
``--heic N``, N different iPhone-like HEICs of the same pictures, and the worker CPU is
compared with pillow-heif's decode instead of libjpeg-turbo's.

    .venv/bin/python -m bench.e2e_throughput [--photos 100] [--idle 20] [--workers 1,2,4]
        [--quality 97] [--poll-ms N] [--heic N] [--database-url postgresql://...] [--out PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy.engine import make_url

from bench.photo_path import heic_of
from bench.postgres import (
    bench_database,
    is_postgres,
    postmaster_pid,
    psycopg_url,
    server_description,
)
from bench.process_cpu import cpu_seconds
from evidence.sniff import HEAD_BYTES, sniff
from tests.fixtures.serve import Serve, ServeFactory, descendants

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "e2e_throughput.md"
ADMIN = "bench-admin-token-0123456789"
WALLPAPER_DIRS = [Path("/usr/share/backgrounds"), Path("/usr/share/wallpapers")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wallpapers() -> list[Path]:
    """One file per picture (plasma ships each picture at many sizes)."""
    seen: dict[str, Path] = {}
    for root in WALLPAPER_DIRS:
        for path in sorted(root.rglob("*.jpg")):
            with Image.open(path) as im:
                if im.width * im.height < 2_000_000:
                    continue
            key = str(path.parent.parent) if "contents" in path.parts else str(path)
            best = seen.get(key)
            if best is None or path.stat().st_size > best.stat().st_size:
                seen[key] = path
    if not seen:
        sys.exit(
            "no wallpapers found: apt-get install mate-backgrounds plasma-workspace-wallpapers"
        )
    return list(seen.values())


def camera_jpeg(source: Path, index: int, quality: int = 92) -> bytes:
    """A 4000x3000 JPEG with phone-like EXIF, from a wallpaper."""
    with Image.open(source) as im:
        im = im.convert("RGB")
        scale = max(4000 / im.width, 3000 / im.height)
        im = im.resize(
            (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
        )
        left, top = (im.width - 4000) // 2, (im.height - 3000) // 2
        im = im.crop((left, top, left + 4000, top + 3000))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "samsung", "SM-A145F", 1
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = f"2026:10:13 07:{index % 60:02d}:00"
    ifd[0x9011] = "+07:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (6.0, 49.0, 0.48), "E", (107.0, 8.0, 33.0)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def decode_anchor_s(photos: list[bytes], heic: bool = False, rounds: int = 3) -> float:
    """CPU seconds of the full decode of a photo by libjpeg-turbo (simplejpeg), or of a HEIC
    by pillow-heif, the mean over ``photos`` (the least of ``rounds`` per photo): what a
    worker cannot do without."""
    import pillow_heif
    import simplejpeg

    def decode(data: bytes) -> None:
        if heic:
            pillow_heif.open_heif(io.BytesIO(data)).data  # noqa: B018  (decodes)
        else:
            simplejpeg.decode_jpeg(data)

    return least_cpu_s(photos, decode, rounds)


def least_cpu_s(photos: list[bytes], decode: Callable[[bytes], object], rounds: int = 3) -> float:
    """The mean over ``photos`` of the least CPU seconds ``decode`` took on each in ``rounds``."""
    costs = []
    for data in photos:
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            decode(data)
            best = min(best, time.process_time() - started)
        costs.append(best)
    return statistics.mean(costs)


def worker_pids(serve: Serve) -> list[int]:
    """Every process below serve that runs Dramatiq (its invocations and worker processes)."""
    return [p.pid for p in descendants(serve.process.pid) if "dramatiq" in p.command]


def setup(client: httpx.Client, days: int) -> tuple[dict[str, str], list[int]]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    school = client.post(
        "/api/v1/schools",
        headers=admin,
        json={"name": "SMKN 1 Cianjur", "lat": -6.8168, "lon": 107.1425},
    ).json()
    teacher = client.post(
        "/api/v1/teachers",
        headers=admin,
        json={"nip": "198003102005012007", "name": "Erni", "school_id": school["id"]},
    ).json()
    token = client.post(
        "/api/v1/users",
        headers=admin,
        json={"name": "Erni", "role": "teacher", "teacher_id": teacher["id"]},
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    activities = []
    for day in range(days):
        on = date(2026, 1, 1) + timedelta(days=day)
        response = client.post(
            "/api/v1/activities",
            headers=auth,
            json={
                "teacher_id": teacher["id"],
                "date": on.isoformat(),
                "start": "07:00",
                "end": "08:30",
                "title": f"day {day}",
            },
        )
        activities.append(response.json()["id"])
    return auth, activities


def upload(client: httpx.Client, auth: dict[str, str], activity_id: int, content: bytes) -> int:
    sniffed = sniff(content[:HEAD_BYTES])
    assert sniffed is not None
    mime = sniffed.mime
    name = f"IMG.{mime.removeprefix('image/')}"
    response = client.post(
        "/api/v1/evidence",
        headers=auth,
        data={"activity_id": str(activity_id)},
        files={"file": (name, content, mime)},
    )
    response.raise_for_status()
    return int(response.json()["id"])


def wait_terminal(client: httpx.Client, auth: dict[str, str], evidence_id: int) -> str:
    while True:
        status = client.get(f"/api/v1/evidence/{evidence_id}", headers=auth).json()["status"]
        if status not in ("received", "processing"):
            return str(status)
        time.sleep(0.01)


def wait_all(client: httpx.Client, auth: dict[str, str]) -> None:
    """Until no item is received or processing (one count per status, not a poll per item)."""
    while any(
        client.get("/api/v1/evidence", headers=auth, params={"status": s, "limit": 1}).json()[
            "total"
        ]
        for s in ("received", "processing")
    ):
        time.sleep(0.05)


def span(
    client: httpx.Client, auth: dict[str, str], evidence_id: int
) -> tuple[datetime, datetime, str]:
    """When the item was received and when it ended, from its event log."""
    events = client.get(f"/api/v1/evidence/{evidence_id}/events", headers=auth).json()
    received = next(e["at"] for e in events if e["outcome"] == "received")
    ended = [e for e in events if e["step"] == "pipeline" and e["outcome"] in TERMINAL]
    return (
        datetime.fromisoformat(received),
        datetime.fromisoformat(ended[-1]["at"]),
        ended[-1]["outcome"],
    )


TERMINAL = ("accepted", "flagged", "rejected", "failed")


@dataclass(frozen=True)
class Run:
    workers: int
    idle_p50: float
    idle_p95: float
    photos_per_s: float
    burst_p50: float
    burst_p95: float
    burst_s: float
    in_order: float
    worker_cpu_per_photo: float
    api_cpu_per_photo: float
    #: the PostgreSQL server's processes' (None: SQLite, whose work is the workers', or a
    #: server whose processes this machine cannot see)
    database_cpu_per_photo: float | None
    statuses: dict[str, int]


def in_arrival_order(ends: list[datetime]) -> float:
    """The share of pairs (in order of arrival) that also ended in that order."""
    pairs = ordered = 0
    for i, first in enumerate(ends):
        for later in ends[i + 1 :]:
            pairs += 1
            ordered += first <= later
    return ordered / pairs if pairs else 1.0


def run(
    factory: ServeFactory,
    root: Path,
    workers: int,
    photos: list[bytes],
    burst: int,
    idle: int,
    server: str | None = None,
    **env: str,
) -> Run:
    """Serve with ``workers`` worker processes: ``idle`` uploads one at a time, then a burst;
    on SQLite, or with ``server`` (a PostgreSQL server's URL) on a scratch database of its own
    there, dropped afterwards, whose server's CPU over the burst is read."""
    with bench_database(server) as database:
        if database.url is not None:
            env = {**env, "BUKTI_DATABASE_URL": database.url}
        serve = factory(
            root / f"w{workers}",
            "--workers",
            str(workers),
            BUKTI_ADMIN_TOKEN=ADMIN,
            BUKTI_WORKER_THREADS="1",
            BUKTI_LOG_LEVEL="WARNING",
            **env,
        )
        base = f"http://127.0.0.1:{serve.port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                auth, activities = setup(client, burst + idle)
                latencies = []
                for i in range(idle):
                    started = time.perf_counter()
                    evidence_id = upload(client, auth, activities[i], photos[i % len(photos)])
                    wait_terminal(client, auth, evidence_id)
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.2)

                def one(i: int) -> int:
                    with httpx.Client(base_url=base, timeout=120) as c:
                        return upload(c, auth, activities[idle + i], photos[i % len(photos)])

                pids = worker_pids(serve)
                cpu_before = (
                    cpu_seconds(pids),
                    cpu_seconds([serve.process.pid]),
                    database.server_cpu_seconds(),
                )
                started = time.perf_counter()
                with ThreadPoolExecutor(4) as pool:
                    ids = list(pool.map(one, range(burst)))
                wait_all(client, auth)
                elapsed = time.perf_counter() - started
                worker_cpu = cpu_seconds(pids) - cpu_before[0]
                api_cpu = cpu_seconds([serve.process.pid]) - cpu_before[1]
                database_cpu = database.server_cpu_seconds() - cpu_before[2]
                spans = sorted(span(client, auth, i) for i in ids)
        finally:
            serve.process.send_signal(signal.SIGTERM)
            serve.process.wait(60)
    waits = [(end - received).total_seconds() for received, end, _ in spans]
    q = statistics.quantiles(latencies, n=20)
    b = statistics.quantiles(waits, n=20)
    statuses = [status for _, _, status in spans]
    return Run(
        workers,
        statistics.median(latencies),
        q[18],
        burst / elapsed,
        statistics.median(waits),
        b[18],
        (spans[-1][1] - spans[0][0]).total_seconds(),
        in_arrival_order([end for _, end, _ in spans]),
        worker_cpu / burst,
        api_cpu / burst,
        database_cpu / burst if database.is_server_cpu_read else None,
        {s: statuses.count(s) for s in sorted(set(statuses))},
    )


def database_cpu_cell(run: Run, postgres: bool) -> str:
    """The results table's cell for the database server's CPU a photo."""
    if not postgres:
        return "in the workers"
    if run.database_cpu_per_photo is None:
        return "not measured"
    return f"{run.database_cpu_per_photo * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--idle", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the table goes")
    parser.add_argument(
        "--quality", type=int, default=92, help="JPEG quality of the photos (97: 3-5 MB, as phones)"
    )
    parser.add_argument(
        "--poll-ms", type=int, help="BUKTI_WORKER_POLL_MS for the workers (default: the setting's)"
    )
    parser.add_argument(
        "--heic", type=int, default=0, help="send N different HEIC photos (iPhone-like) instead"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql://user@host:port/db): each run on a scratch "
        "database of its own there, and the server's CPU measured (default: SQLite)",
    )
    args = parser.parse_args()
    if args.database_url and not is_postgres(args.database_url):
        parser.error("--database-url: a PostgreSQL URL (SQLite is the default)")
    server = psycopg_url(args.database_url) if args.database_url else None
    sources = wallpapers()
    photos = [
        camera_jpeg(sources[i % len(sources)], i, args.quality)
        for i in range(min(args.photos + args.idle, args.heic or 40))
    ]
    if args.heic:
        photos = [heic_of(photo) for photo in photos]
    anchor = decode_anchor_s(photos, heic=bool(args.heic))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        factory = ServeFactory(Path(tmp))
        try:
            for workers in (int(n) for n in args.workers.split(",")):
                env = {"BUKTI_WORKER_POLL_MS": str(args.poll_ms)} if args.poll_ms else {}
                runs.append(
                    run(factory, Path(tmp), workers, photos, args.photos, args.idle, server, **env)
                )
        finally:
            factory.kill_all()
    size_mb = statistics.mean(len(p) for p in photos) / 1e6
    kind = f"HEICs ({len(photos)} different)" if args.heic else "JPEGs"
    decoder = "pillow-heif" if args.heic else "libjpeg-turbo (simplejpeg)"
    lines = [
        f"`.venv/bin/python -m bench.e2e_throughput --photos {args.photos} --idle {args.idle} "
        f"--workers {args.workers}"
        + (f" --quality {args.quality}" if args.quality != 92 else "")
        + (f" --poll-ms {args.poll_ms}" if args.poll_ms else "")
        + (f" --heic {args.heic}" if args.heic else "")
        + (f" --database-url {shown_url(args.database_url)}" if server else "")
        + f"` ({time.strftime('%Y-%m-%d')}): `bukti serve` with N worker "
        f"processes x 1 thread, {database_phrase(server)}, local disk, default settings, on "
        f"{os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at the end); 12 MP {kind} of {size_mb:.1f} MB "
        f"average from {len(sources)} wallpapers; the burst from 4 client threads. Their "
        f"{decoder} full decode in this process: {anchor * 1000:.1f} ms of CPU "
        "a photo on average, the anchor of the worker CPU ratio.",
        "",
        "| workers | burst photos/s | burst p50 / p95 upload→terminal | burst time | ended in arrival order | idle p50 / p95 | worker CPU / photo | over the decode | API CPU / photo | database server CPU / photo | statuses |",
        "|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.workers} | **{r.photos_per_s:.1f}** | {r.burst_p50:.2f} / {r.burst_p95:.2f} s "
            f"| {r.burst_s:.1f} s | {r.in_order:.3f} | {r.idle_p50:.2f} / {r.idle_p95:.2f} s "
            f"| {r.worker_cpu_per_photo * 1000:.0f} ms | {r.worker_cpu_per_photo / anchor:.2f}x "
            f"| {r.api_cpu_per_photo * 1000:.0f} ms | {database_cpu_cell(r, server is not None)} "
            f"| {r.statuses} |"
        )
    publish(lines, args.out)


def shown_url(url: str) -> str:
    """``url`` as a results file may show it: its password masked."""
    return make_url(url).render_as_string(hide_password=True)


def database_phrase(server: str | None) -> str:
    """How the results' header names the database of the runs."""
    if server is None:
        return "SQLite"
    measured = (
        "the CPU of all its processes measured, other databases' work on it included"
        if postmaster_pid(server) is not None
        else "its processes out of this machine's sight (their CPU not measured)"
    )
    return f"{server_description(server)} (a scratch database of the bench's own; {measured})"


def publish(lines: list[str], out: Path) -> None:
    """Print a result's lines and write them to ``out``."""
    table = "\n".join(lines)
    print(table)
    out.parent.mkdir(exist_ok=True)
    out.write_text(table + "\n")


if __name__ == "__main__":
    main()

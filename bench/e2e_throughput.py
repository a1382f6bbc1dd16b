"""End to end: photos per second through the API and 2 worker processes, and latency.

Starts `bukti serve` (2 worker processes, a private Redis, SQLite, local disk) on a free
port, then
- idle latency: uploads photos one at a time and times upload -> terminal status;
- throughput: uploads N photos from 4 client threads and times first upload -> last
  terminal status.
Photos are 12 MP camera-like JPEGs made from the wallpapers Debian ships (install
mate-backgrounds and plasma-workspace-wallpapers), with EXIF as a phone writes it.

    .venv/bin/python -m bench.e2e_throughput [--photos 120] [--idle 20]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import httpx
from PIL import Image

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


def camera_jpeg(source: Path, index: int) -> bytes:
    """A 4000x3000 q92 JPEG with phone-like EXIF, from a wallpaper."""
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
    im.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def start_service(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUKTI_")}
    env.update(
        BUKTI_PORT=str(port),
        BUKTI_DATA_DIR=str(data_dir),
        BUKTI_ADMIN_TOKEN=ADMIN,
        BUKTI_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        BUKTI_LOG_LEVEL="WARNING",
        BUKTI_WORKER_PROCESSES="2",
        BUKTI_WORKER_THREADS="2",
    )
    log = (data_dir.parent / "service.log").open("wb")
    process = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "bukti"), "serve"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz").status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not start: " + (data_dir.parent / "service.log").read_text())


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
    response = client.post(
        "/api/v1/evidence",
        headers=auth,
        data={"activity_id": str(activity_id)},
        files={"file": ("IMG.jpg", content, "image/jpeg")},
    )
    response.raise_for_status()
    return int(response.json()["id"])


def wait_terminal(client: httpx.Client, auth: dict[str, str], evidence_id: int) -> str:
    while True:
        status = client.get(f"/api/v1/evidence/{evidence_id}", headers=auth).json()["status"]
        if status not in ("received", "processing"):
            return str(status)
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--idle", type=int, default=20)
    args = parser.parse_args()
    sources = wallpapers()
    total = args.photos + args.idle
    photos = [camera_jpeg(sources[i % len(sources)], i) for i in range(min(total, 40))]
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_service(Path(tmp) / "data")
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                auth, activities = setup(client, total)
                latencies = []
                for i in range(args.idle):
                    started = time.perf_counter()
                    evidence_id = upload(client, auth, activities[i], photos[i % len(photos)])
                    wait_terminal(client, auth, evidence_id)
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.2)

                def one(i: int) -> int:
                    with httpx.Client(base_url=base, timeout=120) as c:
                        return upload(c, auth, activities[args.idle + i], photos[i % len(photos)])

                started = time.perf_counter()
                with ThreadPoolExecutor(4) as pool:
                    ids = list(pool.map(one, range(args.photos)))
                uploaded = time.perf_counter() - started
                statuses = [wait_terminal(client, auth, i) for i in ids]
                elapsed = time.perf_counter() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
    q = statistics.quantiles(latencies, n=20)
    size_mb = statistics.mean(len(p) for p in photos) / 1e6
    table = "\n".join(
        [
            f"End to end through the API, `bukti serve` with 2 worker processes x 2 threads, "
            f"SQLite, local disk, on {os.cpu_count()} cores; 12 MP JPEGs of {size_mb:.1f} MB "
            f"average from {len(sources)} wallpapers.",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| throughput, {args.photos} photos from 4 clients | "
            f"**{args.photos / elapsed:.1f} photos/s** (uploads done in {uploaded:.1f} s, "
            f"all terminal in {elapsed:.1f} s) | ≥ 12 |",
            f"| idle upload → terminal, p50 ({args.idle} photos) | {statistics.median(latencies):.2f} s | |",
            f"| idle upload → terminal, p95 | **{q[18]:.2f} s** | ≤ 2 s |",
            f"| statuses | {dict((s, statuses.count(s)) for s in sorted(set(statuses)))} | |",
        ]
    )
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(table + "\n")


if __name__ == "__main__":
    main()

"""Sustained uploads per second and latency under 50, 300 and 1,000 concurrent clients.

The API runs as `uvicorn api.app:create_app` (one process, as `bukti serve` runs it) on
loopback against SQLite and against PostgreSQL, queueing to a private Redis with no worker
draining it: what is measured is intake (stream to disk, hash, sniff, record, queue, 202).
Each level runs for a bounded time; every client uploads a small real JPEG again and again
with its own Idempotency-Key. Run it on an idle machine: the clients share its cores.

    .venv/bin/python -m bench.load [--seconds 20] [--levels 50,300,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bukti.embedded_redis import start_redis

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "load.md"
ADMIN = "bench-admin-token-0123456789"


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _photo() -> bytes:
    from PIL import Image
    from skimage import data as skdata

    out = io.BytesIO()
    Image.fromarray(skdata.astronaut()).resize((640, 640)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _serve(
    database_url: str, redis_url: str, data_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUKTI_")}
    env.update(
        BUKTI_DATA_DIR=str(data_dir),
        BUKTI_DATABASE_URL=database_url,
        BUKTI_REDIS_URL=redis_url,
        BUKTI_ADMIN_TOKEN=ADMIN,
        BUKTI_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    from storage.db import upgrade

    upgrade(database_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--backlog", "4096", "--limit-concurrency", "4096"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the API did not start")


def _setup(base: str) -> tuple[str, int]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as http:
        school = http.post(
            "/api/v1/schools", json={"name": "SMKN 1", "lat": -6.8, "lon": 107.1}
        ).json()
        teacher = http.post(
            "/api/v1/teachers",
            json={"nip": "198003102005012007", "name": "Erni", "school_id": school["id"]},
        ).json()
        user = http.post(
            "/api/v1/users", json={"name": "Erni", "role": "teacher", "teacher_id": teacher["id"]}
        ).json()
        auth = {"Authorization": f"Bearer {user['token']}"}
        activity = http.post(
            "/api/v1/activities",
            json={
                "teacher_id": teacher["id"],
                "date": "2026-10-13",
                "start": "07:00",
                "end": "08:30",
                "title": "x",
            },
            headers=auth,
        ).json()
    return user["token"], activity["id"]


async def _level(
    base: str, token: str, activity_id: int, photo: bytes, clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:

        async def client() -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/api/v1/evidence",
                        data={"activity_id": str(activity_id)},
                        files={"file": ("IMG.jpg", photo, "image/jpeg")},
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Idempotency-Key": uuid.uuid4().hex,
                        },
                    )
                    outcome = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                if outcome == "202":
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[outcome] += 1

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - began
    ordered = sorted(latencies) or [float("nan")]
    return {
        "uploads_per_s": len(latencies) / elapsed,
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[int(0.95 * (len(ordered) - 1))],
        "errors": ", ".join(f"{n} x {kind}" for kind, n in sorted(errors.items())) or "0",
        "uploads": len(latencies),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--levels", default="50,300,1000")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BUKTI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    levels = [int(n) for n in args.levels.split(",")]
    photo = _photo()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        redis_url = f"redis://127.0.0.1:{free_port()}/0"
        redis = start_redis(redis_url, Path(tmp) / "redis")
        try:
            for database in ("sqlite", "postgresql"):
                data_dir = Path(tmp) / database
                data_dir.mkdir()
                if database == "sqlite":
                    url = f"sqlite:///{data_dir / 'bukti.db'}"
                    drop = None
                else:
                    name = f"bukti_load_{uuid.uuid4().hex[:8]}"
                    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
                    with admin.connect() as conn:
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
                    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                    drop = (admin, name)
                process, base = _serve(url, redis_url, data_dir)
                try:
                    token, activity_id = _setup(base)
                    for clients in levels:
                        result = asyncio.run(
                            _level(base, token, activity_id, photo, clients, args.seconds)
                        )
                        rows.append((database, clients, result))
                        print(
                            database,
                            clients,
                            result,
                            flush=True,
                        )
                finally:
                    process.terminate()
                    process.wait(20)
                    if drop is not None:
                        with drop[0].connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{drop[1]}" WITH (FORCE)'))
                        drop[0].dispose()
        finally:
            redis.terminate()
            redis.wait(10)
    lines = [
        "# Load: sustained uploads under concurrent clients",
        "",
        f"`python -m bench.load --seconds {args.seconds:g} --levels {args.levels}` on "
        f"{os.cpu_count()} cores; one uvicorn process; {len(photo) // 1024} KiB JPEG per upload; "
        "clients and API share the machine.",
        "",
        "| database | clients | uploads/s | p50 | p95 | not 202 | uploads | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for database, clients, r in rows:
        lines.append(
            f"| {database} | {clients} | {r['uploads_per_s']:.1f} | {r['p50_s'] * 1000:.0f} ms | "
            f"{r['p95_s'] * 1000:.0f} ms | {r['errors']} | {r['uploads']} | "
            f"{r['load_average']:.1f} |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Memory of the API process while a 2 GB video is uploaded: it must stay flat.

Starts `bukti serve --no-workers` (the API alone, SQLite, a private Redis), streams a
2 GiB MP4-headed file through multipart `POST /api/v1/evidence`, and samples the API
process's resident memory (VmRSS) every 20 ms. Target: growth <= 64 MB.

    .venv/bin/python -m bench.upload_memory [--gib 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.e2e_throughput import ADMIN, REPO, free_port, setup

RESULTS = REPO / "bench" / "results" / "upload_memory.md"


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def make_video_file(path: Path, size: int) -> None:
    """An MP4 box header, then zeros up to ``size`` (sparse: the disk is not filled twice)."""
    with path.open("wb") as fh:
        fh.write(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
        fh.truncate(size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gib", type=float, default=2.0)
    args = parser.parse_args()
    size = int(args.gib * 1024**3)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUKTI_")}
        env.update(
            BUKTI_PORT=str(port),
            BUKTI_DATA_DIR=str(data),
            BUKTI_ADMIN_TOKEN=ADMIN,
            BUKTI_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            BUKTI_LOG_LEVEL="WARNING",
        )
        process = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "bukti"), "serve", "--no-workers"],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the service did not start")
                time.sleep(0.2)
            video = Path(tmp) / "big.mp4"
            make_video_file(video, size)
            with httpx.Client(base_url=base, timeout=600) as client:
                auth, activities = setup(client, 1)
                baseline = rss_kib(process.pid)
                peak = baseline
                stop = threading.Event()

                def sample() -> None:
                    nonlocal peak
                    while not stop.is_set():
                        peak = max(peak, rss_kib(process.pid))
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                started = time.perf_counter()
                with video.open("rb") as fh:
                    response = client.post(
                        "/api/v1/evidence",
                        headers=auth,
                        data={"activity_id": str(activities[0])},
                        files={"file": ("big.mp4", fh, "video/mp4")},
                    )
                elapsed = time.perf_counter() - started
                stop.set()
                sampler.join()
                assert response.status_code == 202, response.text
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
    growth_mb = (peak - baseline) / 1024
    table = "\n".join(
        [
            f"`bukti serve --no-workers`, one multipart upload of {args.gib:g} GiB "
            f"(`python -m bench.upload_memory`), VmRSS of the API process sampled every 20 ms.",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| resident memory before | {baseline / 1024:.0f} MB | |",
            f"| peak during the upload | {peak / 1024:.0f} MB | |",
            f"| growth | **{growth_mb:.1f} MB** | ≤ 64 MB |",
            f"| upload time (loopback) | {elapsed:.1f} s ({size / elapsed / 1e6:.0f} MB/s) | |",
        ]
    )
    print(table)
    RESULTS.write_text(table + "\n")


if __name__ == "__main__":
    main()

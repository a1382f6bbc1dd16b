"""Where a photo's job spends its CPU: each phase of ``process_evidence``, in one process.

Run ``.venv/bin/python -m bench.job_profile [--photos 40] [--quality 97] [--database-url
postgresql://...]``. It builds the service in this process as ``bukti serve`` does (SQLite, or
with ``--database-url`` a scratch database of its own on that PostgreSQL server, dropped at the
end; local disk, the default settings, a scratch data directory), uploads 12 MP phone-like JPEGs
through the API (nothing is queued: no worker runs), then runs the product's own job
(``workers.pipeline.process_evidence``) on each upload in turn and reads this thread's CPU time
around each phase, by wrapping the functions the job calls (the job's code is called, never
copied). The photos are those of ``bench.e2e_throughput`` (31 wallpapers, so most uploads are
also near duplicates of earlier ones: the duplicate bookkeeping is in the figures).
libjpeg-turbo's full decode of the same files, in the same process, is the anchor; beside it,
the same decoder's cheapest pass over the files (1/8 scale, grey: every block entropy-decoded,
almost nothing else done), which no scaling can go under. Writes
``bench/results/job_profile.md``.

The job's CPU here leaves out what only a worker process spends (Dramatiq's consumer polling
Redis, heartbeats, sweeps): ``bench.e2e_throughput`` measures that whole. On PostgreSQL the
statements run in the server's processes, whose CPU over the jobs is a row of its own (read from
/proc: a server on this machine only, and every database on it counts).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from bench.e2e_throughput import (
    ADMIN,
    camera_jpeg,
    database_phrase,
    decode_anchor_s,
    least_cpu_s,
    publish,
    setup,
    shown_url,
    upload,
    wallpapers,
)
from bench.postgres import BenchDatabase, bench_database, is_postgres, psycopg_url
from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.db import upgrade

RESULTS = Path(__file__).parent / "results" / "job_profile.md"


@dataclass
class Phase:
    """One timed phase: its label, how deep it nests, and its CPU seconds over every call."""

    label: str
    depth: int
    seconds: float = 0.0
    calls: int = 0


@dataclass
class Timer:
    """Thread CPU time per phase of the job, from wrappers put around its functions."""

    phases: dict[str, Phase] = field(default_factory=dict)

    def wrap(self, owner: Any, name: str, label: str, depth: int) -> Callable[[], None]:
        """Time ``owner.name`` as ``label``; returns what puts the original back."""
        original = getattr(owner, name)
        phase = self.phases.setdefault(label, Phase(label, depth))

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                phase.seconds += time.thread_time() - started
                phase.calls += 1

        setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


#: (module or module:Class, attribute, label, depth): what the job calls, in order
PHASES: tuple[tuple[str, str, str, int], ...] = (
    ("workers.leases", "claim", "claim the item (lease)", 1),
    ("workers.pipeline", "_load", "load the item", 1),
    ("workers.pipeline", "_checked_staged", "check the staged upload's type", 1),
    ("workers.media:PhotoMedia", "process", "media phases (`process_photo`)", 1),
    ("workers.photo", "decode_photo", "decode, DCT-scaled to 2000x1500", 2),
    ("workers.photo", "write_rendition", "rendition: JPEG encode and write", 2),
    ("workers.photo", "reduced_colour", "box-averaged 256-511 px copy", 2),
    ("workers.photo", "hash_decoded", "perceptual hashes, SHA-256, EXIF thumbnail", 2),
    ("workers.photo", "write_thumbnail", "thumbnail: JPEG encode and write", 2),
    ("workers.pipeline", "_trailing_flags", "scan for data after the JPEG's end", 1),
    ("workers.pipeline", "archive", "archive the original, rendition and thumbnail", 1),
    ("workers.pipeline", "_finish", "the outcome's transaction", 1),
    ("workers.pipeline", "find_duplicates", "register hashes, look up duplicates", 2),
    ("workers.pipeline", "verify_item", "verification against the records", 2),
    ("storage.objects", "record", "the archived copies on record", 2),
)


def _owner(path: str) -> Any:
    """``"module"`` or ``"module:Class"``."""
    module, _, attribute = path.partition(":")
    imported = importlib.import_module(module)
    return getattr(imported, attribute) if attribute else imported


@contextmanager
def timed_phases(timer: Timer) -> Iterator[None]:
    """The job's functions wrapped for the block."""
    undo = [timer.wrap(_owner(path), name, label, depth) for path, name, label, depth in PHASES]
    try:
        yield
    finally:
        for put_back in reversed(undo):
            put_back()


def decode_floor_s(photos: list[bytes], rounds: int = 3) -> float:
    """CPU seconds of libjpeg-turbo's cheapest strict pass over a photo, the mean over
    ``photos`` (the least of ``rounds`` each): 1/8 scale in grey, so every block is still
    entropy-decoded (the bitstream has no other way through) but only the luma's DC values
    are turned into pixels. What any decode of the file costs at least."""
    import simplejpeg

    def decode(data: bytes) -> None:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)  # height first
        simplejpeg.decode_jpeg(
            data, "GRAY", min_width=-(-width // 8), min_height=-(-height // 8), strict=True
        )

    return least_cpu_s(photos, decode, rounds)


@dataclass(frozen=True)
class Profile:
    """What one profile measured."""

    timer: Timer
    #: this thread's CPU seconds over every job
    job_s: float
    flagged: int
    #: the PostgreSQL server's processes' CPU seconds over the jobs (None: SQLite, whose work
    #: is in the job's own, or a server whose processes this machine cannot see)
    database_s: float | None


def run(photos: list[bytes], root: Path, server: str | None = None) -> Profile:
    """Upload ``photos`` and run each one's job, timing its phases; on SQLite, or with
    ``server`` (a PostgreSQL server's URL) on a scratch database of its own there, dropped
    afterwards, whose server's CPU over the jobs is read."""
    with bench_database(server) as database:
        return profile(photos, root, database)


def profile(photos: list[bytes], root: Path, database: BenchDatabase) -> Profile:
    """The jobs of ``photos`` on ``database``, phase by phase."""
    settings = Settings(data_dir=root / "data", admin_token=ADMIN, database_url=database.url)
    services = Services(settings)
    services.prepare_dirs()
    upgrade(settings.resolved_database_url)  # as `bukti serve` migrates before it serves
    from workers import pipeline  # the job, as a worker process imports it

    app = create_app(settings, services, enqueue=lambda *_args, **_kwargs: None, sweep=False)
    timer = Timer()
    with TestClient(app) as client:
        auth, activities = setup(client, len(photos) + 1)
        # one job first, outside the figures: imports and caches a worker has warm
        pipeline.process_evidence(services, upload(client, auth, activities[-1], photos[0]))
        ids = [upload(client, auth, activities[i], photo) for i, photo in enumerate(photos)]
        database_before = database.server_cpu_seconds()
        flagged = 0
        with timed_phases(timer):
            started = time.thread_time()
            for evidence_id in ids:
                flagged += pipeline.process_evidence(services, evidence_id).outcome == "flagged"
            total = time.thread_time() - started
        database_s = database.server_cpu_seconds() - database_before
    services.close()
    return Profile(timer, total, flagged, database_s if database.is_server_cpu_read else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--quality", type=int, default=97, help="JPEG quality (97: ~3 MB)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql://user@host:port/db): the jobs on a scratch "
        "database of its own there, and the server's CPU measured (default: SQLite)",
    )
    args = parser.parse_args()
    if args.database_url and not is_postgres(args.database_url):
        parser.error("--database-url: a PostgreSQL URL (SQLite is the default)")
    server = psycopg_url(args.database_url) if args.database_url else None
    sources = wallpapers()
    photos = [camera_jpeg(sources[i % len(sources)], i, args.quality) for i in range(args.photos)]
    anchor = decode_anchor_s(photos)
    floor = decode_floor_s(photos)
    with tempfile.TemporaryDirectory() as scratch:
        measured = run(photos, Path(scratch), server)
    timer, count = measured.timer, len(photos)
    per_photo_ms = measured.job_s / count * 1000
    size_mb = statistics.mean(len(p) for p in photos) / 1e6
    lines = [
        f"`.venv/bin/python -m bench.job_profile --photos {count} --quality {args.quality}"
        + (f" --database-url {shown_url(args.database_url)}" if server else "")
        + f"` ({time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end): the job of {count} 12 MP JPEGs of {size_mb:.1f} "
        f"MB average ({measured.flagged} ended flagged), in one process on "
        f"{database_phrase(server)} and local disk. "
        f"libjpeg-turbo's full decode of the same files: **{anchor * 1000:.1f} ms** a photo; "
        f"its cheapest pass over them (1/8 scale, grey: the entropy decoding no scaling skips) "
        f"{floor * 1000:.1f} ms = {floor / anchor:.2f}x.",
        "",
        "| phase | CPU ms a photo | over the decode |",
        "|---|---:|---:|",
        f"| **the whole job** (`process_evidence`) | **{per_photo_ms:.1f}** "
        f"| **{per_photo_ms / (anchor * 1000):.2f}x** |",
    ]
    for phase in timer.phases.values():
        ms = phase.seconds / count * 1000
        indent = "&nbsp;&nbsp;&nbsp;&nbsp;" * (phase.depth - 1)
        lines.append(f"| {indent}{phase.label} | {ms:.1f} | {ms / (anchor * 1000):.2f}x |")
    covered = sum(p.seconds for p in timer.phases.values() if p.depth == 1) / count * 1000
    lines.append(
        f"| the rest (lease thread, work directory, clean-up, ...) | {per_photo_ms - covered:.1f} "
        f"| {(per_photo_ms - covered) / (anchor * 1000):.2f}x |"
    )
    if server is not None:
        cells = database_cells(measured.database_s, count, anchor)
        lines.append(f"| the database server's processes (beside the job, not in it) | {cells} |")
    publish(lines, args.out)


def database_cells(database_s: float | None, count: int, anchor_s: float) -> str:
    """The database server's row's cells: its CPU a photo and over the decode."""
    if database_s is None:
        return "not measured | —"
    return f"{database_s / count * 1000:.1f} | {database_s / count / anchor_s:.2f}x"


if __name__ == "__main__":
    main()

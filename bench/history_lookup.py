"""The verify step of a photo whose teacher has years of history: wall and CPU time per photo.

Run ``.venv/bin/python -m bench.history_lookup [--items 5000] [--teachers 20] [--postgres URL]``.
Writes ``bench/results/history_lookup.md`` and prints it. Each database (a scratch SQLite file, and a scratch
database on the PostgreSQL server of ``--postgres``, else ``BUKTI_TEST_POSTGRES_URL``, dropped
at the end) is migrated and loaded with ``--teachers`` teachers of ``--items`` items each (ten
a school day, at the school with metres of GPS wander, times from 06:30 to 15:30 WIB); then
:func:`workers.verify.verify_item`, what the job's ``verify`` step runs, verifies photos of
the first teacher taken at random moments of that history, each in a transaction rolled back.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.postgres import scratch_database
from bukti.bootstrap import Services
from bukti.settings import Settings
from evidence.facts import CaptureFacts, Location, Sourced
from storage.db import transaction, upgrade
from storage.models import Evidence, School, Teacher, User
from workers.verify import verify_item

SCHOOL = (-6.8200, 107.1400)
FAKE_SPOT = (-6.819873, 107.140412)  # what a fake-GPS app writes, one item in a hundred
BANDUNG = (-6.9025, 107.6188)  # 54 km away: a photo there is an impossible journey
FIRST_DAY = datetime(2024, 1, 8, tzinfo=UTC)
PER_DAY = 10
RESULTS = Path(__file__).parent / "results" / "history_lookup.md"


def school_days(count: int) -> Iterator[date]:
    """Monday to Friday from the first day on."""
    day = FIRST_DAY.date()
    while count > 0:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += timedelta(days=1)


def place(rng: random.Random, fake: float) -> tuple[float, float]:
    """At the school, metres of GPS wander apart, or (that often) the fake-GPS spot."""
    if rng.random() < fake:
        return FAKE_SPOT
    return SCHOOL[0] + rng.gauss(0, 1e-4), SCHOOL[1] + rng.gauss(0, 1e-4)


def load(services: Services, teachers: int, items: int, rng: random.Random) -> list[int]:
    """The teachers, their users and their verified items; the teachers' ids."""
    with transaction(services.sessions) as db:
        school = School(name="SMKN 1 Cianjur", lat=SCHOOL[0], lon=SCHOOL[1])
        db.add(school)
        db.flush()
        ids = []
        for n in range(teachers):
            teacher = Teacher(nip=f"1980{n:014d}", name=f"Guru {n}", school_id=school.id)
            db.add(teacher)
            db.flush()
            user = User(name=teacher.name, role="teacher", teacher_id=teacher.id)
            db.add(user)
            db.flush()
            ids.append((teacher.id, user.id))
    days = list(school_days(-(-items // PER_DAY)))
    for teacher_id, user_id in ids:
        rows = []
        for n in range(items):
            day = days[n // PER_DAY]
            local = datetime(day.year, day.month, day.day, 6, 30, tzinfo=UTC)
            captured = local + timedelta(seconds=rng.randint(0, 9 * 3600)) - timedelta(hours=7)
            rows.append(
                {
                    "teacher_id": teacher_id,
                    "uploaded_by": user_id,
                    "kind": "photo",
                    "mime": "image/jpeg",
                    "status": rng.choice(["accepted", "accepted", "flagged"]),
                    "sha256": uuid.uuid4().hex * 2,
                    "original_bytes": 3_000_000,
                    "received_at": captured + timedelta(hours=8),
                    "captured_at": captured,
                    "local_date": day,
                    **dict(zip(("lat", "lon"), place(rng, fake=0.01), strict=True)),
                    "accuracy_m": rng.choice([4.0, 8.0, 12.0, 30.0]),
                }
            )
        with transaction(services.sessions) as db:
            db.execute(insert(Evidence), rows)
    with services.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return [teacher_id for teacher_id, _ in ids]


def photos(services: Services, teacher_id: int, count: int, rng: random.Random) -> list[int]:
    """Photos in processing, taken at random moments of the history, with their GPS."""
    with transaction(services.sessions) as db:
        user = db.query(User).filter_by(teacher_id=teacher_id).one()
        span = db.query(Evidence.captured_at).filter_by(teacher_id=teacher_id)
        moments = sorted(row.captured_at for row in span)
        made = []
        for _ in range(count):
            taken = rng.choice(moments) + timedelta(seconds=rng.randint(-900, 900))
            facts = CaptureFacts(
                width=4000,
                height=3000,
                format="image/jpeg",
                captured_local=Sourced(
                    (taken + timedelta(hours=7)).replace(tzinfo=None), "exif:DateTimeOriginal"
                ),
                utc_offset_min=Sourced(420, "exif:OffsetTimeOriginal"),
                location=Sourced(
                    Location(
                        *(BANDUNG if rng.random() < 0.1 else place(rng, fake=0.1)), accuracy_m=8.0
                    ),
                    "exif:GPS",
                ),
                make=Sourced("samsung", "exif:Make"),
                model=Sourced("SM-A145F", "exif:Model"),
            )
            item = Evidence(
                teacher_id=teacher_id,
                uploaded_by=user.id,
                kind="photo",
                mime="image/jpeg",
                status="processing",
                sha256=uuid.uuid4().hex * 2,
                original_bytes=3_000_000,
                received_at=taken + timedelta(hours=1),
                facts=facts.to_json(),
            )
            db.add(item)
            db.flush()
            made.append(item.id)
        return made


def measure(services: Services, ids: list[int]) -> tuple[float, float, int, str]:
    """Median wall and CPU ms of verify_item over the photos (the first two warm up), the
    flags raised and a digest of them all (codes, details, related items)."""
    walls, cpus, flagged = [], [], 0
    digest = hashlib.sha256()
    for n, evidence_id in enumerate(ids):
        with services.sessions() as db:
            item = db.get(Evidence, evidence_id)
            assert item is not None
            _ = item.teacher
            wall, cpu = time.perf_counter(), time.process_time()
            flags = verify_item(services, db, item)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            db.rollback()
        if n >= 2:
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
        flagged += len(flags)
        digest.update(repr(flags).encode())
    return statistics.median(walls), statistics.median(cpus), flagged, digest.hexdigest()[:12]


def run(url: str, args: argparse.Namespace, workdir: Path) -> tuple[float, float, int, str]:
    """The measure on a migrated database."""
    services = Services(Settings(data_dir=workdir, database_url=url, zone_from_gps=False))
    try:
        rng = random.Random(args.seed)
        teachers = load(services, args.teachers, args.items, rng)
        ids = photos(services, teachers[0], args.photos + 2, rng)
        return measure(services, ids)
    finally:
        services.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="items per teacher")
    parser.add_argument("--teachers", type=int, default=20)
    parser.add_argument("--photos", type=int, default=200, help="photos verified")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("BUKTI_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sqlite = f"sqlite:///{work / 'bench.db'}"
        upgrade(sqlite)
        results = [("SQLite", run(sqlite, args, work / "sqlite"))]
        if args.postgres and not args.sqlite_only:
            with scratch_database(args.postgres) as url:
                results.append(("PostgreSQL", run(url, args, work / "postgres")))
    lines = [
        "# The verify step against a teacher's years of history",
        "",
        f"Command: `.venv/bin/python -m bench.history_lookup --items {args.items} "
        f"--teachers {args.teachers} --photos {args.photos}` "
        f"({time.monotonic() - started:.0f} s, {date.today():%Y-%m-%d})",
        f"Machine: {os.cpu_count()} cores (shared with other work), Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        f"{args.teachers} teachers of {args.items:,} items each (ten a school day); "
        f"{args.photos} photos of the first teacher, one in ten at a spot a fake-GPS app "
        "repeats in that history and one in ten 54 km away, each verified by `verify_item` "
        "in its own transaction (rolled back). The digest covers every flag's code, detail "
        "and related item: equal digests, equal verdicts.",
        "",
        "| database | verify_item wall p50 | CPU p50 | flags raised | their digest |",
        "|---|---:|---:|---:|---|",
        *(
            f"| {name} | {wall:.2f} ms | {cpu:.2f} ms | {flagged} | {digest} |"
            for name, (wall, cpu, flagged, digest) in results
        ),
    ]
    text_out = "\n".join(lines) + "\n"
    RESULTS.write_text(text_out)
    print(text_out)


if __name__ == "__main__":
    main()

"""What the archive holds for a month of a school's photos, before and after retention.

A month (October 2026) of two teachers' 12 MP phone photos (4000x3000 JPEGs with phone EXIF,
made from Debian's wallpapers: install mate-backgrounds and plasma-workspace-wallpapers),
one photo sent by both teachers, and the walk-through's lesson plan (PDF), each uploaded
through the API and processed by the pipeline's own steps in this process; local disk,
SQLite, the default settings and the default retention policy. Then the storage admin's
dry run and run as of the day accepted photos' originals are due (2027-01-30), as the
product does them.

Reported: bytes received; what the archive holds (by the records, and by a walk of the
disk); what ``stored_bytes`` summed to before issue 11 (the renditions only); the same after
the run, with the trash; receipts still valid.

    .venv/bin/python -m bench.storage_savings [--photos 20]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from api.app import create_app
from bench.e2e_throughput import camera_jpeg, wallpapers
from bukti.bootstrap import Services
from bukti.embedded_redis import start_redis
from bukti.settings import Settings
from storage.audit import Actor
from storage.db import transaction, upgrade
from storage.models import Evidence
from storage.objects import TRASH_PREFIX
from storage.retention import apply_run, confirm_run, plan_run, run_progress
from storage.usage import usage
from tests.fixtures.app import ADMIN_TOKEN, make_world
from tests.fixtures.services import free_port
from workers import pipeline

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "storage_savings.md"
AS_OF = date(2027, 1, 30)  # 1 November (October closed) + 90 days


def _activity(client: TestClient, auth: dict[str, str], teacher_id: int, day: str) -> int:
    response = client.post(
        "/api/v1/activities",
        json={"teacher_id": teacher_id, "date": day, "start": "07:00", "end": "08:30",
              "title": "Mengajar"},
        headers=auth,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _upload(
    client: TestClient, auth: dict[str, str], activity_id: int, name: str, data: bytes, mime: str
) -> int:
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity_id)},
        files={"file": (name, data, mime)},
        headers=auth,
    )
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def _disk(root: Path) -> tuple[int, int]:
    """Bytes of the live objects and of the trash under the store's root."""
    live = trash = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            key = path.relative_to(root).as_posix()
            if key.startswith(TRASH_PREFIX):
                trash += path.stat().st_size
            else:
                live += path.stat().st_size
    return live, trash


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f} MB"


def main() -> None:
    """Run the month, then retention, and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    sources = wallpapers()
    with tempfile.TemporaryDirectory(prefix="bukti-bench-storage-") as scratch:
        work = Path(scratch)
        redis_url = f"redis://127.0.0.1:{free_port()}/0"
        redis_server = start_redis(redis_url, work / "redis")
        try:
            settings = Settings(
                data_dir=work / "data",
                database_url=f"sqlite:///{work / 'bukti.db'}",
                redis_url=redis_url,
                admin_token=SecretStr(ADMIN_TOKEN),
            )
            upgrade(settings.resolved_database_url)
            services = Services(settings)
            services.prepare_dirs()
            lines = _run(services, settings, sources, args.photos)
        finally:
            redis_server.terminate()
            redis_server.wait(10)
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text)
    print(text)


def _run(services: Services, settings: Settings, sources: list[Path], photos: int) -> list[str]:
    app = create_app(settings, services, enqueue=lambda *_: None)
    ids: list[int] = []
    with TestClient(app) as client:
        world = make_world(client)
        # camera_jpeg's photos are taken on 13 October between 07:00 and 07:59
        lesson = _activity(client, world.teacher_auth, world.teacher["id"], "2026-10-13")
        colleague = _activity(
            client, world.other_teacher_auth, world.other_teacher["id"], "2026-10-13"
        )
        for index in range(photos):
            data = camera_jpeg(sources[index % len(sources)], index)
            name = f"IMG_20261013_07{index % 60:02d}00.jpg"
            ids.append(_upload(client, world.teacher_auth, lesson, name, data, "image/jpeg"))
            if index == 0:  # the same photo, sent by a colleague too
                ids.append(
                    _upload(client, world.other_teacher_auth, colleague, name, data, "image/jpeg")
                )
        pdf = (REPO / "samples" / "modul-ajar-2026-10-13.pdf").read_bytes()
        ids.append(
            _upload(client, world.teacher_auth, lesson, "modul-ajar.pdf", pdf, "application/pdf")
        )
    for evidence_id in ids:
        pipeline.process_evidence(services, evidence_id)
    root = settings.resolved_storage_dir
    with services.sessions() as db:
        statuses = dict(
            db.execute(select(Evidence.status, func.count()).group_by(Evidence.status)).all()
        )
        renditions = int(db.scalar(select(func.sum(Evidence.rendition_bytes))) or 0)
        _, before = usage(db, "kind")
        receipts_before = int(db.scalar(select(func.count()).where(Evidence.has_receipt)) or 0)
    disk_before, _ = _disk(root)
    actor = Actor.system("bench")
    with transaction(services.sessions) as db:
        run_id = plan_run(db, AS_OF, actor).id
        confirm_run(db, run_id, actor)
    apply_run(services.sessions, services.store, run_id, settings.trash_days, actor)
    with services.sessions() as db:
        _, after = usage(db, "kind")
        progress = run_progress(db, run_id)
        receipts_after = int(db.scalar(select(func.count()).where(Evidence.has_receipt)) or 0)
    disk_after, trash = _disk(root)
    received = before.received_bytes
    return [
        "# Storage savings: a month of a school's photos, before and after retention",
        "",
        f"`.venv/bin/python -m bench.storage_savings --photos {photos}`: {len(ids)} items "
        f"({photos} 12 MP photos of one teacher, one of them also sent by a colleague, and a "
        f"PDF lesson plan); outcomes {statuses}; retention as of {AS_OF} with the default "
        "policy.",
        "",
        "| | bytes | of received |",
        "|---|---|---|",
        f"| received | {_mb(received)} | 1.00 |",
        f"| `stored_bytes` summed before issue 11 (renditions only) | {_mb(renditions)} | "
        f"{renditions / received:.2f} |",
        f"| held after archiving (records) | {_mb(before.held_bytes)} | "
        f"{before.held_bytes / received:.2f} |",
        f"| on disk after archiving | {_mb(disk_before)} | {disk_before / received:.2f} |",
        f"| saved by storing identical bytes once | {_mb(before.saved_by_dedup_bytes)} | |",
        f"| retention run: copies removed / shared / held | {progress.get('removed', 0)} / "
        f"{progress.get('shared', 0)} / {progress.get('held', 0)} | |",
        f"| held after retention (records) | {_mb(after.held_bytes)} | "
        f"{after.held_bytes / received:.2f} |",
        f"| on disk after retention (trash aside) | {_mb(disk_after)} | "
        f"{disk_after / received:.2f} |",
        f"| in the trash (restorable {settings.trash_days} days) | {_mb(trash)} | |",
        f"| saved by keeping renditions instead of originals | "
        f"{_mb(after.saved_by_renditions_bytes)} | |",
        f"| receipts valid before / after | {receipts_before} / {receipts_after} | |",
    ]


if __name__ == "__main__":
    main()

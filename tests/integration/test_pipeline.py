"""A photo's way from upload to archive through the workers, Redis and the database (the
worker in process, but where a worker process dies or outlives its retries)."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bukti.bootstrap import Services
from bukti.settings import Settings
from tests.fixtures.app import WorkerFactory, World, make_world, wait_for_terminal
from tests.fixtures.photos import sample
from tests.fixtures.workers import InProcessWorker
from workers.pipeline import STEPS

pytestmark = pytest.mark.integration


def camera_jpeg(
    picture: str = "astronaut",
    *,
    quality: int = 92,
    size: int | None = None,
    crop: float = 0.0,
    exif: bool = True,
    day: str = "2026-10-13",
    gps_seconds: tuple[float, float] = (0.48, 33.0),
) -> bytes:
    """A real photo as a phone would save it: JPEG with capture time, offset and GPS."""
    image = sample(picture)
    if size:
        image = image.resize((size, size * image.height // image.width), Image.Resampling.LANCZOS)
    if crop:
        dx, dy = int(image.width * crop), int(image.height * crop)
        image = image.crop((dx, dy, image.width - dx, image.height - dy))
    out = io.BytesIO()
    if not exif:
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()
    tags = Image.Exif()
    tags[0x010F] = "samsung"
    tags[0x0110] = "SM-A145F"
    tags[0x0112] = 1
    exif_ifd = tags.get_ifd(0x8769)
    exif_ifd[0x9003] = f"{day.replace('-', ':')} 07:15:02"  # DateTimeOriginal
    exif_ifd[0x9011] = "+07:00"  # OffsetTimeOriginal
    gps = tags.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 49.0, gps_seconds[0])
    gps[3], gps[4] = "E", (107.0, 8.0, gps_seconds[1])
    gps[7], gps[29] = (0.0, 14.0, 55.0), day.replace("-", ":")
    image.save(out, "JPEG", quality=quality, exif=tags.tobytes())
    return out.getvalue()


def activity(client: TestClient, world: World, day: str, start: str = "07:00") -> int:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.teacher["id"],
            "date": day,
            "start": start,
            "end": "08:30",
            "title": f"Mengajar {day}",
        },
        headers=world.teacher_auth,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def send(
    client: TestClient,
    world: World,
    activity_id: int,
    content: bytes,
    name: str = "IMG_20261013_071502.jpg",
) -> int:
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity_id)},
        files={"file": (name, content, "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def stored_keys(services: Services) -> set[str]:
    return set(services.store.iter_keys())


def test_photo_is_accepted_with_facts_hashes_sizes_and_archive(
    live_client: TestClient, worker: InProcessWorker, services: Services, settings: Settings
) -> None:
    world = make_world(live_client)
    content = camera_jpeg(size=1600)
    item = wait_for_terminal(
        live_client,
        send(live_client, world, activity(live_client, world, "2026-10-13"), content),
        world.teacher_auth,
    )
    assert item["status"] == "accepted", (item, worker.output()[-2000:])
    facts = item["facts"]
    assert facts["captured_local"] == {
        "value": "2026-10-13T07:15:02",
        "source": "exif:DateTimeOriginal",
    }
    assert facts["utc_offset_min"]["value"] == 420
    location = facts["location"]["value"]
    assert location["lat"] == pytest.approx(-6.8168, abs=1e-3)
    assert location["lon"] == pytest.approx(107.1425, abs=1e-3)
    assert facts["make"]["value"] == "samsung"
    assert len(item["hashes"]["sha256"]) == 64 and item["hashes"]["phash"]
    assert item["sizes"]["original_bytes"] == len(content)
    # the archive holds the original and its rendition, and says so
    assert 0 < item["sizes"]["rendition_bytes"] < len(content)
    assert item["sizes"]["stored_bytes"] == len(content) + item["sizes"]["rendition_bytes"]
    archive = item["archive"]
    assert archive["original_key"].startswith("originals/")
    assert archive["rendition_key"].startswith("renditions/")
    with services.store.open(archive["original_key"]) as fh:
        assert fh.read() == content
    assert item["flags"] == []
    # nothing is left in flight once the item is archived
    assert not (settings.incoming_dir / str(item["id"])).exists()
    events = live_client.get(
        f"/api/v1/evidence/{item['id']}/events", headers=world.teacher_auth
    ).json()
    steps = [e["step"] for e in events if e["outcome"] == "done"]
    assert steps == list(STEPS)


def test_same_photo_for_another_activity_is_an_exact_duplicate(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    world = make_world(live_client)
    content = camera_jpeg()
    first = wait_for_terminal(
        live_client,
        send(live_client, world, activity(live_client, world, "2026-10-13"), content),
        world.teacher_auth,
    )
    second = wait_for_terminal(
        live_client,
        send(live_client, world, activity(live_client, world, "2026-10-14"), content),
        world.teacher_auth,
    )
    assert first["status"] == "accepted"
    assert second["status"] == "flagged"
    flag = next(f for f in second["flags"] if f["code"] == "exact_duplicate")
    assert flag["severity"] == "high" and flag["related_evidence_id"] == first["id"]
    assert f"#{first['id']}" in flag["detail"]
    # content-addressed: the second copy shares the first one's archived original
    assert second["archive"]["original_key"] == first["archive"]["original_key"]


def test_recompressed_and_cropped_copies_are_near_duplicates(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    world = make_world(live_client)
    original = wait_for_terminal(
        live_client,
        send(
            live_client, world, activity(live_client, world, "2026-10-13"), camera_jpeg("chelsea")
        ),
        world.teacher_auth,
    )
    copies = [
        camera_jpeg("chelsea", quality=55, size=300, day="2026-10-20"),
        camera_jpeg("chelsea", crop=0.04, day="2026-10-21"),
    ]
    for day, content in zip(("2026-10-20", "2026-10-21"), copies, strict=True):
        item = wait_for_terminal(
            live_client,
            send(live_client, world, activity(live_client, world, day), content),
            world.teacher_auth,
        )
        codes = {f["code"]: f for f in item["flags"]}
        assert "near_duplicate" in codes, item["flags"]
        assert codes["near_duplicate"]["related_evidence_id"] == original["id"]
        assert item["status"] == "flagged"
    unrelated = wait_for_terminal(
        live_client,
        send(
            live_client,
            world,
            activity(live_client, world, "2026-10-22"),
            camera_jpeg("coffee", day="2026-10-22", gps_seconds=(1.5, 33.0)),
        ),
        world.teacher_auth,
    )
    assert unrelated["status"] == "accepted", unrelated["flags"]


def test_photo_without_metadata_is_flagged_for_missing_time_and_place(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    world = make_world(live_client)
    item = wait_for_terminal(
        live_client,
        send(
            live_client,
            world,
            activity(live_client, world, "2026-10-13"),
            camera_jpeg("rocket", exif=False),
        ),
        world.teacher_auth,
    )
    assert item["status"] == "flagged"
    assert {f["code"] for f in item["flags"]} == {"no_capture_time", "no_location"}
    assert all(f["severity"] == "medium" for f in item["flags"])


def _truncated() -> bytes:
    return camera_jpeg("coffee")[:-5000]


def _png_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    return out.getvalue()


def _disguised() -> bytes:
    # a JPEG's first bytes on something that is not a JPEG at all
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html><script>alert(1)</script></html>" * 200


@pytest.mark.parametrize(
    ("make", "reason_word"),
    [(_truncated, "truncated"), (_png_bomb, "pixels"), (_disguised, "")],
    ids=["truncated", "bomb", "disguised"],
)
def test_unusable_files_are_rejected_with_a_reason_and_leave_nothing(
    live_client: TestClient,
    worker: InProcessWorker,
    services: Services,
    settings: Settings,
    make: Any,
    reason_word: str,
) -> None:
    world = make_world(live_client)
    item = wait_for_terminal(
        live_client,
        send(live_client, world, activity(live_client, world, "2026-10-13"), make()),
        world.teacher_auth,
    )
    assert item["status"] == "rejected", item
    assert item["reason"] and reason_word in item["reason"].lower()
    assert item["archive"]["original_key"] is None
    assert stored_keys(services) == set()
    assert list(settings.incoming_dir.iterdir()) == []
    assert list(settings.work_dir.iterdir()) == []


def test_worker_killed_mid_way_loses_nothing(
    live_client: TestClient, settings: Settings, start_worker: WorkerFactory
) -> None:
    world = make_world(live_client)
    first = start_worker(settings, "first", processes=1, threads=1)
    pictures = ["astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "hubble_deep_field"]
    ids = [
        send(
            live_client,
            world,
            activity(live_client, world, f"2026-10-{13 + i}"),
            # a few metres apart each day: identical coordinates would be repeated_location
            camera_jpeg(p, size=2400, day=f"2026-10-{13 + i}", gps_seconds=(0.48 + i / 4, 33.0)),
        )
        for i, p in enumerate(pictures)
    ]
    # kill the worker as soon as it is inside the pipeline, mid-item
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = [
            live_client.get(f"/api/v1/evidence/{i}", headers=world.teacher_auth).json()["status"]
            for i in ids
        ]
        if "processing" in statuses:
            break
        time.sleep(0.02)
    first.kill()
    killed_at = time.monotonic()
    start_worker(settings, "second", processes=1, threads=2)
    items = [wait_for_terminal(live_client, i, world.teacher_auth, timeout_s=90) for i in ids]
    assert [item["status"] for item in items] == ["accepted"] * len(ids), [
        (i["status"], i["reason"]) for i in items
    ]
    assert time.monotonic() - killed_at < 60
    for item in items:
        events = live_client.get(
            f"/api/v1/evidence/{item['id']}/events", headers=world.teacher_auth
        ).json()
        done = [e["step"] for e in events if e["outcome"] == "done"]
        assert done == list(STEPS)


def test_failure_outliving_retries_is_visible_and_can_be_retried(
    settings: Settings, start_worker: WorkerFactory, live_client: TestClient
) -> None:
    world = make_world(live_client)
    broken = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": "http://127.0.0.1:9",
            "s3_bucket": "nowhere",
            "s3_access_key_id": "x",
            "s3_secret_access_key": "y",
        }
    )
    failing = start_worker(broken, "broken")
    evidence_id = send(
        live_client, world, activity(live_client, world, "2026-10-13"), camera_jpeg()
    )
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth, timeout_s=120)
    failing.stop()
    assert item["status"] == "failed", item
    assert "archive" in item["reason"]
    events = live_client.get(
        f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
    ).json()
    assert [e["step"] for e in events if e["outcome"] == "error"] == ["archive"] * (
        settings.max_retries + 1
    )
    assert (settings.incoming_dir / str(evidence_id)).exists(), "the upload must be kept"

    start_worker(settings, "healthy")
    retried = live_client.post(f"/api/v1/evidence/{evidence_id}/retry", headers=world.teacher_auth)
    assert retried.status_code == 202, retried.text
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth)
    assert item["status"] == "accepted"
    assert item["archive"]["original_key"]


def test_running_every_step_twice_changes_nothing(
    live_client: TestClient, services: Services
) -> None:
    from workers import pipeline

    world = make_world(live_client)
    live_client.app.state.enqueue = lambda *_: None  # type: ignore[attr-defined]
    evidence_id = send(
        live_client, world, activity(live_client, world, "2026-10-13"), camera_jpeg()
    )
    for step in pipeline.STEPS:
        pipeline.run_step(services, evidence_id, step)
        snapshot = live_client.get(
            f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth
        ).json()
        pipeline.run_step(services, evidence_id, step)
        again = live_client.get(
            f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth
        ).json()
        assert again == snapshot, step
    assert again["status"] == "accepted"
    events = live_client.get(
        f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
    ).json()
    done = [e["step"] for e in events if e["outcome"] == "done"]
    assert done == list(pipeline.STEPS)
    assert datetime.fromisoformat(again["processed_at"])

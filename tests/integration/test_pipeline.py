"""A photo's way from upload to archive through the workers, Redis and the database (the
worker in process, but where a worker process dies or outlives its retries)."""

from __future__ import annotations

import hashlib
import io
import re
import time
from datetime import datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr

from bukti.bootstrap import Services
from bukti.settings import Settings
from tests.fixtures.app import (
    RecordingEnqueue,
    WorkerFactory,
    World,
    assert_problem,
    make_world,
    wait_for_processing,
    wait_for_terminal,
)
from tests.fixtures.photos import CAMERA_PICTURES, camera_jpeg, sample
from tests.fixtures.web import make_people, sign_in
from tests.fixtures.workers import InProcessWorker
from workers.pipeline import PHASES

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short leases and frequent sweeps: a dead worker's item is taken over within seconds."""
    return settings.model_copy(update={"lease_s": 3, "sweep_interval_s": 0.5, "pickup_grace_s": 3})


def stored_keys(services: Services) -> set[str]:
    return set(services.store.iter_keys())


def test_photo_is_accepted_with_facts_hashes_sizes_and_archive(
    live_client: TestClient, worker: InProcessWorker, services: Services, settings: Settings
) -> None:
    world = make_world(live_client)
    content = camera_jpeg(size=1600)
    item = world.send(content, activity_id=world.activity("2026-10-13")["id"])
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
    # the archive holds the original, its rendition and its thumbnail, and says so
    assert 0 < item["sizes"]["rendition_bytes"] < len(content)
    archive = item["archive"]
    [thumbnail_bytes] = [c["size_bytes"] for c in archive["copies"] if c["class"] == "preview"]
    assert 0 < thumbnail_bytes < item["sizes"]["rendition_bytes"]
    assert item["sizes"]["stored_bytes"] == (
        len(content) + item["sizes"]["rendition_bytes"] + thumbnail_bytes
    )
    assert archive["original_key"].startswith("originals/")
    assert archive["rendition_key"].startswith("renditions/")
    assert archive["preview_key"].startswith("previews/")
    with services.store.open(archive["original_key"]) as fh:
        assert fh.read() == content
    assert item["flags"] == []
    # nothing is left in flight once the item is archived
    assert not (settings.incoming_dir / str(item["id"])).exists()
    events = live_client.get(
        f"/api/v1/evidence/{item['id']}/events", headers=world.teacher_auth
    ).json()
    steps = [e["step"] for e in events if e["outcome"] == "done"]
    assert steps == list(PHASES)


def test_same_photo_for_another_activity_is_an_exact_duplicate(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    world = make_world(live_client)
    content = camera_jpeg()
    first = world.send(content, activity_id=world.activity("2026-10-13")["id"])
    second = world.send(content, activity_id=world.activity("2026-10-14")["id"])
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
    original = world.send(camera_jpeg("chelsea"), activity_id=world.activity("2026-10-13")["id"])
    copies = [
        camera_jpeg("chelsea", quality=55, size=300, day="2026-10-20"),
        camera_jpeg("chelsea", crop=0.04, day="2026-10-21"),
    ]
    for day, content in zip(("2026-10-20", "2026-10-21"), copies, strict=True):
        item = world.send(content, activity_id=world.activity(day)["id"])
        codes = {f["code"]: f for f in item["flags"]}
        assert "near_duplicate" in codes, item["flags"]
        assert codes["near_duplicate"]["related_evidence_id"] == original["id"]
        assert item["status"] == "flagged"
    unrelated = world.send(
        camera_jpeg("coffee", day="2026-10-22", gps_seconds=(1.5, 33.0)),
        activity_id=world.activity("2026-10-22")["id"],
    )
    assert unrelated["status"] == "accepted", unrelated["flags"]


def test_photo_without_metadata_is_flagged_for_missing_time_and_place(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    world = make_world(live_client)
    item = world.send(
        camera_jpeg("rocket", exif=False), activity_id=world.activity("2026-10-13")["id"]
    )
    assert item["status"] == "flagged"
    assert {f["code"] for f in item["flags"]} == {"no_capture_time", "no_location"}
    assert all(f["severity"] == "medium" for f in item["flags"])


def test_a_photo_gets_a_small_thumbnail_that_the_queue_shows(
    live_client: TestClient, worker: InProcessWorker
) -> None:
    people = make_people(live_client)
    world = people.world
    out = io.BytesIO()
    sample("coffee", (4000, 3000)).save(out, "JPEG", quality=92)  # 12 MP, no metadata: flagged
    content = out.getvalue()
    item = world.send(content, activity_id=world.activity("2026-10-13")["id"])
    assert item["status"] == "flagged", (item, worker.output()[-2000:])
    archive = item["archive"]
    copies = {copy["class"]: copy for copy in archive["copies"]}
    assert set(copies) == {"original", "rendition", "preview"}
    assert all(copy["held"] for copy in copies.values())
    thumbnail = copies["preview"]
    assert thumbnail["key"] == archive["preview_key"]
    assert thumbnail["key"] == f"previews/{thumbnail['sha256'][:2]}/{thumbnail['sha256']}.jpg"
    held = len(content) + item["sizes"]["rendition_bytes"] + thumbnail["size_bytes"]
    assert item["sizes"]["stored_bytes"] == held

    sign_in(live_client, people.reviewer_login)
    queue = live_client.get("/review").text
    [tag] = [tag for tag in re.findall(r"<img [^>]*>", queue) if f'alt="Foto #{item["id"]}"' in tag]
    served = live_client.get(re.findall(r'src="([^"]*)"', tag)[0])
    rendition = live_client.get(f"/api/v1/evidence/{item['id']}/rendition")

    assert f'src="/api/v1/evidence/{item["id"]}/preview?v={thumbnail["sha256"][:16]}"' in tag
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(served.content).hexdigest() == thumbnail["sha256"]
    # what a reviewer's phone downloads for this row: a few KB instead of the rendition
    assert len(served.content) < 30_000 < len(rendition.content)
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (286, 215)


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
    item = world.send(make(), activity_id=world.activity("2026-10-13")["id"])
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
    pictures = CAMERA_PICTURES
    # a few metres apart each day: identical coordinates would be repeated_location
    ids = [
        world.upload(
            camera_jpeg(p, size=2400, day=f"2026-10-{13 + i}", gps_seconds=(0.48 + i / 4, 33.0)),
            activity_id=world.activity(f"2026-10-{13 + i}")["id"],
        )
        for i, p in enumerate(pictures)
    ]
    # queued before the worker starts (it goes through them faster than they are sent), and
    # killed as soon as it is inside the pipeline, mid-item
    first = start_worker(settings, "first", processes=1, threads=1)
    wait_for_processing(settings, ids)
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
        assert done == list(PHASES)


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
    evidence_id = world.upload(camera_jpeg(), activity_id=world.activity("2026-10-13")["id"])
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth, timeout_s=120)
    failing.stop()
    assert item["status"] == "failed", item
    # a sentence a teacher reads; the technical detail is in the event log only
    assert item["reason"].startswith("The archive could not be reached"), item["reason"]
    assert "Error" not in item["reason"]
    events = live_client.get(
        f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
    ).json()
    errors = [e for e in events if e["outcome"] == "error"]
    assert len(errors) == settings.max_retries + 1
    assert all(e["detail"].startswith("storage: StorageError") for e in errors)
    assert (settings.incoming_dir / str(evidence_id)).exists(), "the upload must be kept"

    start_worker(settings, "healthy")
    retried = live_client.post(f"/api/v1/evidence/{evidence_id}/retry", headers=world.teacher_auth)
    assert retried.status_code == 202, retried.text
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth)
    assert item["status"] == "accepted"
    assert item["archive"]["original_key"]


def unqueued_upload(live_client: TestClient) -> tuple[World, int]:
    """A photo uploaded with no worker to take it: the test runs its job in-process."""
    world = make_world(live_client)
    live_client.app.state.enqueue = lambda *_: None  # type: ignore[attr-defined]
    evidence_id = world.upload(camera_jpeg(), activity_id=world.activity("2026-10-13")["id"])
    return world, evidence_id


def test_running_the_job_twice_changes_nothing(live_client: TestClient, services: Services) -> None:
    from workers import pipeline

    world, evidence_id = unqueued_upload(live_client)
    assert pipeline.process_evidence(services, evidence_id).outcome == "accepted"
    snapshot = live_client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
    assert pipeline.process_evidence(services, evidence_id).outcome == "not claimed"
    again = live_client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
    assert again == snapshot
    assert again["status"] == "accepted"
    events = live_client.get(
        f"/api/v1/evidence/{evidence_id}/events", headers=world.teacher_auth
    ).json()
    done = [e["step"] for e in events if e["outcome"] == "done"]
    assert done == list(pipeline.PHASES)
    assert [e["outcome"] for e in events if e["step"] == "pipeline"] == ["started", "accepted"]
    assert datetime.fromisoformat(again["processed_at"])


def test_an_item_held_by_a_live_job_is_not_taken_by_another(
    live_client: TestClient, services: Services
) -> None:
    from workers import leases, pipeline

    _, evidence_id = unqueued_upload(live_client)
    assert leases.claim(services.sessions, evidence_id, "elsewhere", lease_s=60) == 1
    assert pipeline.process_evidence(services, evidence_id).outcome == "not claimed"
    # the other job's lease lapses (its worker died): the item is free to take again
    with services.sessions() as session, session.begin():
        from storage.models import Evidence, utcnow

        session.get_one(Evidence, evidence_id).lease_until = utcnow()
    assert pipeline.process_evidence(services, evidence_id).outcome == "accepted"
    # the first job comes back to life: it may record nothing
    with pytest.raises(leases.LeaseLostError):
        pipeline._finish(services, evidence_id, "elsewhere", None, None)  # type: ignore[arg-type]


def _zip_payload() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", "<html><script>alert(1)</script></html>")
    return out.getvalue()


def test_a_photo_carrying_another_file_is_flagged_and_its_original_only_downloads(
    live_client: TestClient, services: Services
) -> None:
    from workers import pipeline

    world = make_world(live_client)
    live_client.app.state.enqueue = lambda *_: None  # type: ignore[attr-defined]
    polyglot = camera_jpeg() + _zip_payload()
    evidence_id = world.upload(polyglot, activity_id=world.activity("2026-10-13")["id"])
    assert pipeline.process_evidence(services, evidence_id).outcome == "flagged"
    item = live_client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
    [flag] = [f for f in item["flags"] if f["code"] == "trailing_data"]
    assert flag["detail"].startswith("a ZIP archive follows the end of the JPEG"), flag
    original = live_client.get(
        f"/api/v1/evidence/{evidence_id}/original", headers=world.teacher_auth
    )
    assert original.content == polyglot
    assert original.headers["content-disposition"].startswith("attachment;")
    assert original.headers["x-content-type-options"] == "nosniff"


def _fail_by_storage(services: Services, evidence_id: int) -> None:
    """Run the item's job against an unreachable S3 until it fails (every attempt of a round)."""
    from workers import pipeline

    broken = services.settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": "http://127.0.0.1:9",
            "s3_bucket": "nowhere",
            "s3_access_key_id": "x",
            "s3_secret_access_key": SecretStr("y"),
        }
    )
    down = Services(broken)
    try:
        while pipeline.process_evidence(down, evidence_id).outcome != "failed":
            time.sleep(0.05)
    finally:
        down.close()


def test_an_admin_retries_failed_items_in_bulk_by_reason(
    client: TestClient, world: World, services: Services, queued: RecordingEnqueue
) -> None:
    from workers import pipeline

    ids = [
        world.upload(camera_jpeg(p), activity_id=world.activity(f"2026-10-{13 + i}")["id"])
        for i, p in enumerate(("astronaut", "coffee"))
    ]
    for evidence_id in ids:
        _fail_by_storage(services, evidence_id)
    queued.sent.clear()

    assert_problem(client.post("/api/v1/evidence/retry", json={}, headers=world.teacher_auth), 403)
    assert_problem(
        client.post("/api/v1/evidence/retry", json={"reason": "gremlins"}, headers=world.admin), 422
    )
    assert_problem(
        client.post("/api/v1/evidence/retry", json={"status": "accepted"}, headers=world.admin),
        422,
    )
    none = client.post("/api/v1/evidence/retry", json={"reason": "media"}, headers=world.admin)
    assert none.status_code == 202 and none.json() == {"queued": 0, "evidence_ids": []}

    response = client.post(
        "/api/v1/evidence/retry",
        json={"status": "failed", "reason": "storage", "teacher_id": world.teacher["id"]},
        headers=world.admin,
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"queued": 2, "evidence_ids": ids}
    assert queued.sent == ids  # in order of receipt
    for evidence_id in ids:
        assert pipeline.process_evidence(services, evidence_id).outcome in ("accepted", "flagged")


def test_bukti_retry_and_requeue_by_hand(
    world: World,
    services: Services,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broker_redis: redis.Redis,
) -> None:
    from bukti.cli import main
    from bukti.settings import get_settings
    from workers import leases

    first, second = (
        world.upload(camera_jpeg(p), activity_id=world.activity(f"2026-10-{13 + i}")["id"])
        for i, p in enumerate(("astronaut", "coffee"))
    )
    _fail_by_storage(services, first)
    # the second was taken by a worker that died: its lease has run out
    assert leases.claim(services.sessions, second, "dead-worker", lease_s=-1) == 1

    for name in ("data_dir", "database_url", "redis_url"):
        monkeypatch.setenv(f"BUKTI_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    broker_redis.delete("dramatiq:evidence", "dramatiq:evidence.msgs")
    try:
        assert main(["retry", "--status", "failed", "--reason", "network"]) == 0
        assert capsys.readouterr().out.strip() == "queued 0 failed item(s) again"
        assert main(["retry", "--status", "failed", "--reason", "storage"]) == 0
        assert capsys.readouterr().out.strip() == "queued 1 failed item(s) again"
        assert main(["requeue", "--kind", "video"]) == 0
        assert capsys.readouterr().out.strip() == "queued 0 item(s)"
        assert main(["requeue", "--teacher-id", str(world.teacher["id"])]) == 0
        # the retried item (due now, held by no job) and the one whose worker died
        assert capsys.readouterr().out.strip() == "queued 2 item(s)"
        assert broker_redis.llen("dramatiq:evidence") == 3
        with pytest.raises(SystemExit) as refused:
            main(["retry", "--reason", "gremlins"])
        assert refused.value.code == 2
        assert "--reason: invalid choice: 'gremlins'" in capsys.readouterr().err
    finally:
        broker_redis.delete("dramatiq:evidence", "dramatiq:evidence.msgs")
        get_settings.cache_clear()

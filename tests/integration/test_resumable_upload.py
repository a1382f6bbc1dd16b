"""Resumable (tus) uploads: interrupted, resumed, processed; and kept to their owner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api import tus_files
from api.app import create_app
from api.routes import resumable
from bukti.bootstrap import Services
from bukti.errors import DependencyError
from bukti.settings import Settings
from storage.db import transaction
from storage.integrity import sha256_file
from storage.models import Evidence, FinishedUpload, utcnow
from tests.fixtures.app import (
    RecordingEnqueue,
    World,
    make_world,
    wait_for_terminal,
)
from tests.fixtures.photos import PhotoFactory
from tests.fixtures.tus import TUS, create, metadata, patch, send_all_but_the_answer, start_upload
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.integration


def test_interrupted_video_upload_resumes_and_is_processed(
    live_client: TestClient, worker: InProcessWorker, make_video: Any
) -> None:
    world = make_world(live_client)
    content = make_video("VID_rapat.mp4", duration_s=3, crf=10).read_bytes()
    url = start_upload(live_client, world, content, "VID_rapat.mp4", "video/mp4")
    half = len(content) // 2
    first = patch(live_client, world.teacher_auth, url, 0, content[:half])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)
    # the network drops; the phone asks where to resume
    head = live_client.head(url, headers={**world.teacher_auth, **TUS})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(half)
    done = patch(live_client, world.teacher_auth, url, half, content[half:])
    assert done.status_code == 204, done.text
    evidence_id = int(done.headers["Bukti-Evidence-Id"])
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth)
    assert item["kind"] == "video" and item["status"] in ("accepted", "flagged"), item
    assert item["sizes"]["original_bytes"] == len(content)
    assert item["archive"]["original_key"]


def test_another_user_cannot_touch_an_upload(client: TestClient, world: World) -> None:
    created = create(client, world.teacher_auth, 1000, activity_id=world.activity()["id"])
    url = created.headers["Location"]
    assert patch(client, world.other_teacher_auth, url, 0, b"x" * 10).status_code == 404
    assert client.head(url, headers={**world.other_teacher_auth, **TUS}).status_code == 404
    assert client.head(url, headers=TUS).status_code == 401


def test_upload_for_someone_elses_activity_is_refused_before_any_byte(
    client: TestClient, world: World
) -> None:
    created = create(client, world.other_teacher_auth, 1000, activity_id=world.activity()["id"])
    assert created.status_code == 404


def test_upload_without_filename_and_type_is_refused(client: TestClient, world: World) -> None:
    created = client.post(
        "/api/v1/uploads",
        headers={
            **world.teacher_auth,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(activity_id=world.activity()["id"]),
        },
    )
    assert created.status_code == 422


def test_upload_over_the_limit_is_refused_at_creation(client: TestClient, world: World) -> None:
    created = create(client, world.teacher_auth, 3 * 1024**3, activity_id=world.activity()["id"])
    assert created.status_code == 413


def items(services: Services) -> int:
    with transaction(services.sessions) as db:
        return int(db.scalar(select(func.count()).select_from(Evidence)) or 0)


@pytest.mark.both_databases
def test_a_lost_answer_to_the_last_patch_never_makes_a_second_item(
    client: TestClient,
    world: World,
    services: Services,
    queued: RecordingEnqueue,
    make_photo: PhotoFactory,
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, evidence_id = send_all_but_the_answer(client, world, content)
    # the phone never heard; it asks where to resume, as tus-js-client does
    head = client.head(url, headers={**world.teacher_auth, **TUS})
    assert head.status_code == 200, head.headers
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(content))
    assert head.headers["Bukti-Evidence-Id"] == str(evidence_id)
    assert head.headers["Tus-Resumable"] == "1.0.0"
    # a client that PATCHes again from that offset is told the same
    again = patch(client, world.teacher_auth, url, len(content), b"")
    assert again.status_code == 204, again.text
    assert again.headers["Upload-Offset"] == str(len(content))
    assert again.headers["Bukti-Evidence-Id"] == str(evidence_id)
    assert items(services) == 1
    assert queued.sent == [evidence_id]


def test_a_finished_upload_is_still_answered_after_a_restart(
    client: TestClient,
    world: World,
    settings: Settings,
    services: Services,
    make_photo: PhotoFactory,
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, evidence_id = send_all_but_the_answer(client, world, content)
    with TestClient(create_app(settings, services, enqueue=RecordingEnqueue())) as restarted:
        head = restarted.head(url, headers={**world.teacher_auth, **TUS})
    assert head.status_code == 200
    assert head.headers["Bukti-Evidence-Id"] == str(evidence_id)


def test_the_last_patch_sent_again_is_a_conflict_not_a_second_item(
    client: TestClient, world: World, services: Services, make_photo: PhotoFactory
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, evidence_id = send_all_but_the_answer(client, world, content)
    half = len(content) // 2
    for offset, chunk in ((half, content[half:]), (len(content), b"x"), (0, content)):
        answer = patch(client, world.teacher_auth, url, offset, chunk)
        assert answer.status_code == 409, (offset, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert str(evidence_id) in answer.json()["detail"]
        assert answer.headers["Upload-Offset"] == str(len(content))
    bad = client.patch(
        url,
        content=b"",
        headers={
            **world.teacher_auth,
            **TUS,
            "Upload-Offset": "not a number",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert bad.status_code == 409, bad.text
    assert items(services) == 1


def test_another_user_cannot_see_a_finished_upload(
    client: TestClient, world: World, make_photo: PhotoFactory
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, _ = send_all_but_the_answer(client, world, content)
    head = client.head(url, headers={**world.other_teacher_auth, **TUS})
    assert head.status_code == 404
    assert "Bukti-Evidence-Id" not in head.headers
    stolen = patch(client, world.other_teacher_auth, url, len(content), b"")
    assert stolen.status_code == 404
    assert client.head(url, headers={**world.reviewer_auth, **TUS}).status_code == 403


def test_an_upload_being_finished_says_to_ask_again(
    client: TestClient, world: World, services: Services, make_photo: PhotoFactory
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url = start_upload(client, world, content)
    upload_id = url.rsplit("/", 1)[1]
    # another request holds the finish lock: its last bytes are being checked
    with tus_files.try_lock(
        tus_files.finish_lock(tus_files.tus_dir(services.settings), upload_id)
    ) as held:
        assert held
        head = client.head(url, headers={**world.teacher_auth, **TUS})
        sent = patch(client, world.teacher_auth, url, 0, content)
    for answer in (head, sent):
        assert answer.status_code == 423
        assert answer.headers["Retry-After"] == "1"
    assert items(services) == 0
    done = patch(client, world.teacher_auth, url, 0, content)
    assert done.status_code == 204, done.text
    # each holder removes its lock file as it lets go: none is left behind
    assert not list(
        tus_files.finish_lock(tus_files.tus_dir(services.settings), upload_id).parent.glob(
            "*.finish"
        )
    )


@pytest.mark.both_databases
def test_asking_while_the_last_bytes_are_checked_is_told_to_wait_not_to_send_again(
    client: TestClient,
    world: World,
    services: Services,
    make_photo: PhotoFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url = start_upload(client, world, content)
    hashing, asked = threading.Event(), threading.Event()

    def slow_hash(path: Path) -> str:
        # a 2 GB video takes seconds here: the phone's retry comes meanwhile
        hashing.set()
        asked.wait(10)
        return sha256_file(path)

    monkeypatch.setattr(resumable, "sha256_file", slow_hash)
    with ThreadPoolExecutor(1) as pool:
        last = pool.submit(patch, client, world.teacher_auth, url, 0, content)
        assert hashing.wait(10)
        head = client.head(url, headers={**world.teacher_auth, **TUS})
        again = patch(client, world.teacher_auth, url, len(content), b"")
        asked.set()
        evidence_id = last.result(10).headers["Bukti-Evidence-Id"]
    assert (head.status_code, again.status_code) == (423, 423)
    head = client.head(url, headers={**world.teacher_auth, **TUS})
    assert head.status_code == 200
    assert head.headers["Bukti-Evidence-Id"] == evidence_id
    assert items(services) == 1


@pytest.mark.parametrize("step", ["_received", "sha256_file"])
def test_an_upload_whose_finish_died_is_finished_when_asked_again(
    step: str,
    client: TestClient,
    world: World,
    services: Services,
    queued: RecordingEnqueue,
    make_photo: PhotoFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url = start_upload(client, world, content)
    step_itself = getattr(resumable, step)

    def dies(*args: Any) -> Any:
        raise DependencyError("the data directory stopped answering")

    # every byte is written, then the request dies (checking or hashing the file) before the
    # file becomes an item
    monkeypatch.setattr(resumable, step, dies)
    assert patch(client, world.teacher_auth, url, 0, content).status_code == 503
    assert items(services) == 0
    monkeypatch.setattr(resumable, step, step_itself)
    head = client.head(url, headers={**world.teacher_auth, **TUS})
    assert head.status_code == 200, head.text
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(content))
    evidence_id = int(head.headers["Bukti-Evidence-Id"])
    assert items(services) == 1
    assert queued.sent == [evidence_id]
    again = client.head(url, headers={**world.teacher_auth, **TUS})
    assert again.headers["Bukti-Evidence-Id"] == str(evidence_id)
    assert items(services) == 1


@pytest.mark.both_databases
def test_a_finished_upload_expires_like_an_unfinished_one(
    client: TestClient, world: World, services: Services, make_photo: PhotoFactory
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, _ = send_all_but_the_answer(client, world, content)
    with transaction(services.sessions) as db:
        db.execute(update(FinishedUpload).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert client.head(url, headers={**world.teacher_auth, **TUS}).status_code == 410
    # the next upload to finish forgets the expired record
    send_all_but_the_answer(client, world, content)
    with transaction(services.sessions) as db:
        kept = db.scalars(select(FinishedUpload.upload_id)).all()
    assert kept and url.rsplit("/", 1)[1] not in kept


@pytest.mark.both_databases
def test_an_upload_whose_item_cannot_be_made_leaves_no_file_behind(
    client: TestClient,
    world: World,
    settings: Settings,
    services: Services,
    make_photo: PhotoFactory,
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    activity_id = world.activity()["id"]
    created = create(
        client, world.teacher_auth, len(content), activity_id=activity_id, filename="IMG.jpg"
    )
    url = created.headers["Location"]
    # the activity goes while the phone sends the bytes: the finished file names nothing
    gone = client.delete(f"/api/v1/activities/{activity_id}", headers=world.teacher_auth)
    assert gone.status_code == 204
    last = patch(client, world.teacher_auth, url, 0, content)
    assert last.status_code == 404, last.text
    assert items(services) == 0
    assert list(settings.incoming_dir.iterdir()) == []
    assert [p.name for p in (settings.data_dir / "tus").iterdir()] in ([], [".locks"])

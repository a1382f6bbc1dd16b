"""Resumable (tus) uploads: interrupted, resumed, processed; and kept to their owner."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.app import World, make_world, wait_for_terminal
from tests.fixtures.tus import TUS, create, metadata, patch
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.integration


def lesson(client: TestClient, world: World) -> int:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "start": "07:00",
            "end": "08:30",
            "title": "Praktik jaringan",
        },
        headers=world.teacher_auth,
    )
    return int(response.json()["id"])


def test_interrupted_video_upload_resumes_and_is_processed(
    live_client: TestClient, worker: InProcessWorker, make_video: Any
) -> None:
    world = make_world(live_client)
    content = make_video("VID_rapat.mp4", duration_s=3, crf=10).read_bytes()
    created = create(
        live_client,
        world.teacher_auth,
        len(content),
        activity_id=lesson(live_client, world),
        filename="VID_rapat.mp4",
    )
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
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
    created = create(client, world.teacher_auth, 1000, activity_id=lesson(client, world))
    url = created.headers["Location"]
    assert patch(client, world.other_teacher_auth, url, 0, b"x" * 10).status_code == 404
    assert client.head(url, headers={**world.other_teacher_auth, **TUS}).status_code == 404
    assert client.head(url, headers=TUS).status_code == 401


def test_upload_for_someone_elses_activity_is_refused_before_any_byte(
    client: TestClient, world: World
) -> None:
    created = create(client, world.other_teacher_auth, 1000, activity_id=lesson(client, world))
    assert created.status_code == 404


def test_upload_without_filename_and_type_is_refused(client: TestClient, world: World) -> None:
    created = client.post(
        "/api/v1/uploads",
        headers={
            **world.teacher_auth,
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(activity_id=lesson(client, world)),
        },
    )
    assert created.status_code == 422


def test_upload_over_the_limit_is_refused_at_creation(client: TestClient, world: World) -> None:
    created = create(client, world.teacher_auth, 3 * 1024**3, activity_id=lesson(client, world))
    assert created.status_code == 413

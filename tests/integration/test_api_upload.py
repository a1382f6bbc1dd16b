"""Uploading evidence: streamed, sniffed, limited, idempotent, scoped; never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bukti.settings import Settings
from tests.fixtures.app import RecordingEnqueue, World
from tests.fixtures.photos import jpeg_bytes

pytestmark = pytest.mark.integration


#: what a client that names no type sends: the API tells the type from the bytes
UNTYPED = "application/octet-stream"


def test_upload_is_accepted_for_processing_and_queued(
    client: TestClient, world: World, queued: RecordingEnqueue, settings: Settings
) -> None:
    activity = world.activity()
    content = jpeg_bytes()
    response = world.post_file(content, mime=UNTYPED, activity_id=activity["id"])
    assert response.status_code == 202, response.text
    item = response.json()
    assert item["status"] == "received" and item["kind"] == "photo"
    assert item["mime"] == "image/jpeg"
    assert item["sizes"]["original_bytes"] == len(content)
    assert queued.sent == [item["id"]]
    staged = settings.incoming_dir / str(item["id"])
    assert staged.read_bytes() == content
    events = client.get(f"/api/v1/evidence/{item['id']}/events", headers=world.teacher_auth).json()
    assert [(e["step"], e["outcome"]) for e in events] == [
        ("upload", "received"),
        ("upload", "queued"),
    ]


def test_type_comes_from_bytes_not_the_name(world: World) -> None:
    activity = world.activity()
    response = world.post_file(
        b"#!/bin/sh\nrm -rf /\n" * 400, mime=UNTYPED, name="photo.jpg", activity_id=activity["id"]
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "bytes" in response.json()["detail"]


def test_upload_over_the_limit_is_413_and_leaves_nothing(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    from api.app import create_app
    from tests.fixtures.app import ADMIN_TOKEN, make_world

    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=database_url,
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        max_photo_bytes=20_000,
    )  # type: ignore[arg-type]
    with TestClient(create_app(settings, enqueue=RecordingEnqueue())) as small:
        world = make_world(small)
        activity = world.activity()
        response = world.post_file(jpeg_bytes(), mime=UNTYPED, activity_id=activity["id"])
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]
        assert list(settings.incoming_dir.iterdir()) == []
        listed = small.get("/api/v1/evidence", headers=world.admin).json()
        assert listed["total"] == 0


def test_missing_activity_id_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/evidence",
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert response.status_code == 422
    assert "activity_id" in response.json()["detail"]


def test_non_numeric_activity_id_is_422(world: World) -> None:
    response = world.post_file(jpeg_bytes(), mime=UNTYPED, activity_id="abc")
    assert response.status_code == 422


def test_upload_without_a_file_part_is_422(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": "1"},
        files={"other": ("x", b"x")},
        headers=world.teacher_auth,
    )
    assert response.status_code == 422


def test_link_that_is_not_a_single_youtube_video_is_422(client: TestClient, world: World) -> None:
    for url in (
        "https://www.youtube.com/playlist?list=PL123",
        "https://vimeo.com/1234",
        "https://www.youtube.com/@erniwardhani",
        "javascript:alert(1)",
    ):
        response = client.post(
            "/api/v1/evidence",
            json={"url": url, "month": "2026-10", "requirement": "learning"},
            headers=world.teacher_auth,
        )
        assert response.status_code == 422, (url, response.text)
        assert "YouTube" in response.json()["detail"]


def test_link_is_recorded_and_queued(
    client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    response = client.post(
        "/api/v1/evidence",
        json={
            "url": "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "month": "2026-10",
            "requirement": "learning",
        },
        headers=world.teacher_auth,
    )
    assert response.status_code == 202, response.text
    item = response.json()
    assert item["kind"] == "youtube" and item["video_id"] == "dQw4w9WgXcQ"
    assert (item["month"], item["requirement"]) == ("2026-10", "learning")
    assert queued.sent == [item["id"]]


def test_empty_file_is_422(world: World) -> None:
    activity = world.activity()
    assert world.post_file(b"", mime=UNTYPED, activity_id=activity["id"]).status_code in (415, 422)


def test_teacher_cannot_upload_to_another_teachers_activity(
    world: World, settings: Settings
) -> None:
    activity = world.activity()
    response = world.post_file(
        jpeg_bytes(), mime=UNTYPED, auth=world.other_teacher_auth, activity_id=activity["id"]
    )
    assert response.status_code == 404
    assert list(settings.incoming_dir.iterdir()) == []


def test_reviewer_cannot_upload(world: World) -> None:
    activity = world.activity()
    assert (
        world.post_file(
            jpeg_bytes(), mime=UNTYPED, auth=world.reviewer_auth, activity_id=activity["id"]
        ).status_code
        == 403
    )


def test_idempotency_key_returns_the_same_item(
    client: TestClient, world: World, queued: RecordingEnqueue, settings: Settings
) -> None:
    activity = world.activity()
    key = {"Idempotency-Key": "phone-42-upload-7"}
    first = world.post_file(jpeg_bytes(), mime=UNTYPED, headers=key, activity_id=activity["id"])
    second = world.post_file(jpeg_bytes(), mime=UNTYPED, headers=key, activity_id=activity["id"])
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/v1/evidence", headers=world.admin).json()["total"] == 1
    assert len(list(settings.incoming_dir.iterdir())) == 1


def test_teacher_asking_for_another_teachers_item_gets_404(
    client: TestClient, world: World
) -> None:
    activity = world.activity()
    item = world.post_file(jpeg_bytes(), mime=UNTYPED, activity_id=activity["id"]).json()
    assert (
        client.get(f"/api/v1/evidence/{item['id']}", headers=world.other_teacher_auth).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/evidence/{item['id']}", headers=world.reviewer_auth).status_code == 200
    )
    assert client.get("/api/v1/evidence", headers=world.other_teacher_auth).json()["total"] == 0


def test_client_file_name_is_kept_only_as_a_name(world: World, settings: Settings) -> None:
    activity = world.activity()
    item = world.post_file(
        jpeg_bytes(), mime=UNTYPED, name="../../etc/passwd", activity_id=activity["id"]
    ).json()
    assert (settings.incoming_dir / str(item["id"])).exists()
    assert not (settings.data_dir.parent / "etc").exists()


def test_broker_down_keeps_the_upload_received(
    settings: Settings, world: World, client: TestClient
) -> None:
    def broken(evidence_id: int, step: str = "validate") -> None:
        raise ConnectionError("redis is down")

    client.app.state.enqueue = broken  # type: ignore[attr-defined]
    activity = world.activity()
    response = world.post_file(jpeg_bytes(), mime=UNTYPED, activity_id=activity["id"])
    assert response.status_code == 202
    assert response.json()["status"] == "received"
    assert (settings.incoming_dir / str(response.json()["id"])).exists()


def test_idempotency_key_reused_for_another_file_is_409(world: World) -> None:
    activity = world.activity()
    key = {"Idempotency-Key": "k-1"}
    assert (
        world.post_file(
            jpeg_bytes(), mime=UNTYPED, headers=key, activity_id=activity["id"]
        ).status_code
        == 202
    )
    other = world.post_file(
        jpeg_bytes("coffee"), mime=UNTYPED, headers=key, activity_id=activity["id"]
    )
    assert other.status_code == 409

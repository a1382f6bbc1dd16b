"""A record the API answers for is saved before the answer leaves: a phone that goes on at
once (check in, then send the selfie for that day) never meets a record that is not there."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.models import Activity, Attendance
from tests.fixtures.app import RecordingEnqueue, make_world, small_jpeg
from tests.fixtures.teacher import settle

pytestmark = pytest.mark.integration


class CountAtResponseStart:
    """ASGI middleware: counts the saved attendance days when a response starts to leave."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.counts: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                with self.services.sessions() as db:
                    self.counts.append(db.scalar(select(func.count(Attendance.id))) or 0)
            await send(message)

        await self.app(scope, receive, watched)


def test_a_created_record_is_committed_before_its_answer_is_sent(
    settings: Settings, services: Services
) -> None:
    watcher = CountAtResponseStart(create_app(settings, services, RecordingEnqueue()), services)
    with TestClient(watcher) as client:
        world = make_world(client)
        body: dict[str, Any] = {
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "status": "WFO",
            "check_in": "06:52",
        }
        watcher.counts.clear()

        response = client.post("/api/v1/attendance", json=body, headers=world.teacher_auth)

    assert response.status_code == 201
    assert watcher.counts == [1]


def test_a_reverification_is_queued_only_once_its_change_is_committed(
    settings: Settings, services: Services
) -> None:
    """A worker that takes the job at once must verify against the changed activity."""
    seen_starts: list[tuple[int, str, str]] = []

    def enqueue(evidence_id: int, step: str = "validate") -> None:
        if step != "reverify":
            return
        with services.sessions() as db:
            activity = db.get(Activity, activity_id)
            assert activity is not None
            seen_starts.append((evidence_id, step, activity.start.strftime("%H:%M")))

    with TestClient(create_app(settings, services, enqueue)) as client:
        world = make_world(client)
        activity_id = int(world.activity()["id"])
        sent = client.post(
            "/api/v1/evidence",
            data={"activity_id": str(activity_id)},
            files={"file": ("IMG_20261013_071502.jpg", small_jpeg(), "image/jpeg")},
            headers=world.teacher_auth,
        )
        assert sent.status_code == 202, sent.text
        evidence_id = int(sent.json()["id"])
        settle(services, evidence_id)  # as the pipeline leaves it: verified, so re-verified

        changed = client.patch(
            f"/api/v1/activities/{activity_id}",
            json={"start": "13:00", "end": "14:30"},
            headers=world.teacher_auth,
        )

    assert changed.status_code == 200, changed.text
    # queued after the commit: a worker taking the job at once reads the new 13:00
    assert seen_starts == [(evidence_id, "reverify", "13:00")]

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
from storage.models import Attendance
from tests.fixtures.app import RecordingEnqueue, make_world

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

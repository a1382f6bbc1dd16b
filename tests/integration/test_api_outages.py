"""A database that goes away: before a request, or while an upload streams. Either way the
caller gets a 503 problem with Retry-After, and nothing of the upload is left behind."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bukti.bootstrap import Services
from bukti.settings import Settings
from tests.fixtures.app import (
    RecordingEnqueue,
    assert_problem,
    make_world,
    small_jpeg,
)
from tests.fixtures.services import TcpProxy

pytestmark = pytest.mark.integration


def test_every_503_says_when_to_retry(
    settings: Settings, queued: RecordingEnqueue, postgres_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, url = postgres_proxy
    proxied = settings.model_copy(update={"database_url": url})
    with TestClient(create_app(proxied, Services(proxied), enqueue=queued)) as client:
        world = make_world(client)
        proxy.cut()
        response = client.get("/api/v1/users/me", headers=world.teacher_auth)
        assert_problem(response, 503)
        assert int(response.headers["Retry-After"]) > 0


def test_a_database_that_drops_during_a_streamed_upload_is_a_503(
    settings: Settings,
    queued: RecordingEnqueue,
    postgres_proxy: tuple[TcpProxy, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.routes import evidence

    proxy, url = postgres_proxy
    proxied = settings.model_copy(update={"database_url": url})
    streamed = evidence.receive_upload

    async def cut_while_streaming(*args: Any, **kwargs: Any) -> Any:
        upload = await streamed(*args, **kwargs)
        proxy.cut()  # the caller is authenticated; the file is on disk; the database goes
        return upload

    monkeypatch.setattr(evidence, "receive_upload", cut_while_streaming)
    with TestClient(create_app(proxied, Services(proxied), enqueue=queued)) as client:
        world = make_world(client)
        activity = world.activity()
        response = client.post(
            "/api/v1/evidence",
            data={"activity_id": str(activity["id"])},
            files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
            headers=world.teacher_auth,
        )
        assert_problem(response, 503)
        assert response.headers["Retry-After"]
    leftovers = [p for p in proxied.incoming_dir.iterdir() if p.is_file()]
    assert leftovers == [] and queued.sent == []

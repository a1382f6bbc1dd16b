"""Accounts over time: users changed and deactivated, tokens listed, revoked and rotated,
the admin token rotated from the environment, every change in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.app import create_app
from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.audit import verify_chain
from storage.models import ApiToken, AuditEntry
from tests.fixtures.app import (
    ADMIN_TOKEN,
    RecordingEnqueue,
    World,
    assert_problem,
    bearer,
    small_jpeg,
)

pytestmark = pytest.mark.integration


def _me(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/users/me", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_deactivated_user_is_refused_and_kept(client: TestClient, world: World) -> None:
    teacher = _me(client, world.teacher_auth)
    response = client.patch(
        f"/api/v1/users/{teacher['id']}", json={"is_active": False}, headers=world.admin
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert_problem(client.get("/api/v1/users/me", headers=world.teacher_auth), 401)
    inactive = client.get("/api/v1/users?active=false", headers=world.admin).json()
    assert [user["id"] for user in inactive["items"]] == [teacher["id"]]
    client.patch(f"/api/v1/users/{teacher['id']}", json={"is_active": True}, headers=world.admin)
    assert _me(client, world.teacher_auth)["id"] == teacher["id"]


def test_a_user_is_renamed_and_a_role_that_does_not_fit_its_scope_is_a_422(
    client: TestClient, world: World
) -> None:
    reviewer = _me(client, world.reviewer_auth)
    renamed = client.patch(
        f"/api/v1/users/{reviewer['id']}", json={"name": "Bu Kepala"}, headers=world.admin
    )
    assert renamed.json()["name"] == "Bu Kepala"
    teacher = _me(client, world.teacher_auth)
    assert_problem(
        client.patch(f"/api/v1/users/{teacher['id']}", json={"role": "admin"}, headers=world.admin),
        422,
    )
    assert_problem(
        client.patch(
            f"/api/v1/users/{teacher['id']}", json={"name": "x"}, headers=world.teacher_auth
        ),
        403,
    )


def test_the_last_active_admin_cannot_be_deactivated(client: TestClient, world: World) -> None:
    admin = _me(client, world.admin)
    response = client.patch(
        f"/api/v1/users/{admin['id']}", json={"is_active": False}, headers=world.admin
    )
    assert_problem(response, 409)
    assert "last active admin" in response.json()["detail"]


def test_tokens_are_listed_without_secrets_revoked_and_rotated(
    client: TestClient, world: World
) -> None:
    teacher = _me(client, world.teacher_auth)
    second = client.post(
        f"/api/v1/users/{teacher['id']}/tokens",
        json={"label": "laptop"},
        headers=world.teacher_auth,
    )
    assert second.status_code == 201
    laptop = bearer(second.json()["token"])
    listed = client.get(f"/api/v1/users/{teacher['id']}/tokens", headers=world.teacher_auth).json()
    assert [t["label"] for t in listed] == ["laptop", "first token"]
    assert all("token" not in t and "token_sha256" not in t for t in listed)
    assert listed[1]["last_used_at"] is not None  # the first token was used just now

    rotated = client.post(f"/api/v1/tokens/{second.json()['id']}/rotate", headers=laptop)
    assert rotated.status_code == 201 and rotated.json()["label"] == "laptop"
    assert_problem(client.get("/api/v1/users/me", headers=laptop), 401)
    assert _me(client, bearer(rotated.json()["token"]))["id"] == teacher["id"]

    revoked = client.post(f"/api/v1/tokens/{rotated.json()['id']}/revoke", headers=world.admin)
    assert revoked.json()["revoked_at"] is not None
    assert_problem(client.get("/api/v1/users/me", headers=bearer(rotated.json()["token"])), 401)
    assert _me(client, world.teacher_auth)["id"] == teacher["id"]  # the other token still works


def test_another_users_tokens_are_not_found(client: TestClient, world: World) -> None:
    other = _me(client, world.other_teacher_auth)
    assert_problem(
        client.get(f"/api/v1/users/{other['id']}/tokens", headers=world.teacher_auth), 404
    )
    token_id = client.get(f"/api/v1/users/{other['id']}/tokens", headers=world.admin).json()[0][
        "id"
    ]
    assert_problem(
        client.post(f"/api/v1/tokens/{token_id}/revoke", headers=world.teacher_auth), 404
    )


def test_changing_the_admin_token_variable_revokes_the_old_one(
    settings: Settings, services: Services, queued: RecordingEnqueue
) -> None:
    with TestClient(create_app(settings, services, enqueue=queued)) as client:
        admin_id = _me(client, bearer(ADMIN_TOKEN))["id"]
    rotated = settings.model_copy(update={"admin_token": SecretStr("a-new-admin-token-9876543210")})
    services.settings = rotated
    with TestClient(create_app(rotated, services, enqueue=queued)) as client:
        assert _me(client, bearer("a-new-admin-token-9876543210"))["id"] == admin_id
        assert_problem(client.get("/api/v1/users/me", headers=bearer(ADMIN_TOKEN)), 401)
    # going back to a revoked value does not bring it back
    services.settings = settings
    with TestClient(create_app(settings, services, enqueue=queued)) as client:
        assert_problem(client.get("/api/v1/users/me", headers=bearer(ADMIN_TOKEN)), 401)
        assert _me(client, bearer("a-new-admin-token-9876543210"))["id"] == admin_id


def test_tokens_are_stored_only_as_digests(
    client: TestClient, world: World, services: Services
) -> None:
    secret = world.teacher_auth["Authorization"].removeprefix("Bearer ")
    with services.sessions() as session:
        digests = session.scalars(select(ApiToken.token_sha256)).all()
    assert secret not in digests and all(len(d) == 64 for d in digests)


def test_a_teacher_naming_another_teacher_is_refused_not_rewritten(
    client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    other = world.other_teacher["id"]
    day = client.post(
        "/api/v1/evidence",
        data={"date": "2026-10-13", "teacher_id": str(other)},
        files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert_problem(day, 403)
    link = client.post(
        "/api/v1/evidence",
        json={
            "url": "https://youtu.be/k3Jd8sL2mQA",
            "month": "2026-10",
            "requirement": "learning",
            "teacher_id": other,
        },
        headers=world.teacher_auth,
    )
    assert_problem(link, 403)
    activity = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": other,
            "date": "2026-10-13",
            "start": "07:00",
            "end": "08:00",
            "title": "x",
        },
        headers=world.teacher_auth,
    )
    assert activity.status_code in (403, 404)
    assert queued.sent == []
    own = client.post(
        "/api/v1/evidence",
        data={"date": "2026-10-13", "teacher_id": str(world.teacher["id"])},
        files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert own.status_code == 202 and own.json()["teacher_id"] == world.teacher["id"]


def test_every_change_goes_to_the_audit_trail_with_who_old_and_new(
    client: TestClient, world: World, services: Services
) -> None:
    activity = world.activity()
    client.patch(
        f"/api/v1/activities/{activity['id']}", json={"end": "09:00"}, headers=world.teacher_auth
    )
    teacher_user = _me(client, world.teacher_auth)
    client.patch(
        f"/api/v1/users/{teacher_user['id']}", json={"is_active": False}, headers=world.admin
    )
    with services.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert verify_chain(session).is_intact
    actions = [e.action for e in entries]
    assert {"school.created", "teacher.created", "user.created", "token.created"} <= set(actions)
    created = next(e for e in entries if e.action == "activity.created")
    assert created.actor_name == "Erni" and created.school_id == world.school["id"]
    changed = next(e for e in entries if e.action == "activity.updated")
    assert changed.data == {"old": {"end": "08:30:00"}, "new": {"end": "09:00:00"}}
    assert changed.subject == f"activity:{activity['id']}"
    deactivated = next(
        e
        for e in entries
        if e.subject == f"user:{teacher_user['id']}" and e.action == "user.updated"
    )
    assert deactivated.data == {"old": {"is_active": True}, "new": {"is_active": False}}
    assert deactivated.actor_name == "admin (BUKTI_ADMIN_TOKEN)"
    token = next(e for e in entries if e.action == "token.created")
    assert token.data["new"]["token_sha256"] == "(secret)"


def test_metrics_are_served_to_admins_only(client: TestClient, world: World) -> None:
    client.get("/api/v1/schools/1", headers=world.teacher_auth)
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers=world.teacher_auth), 403)
    text = client.get("/metrics", headers=world.admin).text
    assert (
        'bukti_http_requests_total{method="GET",route="/api/v1/schools/{school_id}",status="200"}'
        in text
    )
    assert 'bukti_evidence_items{status="received"}' in text
    assert "bukti_http_request_duration_seconds_bucket" in text


def test_each_response_carries_its_request_id(client: TestClient, world: World) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "phone-42"})
    assert given.headers["X-Request-ID"] == "phone-42"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert len(made.headers["X-Request-ID"]) == 32

"""Schools, teachers, users and activities through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.app import ADMIN_TOKEN, World, bearer

pytestmark = pytest.mark.integration


def test_admin_token_from_settings_creates_a_school(client: TestClient) -> None:
    response = client.post(
        "/api/v1/schools",
        json={
            "name": "SMAN 2 Bandung",
            "lat": -6.9,
            "lon": 107.6,
            "radius_m": 120,
            "timezone": "Asia/Jakarta",
        },
        headers=bearer(ADMIN_TOKEN),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] and body["name"] == "SMAN 2 Bandung" and body["radius_m"] == 120


def test_requests_without_a_token_get_401_problem(client: TestClient) -> None:
    response = client.get("/api/v1/teachers")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert client.get("/api/v1/teachers", headers=bearer("bkt_nope")).status_code == 401


def test_teacher_cannot_create_schools(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/schools", json={"name": "X", "lat": 0, "lon": 0}, headers=world.teacher_auth
    )
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_invalid_school_gets_422_problem_naming_the_field(client: TestClient) -> None:
    response = client.post(
        "/api/v1/schools",
        json={"name": "X", "lat": 123, "lon": 0, "timezone": "Mars/Olympus"},
        headers=bearer(ADMIN_TOKEN),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Unprocessable Content"
    assert {tuple(e["loc"]) for e in problem["errors"]} >= {("body", "lat"), ("body", "timezone")}


def test_duplicate_nip_is_a_conflict(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/teachers",
        json={"nip": world.teacher["nip"], "name": "Someone", "school_id": world.school["id"]},
        headers=world.admin,
    )
    assert response.status_code == 409
    assert world.teacher["nip"] in response.json()["detail"]


def test_user_token_is_shown_once_and_works(client: TestClient, world: World) -> None:
    created = client.post(
        "/api/v1/users",
        json={"name": "Kepala Sekolah", "role": "reviewer", "school_id": world.school["id"]},
        headers=world.admin,
    ).json()
    assert created["token"].startswith("bkt_")
    me = client.get("/api/v1/users/me", headers=bearer(created["token"])).json()
    assert me == {k: v for k, v in created.items() if k != "token"}
    listed = client.get("/api/v1/users", headers=world.admin).json()
    assert all("token" not in user for user in listed["items"])


def test_teacher_user_needs_a_teacher(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/users", json={"name": "x", "role": "teacher"}, headers=world.admin
    )
    assert response.status_code == 422


def test_teacher_sees_only_themselves(client: TestClient, world: World) -> None:
    listed = client.get("/api/v1/teachers", headers=world.teacher_auth).json()
    assert [t["id"] for t in listed["items"]] == [world.teacher["id"]]
    other = client.get(f"/api/v1/teachers/{world.other_teacher['id']}", headers=world.teacher_auth)
    assert other.status_code == 404


def test_reviewer_sees_their_school_only(client: TestClient, world: World) -> None:
    elsewhere = client.post(
        "/api/v1/schools", json={"name": "SMKN 2", "lat": -7, "lon": 107}, headers=world.admin
    ).json()
    stranger = client.post(
        "/api/v1/teachers",
        json={"nip": "199001012015011001", "name": "Stranger", "school_id": elsewhere["id"]},
        headers=world.admin,
    ).json()
    listed = client.get("/api/v1/teachers", headers=world.reviewer_auth).json()
    assert {t["id"] for t in listed["items"]} == {world.teacher["id"], world.other_teacher["id"]}
    assert (
        client.get(f"/api/v1/teachers/{stranger['id']}", headers=world.reviewer_auth).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/schools/{elsewhere['id']}", headers=world.reviewer_auth).status_code
        == 404
    )


def test_teacher_logs_an_activity_with_hhmm_times(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "start": "07:00",
            "end": "08:30",
            "title": "Mengajar X TKJ 1",
            "category": "teaching",
        },
        headers=world.teacher_auth,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["start"], body["end"], body["minutes"]) == ("07:00", "08:30", 90)
    fetched = client.get(f"/api/v1/activities/{body['id']}", headers=world.reviewer_auth)
    assert fetched.json() == body


def test_teacher_cannot_log_for_another_teacher(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.other_teacher["id"],
            "date": "2026-10-13",
            "start": "07:00",
            "end": "08:00",
            "title": "x",
        },
        headers=world.teacher_auth,
    )
    assert response.status_code == 404


def test_reviewer_cannot_log_activities(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "start": "07:00",
            "end": "08:00",
            "title": "x",
        },
        headers=world.reviewer_auth,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("start", "end"), [("08:00", "07:00"), ("7am", "08:00"), ("25:00", "26:00")]
)
def test_bad_activity_times_are_422(client: TestClient, world: World, start: str, end: str) -> None:
    response = client.post(
        "/api/v1/activities",
        json={
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "start": start,
            "end": end,
            "title": "x",
        },
        headers=world.teacher_auth,
    )
    assert response.status_code == 422


def test_activities_list_filters_by_date_and_pages(client: TestClient, world: World) -> None:
    for day in ("2026-10-12", "2026-10-13", "2026-10-14"):
        world.activity(day, "07:00", "08:00", f"on {day}")
    page = client.get(
        "/api/v1/activities?from=2026-10-13&to=2026-10-14&limit=1", headers=world.teacher_auth
    ).json()
    assert page["total"] == 2 and page["limit"] == 1
    assert [a["date"] for a in page["items"]] == ["2026-10-13"]


def test_health_answers_without_dependencies(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_is_served(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/schools",
        "/api/v1/teachers",
        "/api/v1/users",
        "/api/v1/activities",
        "/api/v1/evidence",
        "/api/v1/evidence/{evidence_id}",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_migrations_upgrade_an_empty_database_and_downgrade_cleanly(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from storage.db import alembic_config, upgrade
    from storage.models import Base

    command.downgrade(alembic_config(database_url), "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(database_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()

"""Input that once met a 500: huge integers, numbers for times, nulls, NUL characters, a
database that drops mid-upload. Each now gets a 4xx (or 503) problem, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from bukti.settings import Settings
from tests.fixtures.app import World, assert_problem, small_jpeg

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]

HUGE = "9999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/evidence/{HUGE}",
        f"/api/v1/activities/{HUGE}",
        f"/api/v1/teachers/{HUGE}/days/2026-10-13",
        f"/api/v1/evidence?teacher_id={HUGE}",
        f"/api/v1/activities?offset={HUGE}",
    ],
)
def test_integers_beyond_64_bits_in_a_path_or_query_are_a_422(
    client: TestClient, world: World, path: str
) -> None:
    assert_problem(client.get(path, headers=world.admin), 422)


def test_integers_beyond_64_bits_in_json_and_form_fields_are_a_422(
    client: TestClient, world: World
) -> None:
    body = {"teacher_id": int(HUGE), "date": "2026-10-13", "start": "07:00", "end": "08:00"}
    assert_problem(
        client.post("/api/v1/activities", json={**body, "title": "x"}, headers=world.admin), 422
    )
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": HUGE},
        files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert_problem(response, 422)
    assert "activity_id" in response.json()["detail"]


def test_a_number_where_a_time_is_expected_is_a_422(client: TestClient, world: World) -> None:
    activity = world.activity()
    body = {
        "teacher_id": world.teacher["id"],
        "date": "2026-10-13",
        "start": "07:00",
        "end": 0,
        "title": "x",
    }
    assert_problem(client.post("/api/v1/activities", json=body, headers=world.teacher_auth), 422)
    patched = client.patch(
        f"/api/v1/activities/{activity['id']}", json={"end": 0}, headers=world.teacher_auth
    )
    assert_problem(patched, 422)
    assert "HH:MM" in patched.json()["detail"]


def test_null_for_a_time_or_a_status_in_a_patch_is_a_422(client: TestClient, world: World) -> None:
    activity = world.activity()
    for field in ("start", "end", "title"):
        response = client.patch(
            f"/api/v1/activities/{activity['id']}", json={field: None}, headers=world.teacher_auth
        )
        assert_problem(response, 422)
        assert "cannot be null" in response.json()["detail"]
    attendance = client.post(
        "/api/v1/attendance",
        json={"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "WFO"},
        headers=world.teacher_auth,
    ).json()
    response = client.patch(
        f"/api/v1/attendance/{attendance['id']}", json={"status": None}, headers=world.teacher_auth
    )
    assert_problem(response, 422)
    # a field that may be empty still is emptied by null
    cleared = client.patch(
        f"/api/v1/activities/{activity['id']}", json={"category": None}, headers=world.teacher_auth
    )
    assert cleared.status_code == 200 and cleared.json()["category"] is None


def test_nul_characters_in_text_fields_and_queries_are_a_422(
    client: TestClient, world: World
) -> None:
    body = {
        "teacher_id": world.teacher["id"],
        "date": "2026-10-13",
        "start": "07:00",
        "end": "08:00",
        "title": "Mengajar\x00",
    }
    assert_problem(client.post("/api/v1/activities", json=body, headers=world.teacher_auth), 422)
    assert_problem(client.get("/api/v1/teachers?nip=1%00", headers=world.admin), 422)
    school = {"name": "SMKN\x00 2", "lat": -6.8, "lon": 107.1}
    assert_problem(client.post("/api/v1/schools", json=school, headers=world.admin), 422)


def test_nul_characters_in_a_file_name_are_dropped_and_in_a_form_field_refused(
    client: TestClient, world: World
) -> None:
    activity = world.activity()
    stored = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity["id"])},
        files={"file": ("IMG\x00_1.jpg", small_jpeg(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert stored.status_code == 202, stored.text
    refused = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity["id"]), "lat": "-6.8\x00"},
        files={"file": ("a.jpg", small_jpeg(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert_problem(refused, 422)


def test_an_empty_upload_is_a_422_that_says_so(client: TestClient, world: World) -> None:
    activity = world.activity()
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity["id"])},
        files={"file": ("a.jpg", b"", "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert_problem(response, 422)
    assert "empty (0 bytes)" in response.json()["detail"]


def test_a_sub_megabyte_limit_is_said_in_the_unit_it_was_set_in(
    settings: Settings, services: Services, world: World, client: TestClient
) -> None:
    small = settings.model_copy(update={"max_photo_bytes": 500_000})
    activity = world.activity()
    services.settings = small
    response = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity["id"])},
        files={"file": ("a.jpg", small_jpeg() + bytes(600_000), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert_problem(response, 413)
    assert "500 kB limit" in response.json()["detail"]

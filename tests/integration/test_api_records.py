"""Attendance, activity edits, day and month summaries, receipts and reviews through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.app import RecordingEnqueue, World
from tests.fixtures.photos import jpeg_bytes

pytestmark = pytest.mark.integration


def post(client: TestClient, path: str, body: dict[str, Any], auth: dict[str, str]) -> Any:
    return client.post(path, json=body, headers=auth)


def test_late_check_in_and_early_check_out_are_flagged(client: TestClient, world: World) -> None:
    response = post(
        client,
        "/api/v1/attendance",
        {
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "status": "WFO",
            "check_in": "07:12",
            "check_out": "15:10",
        },
        world.teacher_auth,
    )
    assert response.status_code == 201, response.text
    flags = {f["code"]: f for f in response.json()["flags"]}
    assert set(flags) == {"late_check_in", "early_check_out"}
    assert "12 min late" in flags["late_check_in"]["detail"]
    assert "WIB" in flags["late_check_in"]["detail"]


def test_on_time_attendance_has_no_flags(client: TestClient, world: World) -> None:
    response = post(
        client,
        "/api/v1/attendance",
        {
            "teacher_id": world.teacher["id"],
            "date": "2026-10-13",
            "status": "WFO",
            "check_in": "06:48",
            "check_out": "15:45",
        },
        world.teacher_auth,
    )
    assert response.json()["flags"] == []


def test_school_calendar_moves_friday_check_out(client: TestClient, world: World) -> None:
    school = post(
        client,
        "/api/v1/schools",
        {
            "name": "SMAN 1 Garut",
            "lat": -7.2,
            "lon": 107.9,
            "calendar": [{"label": "Friday", "weekdays": [4], "check_out_from": "11:30"}],
        },
        world.admin,
    ).json()
    teacher = post(
        client,
        "/api/v1/teachers",
        {"nip": "198501012010011005", "name": "Dewi", "school_id": school["id"]},
        world.admin,
    ).json()
    friday = post(
        client,
        "/api/v1/attendance",
        {
            "teacher_id": teacher["id"],
            "date": "2026-10-16",
            "status": "WFO",
            "check_in": "06:50",
            "check_out": "11:40",
        },
        world.admin,
    ).json()
    assert friday["flags"] == []
    assert school["calendar"][0]["check_out_from"] == "11:30"


def test_dl_day_needs_a_destination(client: TestClient, world: World) -> None:
    response = post(
        client,
        "/api/v1/attendance",
        {"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "DL"},
        world.teacher_auth,
    )
    assert response.status_code == 422
    assert "destination" in response.json()["detail"]


def test_wfh_day_needs_a_registered_home(client: TestClient, world: World) -> None:
    response = post(
        client,
        "/api/v1/attendance",
        {"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "WFH"},
        world.teacher_auth,
    )
    assert response.status_code == 422
    assert "home" in response.json()["detail"]


def test_second_attendance_for_a_day_is_a_conflict(client: TestClient, world: World) -> None:
    body = {"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "WFO"}
    assert post(client, "/api/v1/attendance", body, world.teacher_auth).status_code == 201
    assert post(client, "/api/v1/attendance", body, world.teacher_auth).status_code == 409


def test_teacher_cannot_see_or_write_another_teachers_attendance(
    client: TestClient, world: World
) -> None:
    created = post(
        client,
        "/api/v1/attendance",
        {"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "WFO"},
        world.teacher_auth,
    ).json()
    other = world.other_teacher_auth
    assert client.get(f"/api/v1/attendance/{created['id']}", headers=other).status_code == 404
    assert (
        client.patch(
            f"/api/v1/attendance/{created['id']}", json={"status": "CUTI"}, headers=other
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/attendance/{created['id']}", headers=world.reviewer_auth).status_code
        == 200
    )


def test_day_summary_counts_minutes_and_flags_overlaps_and_shortfall(
    client: TestClient, world: World
) -> None:
    world.activity("2026-10-13", "07:00", "09:00", category="teaching")
    world.activity("2026-10-13", "08:30", "10:00", "Rapat", category="teaching")
    summary = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.teacher_auth
    ).json()
    assert summary["minutes_logged"] == 180  # the half hour of overlap counts once
    assert summary["minutes_evidenced"] == 0
    assert summary["target_min"] == 450 and summary["working_day"] is True
    codes = [f["code"] for f in summary["flags"]]
    assert codes.count("activity_overlap") == 1 and "trk_under_target" in codes
    assert [a["title"] for a in summary["activities"]] == ["Mengajar", "Rapat"]


def test_full_day_meets_the_target(client: TestClient, world: World) -> None:
    world.activity("2026-10-13", "07:00", "11:00", category="teaching")
    world.activity("2026-10-13", "11:30", "15:00", category="teaching")
    summary = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.teacher_auth
    ).json()
    assert summary["minutes_logged"] == 450
    assert "trk_under_target" not in [f["code"] for f in summary["flags"]]


def test_leave_day_has_no_target(client: TestClient, world: World) -> None:
    post(
        client,
        "/api/v1/attendance",
        {"teacher_id": world.teacher["id"], "date": "2026-10-13", "status": "CUTI"},
        world.teacher_auth,
    )
    summary = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.teacher_auth
    ).json()
    assert summary["target_min"] == 0 and summary["flags"] == []


def test_month_summary_has_the_working_days_and_totals(client: TestClient, world: World) -> None:
    world.activity("2026-10-13", "07:00", "15:00", category="teaching")
    month = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/months/2026-10", headers=world.reviewer_auth
    ).json()
    assert month["working_days"] == 22  # October 2026 has 22 weekdays and no holiday
    assert month["target_min"] == 9000  # TRK's month: 20 x 450, fewer than 22 x 450
    assert month["target_rule"].startswith("TRK: 9,000 min a month")
    assert month["minutes_logged"] == 480
    assert len(month["days"]) == 31
    saturday = next(d for d in month["days"] if d["date"] == "2026-10-17")
    assert saturday["working_day"] is False
    assert (
        client.get(
            f"/api/v1/teachers/{world.teacher['id']}/months/2026-13", headers=world.teacher_auth
        ).status_code
        == 422
    )


def test_other_teacher_cannot_read_a_day(client: TestClient, world: World) -> None:
    response = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.other_teacher_auth
    )
    assert response.status_code == 404


def test_editing_an_activity_queues_reverification_of_its_evidence(
    client: TestClient, world: World, queued: RecordingEnqueue, services: Any
) -> None:
    from storage.db import transaction
    from storage.models import Evidence

    activity = world.activity("2026-10-13", "07:00", "08:30", category="teaching")
    item = world.upload_item(jpeg_bytes(), name="a.jpg", activity_id=activity["id"])
    with transaction(services.sessions) as session:  # verified, as the pipeline leaves it
        stored = session.get(Evidence, item["id"])
        assert stored is not None
        stored.status = "accepted"
    response = client.patch(
        f"/api/v1/activities/{activity['id']}", json={"end": "09:30"}, headers=world.teacher_auth
    )
    assert response.status_code == 200 and response.json()["end"] == "09:30"
    assert queued.reverified == [item["id"]]
    bad = client.patch(
        f"/api/v1/activities/{activity['id']}", json={"start": "10:00"}, headers=world.teacher_auth
    )
    assert bad.status_code == 422


def test_receipt_is_refused_until_archived(client: TestClient, world: World) -> None:
    activity = world.activity("2026-10-13", "07:00", "08:30", category="teaching")
    item = world.upload_item(jpeg_bytes(), name="a.jpg", activity_id=activity["id"])
    response = client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=world.teacher_auth)
    assert response.status_code == 409
    assert "keep the phone's copy" in response.json()["detail"]


def test_upload_must_name_exactly_one_target(client: TestClient, world: World) -> None:
    activity = world.activity("2026-10-13", "07:00", "08:30", category="teaching")
    both = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(activity["id"]), "date": "2026-10-13"},
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert both.status_code == 422
    selfie = client.post(
        "/api/v1/evidence",
        data={"attendance_id": "1"},
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert selfie.status_code in (404, 422)


def test_client_location_is_validated(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/evidence",
        data={"date": "2026-10-13", "lat": "-95", "lon": "107"},
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert response.status_code == 422
    assert "lat" in response.json()["detail"]


def test_lists_are_scoped_for_a_reviewer_of_another_school(
    client: TestClient, world: World
) -> None:
    from tests.fixtures.app import bearer

    activity = world.activity("2026-10-13", "07:00", "08:30", category="teaching")
    world.attendance("2026-10-13", "WFO")
    world.upload(jpeg_bytes(), name="a.jpg", activity_id=activity["id"])
    elsewhere = post(
        client, "/api/v1/schools", {"name": "SMAN 3", "lat": -7.0, "lon": 107.5}, world.admin
    ).json()
    stranger = bearer(
        post(
            client,
            "/api/v1/users",
            {"name": "Koordinator lain", "role": "reviewer", "school_id": elsewhere["id"]},
            world.admin,
        ).json()["token"]
    )
    for path in ("/api/v1/activities", "/api/v1/attendance", "/api/v1/evidence"):
        assert client.get(path, headers=stranger).json()["total"] == 0, path
        assert client.get(path, headers=world.reviewer_auth).json()["total"] == 1, path


def test_a_day_not_yet_over_is_not_under_target(client: TestClient, world: World) -> None:
    from datetime import date, timedelta

    ahead = date.today() + timedelta(days=1)
    while ahead.weekday() >= 5:  # a working day, where the 450 minutes would apply
        ahead += timedelta(days=1)
    tomorrow = ahead.isoformat()
    world.activity(tomorrow, "07:00", "08:00", category="teaching")
    summary = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{tomorrow}", headers=world.teacher_auth
    ).json()
    assert "trk_under_target" not in [f["code"] for f in summary["flags"]]

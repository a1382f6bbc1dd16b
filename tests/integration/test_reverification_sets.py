"""Every change of a record queues re-verification of exactly the items it affects.

Items are uploaded through the API and then marked as verified (accepted or flagged, with the
day and position verification records), as the pipeline leaves them; the recording queue
shows which ids each change sends to re-verification.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from storage.db import transaction
from storage.models import Evidence
from tests.fixtures.app import RecordingEnqueue, World
from tests.fixtures.photos import jpeg_bytes

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]

DAY, OTHER_DAY = "2026-10-13", "2026-10-14"
SCHOOL = (-6.8168, 107.1425)


#: a small photo without metadata: the tests here write where it was taken themselves
PHOTO = jpeg_bytes("astronaut", quality=80, size=(64, 48))


class Records:
    """The teacher's items, uploaded through the API, verified by hand."""

    def __init__(self, world: World, services: Services) -> None:
        self.world, self.services = world, services

    def item(
        self,
        *,
        status: str = "flagged",
        at: tuple[float, float] | None = SCHOOL,
        auth: Any = None,
        **target: Any,
    ) -> int:
        evidence_id = self.world.upload(PHOTO, name="IMG_1.jpg", auth=auth, **target)
        with transaction(self.services.sessions) as session:
            item = session.get(Evidence, evidence_id)
            assert item is not None
            item.status = status
            item.lat, item.lon = at if at else (None, None)
            item.local_date = date.fromisoformat(target.get("date", DAY))
        return evidence_id


@pytest.fixture
def records(world: World, services: Services) -> Records:
    return Records(world, services)


def test_creating_attendance_reverifies_exactly_that_days_items(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    lesson, other_lesson = world.activity()["id"], world.activity(OTHER_DAY)["id"]
    on_lesson = records.item(activity_id=lesson)
    unattached = records.item(date=DAY)
    records.item(status="accepted", activity_id=other_lesson)  # another day
    records.item(status="processing", activity_id=lesson)  # not verified yet: reads it later
    records.item(status="rejected", activity_id=lesson)  # never verified
    records.item(date=DAY, auth=world.other_teacher_auth)  # another teacher
    records.item(month="2026-10", requirement="learning")  # a monthly item has no day
    destination = {"name": "Dinas Pendidikan", "lat": -6.9147, "lon": 107.6098}
    world.attendance(status="DL", destination=destination)
    assert queued.reverified == [on_lesson, unattached]


def test_changing_and_deleting_attendance_reverify_its_selfies_and_day(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    record = world.attendance(check_in="06:50")["id"]
    selfie = records.item(attendance_id=record, check="in")
    on_lesson = records.item(activity_id=world.activity()["id"])
    records.item(activity_id=world.activity(OTHER_DAY)["id"])
    queued.reverified.clear()
    patched = client.patch(
        f"/api/v1/attendance/{record}", json={"check_in": "06:55"}, headers=world.teacher_auth
    )
    assert patched.status_code == 200, patched.text
    assert queued.reverified == [selfie, on_lesson]
    queued.reverified.clear()
    assert (
        client.delete(f"/api/v1/attendance/{record}", headers=world.teacher_auth).status_code == 204
    )
    assert queued.reverified == [selfie, on_lesson]
    item = client.get(f"/api/v1/evidence/{selfie}", headers=world.teacher_auth).json()
    assert item["attendance_id"] is None  # the selfie stays, as one of the day's items
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{DAY}", headers=world.teacher_auth
    )
    assert selfie in [brief["id"] for brief in day.json()["unattached_evidence"]]


def test_activity_changes_reverify_its_items_only_and_creation_none(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    lesson, other = world.activity()["id"], world.activity(start="09:00", end="10:00")["id"]
    attached = records.item(activity_id=lesson)
    records.item(activity_id=other)
    records.item(date=DAY)
    queued.reverified.clear()
    world.activity(start="13:00", end="14:00")
    assert queued.reverified == []  # a new activity has no items yet
    client.patch(f"/api/v1/activities/{lesson}", json={"end": "09:00"}, headers=world.teacher_auth)
    assert queued.reverified == [attached]
    queued.reverified.clear()
    assert (
        client.delete(f"/api/v1/activities/{lesson}", headers=world.teacher_auth).status_code == 204
    )
    assert queued.reverified == [attached]
    assert client.get(f"/api/v1/activities/{lesson}", headers=world.teacher_auth).status_code == 404


def test_a_new_geofence_reverifies_the_items_placed_at_school(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    at_school = records.item(activity_id=world.activity()["id"])
    records.item(activity_id=world.activity()["id"], at=None)  # no position: nothing to place
    wfh_record = world.attendance(OTHER_DAY, status="WFO")["id"]
    client.patch(
        f"/api/v1/attendance/{wfh_record}", json={"status": "CUTI"}, headers=world.teacher_auth
    )
    records.item(activity_id=world.activity(OTHER_DAY)["id"])  # a leave day: no place applies
    records.item(month="2026-10", requirement="learning")  # monthly: not held to a place
    queued.reverified.clear()
    school = world.school["id"]
    moved = client.patch(f"/api/v1/schools/{school}", json={"radius_m": 300}, headers=world.admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["radius_m"] == 300
    assert queued.reverified == [at_school]


def test_a_new_calendar_or_hours_reverify_nothing_and_change_the_day(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    records.item(activity_id=world.activity()["id"])
    queued.reverified.clear()
    school = world.school["id"]
    holiday = {"label": "Hari Guru (libur sekolah)", "start": DAY, "end": DAY, "day_off": True}
    response = client.patch(
        f"/api/v1/schools/{school}", json={"calendar": [holiday]}, headers=world.admin
    )
    assert response.status_code == 200, response.text
    assert queued.reverified == []
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{DAY}", headers=world.teacher_auth
    )
    assert day.json()["working_day"] is False and day.json()["hours_label"] == holiday["label"]


def test_a_new_home_reverifies_the_wfh_days_items(
    records: Records, client: TestClient, world: World, queued: RecordingEnqueue
) -> None:
    teacher = world.teacher["id"]
    home = {"home_lat": -6.83, "home_lon": 107.13}
    assert (
        client.patch(f"/api/v1/teachers/{teacher}", json=home, headers=world.admin).status_code
        == 200
    )
    world.attendance(status="WFH")
    at_home = records.item(activity_id=world.activity()["id"], at=(-6.83, 107.13))
    records.item(activity_id=world.activity(OTHER_DAY)["id"])  # a WFO day
    queued.reverified.clear()
    moved = {"home_lat": -6.84, "home_lon": 107.12}
    response = client.patch(f"/api/v1/teachers/{teacher}", json=moved, headers=world.admin)
    assert response.status_code == 200, response.text
    assert queued.reverified == [at_home]
    queued.reverified.clear()
    client.patch(f"/api/v1/teachers/{teacher}", json={"name": "Erni W."}, headers=world.admin)
    assert queued.reverified == []


def test_school_and_teacher_changes_are_for_admins_and_validated(
    client: TestClient, world: World
) -> None:
    school, teacher = world.school["id"], world.teacher["id"]
    refused = client.patch(
        f"/api/v1/schools/{school}", json={"radius_m": 1}, headers=world.reviewer_auth
    )
    assert refused.status_code == 403
    assert (
        client.patch("/api/v1/schools/999", json={"radius_m": 1}, headers=world.admin).status_code
        == 404
    )
    bad = client.patch(
        f"/api/v1/schools/{school}", json={"timezone": "Asia/Bandung"}, headers=world.admin
    )
    assert bad.status_code == 422
    half = client.patch(f"/api/v1/teachers/{teacher}", json={"home_lat": -6.8}, headers=world.admin)
    assert half.status_code == 422
    off = client.patch(
        f"/api/v1/teachers/{teacher}", json={"is_active": False}, headers=world.admin
    )
    assert off.status_code == 200 and off.json()["is_active"] is False

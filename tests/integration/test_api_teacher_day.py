"""What the teacher's page needs of the API: checking in now, receipts by day, and answering a
reviewer's "ask again" with a resumable upload."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from evidence.flags import Code
from tests.fixtures import tus
from tests.fixtures.photos import PhotoFactory
from tests.fixtures.teacher import decide, settle, user_id
from tests.fixtures.web import People

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")


def test_checking_in_opens_the_day_at_this_minute_and_keeps_the_first_check_in(
    client: TestClient, people: People
) -> None:
    auth = people.world.teacher_auth
    before = datetime.now(WIB).replace(second=0, microsecond=0)

    opened = client.post("/api/v1/attendance/check", json={"check": "in"}, headers=auth)
    again = client.post("/api/v1/attendance/check", json={"check": "in"}, headers=auth)

    assert opened.status_code == 201, opened.text
    record = opened.json()
    assert record["date"] == before.date().isoformat() and record["status"] == "WFO"
    checked = datetime.combine(before.date(), datetime.strptime(record["check_in"], "%H:%M").time())
    assert timedelta(0) <= checked.replace(tzinfo=WIB) - before <= timedelta(minutes=1)
    assert again.status_code == 200 and again.json()["check_in"] == record["check_in"]


def test_a_check_out_takes_this_minute_and_never_precedes_the_check_in(
    client: TestClient, people: People
) -> None:
    world = people.world
    today = datetime.now(WIB).date().isoformat()
    record = world.attendance(today, "WFO")

    out = client.post("/api/v1/attendance/check", json={"check": "out"}, headers=world.teacher_auth)
    client.patch(
        f"/api/v1/attendance/{record['id']}",
        json={"check_in": "23:59", "check_out": None},
        headers=world.teacher_auth,
    )
    before_in = client.post(
        "/api/v1/attendance/check", json={"check": "out"}, headers=world.teacher_auth
    )

    assert out.status_code == 200 and out.json()["check_out"] is not None
    assert before_in.status_code == 409
    assert "after the check-in at 23:59" in before_in.json()["detail"]


def test_reviewers_do_not_check_in_and_admins_name_the_teacher(
    client: TestClient, people: People
) -> None:
    world = people.world
    reviewer = client.post(
        "/api/v1/attendance/check", json={"check": "in"}, headers=world.reviewer_auth
    )
    nameless = client.post("/api/v1/attendance/check", json={"check": "in"}, headers=world.admin)
    named = client.post(
        "/api/v1/attendance/check",
        json={"check": "in", "teacher_id": world.other_teacher["id"]},
        headers=world.admin,
    )

    assert reviewer.status_code == 403
    assert nameless.status_code == 422
    assert named.status_code == 201 and named.json()["teacher_id"] == world.other_teacher["id"]


def test_receipts_list_archived_items_by_day_with_file_names_and_capture_times(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    world = people.world
    auth = world.teacher_auth
    first = world.upload_item(make_photo("IMG_20261013_071502.jpg"), date="2026-10-13")
    second = world.upload_item(make_photo("IMG_20261014_093000.jpg"), date="2026-10-14")
    pending = world.upload_item(make_photo("IMG_20261014_101500.jpg"), date="2026-10-14")
    others = world.upload_item(
        make_photo("IMG_other.jpg"), auth=world.other_teacher_auth, date="2026-10-14"
    )
    taken = datetime(2026, 10, 13, 7, 15, 2, tzinfo=WIB)
    settle(services, first["id"], captured_at=taken, archived=True)
    settle(services, second["id"], local_date=date(2026, 10, 14), archived=True)
    settle(services, pending["id"], status="flagged")
    settle(services, others["id"], archived=True)

    mine = client.get("/api/v1/receipts", headers=auth).json()
    one_day = client.get("/api/v1/receipts?from=2026-10-13&to=2026-10-13", headers=auth).json()
    school = client.get("/api/v1/receipts", headers=world.reviewer_auth).json()

    assert [(r["evidence_id"], r["day"]) for r in mine["items"]] == [
        (second["id"], "2026-10-14"),
        (first["id"], "2026-10-13"),
    ]
    assert mine["total"] == 2
    receipt = mine["items"][1]
    assert receipt["client_filename"] == "IMG_20261013_071502.jpg"
    assert datetime.fromisoformat(receipt["captured_at"]) == taken.astimezone(UTC)
    assert receipt["safe_to_delete"] and receipt["sha256"] == first["hashes"]["sha256"]
    assert [r["evidence_id"] for r in one_day["items"]] == [first["id"]]
    assert {r["evidence_id"] for r in school["items"]} == {first["id"], second["id"], others["id"]}
    # exactly the items whose own receipt answers 200
    for item in (first, second, pending):
        single = client.get(f"/api/v1/evidence/{item['id']}/receipt", headers=auth)
        listed = any(r["evidence_id"] == item["id"] for r in mine["items"])
        assert (single.status_code == 200) == listed


def test_receipts_of_another_school_stay_hidden(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    item = people.world.upload_item(
        make_photo("IMG_garut.jpg"), auth=people.other_school_teacher_auth, date="2026-10-14"
    )
    settle(services, item["id"], archived=True)

    mine = client.get("/api/v1/receipts", headers=people.world.teacher_auth).json()
    reviewer = client.get("/api/v1/receipts", headers=people.world.reviewer_auth).json()

    assert mine["items"] == [] and reviewer["items"] == []


def test_a_resumable_upload_can_answer_ask_again(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    world = people.world
    asked = world.upload_item(make_photo("a.jpg"), date="2026-10-13")
    settle(services, asked["id"], status="flagged", flags=[Code.NO_CAPTURE_TIME])
    reviewer_id = user_id(client, world.reviewer_auth)
    decide(services, asked["id"], reviewer_id, "ask_again", "send the camera's original")
    data = make_photo("original.jpg").read_bytes()

    created = tus.create(
        client,
        world.teacher_auth,
        len(data),
        filename="original.jpg",
        filetype="image/jpeg",
        answers=asked["id"],
    )
    assert created.status_code == 201, created.text
    done = tus.patch(client, world.teacher_auth, created.headers["location"], 0, data)
    assert done.status_code == 204, done.text
    item = client.get(
        f"/api/v1/evidence/{done.headers['bukti-evidence-id']}", headers=world.teacher_auth
    ).json()
    assert item["answers_evidence_id"] == asked["id"]

"""Verification on real uploads through a worker: flags with details, re-verification, the
TRK day draft, attendance selfies, receipts and reviews."""

# ruff: noqa: RUF001
from __future__ import annotations

import re
import time
from datetime import datetime
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.app import World, make_world, wait_for_terminal
from tests.fixtures.photos import GpsFix
from tests.fixtures.web import make_people, sign_in
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.integration

SCHOOL = GpsFix(-6.8168, 107.1425, accuracy_m=12.0)
# 1.9 km north-east of the school
ELSEWHERE = GpsFix(-6.8040, 107.1550, accuracy_m=12.0)


#: the lesson the photos prove, as the teacher logs it
LESSON = "Mengajar X TKJ 1"


def codes(item: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in item["flags"]}


def late_photo_elsewhere(world: World) -> dict[str, Any]:
    """A photo of a 07:00-08:30 lesson taken at 10:47, 2 km from school, as processed."""
    lesson = world.activity("2026-10-13", "07:00", "08:30", LESSON, category="teaching")
    late = world.phone_photo(datetime(2026, 10, 13, 10, 47), ELSEWHERE, source="coffee")
    return world.send(late, activity_id=lesson["id"])


def test_photo_flags_carry_reviewer_readable_details(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    world = make_world(live_client, make_photo)
    item = late_photo_elsewhere(world)
    assert item["status"] == "flagged"
    flags = {f["code"]: f for f in item["flags"]}
    assert {"time_outside_activity", "outside_geofence"} <= set(flags)
    assert "10:47 WIB" in flags["time_outside_activity"]["detail"]
    assert "07:00" in flags["time_outside_activity"]["detail"]
    assert "km" in flags["outside_geofence"]["detail"]
    assert "SMKN 1 Cianjur" in flags["outside_geofence"]["detail"]
    assert item["facts"]["captured_local"]["source"] == "exif:DateTimeOriginal"


def test_the_item_page_words_a_photos_flags_in_the_readers_language(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    people = make_people(live_client, make_photo)
    world = people.world
    item = late_photo_elsewhere(world)
    api_detail = {f["code"]: f["detail"] for f in item["flags"]}["time_outside_activity"]
    assert api_detail == "taken 10:47 WIB; activity 07:00–08:30 (2 h 17 min after its end)"
    sign_in(live_client, people.teacher_login)

    page = words_of(live_client.get(f"/items/{item['id']}").text)
    assert "Diambil pukul 10.47, di luar waktu kegiatan 07.00–08.30 " in page
    assert "(2 jam 17 menit setelah selesai)" in page
    assert "2,0 km dari SMKN 1 Cianjur (radius area 150 m); akurasi GPS 12 m" in page
    assert api_detail not in page
    assert "Hari dan jam Sel, 13 Okt 2026, 07.00–08.30 " in page

    live_client.cookies.set("bukti_lang", "en")
    page = words_of(live_client.get(f"/items/{item['id']}").text)
    assert "Day and time Tue, 13 Oct 2026, 07:00–08:30 " in page
    assert (
        "Taken at 10:47, outside the activity's time 07:00–08:30 (2 h 17 min after it ends)" in page
    )
    assert "2.0 km from SMKN 1 Cianjur (area radius 150 m); GPS accuracy 12 m" in page


def words_of(html: str) -> str:
    """A page's words: tags dropped, entities read, runs of spaces made one."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_changing_the_activity_reverifies_its_photo(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    world = make_world(live_client, make_photo)
    lesson = world.activity("2026-10-13", "07:00", "08:30", LESSON, category="teaching")
    photo = world.phone_photo(datetime(2026, 10, 13, 7, 20), SCHOOL)
    evidence_id = world.upload(photo, activity_id=lesson["id"])
    assert wait_for_terminal(live_client, evidence_id, world.teacher_auth)["status"] == "accepted"
    # the teacher logged the wrong lesson: it was in the afternoon
    live_client.patch(
        f"/api/v1/activities/{lesson['id']}",
        json={"start": "13:00", "end": "14:30"},
        headers=world.teacher_auth,
    )
    # the re-verification job queues behind whatever the worker is doing: poll, generously
    deadline = time.monotonic() + 60
    while True:
        item = live_client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
        if item["status"] == "flagged" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert item["status"] == "flagged"
    assert "time_outside_activity" in codes(item)


def test_day_draft_proposes_blocks_and_confirms_them_in_one_request(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    world = make_world(live_client, make_photo)
    shots = [(7, 5, "astronaut"), (7, 40, "coffee"), (10, 5, "chelsea"), (10, 30, "rocket")]
    ids = []
    for hour, minute, source in shots:
        path = world.phone_photo(datetime(2026, 10, 13, hour, minute), SCHOOL, source=source)
        ids.append(world.upload(path, date="2026-10-13"))
    for evidence_id in ids:
        wait_for_terminal(live_client, evidence_id, world.teacher_auth)
    url = f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13/draft"
    proposal = live_client.post(url, headers=world.teacher_auth)
    assert proposal.status_code == 200, proposal.text
    blocks = proposal.json()["blocks"]
    assert [b["evidence_ids"] for b in blocks] == [ids[:2], ids[2:]]
    assert blocks[0]["start"] <= "07:05" and blocks[0]["end"] >= "07:40"
    confirmed = live_client.post(
        url,
        headers=world.teacher_auth,
        json={
            "blocks": [
                {**blocks[0], "title": "Mengajar X TKJ 1", "category": "teaching"},
                {**blocks[1], "title": "Menyusun modul ajar", "category": "planning"},
            ]
        },
    )
    assert confirmed.status_code == 201, confirmed.text
    created = confirmed.json()["activities"]
    assert [a["title"] for a in created] == ["Mengajar X TKJ 1", "Menyusun modul ajar"]
    day = live_client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.teacher_auth
    ).json()
    assert [len(a["evidence"]) for a in day["activities"]] == [2, 2]
    assert day["unattached_evidence"] == []
    assert day["minutes_logged"] == sum(a["minutes"] for a in created)


def test_attendance_selfie_is_verified_against_the_check_and_the_school(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    world = make_world(live_client, make_photo)
    record = world.attendance("2026-10-13", "WFO", check_in="06:55")
    good = world.phone_photo(datetime(2026, 10, 13, 6, 54), SCHOOL)
    away = world.phone_photo(datetime(2026, 10, 13, 6, 54), ELSEWHERE, source="coffee")
    ok = world.send(good, attendance_id=record["id"], check="in")
    bad = world.send(away, attendance_id=record["id"], check="in")
    assert ok["status"] == "accepted", ok["flags"]
    assert bad["status"] == "flagged" and "outside_geofence" in codes(bad)


def test_receipt_and_review_after_processing(
    live_client: TestClient, worker: InProcessWorker, make_photo: Any
) -> None:
    world = make_world(live_client, make_photo)
    lesson = world.activity("2026-10-13", "07:00", "08:30", LESSON, category="teaching")
    photo = world.phone_photo(datetime(2026, 10, 13, 7, 20))  # no GPS: flagged no_location
    evidence_id = world.upload(photo, activity_id=lesson["id"])
    item = wait_for_terminal(live_client, evidence_id, world.teacher_auth)
    assert item["status"] == "flagged" and codes(item) == {"no_location"}
    receipt = live_client.get(
        f"/api/v1/evidence/{evidence_id}/receipt", headers=world.teacher_auth
    ).json()
    assert receipt["sha256"] == item["hashes"]["sha256"] and receipt["safe_to_delete"]
    url = f"/api/v1/evidence/{evidence_id}/review"
    assert (
        live_client.post(url, json={"decision": "approved"}, headers=world.teacher_auth).status_code
        == 403
    )
    assert (
        live_client.post(
            url, json={"decision": "rejected"}, headers=world.reviewer_auth
        ).status_code
        == 422
    )
    review = live_client.post(
        url, json={"decision": "approved", "reason": "seen in class"}, headers=world.reviewer_auth
    )
    assert review.status_code == 201, review.text
    item = live_client.get(f"/api/v1/evidence/{evidence_id}", headers=world.teacher_auth).json()
    assert item["status"] == "flagged"  # the decision sits beside the status, not over it
    assert item["review"]["decision"] == "approved"
    day = live_client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/2026-10-13", headers=world.teacher_auth
    ).json()
    assert day["minutes_evidenced"] == 90

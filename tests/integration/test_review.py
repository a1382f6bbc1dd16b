"""The reviewer's work: the queue, flags told per reader, decisions, audit, the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bukti.bootstrap import Services
from storage.audit import verify_chain
from storage.db import transaction
from storage.models import AuditEntry, Evidence, Review
from tests.fixtures.app import RecordingEnqueue
from tests.fixtures.photos import jpeg_bytes
from tests.fixtures.web import People, archive_item, csrf_of, sign_in

pytestmark = pytest.mark.integration
# the queue's SQL (CASE, COALESCE over outer joins, EXISTS) must hold on both databases
both_databases = pytest.mark.both_databases

T0 = datetime(2026, 10, 13, 1, 0, tzinfo=UTC)


def flag(code: str, severity: str, related: int | None = None, detail: str = "d") -> dict[str, Any]:
    return {"code": code, "severity": severity, "detail": detail, "related_evidence_id": related}


@pytest.fixture
def flagged(services: Services, people: People) -> dict[str, int]:
    """Items of both schools: a cross-school near duplicate, a same-school exact duplicate,
    a medium-only item, an accepted one and another school's flagged one."""
    world = people.world
    erni, asep, siti = (
        world.teacher["id"],
        world.other_teacher["id"],
        people.other_school_teacher["id"],
    )
    day = world.activity("2026-10-13")["id"]
    siti_item = archive_item(
        services,
        siti,
        jpeg_bytes("astronaut", 80, (160, 120)),
        rendition=jpeg_bytes("astronaut", 80, (160, 120)),
        status="accepted",
        received_at=T0,
    )
    asep_item = archive_item(
        services,
        asep,
        jpeg_bytes("coffee", 80, (160, 120)),
        rendition=jpeg_bytes("coffee", 80, (160, 120)),
        status="accepted",
        received_at=T0,
    )
    near = archive_item(
        services,
        erni,
        jpeg_bytes("astronaut", 80, (150, 110)),
        rendition=jpeg_bytes("astronaut", 80, (160, 120)),
        activity_id=day,
        received_at=T0 + timedelta(hours=2),
        flags=[
            flag("near_duplicate", "high", siti_item, "looks like evidence #1"),
            flag("no_location", "medium"),
        ],
    )
    exact = archive_item(
        services,
        erni,
        jpeg_bytes("coffee", 80, (160, 120)),
        rendition=jpeg_bytes("coffee", 80, (160, 120)),
        activity_id=day,
        received_at=T0 + timedelta(hours=1),
        flags=[flag("exact_duplicate", "high", asep_item)],
    )
    medium = archive_item(
        services,
        erni,
        jpeg_bytes("chelsea", 80, (160, 120)),
        rendition=jpeg_bytes("chelsea", 80, (160, 120)),
        activity_id=day,
        received_at=T0,
        flags=[flag("no_location", "medium")],
    )
    other_school = archive_item(
        services,
        siti,
        jpeg_bytes("rocket", 80, (160, 120)),
        rendition=jpeg_bytes("rocket", 80, (160, 120)),
        received_at=T0,
        flags=[flag("edited", "medium")],
    )
    return {
        "near": near,
        "exact": exact,
        "medium": medium,
        "siti": siti_item,
        "asep": asep_item,
        "other_school": other_school,
    }


def queue(client: TestClient, auth: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/review/queue", headers=auth, params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@both_databases
def test_the_queue_holds_the_schools_flagged_items_worst_first_then_oldest(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    page = queue(client, people.world.reviewer_auth)

    assert [item["id"] for item in page["items"]] == [
        flagged["exact"],
        flagged["near"],
        flagged["medium"],
    ]
    assert [item["top_severity"] for item in page["items"]] == ["high", "high", "medium"]
    assert page["total"] == 3
    assert page["counts"] == {"no_location": 2, "exact_duplicate": 1, "near_duplicate": 1}
    assert page["items"][0]["day"] == "2026-10-13"


@both_databases
def test_the_queue_filters_by_flag_severity_kind_teacher_day_and_decision(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    auth = people.world.reviewer_auth
    erni = people.world.teacher["id"]

    assert [i["id"] for i in queue(client, auth, flag="near_duplicate")["items"]] == [
        flagged["near"]
    ]
    assert [i["id"] for i in queue(client, auth, severity="medium")["items"]] == [flagged["medium"]]
    assert queue(client, auth, kind="video")["total"] == 0
    assert queue(client, auth, teacher_id=erni)["total"] == 3
    assert queue(client, auth, teacher_id=people.world.other_teacher["id"])["total"] == 0
    assert queue(client, auth, **{"from": "2026-10-14"})["total"] == 0
    assert queue(client, auth, **{"from": "2026-10-13", "to": "2026-10-13"})["total"] == 3
    assert queue(client, auth, status="any")["total"] == 4  # Asep's accepted item too
    assert queue(client, auth, flag="near_duplicate")["counts"]["no_location"] == 2
    assert [i["id"] for i in queue(client, auth, limit=1, offset=1)["items"]] == [flagged["near"]]
    client.post(
        f"/api/v1/evidence/{flagged['medium']}/review", headers=auth, json={"decision": "approved"}
    )
    assert queue(client, auth)["total"] == 2
    assert [i["id"] for i in queue(client, auth, decided="yes")["items"]] == [flagged["medium"]]


@both_databases
def test_the_queue_is_scoped_to_the_reviewers_school_and_closed_to_teachers(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    admin = queue(client, people.world.admin)
    mine = queue(client, people.world.reviewer_auth, school_id=people.other_school["id"])

    assert admin["total"] == 4
    assert mine["total"] == 0  # naming another school does not widen a reviewer's scope
    assert client.get("/api/v1/review/queue", headers=people.world.teacher_auth).status_code == 403


def test_a_teacher_reads_their_duplicate_flag_without_the_other_teachers_name(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    item = client.get(
        f"/api/v1/evidence/{flagged['near']}", headers=people.world.teacher_auth
    ).json()
    near = next(f for f in item["flags"] if f["code"] == "near_duplicate")
    exact_item = client.get(
        f"/api/v1/evidence/{flagged['exact']}", headers=people.world.teacher_auth
    ).json()

    assert near["detail"] == "a photo already submitted by another teacher on 13 Oct"
    assert near["related_evidence_id"] is None
    assert "Siti" not in str(item) and people.other_school_teacher["nip"] not in str(item)
    assert "Asep" not in str(exact_item) and "197501012000031002" not in str(exact_item)


def test_reviewers_see_the_full_link_only_for_items_they_may_see(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    def detail(auth: dict[str, str], item: int, code: str) -> dict[str, Any]:
        body = client.get(f"/api/v1/evidence/{item}", headers=auth).json()
        found: dict[str, Any] = next(f for f in body["flags"] if f["code"] == code)
        return found

    reviewer = people.world.reviewer_auth
    other_school = detail(reviewer, flagged["near"], "near_duplicate")
    same_school = detail(reviewer, flagged["exact"], "exact_duplicate")
    admin = detail(people.world.admin, flagged["near"], "near_duplicate")

    assert other_school["detail"] == "a photo of another school, uploaded 13 Oct 2026"
    assert other_school["related_evidence_id"] is None
    assert "Asep Saepudin (NIP 197501012000031002)" in same_school["detail"]
    assert same_school["related_evidence_id"] == flagged["asep"]
    assert "Siti Nurhaliza" in admin["detail"] and admin["related_evidence_id"] == flagged["siti"]


@both_databases
def test_a_decision_is_changed_by_a_new_one_and_every_one_is_in_the_audit_chain(
    client: TestClient, services: Services, people: People, flagged: dict[str, int]
) -> None:
    url = f"/api/v1/evidence/{flagged['near']}/review"
    auth = people.world.reviewer_auth

    nameless = client.post(url, headers=auth, json={"decision": "rejected"})
    rejected = client.post(
        url,
        headers=auth,
        json={"decision": "rejected", "reason_code": "reused", "reason": "foto lama"},
    )
    approved = client.post(url, headers=auth, json={"decision": "approved"})
    teacher = client.post(url, headers=people.world.teacher_auth, json={"decision": "approved"})
    item = client.get(
        f"/api/v1/evidence/{flagged['near']}", headers=people.world.teacher_auth
    ).json()

    assert nameless.status_code == 422
    assert rejected.status_code == approved.status_code == 201
    assert teacher.status_code == 403
    assert item["review"]["decision"] == "approved"
    assert [(r["decision"], r["reason_code"]) for r in item["reviews"]] == [
        ("rejected", "reused"),
        ("approved", None),
    ]
    with services.sessions() as db:
        entries = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.evidence_id == flagged["near"])
            .order_by(AuditEntry.seq)
        ).all()
        assert [e.action for e in entries] == ["review.created", "review.created"]
        assert entries[0].data["new"]["decision"] == "rejected"
        assert entries[0].data["new"]["reason_code"] == "reused"
        assert entries[1].data["new"]["decision"] == "approved"
        assert entries[0].school_id == people.world.school["id"]
        assert entries[0].actor_name == "Koordinator"
        assert verify_chain(db).is_intact
        assert len(db.scalars(select(Review)).all()) == 2


def test_a_teacher_answers_an_ask_again_with_a_new_item_for_the_same_activity(
    client: TestClient, people: People, flagged: dict[str, int], queued: RecordingEnqueue
) -> None:
    asked = flagged["near"]
    reviewer, teacher = people.world.reviewer_auth, people.world.teacher_auth
    too_early = client.post(
        "/api/v1/evidence",
        headers=teacher,
        data={"answers": str(asked)},
        files={"file": ("a.jpg", jpeg_bytes("chelsea", 80, (320, 240)), "image/jpeg")},
    )
    asking = client.post(
        f"/api/v1/evidence/{asked}/review",
        headers=reviewer,
        json={"decision": "ask_again", "reason_code": "wrong_place"},
    )
    assert asking.status_code == 201, asking.text

    answer = client.post(
        "/api/v1/evidence",
        headers=teacher,
        data={"answers": str(asked)},
        files={"file": ("b.jpg", jpeg_bytes("chelsea", 80, (320, 240)), "image/jpeg")},
    )
    stranger = client.post(
        "/api/v1/evidence",
        headers=people.world.other_teacher_auth,
        data={"answers": str(asked)},
        files={"file": ("c.jpg", jpeg_bytes("rocket", 80, (320, 240)), "image/jpeg")},
    )

    assert too_early.status_code == 409
    assert answer.status_code == 202, answer.text
    new = client.get(f"/api/v1/evidence/{answer.json()['id']}", headers=teacher).json()
    old = client.get(f"/api/v1/evidence/{asked}", headers=teacher).json()
    assert new["answers_evidence_id"] == asked
    assert new["activity_id"] == old["activity_id"]
    assert stranger.status_code == 404
    assert queued.sent == [answer.json()["id"]]


@both_databases
def test_bulk_approval_needs_the_confirmed_count_and_approves_each_item(
    client: TestClient, services: Services, people: People, flagged: dict[str, int]
) -> None:
    auth = people.world.reviewer_auth
    stale = client.post(
        "/api/v1/review/approve", headers=auth, params={"severity": "high"}, json={"expected": 3}
    )
    done = client.post(
        "/api/v1/review/approve", headers=auth, params={"severity": "high"}, json={"expected": 2}
    )

    assert stale.status_code == 409
    assert done.json() == {"approved": 2}
    assert queue(client, auth)["total"] == 1
    with services.sessions() as db:
        assert (
            len(db.scalars(select(AuditEntry).where(AuditEntry.action == "review.created")).all())
            == 2
        )
        assert verify_chain(db).is_intact


def test_the_queue_page_filters_and_counts_in_indonesian(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    sign_in(client, people.reviewer_login)

    page = client.get("/review", params={"flag": "near_duplicate"})
    garbled = client.get("/review", params={"teacher_id": "x", "from": "kemarin"})

    assert page.status_code == 200 and '<html lang="id">' in page.text
    assert "Antrean periksa" in page.text and "Mirip foto sebelumnya" in page.text
    assert f"/items/{flagged['near']}?queue=" in page.text
    assert f"/items/{flagged['exact']}?" not in page.text
    assert garbled.status_code == 200  # what does not parse is ignored, never an error page
    assert len(page.content) < 100_000


def test_deciding_on_the_page_goes_on_to_the_next_item_of_the_queue(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    token = sign_in(client, people.reviewer_login)
    url = f"/items/{flagged['exact']}/decision"

    missing_reason = client.post(url, data={"csrf_token": token, "decision": "rejected"})
    rejected = client.post(
        url,
        data={
            "csrf_token": token,
            "decision": "rejected",
            "reason_code": "reused",
            "reason": "foto Pak Asep",
            "queue": "",
        },
        follow_redirects=False,
    )
    forged = client.post(f"/items/{flagged['near']}/decision", data={"decision": "approved"})

    assert missing_reason.status_code == 422 and "pilih alasan" in missing_reason.text
    assert rejected.status_code == 303
    assert rejected.headers["location"].startswith(f"/items/{flagged['near']}")
    assert forged.status_code == 403
    item_page = client.get(f"/items/{flagged['exact']}")
    assert "Ditolak" in item_page.text and "foto Pak Asep" in item_page.text
    assert "Sudah pernah dipakai sebagai bukti" in item_page.text


def test_the_item_page_shows_both_pictures_only_to_who_may_see_them(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    sign_in(client, people.reviewer_login)
    exact = client.get(f"/items/{flagged['exact']}").text
    near = client.get(f"/items/{flagged['near']}").text

    assert f"/api/v1/evidence/{flagged['asep']}/rendition" in exact
    assert f"/api/v1/evidence/{flagged['siti']}/rendition" not in near
    assert "foto dari sekolah lain, diunggah 13 Okt 2026" in near


def test_the_distance_diagram_is_drawn_to_scale_around_the_school(
    client: TestClient, services: Services, people: People, flagged: dict[str, int]
) -> None:
    with transaction(services.sessions) as db:
        item = db.get(Evidence, flagged["near"])
        assert item is not None
        # 0.003 degrees south of the school: 334 m, outside 150 m + 25 m
        item.lat, item.lon, item.accuracy_m = (
            people.world.school["lat"] - 0.003,
            people.world.school["lon"],
            25.0,
        )
    sign_in(client, people.reviewer_login)

    page = client.get(f"/items/{flagged['near']}").text

    assert '<circle r="150.0"' in page  # the fence, in metres
    assert '<circle r="175.0"' in page  # with the accuracy allowance
    assert "334 m<" in page  # 0.003 degrees of latitude
    assert 'fill="#a40e26"' in page  # the point is outside


def test_a_teacher_cannot_open_another_schools_item_or_the_queue(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    sign_in(client, people.teacher_login)

    other = client.get(f"/items/{flagged['other_school']}")
    colleague = client.get(f"/items/{flagged['asep']}")
    review = client.get("/review")

    assert other.status_code == 404 and "Tidak ditemukan" in other.text
    assert colleague.status_code == 404
    assert review.status_code == 404


def test_the_teacher_sees_decisions_with_their_reason_and_may_answer(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    client.post(
        f"/api/v1/evidence/{flagged['near']}/review",
        headers=people.world.reviewer_auth,
        json={"decision": "ask_again", "reason_code": "wrong_place", "reason": "ambil di sekolah"},
    )
    sign_in(client, people.teacher_login)

    mine = client.get("/my/evidence").text
    item = client.get(f"/items/{flagged['near']}").text

    assert "Diminta bukti ulang" in mine and "ambil di sekolah" in mine
    assert "Diambil di luar tempat kerja" in mine
    assert "foto yang sudah dikirim guru lain pada 13 Okt" in mine
    assert "Siti" not in mine and "Siti" not in item
    assert 'name="answers"' in item
    assert 'name="decision"' not in item
    assert csrf_of(item)


def test_bulk_approval_on_the_page_asks_first_then_approves_the_filtered_set(
    client: TestClient, people: People, flagged: dict[str, int]
) -> None:
    token = sign_in(client, people.reviewer_login)

    confirm = client.get("/review/approve", params={"severity": "high"})
    done = client.post(
        "/review/approve",
        data={"csrf_token": token, "expected": "2", "queue": "severity=high"},
        follow_redirects=False,
    )
    again = client.post(
        "/review/approve", data={"csrf_token": token, "expected": "2", "queue": "severity=high"}
    )

    assert confirm.status_code == 200 and 'name="expected" value="2"' in confirm.text
    assert done.status_code == 303 and "approved=2" in done.headers["location"]
    assert again.status_code == 409 and "tidak ada yang disetujui" in again.text
    listed = client.get("/review").text
    assert f"#{flagged['medium']} ·" in listed and f"#{flagged['near']} ·" not in listed

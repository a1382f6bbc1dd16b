"""K-Mob check times, the national calendar, pending minutes and start dates through the API,
and the worker's verification of check selfies and monthly videos (in-process)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from evidence.facts import CaptureFacts, Location, Sourced
from storage.db import transaction
from storage.models import Evidence
from tests.fixtures.app import World
from tests.fixtures.photos import jpeg_bytes
from workers.verify import verify_item

pytestmark = pytest.mark.integration

DAY = "2026-10-13"


#: a small photo without metadata: the tests here write its facts themselves
PHOTO = jpeg_bytes("astronaut", quality=80, size=(64, 48))


def verified(services: Services, evidence_id: int, **columns: Any) -> None:
    """Leave an item as the pipeline would: verified, with the given columns."""
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id)
        assert item is not None
        item.status = columns.pop("status", "accepted")
        for name, value in columns.items():
            setattr(item, name, value)


def test_the_check_in_selfies_time_is_the_check_in(
    client: TestClient, world: World, services: Services
) -> None:
    record = world.attendance(DAY, "WFO", check_in="06:59")
    assert record["flags"] == []  # typed 06:59: on time, until the selfie says otherwise
    selfie = world.upload(PHOTO, name="IMG_1.jpg", attendance_id=record["id"], check="in")
    verified(services, selfie, captured_at=datetime(2026, 10, 13, 0, 25, tzinfo=UTC))  # 07:25
    now = client.get(f"/api/v1/attendance/{record['id']}", headers=world.teacher_auth).json()
    assert now["check_in_selfie_id"] == selfie
    (flag,) = now["flags"]
    assert flag["code"] == "late_check_in"
    assert flag["detail"].startswith(f"checked in 07:25 WIB on {DAY} (the check-in selfie, #")


def test_a_national_holiday_is_no_working_day(client: TestClient, world: World) -> None:
    christmas = "2026-12-25"
    record = world.attendance(christmas, "WFO", check_in="09:00")
    assert record["flags"] == []
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{christmas}", headers=world.teacher_auth
    ).json()
    assert day["working_day"] is False and day["target_min"] == 0
    assert day["hours_label"] == "Hari Raya Natal"
    assert "trk_under_target" not in [flag["code"] for flag in day["flags"]]


def test_a_school_can_open_on_a_collective_leave_day(client: TestClient, world: World) -> None:
    cuti = "2026-12-24"  # cuti bersama Natal
    opened = {"label": "Masuk: ujian susulan", "start": cuti, "end": cuti}
    response = client.patch(
        f"/api/v1/schools/{world.school['id']}", json={"calendar": [opened]}, headers=world.admin
    )
    assert response.status_code == 200, response.text
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{cuti}", headers=world.teacher_auth
    ).json()
    assert day["working_day"] is True and day["target_min"] == 450


def test_the_day_says_which_minutes_are_evidenced_and_which_pending(
    client: TestClient, world: World, services: Services
) -> None:
    ids = [
        world.activity(DAY, s, e, "x")["id"]
        for s, e in (("07:00", "08:30"), ("09:00", "10:00"), ("10:00", "11:00"))
    ]
    verified(services, world.upload(PHOTO, name="IMG_1.jpg", activity_id=ids[0]), status="accepted")
    verified(services, world.upload(PHOTO, name="IMG_1.jpg", activity_id=ids[1]), status="flagged")
    verified(services, world.upload(PHOTO, name="IMG_1.jpg", activity_id=ids[2]), status="rejected")
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{DAY}", headers=world.teacher_auth
    ).json()
    assert (day["minutes_logged"], day["minutes_evidenced"], day["minutes_pending"]) == (
        210,
        90,
        60,
    )
    assert "minutes_pending" in day["counting_rule"]


def test_a_month_counts_from_the_teachers_start_date(client: TestClient, world: World) -> None:
    teacher = world.teacher["id"]
    started = client.patch(
        f"/api/v1/teachers/{teacher}", json={"start_date": "2026-10-19"}, headers=world.admin
    )
    assert started.status_code == 200, started.text
    month = client.get(f"/api/v1/teachers/{teacher}/months/2026-10", headers=world.teacher_auth)
    body = month.json()
    assert body["counted_from"] == "2026-10-19" and body["month_ended"] is True
    assert body["working_days"] == 10  # 19-30 October, weekdays
    assert body["target_min"] == 4500
    first = next(day for day in body["days"] if day["date"] == "2026-10-13")
    assert first["counted"] is False and first["flags"] == []


def test_a_dl_destination_keeps_the_zone_at_its_position(world: World) -> None:
    bali = {"name": "LPMP Bali", "lat": -8.6705, "lon": 115.2126}
    record = world.attendance(DAY, "DL", destination=bali)
    assert record["destination"]["timezone"] == "Asia/Makassar"


def _facts(
    taken: datetime, offset_min: int | None, at: tuple[float, float] | None
) -> dict[str, Any]:
    return CaptureFacts(
        width=1280,
        height=720,
        format="image/jpeg",
        captured_local=Sourced(taken, "exif:DateTimeOriginal"),
        utc_offset_min=Sourced(offset_min, "exif:OffsetTimeOriginal") if offset_min else None,
        location=Sourced(Location(*at, accuracy_m=8.0), "exif:GPS") if at else None,
        make=Sourced("samsung", "exif:Make"),
    ).to_json()


def test_the_worker_checks_a_check_selfie_against_its_typed_time(
    world: World, services: Services
) -> None:
    record = world.attendance(DAY, "WFO", check_in="06:30")
    selfie = world.upload(PHOTO, name="IMG_1.jpg", attendance_id=record["id"], check="in")
    with transaction(services.sessions) as session:
        item = session.get(Evidence, selfie)
        assert item is not None
        item.facts = _facts(datetime(2026, 10, 13, 6, 52), 420, (-6.8168, 107.1425))
        flags = verify_item(services, session, item)
        assert [flag.code.value for flag in flags] == ["check_time_mismatch"]
        assert item.captured_at == datetime(2026, 10, 12, 23, 52, tzinfo=UTC)


def test_the_worker_checks_a_monthly_video_against_its_month_not_a_place(
    world: World, services: Services
) -> None:
    video = world.upload(PHOTO, name="IMG_1.jpg", month="2026-10", requirement="learning")
    with transaction(services.sessions) as session:
        item = session.get(Evidence, video)
        assert item is not None
        item.kind = "video"
        facts = _facts(datetime(2026, 9, 28, 19, 0), 420, None)
        facts["video"] = {
            "container": "mp4",
            "video_codec": "h264",
            "duration_s": 300.0,
            "size_bytes": 1000,
            "width": 1280,
            "height": 720,
        }
        item.facts = facts
        flags = verify_item(services, session, item)
        assert [flag.code.value for flag in flags] == ["video_outside_period"]


def test_close_month_waits_for_links_being_checked_or_failed_on_our_side(
    client: TestClient, world: World, services: Services
) -> None:
    from workers.months import close_month

    link = client.post(
        "/api/v1/evidence",
        json={
            "url": "https://youtu.be/k3Jd8sL2mQA",
            "month": "2026-10",
            "requirement": "learning",
        },
        headers=world.teacher_auth,
    )
    assert link.status_code == 202, link.text
    # YouTube could not be reached and the retries ran out: Bukti's failure, not the teacher's
    verified(services, int(link.json()["id"]), status="failed")
    refused = world.upload(PHOTO, name="IMG_1.jpg", month="2026-10", requirement="problem_solving")
    verified(services, refused, status="rejected")
    after_october = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    assert close_month(services, "2026-10", after_october) == 3  # the other teacher's two
    month = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/months/2026-10", headers=world.teacher_auth
    ).json()
    missing = [f["detail"] for f in month["open_flags"] if f["code"] == "missing_monthly_video"]
    assert missing == ["2026-10 closed without a problem-solving video"]


def test_close_month_leaves_a_month_not_yet_over_in_the_schools_zone(
    world: World, services: Services
) -> None:
    from workers.months import close_month

    # 16:30 UTC on 31 October is 23:30 WIB: the month is not over at a school in Cianjur
    assert close_month(services, "2026-10", datetime(2026, 10, 31, 16, 30, tzinfo=UTC)) == 0
    assert close_month(services, "2026-10", datetime(2026, 10, 31, 17, 0, tzinfo=UTC)) == 4

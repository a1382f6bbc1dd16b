"""The teacher's pages: today's checks in words, the day drafted and confirmed, receipts, flags
and decisions; small, Indonesian first, and only the teacher's own records."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.web.i18n import Translator
from bukti.bootstrap import Services
from evidence.flags import Code
from evidence.geo import distance_m
from tests.fixtures.photos import PhotoFactory
from tests.fixtures.teacher import decide, settle, user_id
from tests.fixtures.web import People, csrf_of, sign_in

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")
SCHOOL = (-6.8168, 107.1425)
DAY = "2026-10-13"
PAGE_LIMIT_BYTES = 100_000


def check_in_selfie(people: People, make_photo: PhotoFactory, check_in: str) -> dict[str, Any]:
    """A day checked in at ``check_in``, and the selfie sent for it."""
    record = people.world.attendance(DAY, check_in=check_in)
    return people.world.upload_item(
        make_photo("selfie.jpg"), attendance_id=record["id"], check="in"
    )


def text_of(html: str) -> str:
    """A page's words, tags and extra spaces dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_teacher_lands_on_today_in_indonesian(client: TestClient, people: People) -> None:
    sign_in(client, people.teacher_login)

    page = client.get("/")

    assert page.url.path == "/my"
    assert '<html lang="id">' in page.text
    assert "Hari ini" in page.text and "Absen masuk sekarang" in page.text
    assert 'capture="user"' in page.text and 'accept="image/*"' in page.text


def test_every_teacher_page_is_small_and_loads_nothing_from_elsewhere(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    for n in range(30):
        item = people.world.upload_item(make_photo(f"IMG_{n:04d}.jpg"), date=DAY)
        moment = datetime(2026, 10, 13, 7, n, tzinfo=WIB)
        settle(services, item["id"], captured_at=moment, archived=True, flags=[Code.EDITED])
    sign_in(client, people.teacher_login)

    for path in (
        "/my",
        "/my/upload",
        f"/my/days/{DAY}",
        "/my/videos",
        "/my/receipts",
        "/my/evidence",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert len(page.content) < PAGE_LIMIT_BYTES, path
        assert page.headers["cache-control"] == "no-store"
        assert re.findall(r"""(?:src|href)="(?:https?:)?//""", page.text) == [], path


def test_the_check_in_answer_says_late_by_minutes_and_outside_the_school_by_metres(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    selfie = check_in_selfie(people, make_photo, "07:12")
    away = (-6.8268, 107.1425)
    settle(services, selfie["id"], status="flagged", position=away, flags=[Code.OUTSIDE_GEOFENCE])
    sign_in(client, people.teacher_login)

    answer = text_of(client.get(f"/my/answers/{selfie['id']}").text)

    beyond = Translator("id").distance(round(distance_m(*SCHOOL, *away) - 150))
    assert "Absen masuk pukul 07.12 WIB: terlambat 12 menit" in answer
    assert f"Di luar area sekolah sejauh {beyond}." in answer


def test_the_check_in_time_is_the_selfies_once_it_is_known(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    selfie = check_in_selfie(people, make_photo, "06:55")
    taken = datetime(2026, 10, 13, 7, 20, 30, tzinfo=WIB)
    settle(services, selfie["id"], captured_at=taken, position=(-6.8169, 107.1426))
    sign_in(client, people.teacher_login)

    answer = text_of(client.get(f"/my/answers/{selfie['id']}").text)

    # K-Mob's rule: the selfie is the check; a started minute counts
    assert "Absen masuk pukul 07.20 WIB: terlambat 21 menit" in answer


def test_the_check_in_answer_says_on_time_and_inside_the_school(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    selfie = check_in_selfie(people, make_photo, "06:52")
    settle(services, selfie["id"], position=(-6.8169, 107.1426))
    sign_in(client, people.teacher_login)

    answer = client.get(f"/my/answers/{selfie['id']}")

    assert "hx-get" not in answer.text
    assert "Absen masuk pukul 06.52 WIB: tepat waktu" in text_of(answer.text)
    assert "Di dalam area sekolah." in text_of(answer.text)


def test_the_answer_is_asked_again_while_the_selfie_is_checked(
    client: TestClient, people: People, make_photo: PhotoFactory
) -> None:
    selfie = check_in_selfie(people, make_photo, "06:52")
    sign_in(client, people.teacher_login)

    answer = client.get(f"/my/answers/{selfie['id']}").text

    assert f'hx-get="/my/answers/{selfie["id"]}"' in answer
    assert "sedang memeriksa" in answer


def test_the_day_is_drafted_from_its_photos_and_confirmed_in_one_action(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    world = people.world
    ids = []
    for n, (hour, minute) in enumerate(((7, 5), (7, 40), (10, 0), (10, 20))):
        item = world.upload_item(make_photo(f"IMG_{n}.jpg"), date=DAY)
        settle(services, item["id"], captured_at=datetime(2026, 10, 13, hour, minute, tzinfo=WIB))
        ids.append(item["id"])
    scan = world.upload_item(make_photo("scan.jpg"), date=DAY)
    settle(services, scan["id"], local_date=date(2026, 10, 13))
    token = sign_in(client, people.teacher_login)

    page = client.get(f"/my/days/{DAY}").text
    confirmed = client.post(
        f"/my/days/{DAY}/draft",
        data={
            "csrf_token": token,
            "title_0": "Mengajar X TKJ 1",
            "start_0": "06:50",
            "end_0": "07:55",
            "category_0": "teaching",
            "title_1": "Rapat MGMP",
            "start_1": "09:45",
            "end_1": "10:35",
            "category_1": "",
            "title_2": "",
            "start_2": "",
            "end_2": "",
            "category_2": "",
            **{f"item_{i}": "0" for i in ids[:2]},
            **{f"item_{i}": "1" for i in ids[2:]},
            f"item_{scan['id']}": "1",
        },
        follow_redirects=False,
    )
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{DAY}", headers=world.teacher_auth
    ).json()
    after = client.get(confirmed.headers["location"]).text

    assert 'name="title_2"' in page and 'name="start_0" type="time" value="06:50"' in page
    assert confirmed.status_code == 303
    assert [(a["title"], a["start"], a["end"]) for a in day["activities"]] == [
        ("Mengajar X TKJ 1", "06:50", "07:55"),
        ("Rapat MGMP", "09:45", "10:35"),
    ]
    assert [[e["id"] for e in a["evidence"]] for a in day["activities"]] == [
        ids[:2],
        [*ids[2:], scan["id"]],
    ]
    assert day["minutes_logged"] == 115
    assert "2 kegiatan dibuat beserta fotonya." in text_of(after)
    assert "dari 450 menit" in text_of(after)


def test_an_overlapping_draft_is_refused_with_its_reason_and_nothing_is_created(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    world = people.world
    ids = []
    for n in range(2):
        item = world.upload_item(make_photo(f"IMG_{n}.jpg"), date=DAY)
        settle(services, item["id"], captured_at=datetime(2026, 10, 13, 7, 10 * n, tzinfo=WIB))
        ids.append(item["id"])
    token = sign_in(client, people.teacher_login)

    refused = client.post(
        f"/my/days/{DAY}/draft",
        data={
            "csrf_token": token,
            "title_0": "Mengajar",
            "start_0": "07:00",
            "end_0": "08:00",
            "title_1": "Piket",
            "start_1": "07:30",
            "end_1": "08:30",
            f"item_{ids[0]}": "0",
            f"item_{ids[1]}": "1",
        },
    )
    untitled = client.post(
        f"/my/days/{DAY}/draft",
        data={
            "csrf_token": token,
            "title_0": "",
            "start_0": "07:00",
            "end_0": "08:00",
            f"item_{ids[0]}": "0",
        },
    )
    day = client.get(
        f"/api/v1/teachers/{world.teacher['id']}/days/{DAY}", headers=world.teacher_auth
    ).json()

    assert refused.status_code == 422
    assert "belum dikonfirmasi" in refused.text and "overlap" in refused.text
    assert 'value="Piket"' in refused.text  # what was typed stays in the form
    assert untitled.status_code == 422 and "Beri judul untuk kegiatan 1." in untitled.text
    assert day["activities"] == []


def test_confirming_a_day_needs_the_forms_token(client: TestClient, people: People) -> None:
    sign_in(client, people.teacher_login)

    response = client.post(
        f"/my/days/{DAY}/draft", data={"title_0": "Mengajar", "start_0": "07:00", "end_0": "08:00"}
    )

    assert response.status_code == 403


def test_receipts_say_by_day_which_files_the_phone_may_delete(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    archived = people.world.upload_item(make_photo("IMG_20261013_071502.jpg"), date=DAY)
    settle(
        services,
        archived["id"],
        captured_at=datetime(2026, 10, 13, 7, 15, 2, tzinfo=WIB),
        archived=True,
    )
    waiting = people.world.upload_item(make_photo("IMG_20261013_090000.jpg"), date=DAY)
    sign_in(client, people.teacher_login)

    page = text_of(client.get("/my/receipts").text)

    assert "Sel, 13 Okt 2026" in page
    assert "IMG_20261013_071502.jpg diambil 13 Okt 2026, 07.15 WIB" in page
    assert "IMG_20261013_090000.jpg" not in page
    assert "1 bukti masih dalam perjalanan ke arsip" in page
    assert waiting["status"] == "received"


def test_a_request_for_another_proof_waits_for_the_teacher_on_today_and_in_the_list(
    client: TestClient, people: People, services: Services, make_photo: PhotoFactory
) -> None:
    item = people.world.upload_item(make_photo("papan.jpg"), date=DAY)
    settle(services, item["id"], status="flagged", flags=[Code.NO_LOCATION])
    reviewer = user_id(client, people.world.reviewer_auth)
    decide(services, item["id"], reviewer, "ask_again", "papan tidak terbaca")
    sign_in(client, people.teacher_login)

    today = text_of(client.get("/my").text)
    listing = client.get("/my/evidence").text

    assert "Pemeriksa meminta bukti lain untuk 1 bukti." in today
    assert "Diminta bukti ulang" in listing and "papan tidak terbaca" in listing
    assert "Tanpa lokasi" in listing and "papan.jpg" in listing
    assert f'href="/items/{item["id"]}"' in listing


def test_a_teacher_is_told_only_of_their_own_checks(
    client: TestClient, people: People, make_photo: PhotoFactory
) -> None:
    others = people.world.upload_item(
        make_photo("x.jpg"), auth=people.world.other_teacher_auth, date=DAY
    )
    sign_in(client, people.teacher_login)

    answer = client.get(f"/my/answers/{others['id']}")

    assert answer.status_code == 404
    assert "x.jpg" not in answer.text


def test_reviewers_have_no_teacher_pages(client: TestClient, people: People) -> None:
    sign_in(client, people.reviewer_login)

    assert client.get("/my").status_code == 404


def test_the_monthly_videos_show_the_checks_outcome(
    client: TestClient, people: People, services: Services
) -> None:
    link = client.post(
        "/api/v1/evidence",
        json={"url": "https://youtu.be/k3Jd8sL2mQA", "month": "2026-10", "requirement": "learning"},
        headers=people.world.teacher_auth,
    ).json()
    settle(services, link["id"], status="flagged", flags=[Code.YOUTUBE_WRONG_CHANNEL])
    sign_in(client, people.teacher_login)

    page = text_of(client.get("/my/videos?month=2026-10").text)

    assert "Video pembelajaran" in page and "youtu.be/k3Jd8sL2mQA" in page
    assert "ditandai" in page
    assert "Kanal YouTube lain" in page


def test_the_pages_speak_english_when_the_browser_asks(client: TestClient, people: People) -> None:
    sign_in(client, people.teacher_login)

    page = client.get("/my", headers={"Accept-Language": "en-US,en;q=0.9"}).text

    assert '<html lang="en">' in page and "Check in now" in page and csrf_of(page)

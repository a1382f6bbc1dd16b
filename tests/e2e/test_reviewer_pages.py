"""A reviewer works through a school's flags in the browser, offline and in Indonesian;
the teacher sees the decisions. Debian's Chromium, the product's workers (in process), real photos."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bukti.settings import Settings
from tests.fixtures.app import wait_for_terminal, worker_env
from tests.fixtures.browser import LiveServer, PageFactory, screenshot, screenshot_dir
from tests.fixtures.photos import GpsFix, PhotoFactory
from tests.fixtures.web import PASSWORD, People, make_people
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.e2e

SCHOOL_GPS = GpsFix(-6.8169, 107.1426, accuracy_m=8.0)
#: the lesson of the day, as both teachers log it
LESSON = "Mengajar X TKJ 1"


@pytest.fixture
def school_day(
    live_server: LiveServer, worker: InProcessWorker, make_photo: PhotoFactory
) -> tuple[People, dict[str, int]]:
    """A day of a school: a recycled photo, a photo without position, a clean one, and an
    item of another school; all processed by the workers."""
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        people = make_people(http, make_photo)
        world = people.world
        first = world.phone_photo(
            datetime(2026, 10, 12, 7, 20), SCHOOL_GPS, "IMG_20261012_072000.jpg", source="astronaut"
        )
        again = world.phone_photo(
            datetime(2026, 10, 13, 7, 20),
            SCHOOL_GPS,
            "IMG_20261013_072000.jpg",
            source="astronaut",
            size=(600, 450),
            quality=75,
        )
        nowhere = world.phone_photo(
            datetime(2026, 10, 13, 7, 45), None, "IMG_20261013_074500.jpg", source="coffee"
        )
        clean = world.phone_photo(
            datetime(2026, 10, 13, 8, 5), SCHOOL_GPS, "IMG_20261013_080500.jpg", source="chelsea"
        )
        elsewhere = world.phone_photo(
            datetime(2026, 10, 13, 7, 10), None, "IMG_20261013_071000.jpg", source="rocket"
        )
        asep = world.other_teacher_auth
        yesterday = world.activity("2026-10-12", title=LESSON, auth=asep)
        ids = {"first": world.send(first, auth=asep, activity_id=yesterday["id"])["id"]}
        lesson = world.activity("2026-10-13", title=LESSON)["id"]
        ids["again"] = world.upload(again, activity_id=lesson)
        ids["nowhere"] = world.upload(nowhere, activity_id=lesson)
        ids["clean"] = world.upload(clean, activity_id=lesson)
        siti = people.other_school_teacher["id"]
        ids["elsewhere"] = world.upload(
            elsewhere, auth=people.other_school_teacher_auth, date="2026-10-13"
        )
        statuses = {
            name: wait_for_terminal(http, i, world.admin)["status"] for name, i in ids.items()
        }
        assert siti and statuses["again"] == "flagged" and statuses["nowhere"] == "flagged"
        assert statuses["clean"] == "accepted", statuses
    return people, ids


def sign_in(page: Any, server: LiveServer, login: str) -> None:
    page.goto(server.url + "/")
    page.get_by_label("NIP atau nama pengguna").fill(login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state("networkidle")


def images_loaded(page: Any, selector: str) -> list[bool]:
    return page.eval_on_selector_all(
        selector, "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
    )


def test_a_reviewer_works_through_the_days_flags_and_the_teacher_sees_the_decision(
    live_server: LiveServer,
    school_day: tuple[People, dict[str, int]],
    browser_page: PageFactory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    people, ids = school_day
    shots = screenshot_dir(tmp_path)
    answer_photo = people.world.phone_photo(
        datetime(2026, 10, 13, 7, 48),
        SCHOOL_GPS,
        "IMG_20261013_074800.jpg",
        source="coffee",
        size=(600, 450),
    )

    # the reviewer signs in and filters the queue down to recycled photos
    for viewport in ("desktop", "phone"):
        page = browser_page(viewport)
        sign_in(page, live_server, people.reviewer_login)
        assert page.url.endswith("/review")
        assert page.locator("h1").inner_text() == "Antrean periksa"
        queue_ids = page.eval_on_selector_all(
            ".queue a.open", "links => links.map(a => a.textContent)"
        )
        assert queue_ids[0].startswith(f"#{ids['again']}")  # high severity first
        assert any(text.startswith(f"#{ids['nowhere']}") for text in queue_ids)
        assert not any(text.startswith(f"#{ids['clean']}") for text in queue_ids)
        # each row shows its photo's small thumbnail, in a square held before it loads
        page.locator(".queue img").last.scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        pictures = page.eval_on_selector_all(
            ".queue img",
            "imgs => imgs.map(i => ({src: i.currentSrc, alt: i.alt, loaded: i.complete,"
            " natural: i.naturalWidth, box: [i.width, i.height]}))",
        )
        assert [p["alt"] for p in pictures] == [f"Foto {text.split(' ')[0]}" for text in queue_ids]
        for picture in pictures:
            assert "/preview?v=" in picture["src"] and picture["loaded"], picture
            assert 0 < picture["natural"] < 512 and picture["box"][0] == picture["box"][1]
        screenshot(page, shots / f"queue-{viewport}.jpg", 75)
        page.get_by_label("Tanda", exact=True).select_option("near_duplicate")
        page.get_by_role("button", name="Tampilkan").click()
        page.wait_for_load_state("networkidle")
        assert page.locator(".queue a.open").count() == 1
        page.locator(".queue a.open").first.click()
        page.wait_for_load_state("networkidle")
        assert f"/items/{ids['again']}" in page.url
        # both pictures, side by side, with both owners
        side = page.locator(".side-by-side")
        assert side.count() == 1
        assert images_loaded(page, ".side-by-side img") == [True, True]
        assert "Erni Wardhani" in side.inner_text() and "Asep Saepudin" in side.inner_text()
        assert images_loaded(page, ".media img") == [True]
        screenshot(page, shots / f"item-{viewport}.jpg", 75)
    # and rejects it with a reason, from the keyboard
    page.get_by_label("Alasan (untuk menolak atau meminta bukti ulang)").select_option("reused")
    page.get_by_label("Dengan kata-kata Anda (dibaca guru)").fill("Foto yang sama dengan kemarin.")
    page.locator("h1").click()  # out of the text field: keys are shortcuts again
    with page.expect_navigation():
        page.keyboard.press("r")
    assert "/review" in page.url  # the filtered list is done
    assert "Daftar ini sudah habis" in page.content()

    # the photo without a position: the reviewer asks for another proof
    page.goto(f"{live_server.url}/items/{ids['nowhere']}")
    page.get_by_label("Alasan (untuk menolak atau meminta bukti ulang)").select_option(
        "wrong_place"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Minta bukti ulang").click()

    # a forged form (no CSRF token) is refused, even with the reviewer's cookie
    forged = page.request.post(
        f"{live_server.url}/items/{ids['nowhere']}/decision", form={"decision": "approved"}
    )
    assert forged.status == 403

    # the teacher sees the decision and its reason, never the other teacher's name
    teacher = browser_page("phone")
    sign_in(teacher, live_server, people.teacher_login)
    assert teacher.url.endswith("/my")
    teacher.goto(f"{live_server.url}/my/evidence")
    mine = teacher.locator(".queue").inner_text()
    assert "Ditolak" in mine and "Foto yang sama dengan kemarin." in mine
    assert "Sudah pernah dipakai sebagai bukti" in mine
    assert "foto yang sudah dikirim guru lain" in mine and "Asep" not in mine
    screenshot(teacher, shots / "teacher-phone.jpg", 75)
    teacher.goto(f"{live_server.url}/items/{ids['again']}")
    history = teacher.locator("#history-h + ol").inner_text()
    assert "Koordinator TRK" in history and "Ditolak" in history
    # and answers the request for another proof with a new photo, from the item's page
    teacher.goto(f"{live_server.url}/my/evidence")
    assert "Diminta bukti ulang" in teacher.locator(".queue").inner_text()
    teacher.get_by_role("link", name="Kirim bukti ulang").click()
    teacher.get_by_label("Kirim bukti lain untuk ini").set_input_files(str(answer_photo))
    with teacher.expect_navigation(url=re.compile(r"/items/\d+$")):
        teacher.get_by_role("button", name="Kirim", exact=True).click()
    assert f"#{ids['nowhere']}" in teacher.locator("main").inner_text()
    assert "menjawab permintaan bukti ulang" in teacher.content()
    # and cannot open another school's item by its URL
    response = teacher.goto(f"{live_server.url}/items/{ids['elsewhere']}")
    assert response.status == 404
    assert "Tidak ditemukan" in teacher.content()

    # nothing was loaded from another host, and the audit chain holds
    assert browser_page.outside_requests == []
    verify = subprocess.run(
        [sys.executable, "-m", "bukti.cli", "audit", "verify"],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("audit chain intact")


def test_the_api_docs_render_without_internet(
    live_server: LiveServer, browser_page: PageFactory
) -> None:
    page = browser_page("desktop")
    page.goto(live_server.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)

    assert "Bukti" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-tag").count() > 3
    assert browser_page.outside_requests == []

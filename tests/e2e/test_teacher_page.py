"""A teacher's whole day from a phone on a slow network, in a real browser: sign in, check in
with a selfie and the phone's position, send a day's six photos and a PDF in one batch through
a dropped connection and a page reload, confirm the day drafted from the photos, and see which
files the phone may delete. The product's workers (in process) handle every item."""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.app import World, wait_for_terminal
from tests.fixtures.browser import (
    LiveServer,
    PageFactory,
    screenshot,
    screenshot_dir,
    sign_in_on_page,
    upload_offsets,
)
from tests.fixtures.documents import DocumentFactory, lesson_pages
from tests.fixtures.photos import GpsFix, PhotoFactory
from tests.fixtures.web import make_people
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.e2e

WIB = ZoneInfo("Asia/Jakarta")
#: a school's mobile network on a weak day: 100 ms, 3 Mbit/s down, 1.5 Mbit/s up (bytes/s)
SLOW_NETWORK = {"latency": 100, "downloadThroughput": 375_000, "uploadThroughput": 187_500}
SCHOOL = (-6.8168, 107.1425)
#: the day's photos: when each was taken, and which picture it is
#: the teacher's phone here: a Samsung Galaxy A15
PHONE_MODEL = "SM-A155F"
SHOTS = [
    ((7, 5), "coffee"),
    ((7, 30), "chelsea"),
    ((8, 10), "rocket"),
    ((10, 0), "hubble_deep_field"),
    ((10, 25), "motorcycle_left"),
    ((10, 50), "ihc"),
]


def phone_photos(world: World, day: date) -> list[Path]:
    """The day's photos as a phone's camera writes them: time, zone, position, device."""
    return [
        world.phone_photo(
            datetime(day.year, day.month, day.day, hour, minute),
            GpsFix(SCHOOL[0] + 0.0003 * n, SCHOOL[1], accuracy_m=8.0),
            f"IMG_{day:%Y%m%d}_{hour:02d}{minute:02d}00.jpg",
            source=source,
            size=(1280, 960),
            quality=92,
            model=PHONE_MODEL,
        )
        for n, ((hour, minute), source) in enumerate(SHOTS)
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_in(page: Page, selfie: Path) -> str:
    """Take the selfie and check in; the answer in words once the selfie is checked."""
    page.get_by_label("Swafoto Anda, diambil sekarang dengan kamera depan").set_input_files(selfie)
    expect(page.get_by_role("main")).to_contain_text("Posisi ditemukan")
    page.get_by_role("button", name="Absen masuk sekarang").click()
    answer = page.locator("#answer-in")
    expect(answer).to_contain_text("Di dalam area sekolah", timeout=45_000)
    return answer.inner_text()


def wait_for_batch(page: Page, percent: int, timeout_s: float = 45) -> None:
    """Wait until the batch's progress bar shows ``percent`` (polled from here: the pages'
    Content-Security-Policy forbids the string evaluation Playwright's waiting functions use)."""
    deadline = time.monotonic() + timeout_s
    while float(page.locator("#batch-bar").get_attribute("value") or 0) < percent:
        if time.monotonic() > deadline:
            raise AssertionError(f"the batch did not reach {percent} %")
        page.wait_for_timeout(100)


def send_batch(page: Page, cdp: Any, base: str, day: date, files: list[Path]) -> list[str]:
    """Send the files as one batch; cut the connection a quarter of the way in and reload the
    page past the half. Returns the Upload-Offset of every PATCH the page sent."""
    offsets = upload_offsets(page)
    page.goto(f"{base}/my/upload?date={day.isoformat()}")
    picker = page.get_by_label("Foto dan dokumen (pilih banyak sekaligus)")
    picker.set_input_files(files)
    wait_for_batch(page, 25)
    cdp.send("Network.emulateNetworkConditions", {"offline": True, **SLOW_NETWORK})
    expect(page.locator("#batch-list")).to_contain_text("Koneksi terputus")
    page.wait_for_timeout(1500)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **SLOW_NETWORK})
    wait_for_batch(page, 55)
    page.reload()
    expect(page.locator("#batch-resume")).to_contain_text("Pilih lagi berkas-berkas ini")
    page.get_by_label("Foto dan dokumen (pilih banyak sekaligus)").set_input_files(files)
    expect(page.locator("#batch-summary")).to_contain_text("Semua berkas terkirim", timeout=60_000)
    return offsets


def test_a_teacher_evidences_a_whole_day_from_a_phone_on_a_slow_network(
    live_server: LiveServer,
    browser_page: PageFactory,
    worker: InProcessWorker,
    make_photo: PhotoFactory,
    make_document: DocumentFactory,
    tmp_path: Path,
) -> None:
    base = live_server.url
    shots = screenshot_dir(tmp_path)
    http = httpx.Client(base_url=base, timeout=30)
    people = make_people(http, make_photo)
    teacher_auth = people.world.teacher_auth
    now = datetime.now(WIB)
    day = (now - timedelta(days=1)).date()
    photos = phone_photos(people.world, day)
    report = make_document.pdf(f"Laporan_{day:%Y%m%d}.pdf", pages=lesson_pages(3, seed=4))
    selfie = people.world.phone_photo(
        now.replace(tzinfo=None, microsecond=0),
        None,
        "selfie.jpg",
        source="astronaut",
        size=(960, 1280),
        model=PHONE_MODEL,
    )
    page = browser_page(
        "phone",
        geolocation={"latitude": SCHOOL[0] + 0.0002, "longitude": SCHOOL[1], "accuracy": 12},
        permissions=["geolocation"],
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **SLOW_NETWORK})

    sign_in_on_page(page, base, people.teacher_login)
    screenshot(page, shots / "teacher-today.jpg", 70)
    answer = check_in(page, selfie)
    screenshot(page, shots / "teacher-check-in.jpg", 70)
    offsets = send_batch(page, cdp, base, day, [*photos, report])
    screenshot(page, shots / "teacher-batch.jpg", 70)

    items = http.get("/api/v1/evidence?limit=50", headers=teacher_auth).json()["items"]
    sent = [i for i in items if i["attendance_id"] is None]
    done = {i["id"]: wait_for_terminal(http, i["id"], teacher_auth) for i in sent}
    pdf_id = next(i for i, item in done.items() if item["kind"] == "document")

    page.goto(f"{base}/my/days/{day.isoformat()}")
    page.locator("#title_0").fill("Mengajar X TKJ 1")
    page.locator("#category_0").select_option("teaching")
    page.locator("#title_1").fill("Rapat MGMP")
    page.locator(f"#item_{pdf_id}").select_option("1")
    screenshot(page, shots / "teacher-day-draft.jpg", 70)
    page.get_by_role("button", name="Konfirmasi kegiatan hari itu").click()
    expect(page.get_by_role("main")).to_contain_text("2 kegiatan dibuat beserta fotonya.")
    summary = http.get(
        f"/api/v1/teachers/{people.world.teacher['id']}/days/{day.isoformat()}",
        headers=teacher_auth,
    ).json()

    page.goto(f"{base}/my/receipts")
    checklist = page.get_by_role("main")
    for path in [*photos, report]:
        expect(checklist).to_contain_text(path.name)
    screenshot(page, shots / "teacher-receipts.jpg", 70)

    assert "Absen masuk pukul" in answer
    assert browser_page.outside_requests == []
    # one item per file, none sent twice, and the archive holds the phone's bytes unchanged
    assert len(done) == 7
    assert sorted(item["hashes"]["sha256"] for item in done.values()) == sorted(
        sha256(path) for path in [*photos, report]
    )
    # the cut and the reload were resumed from where the bytes stopped, not sent again
    assert any(offset not in ("", "0") for offset in offsets), offsets
    assert [(a["title"], len(a["evidence"])) for a in summary["activities"]] == [
        ("Mengajar X TKJ 1", 3),
        ("Rapat MGMP", 4),
    ]


def test_a_file_whose_last_answer_was_lost_is_one_item(
    live_server: LiveServer, browser_page: PageFactory, make_photo: PhotoFactory
) -> None:
    """The last PATCH reaches Bukti and becomes an item, but its answer never reaches the
    phone: tus-js-client asks again and is told the upload is complete and which item it
    became, so the file is not sent again."""
    base = live_server.url
    http = httpx.Client(base_url=base, timeout=30)
    people = make_people(http, make_photo)
    day = datetime.now(WIB).date()
    photo = phone_photos(people.world, day)[0]
    page = browser_page("phone")
    lost: list[str] = []
    seen: list[tuple[str, int, str | None]] = []

    def drop_the_first_patchs_answer(route: Any) -> None:
        if route.request.method == "PATCH" and not lost:
            handled = route.fetch()
            lost.append(handled.headers.get("bukti-evidence-id", ""))
            route.abort("connectionreset")
            return
        route.continue_()

    page.route("**/api/v1/uploads/**", drop_the_first_patchs_answer)
    page.on(
        "response",
        lambda response: (
            seen.append(
                (
                    response.request.method,
                    response.status,
                    response.headers.get("bukti-evidence-id"),
                )
            )
            if "/api/v1/uploads" in response.url
            else None
        ),
    )
    sign_in_on_page(page, base, people.teacher_login)
    page.goto(f"{base}/my/upload?date={day.isoformat()}")
    page.get_by_label("Foto dan dokumen (pilih banyak sekaligus)").set_input_files([photo])
    expect(page.locator("#batch-summary")).to_contain_text("Semua berkas terkirim", timeout=30_000)

    items = http.get("/api/v1/evidence", headers=people.world.teacher_auth).json()["items"]
    assert [item["id"] for item in items] == [int(lost[0])]
    assert items[0]["hashes"]["sha256"] == sha256(photo)
    # created once; the retry asked HEAD and heard which item the file became
    assert [method for method, _, _ in seen].count("POST") == 1
    assert ("HEAD", 200, lost[0]) in seen
    assert browser_page.outside_requests == []

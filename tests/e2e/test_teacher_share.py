"""A photo shared from the phone's gallery into Bukti, in a real browser: the teacher's page
starts its service worker; a share (the multipart POST Android's share sheet sends to the
manifest's share action, made here by the page's own fetch, which the worker intercepts as
it does a real share) lands on the upload page, which lists the photo; the teacher picks
the activity it belongs to and sends it, and the product's workers (in process) check it.
A second share is discarded; a shared photo whose upload a reload cut short continues by
itself. Nothing shared is left in the browser afterwards."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.app import wait_for_terminal
from tests.fixtures.browser import (
    LiveServer,
    PageFactory,
    screenshot,
    screenshot_dir,
    sign_in_on_page,
    upload_offsets,
)
from tests.fixtures.photos import GpsFix, PhotoFactory
from tests.fixtures.web import People, make_people
from tests.fixtures.workers import InProcessWorker

pytestmark = pytest.mark.e2e

WIB = ZoneInfo("Asia/Jakarta")
SCHOOL = (-6.8168, 107.1425)

#: what the share sheet sends: the photo's bytes as a file in the manifest's "files" field
SHARE = """async ([name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const form = new FormData();
  form.append("files", new File([bytes], name, { type, lastModified: 1760340000000 }));
  const answer = await fetch("/my/share", { method: "POST", body: form });
  return { url: answer.url, redirected: answer.redirected, status: answer.status };
}"""
#: the state of the service worker the teacher's pages started, and the one in charge of
#: this page (a page loaded while the worker was still starting may have none)
WORKER_STATE = "() => navigator.serviceWorker.ready.then((found) => found.active.state)"
WORKER_SCOPE = "() => navigator.serviceWorker.ready.then((found) => found.scope)"
CONTROLLER = "() => (navigator.serviceWorker.controller || { scriptURL: '' }).scriptURL"
#: a file the worker kept eight days ago (as it keeps them, with the time of the share)
FORGOTTEN_SHARE = """() => caches.open("bukti-shared-files").then((cache) => cache.put(
  "/my/shared-files/forgotten",
  new Response("old", { headers: {
    "Content-Type": "image/jpeg", "X-Bukti-Name": "IMG_forgotten.jpg",
    "X-Bukti-Shared": String(Date.now() - 8 * 24 * 3600 * 1000) } })
))"""
#: the batch's progress, in percent
BATCH_PERCENT = "() => Number(document.getElementById('batch-bar').value)"
#: a slow uplink (bytes/s), and the way back to a fast one
CRAWL = {"latency": 50, "downloadThroughput": 500_000, "uploadThroughput": 50_000}
FAST = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
#: how many shared files the browser still keeps
SHARED_LEFT = (
    "() => caches.open('bukti-shared-files').then((cache) => cache.keys()).then((k) => k.length)"
)


def poll(page: Page, script: str, until: Any, timeout_s: float = 20) -> Any:
    """Evaluate ``script`` until it returns what ``until`` accepts (polled from here: the
    pages' Content-Security-Policy forbids the string evaluation Playwright's waits use)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script)
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{script} still {value!r}")
        page.wait_for_timeout(100)


def share(page: Page, photo: Path) -> dict[str, Any]:
    """Share ``photo`` into Bukti as the phone's share sheet does."""
    data = base64.b64encode(photo.read_bytes()).decode()
    answer: dict[str, Any] = page.evaluate(SHARE, [photo.name, "image/jpeg", data])
    return answer


def start_the_worker(page: Page, base: str) -> str:
    """Open a teacher's page, wait until its service worker runs and is in charge of the
    page; returns the worker's script URL."""
    page.goto(f"{base}/my")
    poll(page, WORKER_STATE, lambda state: state == "activated")
    page.reload()
    url: str = poll(page, CONTROLLER, bool)
    return url


@dataclass
class Lesson:
    """Today's lesson of the world's teacher, and its photo in the phone's gallery."""

    http: httpx.Client
    people: People
    activity_id: int
    photo: Path

    @property
    def auth(self) -> dict[str, str]:
        """The teacher's API token, to read what Bukti made of the photo."""
        return self.people.world.teacher_auth


@pytest.fixture
def lesson(live_server: LiveServer, make_photo: PhotoFactory) -> Lesson:
    """The people, today's 07:00 lesson of the teacher, and a photo of it as the phone's
    camera writes it."""
    http = httpx.Client(base_url=live_server.url, timeout=30)
    people = make_people(http, make_photo)
    world = people.world
    today = datetime.now(WIB).date()
    photo = world.phone_photo(
        datetime(today.year, today.month, today.day, 7, 15, 2),
        GpsFix(SCHOOL[0], SCHOOL[1], accuracy_m=8.0),
        f"IMG_{today:%Y%m%d}_071502.jpg",
        source="coffee",
        size=(1280, 960),
        model="SM-A155F",
    )
    return Lesson(http, people, world.activity(today.isoformat())["id"], photo)


def test_a_photo_shared_from_the_gallery_is_sent_for_the_activity_the_teacher_picks(
    live_server: LiveServer,
    browser_page: PageFactory,
    worker: InProcessWorker,
    lesson: Lesson,
    make_photo: PhotoFactory,
    tmp_path: Path,
) -> None:
    base = live_server.url
    http, photo = lesson.http, lesson.photo
    unwanted = make_photo("IMG-20261013-WA0007.jpg", source="rocket", size=(800, 600))
    page = browser_page("phone")

    sign_in_on_page(page, base, lesson.people.teacher_login)
    worker_url = start_the_worker(page, base)
    worker_scope = page.evaluate(WORKER_SCOPE)
    page.goto(f"{base}/my/upload")
    answer = share(page, photo)
    page.goto(answer["url"])

    shared = page.locator("#shared")
    expect(shared).to_be_visible()
    expect(page.locator("#shared-list")).to_contain_text(photo.name)
    page.get_by_label("Berkas ini untuk").select_option(str(lesson.activity_id))
    screenshot(page, screenshot_dir(tmp_path) / "teacher-share.jpg", 70)
    page.get_by_role("button", name="Kirim berkas yang dibagikan").click()
    expect(page.locator("#batch-summary")).to_contain_text("Semua berkas terkirim", timeout=30_000)
    left_after_sending = poll(page, SHARED_LEFT, lambda count: count == 0)
    [item] = http.get("/api/v1/evidence", headers=lesson.auth).json()["items"]
    checked = wait_for_terminal(http, item["id"], lesson.auth)

    # a second share, discarded: nothing is sent and nothing is kept; a file shared more
    # than a week ago and never sent nor discarded is dropped by then
    page.goto(f"{base}/my/upload")
    page.evaluate(FORGOTTEN_SHARE)
    second = share(page, unwanted)
    page.goto(second["url"])
    expect(page.locator("#shared-list")).to_contain_text(unwanted.name)
    expect(page.locator("#shared-list")).not_to_contain_text("IMG_forgotten.jpg")
    page.get_by_role("button", name="Buang").click()
    expect(shared).to_be_hidden()
    left_after_discarding = poll(page, SHARED_LEFT, lambda count: count == 0)
    page.reload()
    page.wait_for_timeout(500)
    items = http.get("/api/v1/evidence", headers=lesson.auth).json()["items"]
    caches = page.evaluate("() => caches.keys()")

    assert worker_url == f"{base}/my/share-worker.js"
    # the app's start page (/my) is in the worker's charge too: the install prompt checks it
    assert worker_scope == f"{base}/my"
    # the worker answered the share itself: the server's own answer to /my/share is a page
    assert answer["redirected"] and answer["url"] == f"{base}/my/upload?shared=1"
    assert answer["status"] == 200
    # the worker keeps no page, asset or API answer: its one cache holds shared files only
    assert caches == ["bukti-shared-files"]
    assert second["url"] == f"{base}/my/upload?shared=1"
    assert checked["activity_id"] == lesson.activity_id
    assert checked["status"] in ("accepted", "flagged")
    assert checked["hashes"]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert left_after_sending == 0 and left_after_discarding == 0
    assert [i["id"] for i in items] == [item["id"]]
    expect(shared).to_be_hidden()
    assert browser_page.outside_requests == []


def test_a_shared_photo_cut_short_by_a_reload_continues_without_being_picked_again(
    live_server: LiveServer,
    browser_page: PageFactory,
    worker: InProcessWorker,
    lesson: Lesson,
) -> None:
    """A browser keeps no picked file across a reload, but it keeps a shared one: the batch
    continues from where its bytes stopped, for the activity chosen before the reload."""
    base = live_server.url
    http, photo = lesson.http, lesson.photo
    page = browser_page("phone")
    offsets = upload_offsets(page)
    sign_in_on_page(page, base, lesson.people.teacher_login)
    start_the_worker(page, base)
    page.goto(share(page, photo)["url"])
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    # ~4 s for the photo: time to reload the page in the middle of it
    cdp.send("Network.emulateNetworkConditions", {**CRAWL, "offline": False})

    page.get_by_label("Berkas ini untuk").select_option(str(lesson.activity_id))
    page.get_by_role("button", name="Kirim berkas yang dibagikan").click()
    poll(page, BATCH_PERCENT, lambda percent: percent >= 25)
    page.reload()
    cdp.send("Network.emulateNetworkConditions", {**FAST, "offline": False})
    expect(page.locator("#batch-summary")).to_contain_text("Semua berkas terkirim", timeout=30_000)
    resume_note_hidden = page.locator("#batch-resume").is_hidden()
    left = poll(page, SHARED_LEFT, lambda count: count == 0)
    [item] = http.get("/api/v1/evidence", headers=lesson.auth).json()["items"]
    checked = wait_for_terminal(http, item["id"], lesson.auth)

    assert resume_note_hidden  # nothing to pick again
    assert checked["activity_id"] == lesson.activity_id
    assert checked["hashes"]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert any(offset not in ("", "0") for offset in offsets), offsets
    assert left == 0
    assert browser_page.outside_requests == []

"""A storage admin, on a phone-sized screen in Indonesian, previews a retention run, applies
it through a real worker process, watches it finish and places a legal hold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from bukti.bootstrap import Services
from tests.fixtures.app import WorkerProcess, small_jpeg
from tests.fixtures.browser import LiveServer, PageFactory, screenshot, screenshot_dir
from tests.fixtures.web import PASSWORD, archive_item, make_people

pytestmark = pytest.mark.e2e

JANUARY = datetime(2026, 1, 13, 2, 0, tzinfo=UTC)


def test_the_admin_previews_and_applies_a_retention_run_then_places_a_hold(
    live_server: LiveServer,
    worker: WorkerProcess,
    services: Services,
    browser_page: PageFactory,
    tmp_path: Path,
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        people = make_people(http)
    erni, asep = people.world.teacher["id"], people.world.other_teacher["id"]
    photos = [small_jpeg(name) for name in ("astronaut", "coffee", "chelsea")]
    accepted = [
        archive_item(services, erni, photos[0], rendition=photos[0][:2000], status="accepted",
                     received_at=JANUARY),
        archive_item(services, asep, photos[1], rendition=photos[1][:2000], status="accepted",
                     received_at=JANUARY),
    ]  # fmt: skip
    archive_item(services, erni, photos[2], rendition=photos[2][:2000], received_at=JANUARY)
    shots = screenshot_dir(tmp_path)

    page = browser_page("phone")
    page.goto(live_server.url + "/")
    page.get_by_label("NIP atau nama pengguna").fill(people.admin_login)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Penyimpanan").click()
    assert page.locator("h1").inner_text() == "Penyimpanan"
    assert "Pemakaian dan penghematan" in page.content()

    page.get_by_label("Per tanggal").fill("2026-05-02")
    page.get_by_role("button", name="Pratinjau penghapusan (tidak ada yang dihapus)").click()
    page.wait_for_load_state("networkidle")
    assert "uji coba, belum dijalankan" in page.locator("h1").inner_text()
    report = page.locator("table.figures tbody").inner_text()
    assert f"#{accepted[0]}" in report and f"#{accepted[1]}" in report
    page.get_by_role("button", name="Jalankan penghapusan ini").click()
    # the page reloads itself while the worker applies the run
    expect(page.locator("h1")).to_contain_text("sudah dijalankan", timeout=60_000)
    assert page.locator("table.figures tbody").inner_text().count("removed") == 2
    screenshot(page, shots / "admin-run.jpg", 75)

    page.get_by_role("link", name="Penyimpanan").first.click()
    page.get_by_label("Mencakup").select_option("teacher")
    page.get_by_label("Nomor", exact=True).fill(str(erni))
    page.get_by_label("Alasan", exact=True).fill("Pemeriksaan BPK 2026")
    page.get_by_role("button", name="Buat penahanan").click()
    page.wait_for_load_state("networkidle")
    assert "Penahanan hukum sudah berlaku" in page.content()
    assert "Pemeriksaan BPK 2026" in page.locator("#holds + ul").inner_text()
    usage = page.locator("table.figures tfoot").inner_text()
    assert "Jumlah" in usage
    screenshot(page, shots / "admin-storage.jpg", 75)

    for evidence_id in accepted:
        with services.sessions() as db:
            from storage.objects import copies_of

            assert [(c.klass, c.held) for c in copies_of(db, evidence_id)] == [
                ("original", False),
                ("rendition", True),
            ]
    assert browser_page.outside_requests == []

"""The teacher's pages as an installable app that takes photos shared from the gallery: its
manifest and icons, the service worker's script, the pages that load them, and the share
action's answer when no service worker caught the share (it creates nothing)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.models import Evidence
from tests.fixtures.app import RecordingEnqueue, small_jpeg
from tests.fixtures.web import People, sign_in

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")


def manifest_of(client: TestClient, language: str = "id") -> dict[str, object]:
    response = client.get("/my/manifest.webmanifest", headers={"Accept-Language": language})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/manifest+json")
    body: dict[str, object] = json.loads(response.content)
    return body


def files_in(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()] if directory.exists() else []


def test_the_manifest_makes_the_teacher_pages_an_app_that_takes_shared_photos(
    client: TestClient,
) -> None:
    # a browser fetches the manifest without cookies: nobody is signed in here
    manifest = manifest_of(client)

    assert manifest["name"] == "Bukti: bukti kinerja guru"
    assert manifest["short_name"] == "Bukti"
    assert manifest["lang"] == "id"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/my" and manifest["scope"] == "/my"
    share = manifest["share_target"]
    assert isinstance(share, dict)
    assert share["action"] == "/my/share"
    assert str(share["action"]).startswith(str(manifest["scope"]))
    assert (share["method"], share["enctype"]) == ("POST", "multipart/form-data")
    [files] = share["params"]["files"]
    assert files["name"] == "files"
    # what the upload page takes: photos and documents, not videos (they have their own page)
    assert {"image/*", "application/pdf"} <= set(files["accept"])
    assert not any(kind.startswith("video/") for kind in files["accept"])


def test_the_manifests_icons_are_served_at_their_sizes(client: TestClient) -> None:
    icons = manifest_of(client)["icons"]
    assert isinstance(icons, list)

    purposes = set()
    for icon in icons:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.headers["content-type"] == "image/png"
        width, height = Image.open(io.BytesIO(response.content)).size
        assert f"{width}x{height}" == icon["sizes"]
        purposes.add(icon["purpose"])

    sizes = {icon["sizes"] for icon in icons}
    assert {"192x192", "512x512"} <= sizes
    assert purposes == {"any", "maskable"}


def test_the_manifest_speaks_english_when_the_browser_asks(client: TestClient) -> None:
    manifest = manifest_of(client, language="en-US,en;q=0.9")

    assert manifest["name"] == "Bukti: teachers' evidence"
    assert manifest["lang"] == "en"


def test_only_the_teacher_pages_offer_the_app_and_start_its_worker(
    client: TestClient, people: People
) -> None:
    signed_out = client.get("/sign-in").text
    sign_in(client, people.reviewer_login)
    reviewer_page = client.get("/review").text
    client.cookies.clear()
    sign_in(client, people.teacher_login)

    for path in ("/my", "/my/upload", "/my/receipts"):
        page = client.get(path)
        assert '<link rel="manifest" href="/my/manifest.webmanifest">' in page.text, path
        assert "/static/share.js?v=" in page.text, path
    for page in (signed_out, reviewer_page):
        assert 'rel="manifest"' not in page
        assert "share.js" not in page


def test_the_pages_policy_lets_the_worker_and_the_manifest_load_from_bukti_only(
    client: TestClient, people: People
) -> None:
    sign_in(client, people.teacher_login)

    policy = client.get("/my/upload").headers["content-security-policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["worker-src"] == "'self'"
    assert directives["manifest-src"] == "'self'"


def test_the_worker_is_served_from_the_teacher_pages_so_that_it_catches_the_share(
    client: TestClient,
) -> None:
    response = client.get("/my/share-worker.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    # checked again on each visit: a fixed worker replaces the old one at once
    assert response.headers["cache-control"] == "no-cache"
    # its scope is the app's, /my (start page included), not only /my/ below its script
    assert response.headers["service-worker-allowed"] == "/my"
    assert 'SHARE_ACTION = "/my/share"' in response.text


def test_a_share_that_reaches_the_server_creates_nothing_and_says_what_to_do(
    client: TestClient,
    people: People,
    services: Services,
    settings: Settings,
    queued: RecordingEnqueue,
) -> None:
    sign_in(client, people.teacher_login)
    photo = small_jpeg()

    # as a share sheet posts it: multipart files, no CSRF token
    answer = client.post(
        "/my/share", files=[("files", ("IMG_20261013_071502.jpg", photo, "image/jpeg"))]
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "Berkas yang dibagikan tidak diterima" in answer.text
    assert 'href="/my/upload"' in answer.text
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Evidence)) == 0
    assert queued.sent == []
    # no byte of the shared file was kept anywhere in the data directory
    assert [path for path in files_in(settings.data_dir) if path.read_bytes() == photo] == []
    assert files_in(settings.incoming_dir) == []
    listed = client.get("/api/v1/evidence", headers=people.world.teacher_auth).json()
    assert listed["items"] == []


def test_a_share_from_a_browser_not_signed_in_gets_the_same_page(
    client: TestClient, services: Services
) -> None:
    answer = client.post(
        "/my/share",
        files=[("files", ("scan.pdf", b"%PDF-1.4 not really", "application/pdf"))],
        follow_redirects=False,
    )

    assert answer.status_code == 200
    assert "Buka Kirim berkas" in answer.text
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Evidence)) == 0


def test_the_share_action_asked_for_as_a_page_leads_to_the_upload_page(
    client: TestClient,
) -> None:
    response = client.get("/my/share", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/my/upload"


def test_the_upload_page_offers_shared_files_for_the_teachers_own_activities_of_the_day(
    client: TestClient, people: People
) -> None:
    world = people.world
    today = datetime.now(WIB).date().isoformat()
    own = world.activity(today, title="Rapat MGMP")["id"]
    other = world.activity(today, title="Piket Asep", auth=world.other_teacher_auth)["id"]
    sign_in(client, people.teacher_login)

    page = client.get(f"/my/upload?date={today}")

    assert page.status_code == 200
    # times as Indonesians write them, with a dot
    assert f'<option value="{own}">07.00\u201308.30 Rapat MGMP</option>' in page.text
    assert f'value="{other}"' not in page.text and "Piket Asep" not in page.text
    assert 'id="shared-send"' in page.text and 'id="shared-discard"' in page.text

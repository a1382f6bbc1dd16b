"""The lists' small pictures: the queue, the teacher's items and the teacher's day show each
item by the smallest picture the archive holds (a photo's thumbnail, else its rendition; a
video's poster frame; a document's first page), versioned so that phones keep it."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from storage.db import transaction
from storage.models import Evidence
from tests.fixtures.photos import jpeg_bytes
from tests.fixtures.web import People, archive_item, sign_in

pytestmark = pytest.mark.integration

WIB = ZoneInfo("Asia/Jakarta")
_IMG = re.compile(r"<img ([^>]*)>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def images(html: str) -> dict[str, dict[str, str]]:
    """The page's <img> tags by their alt text, each with its attributes."""
    found = {}
    for tag in _IMG.findall(html):
        attributes = dict(_ATTRIBUTE.findall(tag))
        found[attributes.get("alt", "")] = attributes
    return found


def version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@pytest.fixture
def items(services: Services, people: People) -> dict[str, tuple[int, bytes]]:
    """Flagged items of the teacher, each with the picture the lists should show."""
    teacher = people.world.teacher["id"]
    flagged = [{"code": "no_location", "severity": "medium", "detail": "d"}]
    rendition, thumbnail = (
        jpeg_bytes("astronaut", 80, (640, 480)),
        jpeg_bytes("astronaut", 80, (286, 215)),
    )
    photo = archive_item(
        services,
        teacher,
        jpeg_bytes("astronaut", 80, (1280, 960)),
        rendition=rendition,
        preview=thumbnail,
        flags=flagged,
    )
    legacy_rendition = jpeg_bytes("coffee", 80, (600, 400))
    # processed before the pipeline made thumbnails: a rendition and no preview
    legacy = archive_item(
        services,
        teacher,
        jpeg_bytes("coffee", 80, (1200, 800)),
        rendition=legacy_rendition,
        flags=flagged,
    )
    poster = jpeg_bytes("rocket", 80, (213, 320))
    video = archive_item(
        services,
        teacher,
        b"\x00\x00\x00\x18ftypmp42 video",
        mime="video/mp4",
        kind="video",
        rendition=b"\x00\x00\x00\x18ftypmp42 smaller",
        preview=poster,
        client_filename="VID_20261013_071500.mp4",
        flags=flagged,
    )
    page = jpeg_bytes("text", 80, (300, 424))
    document = archive_item(
        services,
        teacher,
        b"%PDF-1.7 lesson plan",
        mime="application/pdf",
        kind="document",
        rendition=b"%PDF-1.7 sanitised",
        preview=page,
        client_filename="RPP.pdf",
        flags=flagged,
    )
    return {
        "photo": (photo, thumbnail),
        "legacy": (legacy, legacy_rendition),
        "video": (video, poster),
        "document": (document, page),
    }


def expected_sources(items: dict[str, tuple[int, bytes]]) -> dict[str, str]:
    """What each item's <img> points at: its preview, or a thumbnail-less photo's rendition."""
    return {
        name: f"/api/v1/evidence/{item_id}/{'rendition' if name == 'legacy' else 'preview'}"
        f"?v={version(data)}"
        for name, (item_id, data) in items.items()
    }


def test_the_queue_shows_each_item_by_its_smallest_picture_in_the_readers_language(
    client: TestClient, people: People, items: dict[str, tuple[int, bytes]]
) -> None:
    sign_in(client, people.reviewer_login)

    indonesian = images(client.get("/review").text)
    english = images(client.get("/review", headers={"Accept-Language": "en"}).text)

    ids = {name: item_id for name, (item_id, _) in items.items()}
    sources = expected_sources(items)
    assert indonesian[f"Foto #{ids['photo']}"]["src"] == sources["photo"]
    assert indonesian[f"Foto #{ids['legacy']}"]["src"] == sources["legacy"]
    assert indonesian[f"Cuplikan video #{ids['video']}"]["src"] == sources["video"]
    assert indonesian[f"Halaman pertama dokumen #{ids['document']}"]["src"] == sources["document"]
    assert english[f"Photo #{ids['photo']}"]["src"] == sources["photo"]
    assert english[f"Frame of video #{ids['video']}"]["src"] == sources["video"]
    assert english[f"First page of document #{ids['document']}"]["src"] == sources["document"]
    for tag in indonesian.values():
        # the box is held before the picture arrives, and only pictures in view are fetched
        assert (tag["width"], tag["height"], tag["loading"]) == ("72", "72", "lazy")


def test_what_the_queue_links_is_served_and_kept_a_year(
    client: TestClient, people: People, items: dict[str, tuple[int, bytes]]
) -> None:
    sign_in(client, people.reviewer_login)
    sources = images(client.get("/review").text)

    for name, (item_id, data) in items.items():
        [tag] = [tag for tag in sources.values() if f"/evidence/{item_id}/" in tag["src"]]
        served = client.get(tag["src"])
        assert served.status_code == 200, (name, served.text)
        assert served.content == data
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["cache-control"] == "private, max-age=31536000, immutable"


def test_the_teachers_items_and_day_show_the_same_pictures(
    client: TestClient, services: Services, people: People, items: dict[str, tuple[int, bytes]]
) -> None:
    photo_id, _ = items["photo"]
    legacy_id, _ = items["legacy"]
    with transaction(services.sessions) as db:
        for item_id, minute in ((photo_id, 5), (legacy_id, 40)):
            item = db.get_one(Evidence, item_id)
            item.status = "accepted"
            item.captured_at = datetime(2026, 10, 13, 7, minute, tzinfo=WIB)
            item.local_date = item.captured_at.date()
    sign_in(client, people.teacher_login)

    listed = images(client.get("/my/evidence").text)
    day = images(client.get("/my/days/2026-10-13").text)

    sources = expected_sources(items)
    for name, (item_id, _) in items.items():
        alt = {"video": "Cuplikan video", "document": "Halaman pertama dokumen"}.get(name, "Foto")
        assert listed[f"{alt} #{item_id}"]["src"] == sources[name]
    assert day[f"Foto #{photo_id}"]["src"] == sources["photo"]
    assert day[f"Foto #{legacy_id}"]["src"] == sources["legacy"]
    assert (day[f"Foto #{photo_id}"]["width"], day[f"Foto #{photo_id}"]["loading"]) == (
        "64",
        "lazy",
    )

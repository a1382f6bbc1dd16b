"""Media delivery: the archived bytes, scoped like the item, checked against their SHA-256."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.backends.s3 import S3Store
from tests.fixtures.app import assert_problem
from tests.fixtures.photos import jpeg_bytes
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.web import People, archive_item, make_people, sign_in

pytestmark = pytest.mark.integration

# a JPEG that is also an HTML page: served inline, a browser sniffing it could run the script
POLYGLOT = b"\xff\xd8\xff\xe0<html><script>alert(document.cookie)</script></html>\xff\xd9"


@pytest.fixture
def photo(services: Services, people: People) -> tuple[int, bytes, bytes]:
    original, rendition = (
        jpeg_bytes("astronaut", 85, (640, 480)),
        jpeg_bytes("astronaut", 85, (320, 240)),
    )
    item_id = archive_item(
        services,
        people.world.teacher["id"],
        original,
        rendition=rendition,
        preview=jpeg_bytes("coffee", 85, (160, 120)),
        client_filename='../../etc/"evil" name;.php.jpg',
    )
    return item_id, original, rendition


def test_the_original_comes_back_byte_for_byte_with_its_sha256_as_etag(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, original, _ = photo

    response = client.get(f"/api/v1/evidence/{item_id}/original", headers=people.world.teacher_auth)

    assert response.status_code == 200
    assert response.content == original
    assert response.headers["etag"] == f'"{hashlib.sha256(original).hexdigest()}"'
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"].startswith("private")
    assert response.headers["accept-ranges"] == "bytes"


def test_originals_are_always_downloads_with_a_safe_name_and_never_sniffed(
    client: TestClient, services: Services, people: People
) -> None:
    item_id = archive_item(
        services, people.world.teacher["id"], POLYGLOT, client_filename="<img onerror=x>.html"
    )

    response = client.get(f"/api/v1/evidence/{item_id}/original", headers=people.world.teacher_auth)

    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="bukti-{item_id}-img_onerror_x.jpg"' in disposition
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["content-type"] == "image/jpeg"


def test_renditions_and_previews_are_bukti_files_shown_inline(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, _, rendition = photo
    auth = people.world.reviewer_auth

    shown = client.get(f"/api/v1/evidence/{item_id}/rendition", headers=auth)
    preview = client.get(f"/api/v1/evidence/{item_id}/preview", headers=auth)

    assert shown.content == rendition
    assert shown.headers["content-disposition"].startswith("inline;")
    assert "bukti-" in shown.headers["content-disposition"]
    assert ".." not in shown.headers["content-disposition"]
    assert shown.headers["etag"] == f'"{hashlib.sha256(rendition).hexdigest()}"'
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"


def test_a_range_request_gets_exactly_those_bytes(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, original, _ = photo
    url = f"/api/v1/evidence/{item_id}/original"
    auth = people.world.teacher_auth

    middle = client.get(url, headers={**auth, "Range": "bytes=100-1099"})
    tail = client.get(url, headers={**auth, "Range": "bytes=-50"})
    open_ended = client.get(url, headers={**auth, "Range": f"bytes={len(original) - 7}-"})
    outside = client.get(url, headers={**auth, "Range": f"bytes={len(original)}-"})
    stale = client.get(url, headers={**auth, "Range": "bytes=0-9", "If-Range": '"other"'})

    assert middle.status_code == 206 and middle.content == original[100:1100]
    assert middle.headers["content-range"] == f"bytes 100-1099/{len(original)}"
    assert middle.headers["content-length"] == "1000"
    assert tail.content == original[-50:]
    assert open_ended.content == original[-7:]
    assert outside.status_code == 416
    assert outside.headers["content-range"] == f"bytes */{len(original)}"
    assert stale.status_code == 200 and stale.content == original


def test_an_unchanged_copy_is_not_sent_again(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, original, _ = photo
    etag = f'"{hashlib.sha256(original).hexdigest()}"'

    response = client.get(
        f"/api/v1/evidence/{item_id}/original",
        headers={**people.world.teacher_auth, "If-None-Match": etag},
    )
    head = client.head(f"/api/v1/evidence/{item_id}/original", headers=people.world.teacher_auth)

    assert response.status_code == 304 and response.content == b""
    assert head.status_code == 200 and head.headers["content-length"] == str(len(original))
    assert head.content == b""


def test_media_are_scoped_exactly_like_their_item(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, _, _ = photo
    url = f"/api/v1/evidence/{item_id}/rendition"

    assert client.get(url, headers=people.world.other_teacher_auth).status_code == 404
    assert client.get(url, headers=people.other_school_teacher_auth).status_code == 404
    assert client.get(url, headers=people.world.reviewer_auth).status_code == 200
    assert client.get(url, headers=people.world.admin).status_code == 200
    assert client.get(url).status_code == 401
    sign_in(client, people.other_reviewer_login)
    assert client.get(url).status_code == 404  # another school's reviewer, by cookie
    assert (
        client.get("/api/v1/evidence/999999/original", headers=people.world.admin).status_code
        == 404
    )


def test_a_photos_thumbnail_is_scoped_exactly_like_its_rendition(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, _, _ = photo
    url = f"/api/v1/evidence/{item_id}/preview"
    world = people.world

    foreign = client.get(url, headers=world.other_teacher_auth)
    missing = client.get("/api/v1/evidence/999999/preview", headers=world.other_teacher_auth)

    # another teacher learns nothing, not even that the item exists
    assert_problem(foreign, 404)
    assert foreign.json()["detail"] == f"evidence {item_id} not found"
    assert missing.json()["detail"] == "evidence 999999 not found"
    assert client.get(url, headers=people.other_school_teacher_auth).status_code == 404
    assert client.get(url, headers=world.teacher_auth).status_code == 200
    assert client.get(url, headers=world.reviewer_auth).status_code == 200
    assert client.get(url, headers=world.admin).status_code == 200
    assert client.get(url).status_code == 401
    sign_in(client, people.other_reviewer_login)
    assert client.get(url).status_code == 404  # another school's reviewer, by cookie


def test_a_copy_asked_for_by_its_version_is_kept_a_year(
    client: TestClient, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, _, rendition = photo
    url = f"/api/v1/evidence/{item_id}/rendition"
    auth = people.world.reviewer_auth
    version = hashlib.sha256(rendition).hexdigest()[:16]

    versioned = client.get(f"{url}?v={version}", headers=auth)
    stale = client.get(f"{url}?v={'0' * 16}", headers=auth)
    plain = client.get(url, headers=auth)

    # the key is content-addressed: the bytes behind a version never change
    assert versioned.content == rendition
    assert versioned.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert stale.content == plain.content == rendition
    for answer in (stale, plain):
        assert answer.headers["cache-control"] == "private, max-age=3600"


def test_a_copy_the_item_does_not_have_is_not_found(
    client: TestClient, services: Services, people: People
) -> None:
    item_id = archive_item(
        services, people.world.teacher["id"], jpeg_bytes("astronaut", 85, (320, 240))
    )

    response = client.get(f"/api/v1/evidence/{item_id}/preview", headers=people.world.admin)

    assert response.status_code == 404
    assert "no archived preview" in response.json()["detail"]


def test_a_tampered_archived_object_is_refused_and_logged(
    client: TestClient,
    services: Services,
    people: People,
    photo: tuple[int, bytes, bytes],
    caplog: pytest.LogCaptureFixture,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    item_id, original, _ = photo
    url = f"/api/v1/evidence/{item_id}/original"
    assert client.get(url, headers=people.world.admin).status_code == 200
    key = f"originals/{hashlib.sha256(original).hexdigest()[:2]}/{hashlib.sha256(original).hexdigest()}.jpg"
    forged = tmp_path_factory.mktemp("forged") / "forged.jpg"
    forged.write_bytes(original[:-10] + b"0123456789")
    services.store.put_file(key, forged, "image/jpeg")

    with caplog.at_level(logging.ERROR, logger="api.routes.media"):
        response = client.get(url, headers=people.world.admin)
        ranged = client.get(url, headers={**people.world.admin, "Range": "bytes=0-99"})

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert "does not match its SHA-256" in response.json()["detail"]
    assert ranged.status_code == 502
    assert any("refused to serve" in record.getMessage() for record in caplog.records)


def test_a_missing_archived_object_is_refused(
    client: TestClient, services: Services, people: People, photo: tuple[int, bytes, bytes]
) -> None:
    item_id, original, _ = photo
    digest = hashlib.sha256(original).hexdigest()
    services.store.delete(f"originals/{digest[:2]}/{digest}.jpg")

    response = client.get(f"/api/v1/evidence/{item_id}/original", headers=people.world.admin)

    assert response.status_code == 502
    assert "missing" in response.json()["detail"]


@pytest.mark.parametrize("redirect", [False, True], ids=["streamed", "presigned"])
def test_media_from_s3_are_streamed_or_redirected_to_a_presigned_link(
    settings: Settings,
    seaweedfs_s3_endpoint: S3Endpoint,
    s3_store_factory: Callable[..., S3Store],
    redirect: bool,
) -> None:
    bucket_store = s3_store_factory(seaweedfs_s3_endpoint)
    s3_settings = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_bucket": bucket_store.bucket,
            "s3_prefix": bucket_store.prefix,
            "s3_endpoint_url": seaweedfs_s3_endpoint.endpoint_url,
            "s3_access_key_id": seaweedfs_s3_endpoint.access_key_id,
            "s3_secret_access_key": SecretStr(seaweedfs_s3_endpoint.secret_access_key),
            "media_redirect": redirect,
        }
    )
    services = Services(s3_settings)
    with TestClient(create_app(s3_settings, services, enqueue=lambda *a: None)) as client:
        people = make_people(client)
        original = jpeg_bytes("astronaut", 85, (640, 480))
        item_id = archive_item(services, people.world.teacher["id"], original)
        url = f"/api/v1/evidence/{item_id}/original"

        response = client.get(url, headers=people.world.teacher_auth, follow_redirects=False)
        ranged = client.get(url, headers={**people.world.teacher_auth, "Range": "bytes=10-19"})

        if redirect:
            assert response.status_code == 307
            fetched = httpx.get(response.headers["location"])
            assert fetched.content == original
            assert fetched.headers["content-disposition"].startswith("attachment;")
        else:
            assert response.status_code == 200 and response.content == original
            assert ranged.status_code == 206 and ranged.content == original[10:20]
    services.close()

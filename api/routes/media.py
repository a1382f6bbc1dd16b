"""Media delivery: an item's archived original, rendition and preview, scoped like the item.

Bytes stream from the object store (never whole in memory) after they were checked against
the SHA-256 on record; a mismatch is a problem response and a log line, never served.
Originals are teachers' files as received: always a download (``attachment``) with
``nosniff`` and a sandboxing CSP, so that a JPEG carrying HTML can never render as a page.
Renditions and previews are Bukti's own re-encodings and may show inline.

Keys are content-addressed, so the bytes behind a URL versioned by :func:`copy_url` (``?v=``,
the start of the SHA-256 of the copy) never change: a browser may keep them a year, and a
phone scrolling a queue again asks for nothing. Unversioned, or under a stale version, a copy
is cached for an hour.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import object_session

from api.auth import Principal
from api.deps import PrincipalDep, ServicesDep
from api.scoping import visible_record
from bukti.bootstrap import Services
from bukti.errors import CorruptObjectError, NotFoundError
from storage.backend import ObjectStore
from storage.db import transaction
from storage.integrity import VerifiedObjects, expected_sha256
from storage.models import Evidence
from storage.objects import is_released

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["evidence"])

_CHUNK_BYTES = 256 * 1024
#: hex digits of the SHA-256 in a copy's version (64 bits: no two copies of an item collide)
VERSION_CHARS = 16
_CACHE_UNVERSIONED = "private, max-age=3600"
_CACHE_VERSIONED = "private, max-age=31536000, immutable"
_verified = VerifiedObjects()

#: what Bukti's own files are, by the extension it gave their keys
_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
}


class Copy(StrEnum):
    """Which archived copy of an item."""

    ORIGINAL = "original"
    RENDITION = "rendition"
    PREVIEW = "preview"


@dataclass(frozen=True)
class Media:
    """One archived object of an item, as it is to be served."""

    key: str
    sha256: str
    content_type: str
    is_original: bool
    filename: str


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def copy_url(evidence_id: int, copy: Copy, key: str) -> str:
    """The URL of one archived copy of an item, versioned by its content (the pages link
    these, so that browsers keep them)."""
    url = f"/api/v1/evidence/{evidence_id}/{copy.value}"
    sha256 = expected_sha256(key)
    return f"{url}?v={sha256[:VERSION_CHARS]}" if sha256 else url


def download_name(item: Evidence, copy: Copy, extension: str) -> str:
    """A file name that is safe in any header and file system: the teacher's name for it
    without anything odd, the extension from the real type, never from the client."""
    stem = (item.client_filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = _SAFE_NAME.sub("_", stem.rsplit(".", 1)[0]).strip("._")[:80]
    base = f"bukti-{item.id}" + (f"-{stem}" if stem else "")
    if copy is not Copy.ORIGINAL:
        base += f"-{copy.value}"
    return f"{base}.{extension}"


def media_of(item: Evidence, copy: Copy) -> Media:
    """The object to serve for ``copy``; 404 when the item has none (yet)."""
    key = {
        Copy.ORIGINAL: item.original_key,
        Copy.RENDITION: item.rendition_key,
        Copy.PREVIEW: item.preview_key,
    }[copy]
    if key is None:
        raise NotFoundError(f"evidence {item.id} has no archived {copy.value}")
    db = object_session(item)
    if db is not None and is_released(db, item.id, key):
        raise NotFoundError(
            f"the {copy.value} of evidence {item.id} was removed by retention; "
            f"GET /api/v1/evidence/{item.id} lists the copies held"
        )
    extension = key.rsplit(".", 1)[-1]
    if key == item.original_key:
        # an item without a rendition of its own serves its original: treated as one
        return Media(key, item.sha256, item.mime, True, download_name(item, copy, extension))
    sha256 = expected_sha256(key)
    if sha256 is None:
        raise CorruptObjectError(f"the archived object {key} names no SHA-256 to check it by")
    content_type = _TYPES.get(extension, "application/octet-stream")
    return Media(key, sha256, content_type, False, download_name(item, copy, extension))


def content_disposition(media: Media) -> str:
    """``attachment`` for originals, ``inline`` for Bukti's own files, with the safe name."""
    kind = "attachment" if media.is_original else "inline"
    return f"{kind}; filename=\"{media.filename}\"; filename*=UTF-8''{quote(media.filename)}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range (start, length) a ``Range`` header asks for; None for the whole.

    Raises :class:`ValueError` when the range cannot be satisfied (answered 416).
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None  # several ranges, or another unit: the whole object is a valid answer
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise ValueError("an empty suffix range")
            start = max(0, size - suffix)
            end = size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        raise ValueError(f"not a byte range: {header!r}") from None
    if start < 0 or start >= size or end < start:
        raise ValueError(f"{header!r} is outside the {size} bytes")
    return start, min(end, size - 1) - start + 1


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()


def _checked(store: ObjectStore, media: Media, item_id: int) -> int:
    """The object's size once its bytes match the record; logged and refused otherwise."""
    try:
        return _verified.check(store, media.key, media.sha256).size_bytes
    except CorruptObjectError as exc:
        log.error("evidence %d: refused to serve %s: %s", item_id, media.key, exc)
        raise


def _load(services: Services, who: Principal, evidence_id: int, copy: Copy) -> Media:
    with transaction(services.sessions) as db:
        item = visible_record(db, who, Evidence, evidence_id, "evidence")
        return media_of(item, copy)


_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "the bytes", "content": {"application/octet-stream": {}}},
    206: {"description": "the requested byte range"},
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    307: {"description": "a presigned S3 link (BUKTI_MEDIA_REDIRECT)"},
    404: {"description": "no such item for the caller, or no such copy of it"},
    416: {"description": "the range is outside the object"},
    502: {"description": "the archived bytes do not match their SHA-256"},
}


async def serve_media(
    evidence_id: int, copy: Copy, request: Request, who: Principal, services: Services
) -> Response:
    """Answer a request for one archived copy of an item (see the module's docstring)."""
    media = await run_in_threadpool(_load, services, who, evidence_id, copy)
    etag = f'"{media.sha256}"'
    versioned = request.query_params.get("v") == media.sha256[:VERSION_CHARS]
    headers = {
        "ETag": etag,
        "Cache-Control": _CACHE_VERSIONED if versioned else _CACHE_UNVERSIONED,
        "Content-Disposition": content_disposition(media),
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    if media.is_original:
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    store = services.store
    if services.settings.media_redirect:
        url = await run_in_threadpool(
            store.presigned_url,
            media.key,
            services.settings.media_redirect_ttl_s,
            media.content_type,
            headers["Content-Disposition"],
        )
        if url is not None:
            return RedirectResponse(url, 307, headers={"Cache-Control": "private, no-store"})
    size = await run_in_threadpool(_checked, store, media, evidence_id)
    if_range = request.headers.get("if-range")
    wanted = request.headers.get("range") if if_range in (None, etag) else None
    try:
        byte_range = parse_range(wanted, size)
    except ValueError:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    status, start, length = 200, 0, size
    if byte_range is not None:
        status, (start, length) = 206, byte_range
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media.content_type)
    if byte_range is None:
        stream = await run_in_threadpool(store.open, media.key)
    else:
        stream = await run_in_threadpool(store.open_range, media.key, start, length)
    return StreamingResponse(
        _chunks(stream), status_code=status, headers=headers, media_type=media.content_type
    )


def _route(copy: Copy, summary: str) -> None:
    async def endpoint(
        evidence_id: int, request: Request, who: PrincipalDep, services: ServicesDep
    ) -> Response:
        return await serve_media(evidence_id, copy, request, who, services)

    endpoint.__doc__ = (
        f"{summary}, scoped like the item: `ETag` is its SHA-256, HTTP Range is honoured."
    )
    path = f"/evidence/{{evidence_id}}/{copy.value}"
    router.add_api_route(
        path,
        endpoint,
        methods=["GET"],
        response_class=Response,
        responses=_RESPONSES,
        name=f"get_evidence_{copy.value}",
        operation_id=f"get_evidence_{copy.value}",
        summary=summary,
    )
    # HEAD answers the same headers without the bytes (players probe sizes with it)
    router.add_api_route(
        path, endpoint, methods=["HEAD"], response_class=Response, include_in_schema=False
    )


_route(Copy.ORIGINAL, "The archived original, as received (always a download)")
_route(Copy.RENDITION, "Bukti's rendition: a web-sized photo, an H.264 video, an optimised PDF")
_route(
    Copy.PREVIEW,
    "The preview: a photo's thumbnail, a video's poster frame, a document's first page",
)

"""Another file hidden after a photo's or a PDF's own end: a polyglot.

A JPEG ends at its EOI marker, a PNG at its IEND chunk, a PDF at its last ``%%EOF``;
viewers stop there, so whatever follows is invisible in the picture — and a ZIP, an HTML
page or a program put there makes the same file "be" something else to another reader.
Phones legitimately add trailers too (Google's and Samsung's motion photos append an MP4,
Samsung its SEFT block), so what is flagged is not "bytes after the end" but a *recognised
other format* there. Pure: bytes in, a finding out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidence.flags import Code, Flag, Phrase


@dataclass(frozen=True)
class Trailer:
    """What follows a file's own end: where that end is, how much follows, and what it is."""

    end_offset: int
    size_bytes: int
    payload: str


#: signatures of formats that have no business after a photo or PDF, and their names
_ANYWHERE = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "a Linux program"),
)
_MARKUP = (
    (b"<html", "an HTML page"),
    (b"<!doctype html", "an HTML page"),
    (b"<script", "a script"),
    (b"<svg", "an SVG image with markup"),
    (b"<?php", "a PHP script"),
    (b"<iframe", "an HTML page"),
)
_AT_START = (
    (b"MZ", "a Windows program"),
    (b"\x1f\x8b\x08", "a gzip archive"),
    (b"#!", "a script"),
)


def find_trailer(mime: str, data: bytes) -> Trailer | None:
    """Another format after ``data``'s own end, if there is one; None otherwise."""
    end = format_end(mime, data)
    if end is None or end >= len(data):
        return None
    tail = data[end:]
    payload = _recognise(tail)
    if payload is None:
        return None
    return Trailer(end, len(tail), payload)


def trailing_data_flag(mime: str, data: bytes) -> Flag | None:
    """The ``trailing_data`` flag for ``data``, when another format follows its end."""
    trailer = find_trailer(mime, data)
    if trailer is None:
        return None
    kind = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}[mime]
    return Flag.raise_(
        Code.TRAILING_DATA,
        f"{trailer.payload} follows the end of the {kind} ({_size(trailer.size_bytes)} "
        f"after byte {trailer.end_offset:,}): the file is something else to other programs",
        phrases=(
            Phrase(
                "trailing_data",
                {
                    "payload_word": trailer.payload,
                    "format": kind,
                    "size_bytes": trailer.size_bytes,
                    "offset_n": trailer.end_offset,
                },
            ),
        ),
    )


def format_end(mime: str, data: bytes) -> int | None:
    """Where the file's own data ends (the offset just past it); None if it cannot be told."""
    if mime == "image/jpeg":
        return _jpeg_end(data)
    if mime == "image/png":
        return _png_end(data)
    if mime == "application/pdf":
        return _pdf_end(data)
    return None


def _recognise(tail: bytes) -> str | None:
    stripped = tail.lstrip(b"\x00\r\n\t ")
    if not stripped:
        return None  # padding
    if stripped[4:8] == b"ftyp" or tail.endswith(b"SEFT"):
        return None  # a motion photo's video, Samsung's trailer: written by the phone
    for signature, name in _AT_START:
        if stripped.startswith(signature):
            return name
    for signature, name in _ANYWHERE:
        if signature in tail:
            return name
    lowered = tail.lower()
    for signature, name in _MARKUP:
        if signature in lowered:
            return name
    return None


_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg_end(data: bytes) -> int | None:
    """Past the EOI that closes the image: segments are skipped by their lengths, and the
    entropy-coded data after each SOS up to the next real marker (so an EXIF thumbnail's own
    EOI, inside a segment, is never taken for the end)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    size = len(data)
    while i + 1 < size:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            return i + 2
        if marker in _STANDALONE:
            i += 2
            continue
        if i + 4 > size:
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        i += 2 + length
        if marker == 0xDA:
            i = _after_scan(data, i)
    return None


#: a marker in entropy-coded data: 0xFF and a byte that is not a stuffed zero, a restart
#: marker or a fill byte (of fill bytes before a marker, the last 0xFF is the marker's)
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _after_scan(data: bytes, i: int) -> int:
    """The offset of the first marker after entropy-coded data starting at ``i``.

    One regular-expression search in C: a byte-by-byte loop over a 3 MB photo's ~12,000 stuffed
    0xFF bytes cost 3-5 ms of a worker's CPU per photo."""
    found = _MARKER_IN_SCAN.search(data, i)
    return len(data) if found is None else found.start()


def _png_end(data: bytes) -> int | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    i = 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        i += 12 + length
        if kind == b"IEND":
            return i
    return None


def _pdf_end(data: bytes) -> int | None:
    # incremental updates append after an %%EOF and end with their own: the last one counts
    mark = data.rfind(b"%%EOF")
    return None if mark < 0 else mark + 5


def _size(size_bytes: int) -> str:
    if size_bytes < 1024:
        return f"{size_bytes} bytes"
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.1f} KiB"
    return f"{size_bytes / 1024 / 1024:.1f} MiB"

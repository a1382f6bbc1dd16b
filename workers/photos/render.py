"""Rendering a decoded photo: the web rendition (or a small JPEG's own data, stripped of its
metadata) and the thumbnail, each a metadata-free JPEG written atomically.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from workers.photos.decode import DecodedPhoto

RENDITION_MIME = "image/jpeg"
THUMBNAIL_MIME = "image/jpeg"
#: JPEG quality of the thumbnail: 7-17 KB at 286x215 for the benches' and tests' 12 MP photos
THUMBNAIL_QUALITY = 75


@dataclass(frozen=True)
class Rendition:
    """The web-sized, metadata-free JPEG written for a photo."""

    width: int
    height: int
    size_bytes: int
    mime: str = RENDITION_MIME
    # True when the rendition is the original JPEG's own image data with its metadata stripped:
    # a small JPEG that re-encoding would only grow and blur.
    reused_original: bool = False
    #: hex SHA-256 of the bytes written, for a content-addressed key without reading them again
    sha256: str | None = None


@dataclass(frozen=True)
class Thumbnail:
    """The small, metadata-free JPEG the pages' lists show a photo by (its preview)."""

    width: int
    height: int
    size_bytes: int
    #: hex SHA-256 of the bytes written, for a content-addressed key without reading them again
    sha256: str
    mime: str = THUMBNAIL_MIME


# --- the rendition ----------------------------------------------------------------------------


def write_rendition(
    decoded: DecodedPhoto, original: mmap.mmap, out_path: Path, quality: int
) -> Rendition:
    """Encode the rendition (or reuse a small original JPEG's data) and write it atomically."""
    image = decoded.image
    data, reused = _jpeg(image, quality, decoded.icc_profile), False
    if decoded.is_reusable_jpeg:
        stripped = _strip_jpeg_metadata(original)
        if stripped is not None and len(stripped) <= len(data):
            data, reused = stripped, True
    _write_atomically(out_path, data)
    digest = hashlib.sha256(data).hexdigest()
    return Rendition(image.width, image.height, len(data), RENDITION_MIME, reused, digest)


def _jpeg(image: Image.Image, quality: int, icc_profile: bytes | None) -> bytes:
    """The image as a baseline JPEG that carries its colour profile and nothing else."""
    buffer = io.BytesIO()
    # No optimize=True (7 -> 22 ms on 2000x1500 for about 1 % fewer bytes) and no progressive
    # (+30 ms for 6 %): the encode is a sixth of the whole path. No exif, xmp or comment arguments:
    # nothing personal is copied.
    image.save(buffer, "JPEG", quality=quality, icc_profile=icc_profile)
    return buffer.getvalue()


# APP0 JFIF, APP2 ICC_PROFILE and APP14 Adobe (colour transform) say how to decode the pixels;
# every other APPn (EXIF and XMP with GPS, MPF, IPTC, maker blobs) and COM is metadata.
_KEPT_APP_PREFIXES = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}


def _strip_jpeg_metadata(data: mmap.mmap) -> bytes | None:
    """The original JPEG's own image data without its metadata segments, or None if unsuitable.

    Only for a JPEG that already fits the rendition and needs no rotation; the image data is
    copied byte for byte, so there is no second generation of compression loss. Anything after
    the first image's EOI (Samsung and Google motion-photo videos, MPF frames) is dropped.
    """
    layout = _jpeg_layout(data)
    if layout.end == 0 or not layout.segments:
        return None
    parts = [b"\xff\xd8"]
    for marker, start, end in layout.segments[:-1]:
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            prefix = _KEPT_APP_PREFIXES.get(marker)
            if prefix is None or not data[start + 4 : end].startswith(prefix):
                continue
        parts.append(data[start:end])
    parts.append(data[layout.segments[-1][1] : layout.end])
    return b"".join(parts)


@dataclass(frozen=True)
class _JpegLayout:
    """Header segments (marker, start, end) up to the first SOS, and the offset after EOI."""

    segments: list[tuple[int, int, int]]
    end: int  # 0 when the file stops before its EOI; -1 when the segments make no sense


# A marker inside entropy-coded data: 0xFF followed by anything but stuffing (0x00), a restart
# marker (0xD0-0xD7) or fill (0xFF).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI = 0xDA, 0xD9


def _jpeg_layout(data: mmap.mmap | bytes) -> _JpegLayout:
    """Walk a JPEG's segments to the EOI that ends its image data."""
    segments: list[tuple[int, int, int]] = []
    pos, size = 2, len(data)
    while True:  # the header: every segment carries its length
        if pos + 4 > size:
            return _JpegLayout(segments, 0)
        if data[pos] != 0xFF:
            return _JpegLayout(segments, -1)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == _EOI:  # an end before any image data
            return _JpegLayout(segments, -1)
        end = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
        segments.append((marker, pos, end))
        pos = end
        if marker == _SOS:
            break
    while True:  # scans; progressive files put tables and more scans between them
        found = _JPEG_MARKER.search(data, pos)
        if found is None:
            return _JpegLayout(segments, 0)
        start = found.start()
        if data[start + 1] == _EOI:
            return _JpegLayout(segments, start + 2)
        if start + 4 > size:
            return _JpegLayout(segments, 0)
        pos = start + 2 + struct.unpack_from(">H", data, start + 2)[0]


# --- the thumbnail ----------------------------------------------------------------------------


def write_thumbnail(
    small: Image.Image, icc_profile: bytes | None, out_path: Path, quality: int
) -> Thumbnail:
    """Encode the hashes' box-averaged copy (256-511 px, upright, no metadata) as the thumbnail.

    The copy is made anyway, so the thumbnail costs only its encode (~0.2 ms at 286x215): a
    box reduction of its own would cost 2 ms. The pages show it in squares of 64-96 CSS px:
    a 4:3 photo's short side (at least 192 px) fills them at 2 device pixels a CSS pixel.
    """
    data = _jpeg(small, quality, icc_profile)
    _write_atomically(out_path, data)
    return Thumbnail(small.width, small.height, len(data), hashlib.sha256(data).hexdigest())


def _write_atomically(out_path: Path, data: bytes) -> None:
    """Write data to out_path through a temporary file, so no half-written rendition is seen."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(tmp).replace(out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

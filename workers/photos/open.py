"""Opening a photo: its sniffed type, the pixel limit and the container's completeness, checked
before anything is decoded; the file mapped once for every later read of its bytes.
"""

from __future__ import annotations

import mmap
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

from bukti.errors import RejectedError
from evidence.sniff import HEAD_BYTES, Sniffed, sniff
from evidence.status import Kind

# HEIC is what iPhones (and more and more Android phones) save by default. Registering at import
# means once per worker process; Pillow keeps the opener in a global registry.
pillow_heif.register_heif_opener()

# media type -> (Pillow's format name, the name a teacher or reviewer reads in a reason)
_FORMATS = {
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/webp": ("WEBP", "WebP"),
    "image/heic": ("HEIF", "HEIC"),
    "image/heic-sequence": ("HEIF", "HEIC"),
    "image/heif": ("HEIF", "HEIF"),
    "image/avif": ("AVIF", "AVIF"),
}

# Everything Pillow and its plugins raise on hostile or broken bytes. MemoryError is left out on
# purpose: it is the machine's problem, not the file's, and must not reject an upload.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

# warnings.catch_warnings() swaps a process-wide filter list (Python < 3.14). Without this lock
# two threads opening photos at once could restore each other's filters and leave one installed.
_WARNINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class OpenedPhoto:
    """A photo opened for the steps: its header parsed, its bytes mapped, nothing decoded."""

    image: ImageFile.ImageFile
    sniffed: Sniffed
    #: the whole file, mapped read-only: the strict JPEG decode, the structure check, the
    #: metadata-stripped copy and the SHA-256 all read it, so the file is read from disk once
    data: mmap.mmap

    @property
    def format_name(self) -> str:
        """The format's name as a teacher or reviewer reads it in a reason (HEIC, WebP)."""
        return _FORMATS[self.sniffed.mime][1]


@contextmanager
def open_photo(
    path: Path, max_pixels: int | None, *, check_complete: bool = True
) -> Iterator[OpenedPhoto]:
    """The photo opened lazily (header only, nothing decoded), after the cheap refusals."""
    with path.open("rb") as f:
        sniffed = sniff(f.read(HEAD_BYTES))
        if sniffed is None:
            raise RejectedError(
                "not a photo: its bytes match no format Bukti accepts (JPEG, PNG, WebP, HEIC, AVIF)"
            )
        if sniffed.kind != Kind.PHOTO:
            raise RejectedError(f"not a photo: its bytes are a {sniffed.kind} ({sniffed.mime})")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            pillow_format, name = _FORMATS[sniffed.mime]
            # Before Image.open: some decoders fail on a cut file with a message that names no
            # cause (WebP: "could not create decoder object"), while the container says plainly
            # what is wrong.
            if check_complete and _is_complete(data, pillow_format) is False:
                raise RejectedError(f"truncated: the {name} file ends before its image data does")
            image = _open_header(path, pillow_format, name, max_pixels)
            try:
                width, height = image.size
                if max_pixels is not None and width * height > max_pixels:
                    dimensions = f"{width}x{height}"
                    raise RejectedError(_too_many_pixels(width * height, max_pixels, dimensions))
                yield OpenedPhoto(image, sniffed, data)
            finally:
                image.close()


def _open_header(
    path: Path, pillow_format: str, name: str, max_pixels: int | None
) -> ImageFile.ImageFile:
    """Image.open restricted to the sniffed format, with Pillow's bomb warning made an error."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                return Image.open(path, formats=[pillow_format])
            except Image.DecompressionBombWarning as warning:
                # Pillow's own limit (Image.MAX_IMAGE_PIXELS, process-wide) is passed. It
                # decides when it is the stricter one; otherwise the per-call limit, checked by
                # the caller on the header's size, does. Nothing has been decoded either way.
                if max_pixels is not None and max_pixels <= (Image.MAX_IMAGE_PIXELS or 0):
                    raise RejectedError(_too_many_pixels(_pixels_in(warning), max_pixels)) from None
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path, formats=[pillow_format])
    except Image.DecompressionBombError as exc:
        # Over twice Pillow's limit: refused inside Image.open, before any pixel is allocated.
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        if max_pixels is not None:
            limit = min(limit, max_pixels)
        raise RejectedError(_too_many_pixels(_pixels_in(exc), limit)) from None
    except UnidentifiedImageError:
        raise RejectedError(
            f"disguised: the first bytes claim {name}, but the rest is not {name} data"
        ) from None
    except DECODE_ERRORS as exc:
        raise decode_failure(exc, name) from None


def _pixels_in(message: BaseException) -> int | None:
    """The pixel count Pillow states in its decompression-bomb messages."""
    found = re.search(r"\((\d+) pixels\)", str(message))
    return int(found.group(1)) if found else None


def _too_many_pixels(pixels: int | None, limit: int, dimensions: str = "") -> str:
    size = f"{pixels / 1e6:.0f} megapixels" if pixels else "the image"
    if dimensions:
        size = f"{dimensions} ({size})"
    return (
        f"too large: {size} exceeds the limit of {limit / 1e6:.0f} megapixels "
        "(refused unread, as a possible decompression bomb)"
    )


def decode_failure(exc: BaseException, name: str) -> RejectedError:
    """The reason for a decoder's error, in words a teacher can act on."""
    text = str(exc).lower()
    if "truncat" in text or "end of file" in text or "premature end" in text:
        return RejectedError(f"truncated: the {name} file ends before its image data does")
    return RejectedError(f"not decodable: the {name} image data is corrupt ({exc})")


def _is_complete(data: mmap.mmap, pillow_format: str) -> bool | None:
    """True when the file's container runs to its end marker, False when the file stops short.

    None when the structure is unreadable before the end, or not checked (JPEG): that is for
    the decoder to name. Decoders do not catch every truncation: a PNG missing its IEND decodes
    fine. JPEGs are left to libjpeg-turbo's strict decode, which every path that reads their
    pixels takes: it names a JPEG cut short, cut and padded with zeros (an interrupted copy onto
    a pre-allocated file looks like that) or patched with a new end marker, which Pillow's
    lenient decode passes; walking the entropy-coded data for the end marker would cost another
    scan of the whole file (1.6 ms for a 4 MB photo).
    """
    if pillow_format == "JPEG":
        return None
    if pillow_format == "PNG":
        return _png_is_complete(data)
    if pillow_format == "WEBP":
        # RIFF: the size after the tag covers the rest of the file.
        return len(data) >= 8 and struct.unpack_from("<I", data, 4)[0] + 8 <= len(data)
    return _bmff_is_complete(data)


def _png_is_complete(data: mmap.mmap) -> bool | None:
    pos, size = 8, len(data)
    while pos + 8 <= size:
        length, chunk_type = struct.unpack_from(">I4s", data, pos)
        if not chunk_type.isalpha():
            return None
        pos += 12 + length
        if chunk_type == b"IEND":
            return bool(pos <= size)
    return False


def _bmff_is_complete(data: mmap.mmap) -> bool | None:
    """Whether the top-level boxes of a HEIF/AVIF file tile it to its end."""
    pos, size = 0, len(data)
    while pos + 8 <= size:
        box_size, box_type = struct.unpack_from(">I4s", data, pos)
        if box_size == 0:  # the last box runs to the end of the file
            return True
        if box_size == 1:  # a 64-bit size follows the type
            if pos + 16 > size:
                return False
            (box_size,) = struct.unpack_from(">Q", data, pos + 8)
        if box_size < 8 or not box_type.isascii():
            return None
        pos += box_size
    return True if pos == size else (False if pos > size else None)

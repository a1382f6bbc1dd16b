"""Photos: refuse what is not usable, read capture facts, render a web JPEG, hash; with Pillow.

:func:`process_photo` does all four, and makes the small thumbnail the pages show, with one
read of the file and one decode; the separate steps (:func:`validate_photo`,
:func:`extract_photo_facts`, :func:`render_photo`, :func:`hash_photo`) each reopen the file
and give the same facts, rendition and hashes.

JPEG is the hot path: a 12 MP phone JPEG is decoded once, strictly, by libjpeg-turbo with DCT
scaling straight to about the rendition's size (2000x1500), into a buffer Pillow then uses
without a copy; the rendition, the perceptual hashes and the EXIF thumbnail comparison all read
that one image, and the thumbnail is the hashes' own box-averaged copy of it, encoded. Other
formats are decoded by Pillow and shrunk by an integer box reduction (``Image.reduce``) first,
which costs a tenth of a Lanczos pass over the full image.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import re
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import imagehash
import pillow_heif
import simplejpeg
from PIL import (
    Image,
    ImageCms,
    ImageFile,
    ImageStat,
    JpegImagePlugin,
    UnidentifiedImageError,
)

from bukti.errors import RejectedError
from evidence.facts import CaptureFacts
from evidence.sniff import HEAD_BYTES, Sniffed, sniff
from evidence.status import Kind
from workers.phash import PerceptualHashes, grey_hashes, grey_of, reduced_colour
from workers.photos.metadata import (
    HEIF_MIMES,
    exif_thumbnail_bytes,
    parse_exif,
    raw_exif,
    read_facts,
    written_orientation,
)
from workers.photos.png_bands import reduced_png

# HEIC is what iPhones (and more and more Android phones) save by default. Registering at import
# means once per worker process; Pillow keeps the opener in a global registry.
pillow_heif.register_heif_opener()

RENDITION_MIME = "image/jpeg"
THUMBNAIL_MIME = "image/jpeg"
#: JPEG quality of the thumbnail: 7-17 KB at 286x215 for the benches' and tests' 12 MP photos
THUMBNAIL_QUALITY = 75

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

# A DCT-scaled decode (1/2, 1/4, 1/8) is taken when its long side is at least this share of the
# rendition's: a 4000x3000 photo becomes 2000x1500 with no resample at all. A full decode and a
# Lanczos pass to 2048x1536 costs five times the CPU (bench/photo_path.py) for 5 % more pixels
# and an SSIM-Y gain under 0.01.
_DCT_SCALE_MIN_FILL = 0.9

# Everything Pillow and its plugins raise on hostile or broken bytes. MemoryError is left out on
# purpose: it is the machine's problem, not the file's, and must not reject an upload.
_DECODE_ERRORS = (
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
class CheckedPhoto:
    """A photo that decoded completely: its sniffed type and its size as stored."""

    sniffed: Sniffed
    width: int
    height: int


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


@dataclass(frozen=True)
class PhotoHashes:
    """SHA-256 of the original file and perceptual hashes of the upright image."""

    sha256: str
    perceptual: PerceptualHashes
    #: as :attr:`PhotoResult.exif_thumbnail_distance`, for the separate :func:`hash_photo` step
    exif_thumbnail_distance: int | None = None


@dataclass(frozen=True)
class PhotoResult:
    """Everything :func:`process_photo` learnt and wrote about one photo."""

    checked: CheckedPhoto
    facts: CaptureFacts
    rendition: Rendition
    hashes: PhotoHashes
    #: pHash distance (of 64) between the image and its EXIF thumbnail, for the ``edited`` rule;
    #: None without a thumbnail or on a near-uniform picture
    exif_thumbnail_distance: int | None = None
    #: the small JPEG for the pages, when one was asked for
    thumbnail: Thumbnail | None = None


# --- the pipeline's steps ---------------------------------------------------------------------


def validate_photo(path: Path, max_pixels: int) -> CheckedPhoto:
    """Refuse, with a reason, a file that is no complete, decodable photo of at most max_pixels."""
    with _open_photo(path, max_pixels) as opened:
        image, sniffed = opened.image, opened.sniffed
        checked = CheckedPhoto(sniffed, *image.size)
        if isinstance(image, JpegImagePlugin.JpegImageFile):
            _decode_jpeg_strictly(opened.data)
        elif _in_bands(opened, 2048) is None:
            _load(image, sniffed)
    return checked


def extract_photo_facts(path: Path) -> CaptureFacts:
    """The capture facts in a photo's metadata; malformed values come back missing."""
    with _open_photo(path, max_pixels=None, check_complete=False) as opened:
        return read_facts(opened.image, opened.sniffed)


def render_photo(
    path: Path, out_path: Path, max_side_px: int = 2048, quality: int = 80
) -> Rendition:
    """Write an upright, metadata-free JPEG of long side at most max_side_px to out_path."""
    with _open_photo(path, max_pixels=None) as opened:
        return _render(_decode(opened, max_side_px), opened.data, out_path, quality)


def hash_photo(path: Path, max_side_px: int = 2048) -> PhotoHashes:
    """SHA-256 of the file and perceptual hashes of the upright, rendition-sized image."""
    with _open_photo(path, max_pixels=None) as opened:
        decoded = _decode(opened, max_side_px)
        return _hash(decoded, opened.data, reduced_colour(decoded.image))


def process_photo(
    path: Path,
    out_path: Path,
    *,
    max_pixels: int,
    max_side_px: int = 2048,
    quality: int = 80,
    thumbnail_path: Path | None = None,
    thumbnail_quality: int = THUMBNAIL_QUALITY,
) -> PhotoResult:
    """Validate, extract facts, render and hash a photo with one read and one decode; with
    ``thumbnail_path``, write its thumbnail there too.

    JPEGs are decoded strictly (libjpeg's warnings are errors) to catch the damage Pillow hides.
    """
    with _open_photo(path, max_pixels) as opened:
        image = opened.image
        checked = CheckedPhoto(opened.sniffed, *image.size)
        facts = read_facts(image, opened.sniffed)
        decoded = _decode(opened, max_side_px)
        rendition = _render(decoded, opened.data, out_path, quality)
        small = reduced_colour(decoded.image)
        hashes = _hash(decoded, opened.data, small)
        thumbnail = None
        if thumbnail_path is not None:
            thumbnail = _thumbnail(small, decoded.icc_profile, thumbnail_path, thumbnail_quality)
        distance = hashes.exif_thumbnail_distance
        return PhotoResult(checked, facts, rendition, hashes, distance, thumbnail)


# --- opening: type, size limit, completeness --------------------------------------------------


@dataclass(frozen=True)
class _Opened:
    """A photo opened for the steps: its header parsed, its bytes mapped, nothing decoded."""

    image: ImageFile.ImageFile
    sniffed: Sniffed
    #: the whole file, mapped read-only: the strict JPEG decode, the structure check, the
    #: metadata-stripped copy and the SHA-256 all read it, so the file is read from disk once
    data: mmap.mmap


@contextmanager
def _open_photo(
    path: Path, max_pixels: int | None, *, check_complete: bool = True
) -> Iterator[_Opened]:
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
                yield _Opened(image, sniffed, data)
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
    except _DECODE_ERRORS as exc:
        raise _decode_failure(exc, name) from None


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


def _decode_failure(exc: BaseException, name: str) -> RejectedError:
    """The reason for a decoder's error, in words a teacher can act on."""
    text = str(exc).lower()
    if "truncat" in text or "end of file" in text or "premature end" in text:
        return RejectedError(f"truncated: the {name} file ends before its image data does")
    return RejectedError(f"not decodable: the {name} image data is corrupt ({exc})")


def _load(image: ImageFile.ImageFile, sniffed: Sniffed) -> None:
    """Decode the image's pixels; broken data becomes a RejectedError."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow's default is False; a library that flips this process-wide switch would make
        # truncated photos decode with a grey bottom half and pass as evidence.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; photos cannot be checked")
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise _decode_failure(exc, _FORMATS[sniffed.mime][1]) from None


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


# --- decoding to rendition size ---------------------------------------------------------------


def _strict_jpeg_pixels(
    data: mmap.mmap, size: tuple[int, int], mode: str, scale: int
) -> Image.Image:
    """A JPEG's pixels at 1/``scale`` (DCT scaling), decoded with libjpeg's warnings as errors.

    Colour is decoded to RGBX, the layout Pillow keeps RGB in, so the pixels become a Pillow
    image without a copy (an RGB array would be repacked: 1.4 ms on 2000x1500).
    """
    # simplejpeg picks the smallest libjpeg scaling that still covers the minimum size: asking
    # for the 1/scale size, rounded up as libjpeg rounds, gets exactly Pillow's draft size
    width, height = (-(-side // scale) for side in size) if scale > 1 else (0, 0)
    try:
        pixels = simplejpeg.decode_jpeg(
            data,
            colorspace="GRAY" if mode == "L" else "RGBX",
            min_width=width,
            min_height=height,
            strict=True,
        )
    except ValueError as exc:
        raise _decode_failure(exc, "JPEG") from None
    decoded_size = (pixels.shape[1], pixels.shape[0])
    if mode == "L":
        return Image.frombuffer("L", decoded_size, pixels, "raw", "L", 0, 1)
    return Image.frombuffer("RGBX", decoded_size, pixels, "raw", "RGBX", 0, 1)


def _decode_jpeg_strictly(data: mmap.mmap) -> None:
    """Decode a JPEG with libjpeg's warnings as errors; refuse it if any is raised.

    Pillow decodes through libjpeg but swallows its warnings, so a JPEG cut short and given a
    new end marker, or with corrupt data mid-way, decoded as if whole (grey below the cut).
    simplejpeg (libjpeg-turbo) in strict mode raises on them. Scaled to 1/8 libjpeg still
    entropy-decodes every block, so the damage surfaces, but skips most of the inverse DCT.
    """
    try:
        width, height, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        # CMYK (Adobe) JPEGs only decode to CMYK; everything else is cheapest as grey. The
        # minimum size is what makes simplejpeg scale: min_factor alone decodes at full size.
        target = "CMYK" if colorspace in ("CMYK", "YCCK") else "GRAY"
        simplejpeg.decode_jpeg(
            data,
            colorspace=target,
            min_width=-(-width // 8),
            min_height=-(-height // 8),
            strict=True,
        )
    except ValueError as exc:
        raise _decode_failure(exc, "JPEG") from None


# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class _Decoded:
    """A photo decoded once for rendering and hashing, with what both need from its header.

    Only valid while the photo is open: closing an opened image frees its pixels, and ``image``
    may be that very object when nothing needed resizing or turning.
    """

    image: Image.Image  # upright, RGB or L, long side at most the rendition's, no metadata
    icc_profile: bytes | None
    raw_exif: bytes | None
    orientation: int  # as the camera wrote it (1 when none); the EXIF thumbnail needs it too
    sniffed: Sniffed
    is_reusable_jpeg: bool  # a JPEG that fits as it is: its own data can be the rendition


def _decode(opened: _Opened, max_side_px: int) -> _Decoded:
    """The one decode: DCT-scaled for JPEG, box-reduced for the rest, resized, turned upright."""
    image, sniffed = opened.image, opened.sniffed
    icc, exif_bytes = _icc_profile(image), raw_exif(image)
    exif = parse_exif(exif_bytes)
    orientation = written_orientation(image, sniffed, dict(exif) if exif is not None else {}) or 1
    # HEIF arrives upright from its decoder; every other format is turned here.
    to_apply = 1 if sniffed.mime in HEIF_MIMES else orientation
    reusable = (
        sniffed.mime == "image/jpeg"
        and orientation == 1
        and image.mode in ("RGB", "L")
        and max(image.size) <= max_side_px
    )
    reduced: Image.Image
    if isinstance(image, JpegImagePlugin.JpegImageFile) and image.mode in ("RGB", "L"):
        # libjpeg-turbo through simplejpeg, strictly: Pillow would hide a damaged JPEG
        scale = _dct_scale(image.size, max_side_px)
        reduced = _strict_jpeg_pixels(opened.data, image.size, image.mode, scale)
    else:
        if isinstance(image, JpegImagePlugin.JpegImageFile):
            _decode_jpeg_strictly(opened.data)  # CMYK: Pillow decodes it below, and hides damage
            scale = _dct_scale(image.size, max_side_px)
            if scale > 1:
                image.draft("RGB", (image.width // scale, image.height // scale))
        banded = _in_bands(opened, max_side_px)
        if banded is None:
            _load(image, sniffed)
            banded = _reduced_to_rgb_or_l(image, _box_factor(image.size, max_side_px))
        reduced = banded
    if max(reduced.size) > max_side_px:
        ratio = max_side_px / max(reduced.size)
        target = (max(1, round(reduced.width * ratio)), max(1, round(reduced.height * ratio)))
        reduced = reduced.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if to_apply in _TRANSPOSES:
        reduced = reduced.transpose(_TRANSPOSES[to_apply])
    # Resize and transpose copy ``info`` (EXIF, XMP, comments); the rendition must carry none.
    reduced.info = {}
    if icc is not None and (reduced.mode == "L") != (icc[16:20] == b"GRAY"):
        icc = None
    return _Decoded(reduced, icc, exif_bytes, orientation, sniffed, reusable)


def _dct_scale(size: tuple[int, int], max_side_px: int) -> int:
    """The largest JPEG DCT scaling (8, 4, 2) that keeps the image near rendition size, else 1."""
    long_side = max(size)
    for scale in (8, 4, 2):
        if -(-long_side // scale) >= max_side_px * _DCT_SCALE_MIN_FILL:
            return scale
    return 1


def _box_factor(size: tuple[int, int], max_side_px: int) -> int:
    """The largest integer reduction that keeps the image near rendition size, as _dct_scale.

    ``Image.reduce`` averages boxes of factor x factor pixels: a 4000x3000 HEIC or PNG goes to
    2000x1500 in 15 ms, where a Lanczos pass to 2048x1536 takes 250 ms for no visible gain.
    """
    long_side = max(size)
    factor = max(1, int(long_side // (max_side_px * _DCT_SCALE_MIN_FILL)))
    while factor > 1 and -(-long_side // factor) < max_side_px * _DCT_SCALE_MIN_FILL:
        factor -= 1
    return factor


#: PNGs of more pixels than this are decoded band by band (workers.photos.png_bands), which
#: costs 1.3-1.6x the CPU of a whole decode: whole, a 120 MP PNG takes 484 MB more (a worker
#: went from 190 to 730 MB), in bands 43 MB (bench/memory_photo.py). At this size a whole
#: decode takes under 100 MB.
PNG_BAND_MIN_PIXELS = 24_000_000


#: HEIFs of more pixels than this (all: it also spares a 12 MP HEIC 15 ms of CPU) are turned
#: into Pillow images a band at a time: libheif has no scaled decode, but its 3 bytes a pixel
#: need not be copied whole into Pillow's 4 (bench/memory_photo.py: a 50 MP HEIC took 360 MB
#: more, 260 MB in bands, most of it libheif's own planes while it decodes).
HEIF_BAND_MIN_PIXELS = 0
_HEIF_BAND_BYTES = 4 * 1024 * 1024


def _in_bands(opened: _Opened, max_side_px: int) -> Image.Image | None:
    """A big PNG or HEIF decoded, reduced and flattened a band at a time; else None."""
    width, height = opened.image.size
    factor = _box_factor((width, height), max_side_px)
    if opened.image.format == "PNG" and width * height > PNG_BAND_MIN_PIXELS:
        try:
            return reduced_png(opened.data, factor, _reduced_to_rgb_or_l)
        except (*_DECODE_ERRORS, zlib.error) as exc:
            raise _decode_failure(exc, "PNG") from None
    if opened.sniffed.mime in HEIF_MIMES and width * height > HEIF_BAND_MIN_PIXELS:
        try:
            return _heif_reduced(opened, factor)
        except _DECODE_ERRORS as exc:
            raise _decode_failure(exc, _FORMATS[opened.sniffed.mime][1]) from None
    return None


def _heif_reduced(opened: _Opened, factor: int) -> Image.Image | None:
    """The HEIF's primary image from libheif's buffer, box-reduced band by band."""
    # as the Pillow plugin opens it: 8-bit, upright (libheif applies the rotation and mirror)
    heif = pillow_heif.open_heif(opened.data[:], convert_hdr_to_8bit=True)
    frame = heif[heif.primary_index]
    if frame.mode not in ("RGB", "RGBA", "L"):  # known before decoding; the rest decode whole
        return None
    decoded = frame.data  # the decode
    mode, (width, height), stride = frame.mode, frame.size, frame.stride
    rows = max(1, _HEIF_BAND_BYTES // stride // factor) * factor
    result: Image.Image | None = None
    with memoryview(decoded) as pixels:
        for top in range(0, height, rows):
            count = min(rows, height - top)
            band = Image.frombytes(
                mode,
                (width, count),
                pixels[top * stride : (top + count) * stride],
                "raw",
                mode,
                stride,
            )
            reduced = _reduced_to_rgb_or_l(band, factor)
            if result is None:
                result = Image.new(reduced.mode, (reduced.width, -(-height // factor)))
            result.paste(reduced, (0, top // factor))
    # a decode of another size than the header's: decoded whole, as Pillow's plugin copes
    return result if (width, height) == opened.image.size else None


# Modes Image.reduce averages as they are; others (palette, bilevel, 16-bit) are converted first.
_REDUCIBLE_MODES = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")


def _reduced_to_rgb_or_l(image: Image.Image, factor: int) -> Image.Image:
    """The image box-reduced by factor, in a mode a JPEG holds; reduced first where it can be."""
    if factor > 1 and image.mode in _REDUCIBLE_MODES:
        return _to_rgb_or_l(image.reduce(factor))
    flat = _to_rgb_or_l(image)
    return flat.reduce(factor) if factor > 1 else flat


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    """The image in a mode a JPEG holds: transparency flattened on white, CMYK to RGB."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit PNGs (some scanners, HDR exports): keep the high byte, not a clipped low one.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    # Screenshots and stickers with transparency: white is what a viewer would show behind them.
    rgba = image.convert("RGBA")
    flattened = Image.new("RGB", rgba.size, (255, 255, 255))
    flattened.paste(rgba, mask=rgba.getchannel("A"))
    return flattened


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK (print-prepared JPEGs) to sRGB through the embedded profile when there is one."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (OSError, ValueError, ImageCms.PyCMSError):
            pass  # a broken profile: the plain conversion below is still a fair picture
    return image.convert("RGB")


def _icc_profile(image: Image.Image) -> bytes | None:
    """The colour profile the rendition keeps: RGB or grey ones (iPhones tag Display P3)."""
    icc = image.info.get("icc_profile")
    if not isinstance(icc, bytes) or len(icc) < 20:
        return None
    # The profile's colour space (bytes 16-19) must match the rendition's mode; a CMYK profile
    # is used up converting to sRGB.
    space = icc[16:20]
    if image.mode == "CMYK" or space not in (b"RGB ", b"GRAY"):
        return None
    return icc


# --- the rendition ----------------------------------------------------------------------------


def _render(decoded: _Decoded, original: mmap.mmap, out_path: Path, quality: int) -> Rendition:
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


# --- the thumbnail ----------------------------------------------------------------------------


def _thumbnail(
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


# --- hashes -----------------------------------------------------------------------------------


def _hash(decoded: _Decoded, original: mmap.mmap, small: Image.Image) -> PhotoHashes:
    """The original's SHA-256, the image's perceptual hashes and its distance to its thumbnail.

    ``small`` is :func:`~workers.phash.reduced_colour` of the decoded image; the near-duplicate
    hashes and the thumbnail comparison share its grey copy.
    """
    grey = grey_of(small)
    perceptual = grey_hashes(grey)
    distance = None
    if not perceptual.is_blank:
        aspect = decoded.image.width / decoded.image.height
        distance = _thumbnail_distance(grey, aspect, decoded.raw_exif, decoded.orientation)
    return PhotoHashes(hashlib.sha256(original).hexdigest(), perceptual, distance)


def _thumbnail_distance(
    grey: Image.Image, aspect: float, raw_exif: bytes | None, orientation: int
) -> int | None:
    """pHash distance between the image (shrunk, grey) and its EXIF thumbnail, both untrimmed.

    The near-duplicate hashes trim flat borders, and they trim a 160x120 thumbnail and the
    full image differently when a picture has sky or wall at its edge (measured: 2 % of
    untouched photos scored as edited). Here nothing is trimmed; only the letterbox bars a
    phone adds to a 4:3 thumbnail of a 16:9 photo are cut, from the aspect ratios alone.
    """
    raw = exif_thumbnail_bytes(raw_exif)
    if raw is None:
        return None
    try:
        with Image.open(io.BytesIO(raw), formats=["JPEG"]) as small:
            small.load()
            thumb = small.transpose(_TRANSPOSES[orientation]) if orientation > 1 else small
            thumb = _unletterboxed(thumb.convert("L"), aspect)
    except (*_DECODE_ERRORS, Image.DecompressionBombError):
        return None
    if ImageStat.Stat(grey).stddev[0] < _MIN_THUMBNAIL_CONTRAST:
        # a near-uniform picture (a wall, a sky) has no structure for an 8x8 DCT to compare:
        # a q75 thumbnail of it hashes as far from it as an edit does (the accuracy set)
        return None
    return int(imagehash.phash(grey) - imagehash.phash(thumb))


#: grey-level standard deviation under which thumbnails are not compared. Chosen on the
#: accuracy set (bench.verification_accuracy): flat wallpaper tiles measure 8.3-8.4, real photos
#: 20-80; at 12 two low-contrast crops went unnoticed, at 9 none did.
_MIN_THUMBNAIL_CONTRAST = 9.0


def _unletterboxed(thumb: Image.Image, aspect: float) -> Image.Image:
    """The part of a thumbnail that shows a picture of the given aspect ratio, centred."""
    width, height = thumb.size
    if width / height > aspect * 1.02:  # bars left and right
        inner = round(height * aspect)
        left = (width - inner) // 2
        return thumb.crop((left, 0, left + inner, height))
    if width / height < aspect / 1.02:  # bars above and below
        inner = round(width / aspect)
        top = (height - inner) // 2
        return thumb.crop((0, top, width, top + inner))
    return thumb

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

Here the steps are calls in order; each concept they call is a module of :mod:`workers.photos`:
``open`` (type, pixel limit, completeness), ``decode``, ``render`` (the rendition and the
thumbnail), ``hash`` and ``metadata`` (the capture facts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evidence.facts import CaptureFacts
from evidence.sniff import Sniffed
from workers.phash import reduced_colour
from workers.photos.decode import check_decodable, decode_photo
from workers.photos.hash import PhotoHashes, hash_decoded
from workers.photos.metadata import read_facts
from workers.photos.open import open_photo
from workers.photos.render import (
    THUMBNAIL_QUALITY,
    Rendition,
    Thumbnail,
    write_rendition,
    write_thumbnail,
)


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo that decoded completely: its sniffed type and its size as stored."""

    sniffed: Sniffed
    width: int
    height: int


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


def validate_photo(path: Path, max_pixels: int) -> CheckedPhoto:
    """Refuse, with a reason, a file that is no complete, decodable photo of at most max_pixels."""
    with open_photo(path, max_pixels) as opened:
        checked = CheckedPhoto(opened.sniffed, *opened.image.size)
        check_decodable(opened)
    return checked


def extract_photo_facts(path: Path) -> CaptureFacts:
    """The capture facts in a photo's metadata; malformed values come back missing."""
    with open_photo(path, max_pixels=None, check_complete=False) as opened:
        return read_facts(opened.image, opened.sniffed)


def render_photo(
    path: Path, out_path: Path, max_side_px: int = 2048, quality: int = 80
) -> Rendition:
    """Write an upright, metadata-free JPEG of long side at most max_side_px to out_path."""
    with open_photo(path, max_pixels=None) as opened:
        return write_rendition(decode_photo(opened, max_side_px), opened.data, out_path, quality)


def hash_photo(path: Path, max_side_px: int = 2048) -> PhotoHashes:
    """SHA-256 of the file and perceptual hashes of the upright, rendition-sized image."""
    with open_photo(path, max_pixels=None) as opened:
        decoded = decode_photo(opened, max_side_px)
        return hash_decoded(decoded, opened.data, reduced_colour(decoded.image))


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
    with open_photo(path, max_pixels) as opened:
        image = opened.image
        checked = CheckedPhoto(opened.sniffed, *image.size)
        facts = read_facts(image, opened.sniffed)
        decoded = decode_photo(opened, max_side_px)
        rendition = write_rendition(decoded, opened.data, out_path, quality)
        small = reduced_colour(decoded.image)
        hashes = hash_decoded(decoded, opened.data, small)
        thumbnail = None
        if thumbnail_path is not None:
            thumbnail = write_thumbnail(
                small, decoded.icc_profile, thumbnail_path, thumbnail_quality
            )
        distance = hashes.exif_thumbnail_distance
        return PhotoResult(checked, facts, rendition, hashes, distance, thumbnail)

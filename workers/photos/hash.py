"""Hashing a photo: the original's SHA-256, the decoded image's perceptual hashes and its
distance to the EXIF thumbnail the camera wrote.
"""

from __future__ import annotations

import hashlib
import io
import mmap
from dataclasses import dataclass

import imagehash
from PIL import Image, ImageStat

from workers.phash import PerceptualHashes, grey_hashes, grey_of
from workers.photos.decode import TRANSPOSES, DecodedPhoto
from workers.photos.metadata import exif_thumbnail_bytes
from workers.photos.open import DECODE_ERRORS


@dataclass(frozen=True)
class PhotoHashes:
    """SHA-256 of the original file and perceptual hashes of the upright image."""

    sha256: str
    perceptual: PerceptualHashes
    #: as :attr:`workers.photo.PhotoResult.exif_thumbnail_distance`, for the separate
    #: :func:`workers.photo.hash_photo` step
    exif_thumbnail_distance: int | None = None


def hash_decoded(decoded: DecodedPhoto, original: mmap.mmap, small: Image.Image) -> PhotoHashes:
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
            thumb = small.transpose(TRANSPOSES[orientation]) if orientation > 1 else small
            thumb = _unletterboxed(thumb.convert("L"), aspect)
    except (*DECODE_ERRORS, Image.DecompressionBombError):
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

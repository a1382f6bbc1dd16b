"""Perceptual hashes of photos, for near-duplicate detection (placeholder recipe)."""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
from PIL import Image


@dataclass(frozen=True)
class PerceptualHashes:
    """64-bit pHash and dHash of an image, as unsigned integers."""

    phash: int
    dhash: int


def perceptual_hashes(image: Image.Image) -> PerceptualHashes:
    """Hashes of an already orientation-corrected image."""
    return PerceptualHashes(
        phash=int(str(imagehash.phash(image)), 16),
        dhash=int(str(imagehash.dhash(image)), 16),
    )

"""Perceptual hashes of photos, for near-duplicate detection.

The recipe, tuned on real photos by ``bench/near_dup_accuracy.py``:

1. Shrink by box-averaging (``Image.reduce``) to 256-511 px on the long side and go grey: the
   hashes only look at 32x32 and 9x9 thumbnails, and this keeps a 2000x1500 photo at ~3 ms.
2. Trim the frame: uniform bars (letterbox) and a phone screenshot's furniture (status bar,
   title bar, chat background, navigation bar) around the photo, so that a screenshot of a
   photo hashes like the photo. Then inset 2 % on each side, so that what is left of a frame
   (a bubble's edge, JPEG ringing, a rotation's black corners) weighs little.
3. Hash the box three ways, each thresholded at its median (balanced, ~32 bits set): pHash
   (imagehash's definition) and a dHash along the rows and one down the columns.
4. Hash the mirror image the same way, so that a flipped copy is found.

:mod:`evidence.duplicates` holds the hash record and the policy that compares hashes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from evidence.duplicates import PerceptualHashes

# the hash record lives in the pure domain
__all__ = [
    "PerceptualHashes",
    "grey_hashes",
    "grey_of",
    "perceptual_hashes",
    "reduced_colour",
    "reduced_grey",
]

WORK_LONG_SIDE_PX = 256  # reduce by the largest integer factor that keeps this much
# A line (row or column) is part of a bar when 98 % of its pixels lie within 2 grey levels of
# its median: bars and screenshot backgrounds are flat but for JPEG noise, which the shrinking
# averages away. A looser test (8 levels, 90 %) also ate dark skies and star fields, and did so
# differently in each copy; a flat sky that does get trimmed is trimmed in its copies too.
FLAT_TOLERANCE = 2
FLAT_SHARE = 0.98
# Screenshot furniture (status bar, title bar, navigation bar, a chat's input bar) is a thin
# band of icons and text between flat bands: up to 12 % of the screen's height each.
THIN_BAND_SHARE = 0.12
GAP_MIN_LINES = 2  # a flat gap this thick separates furniture from the photo
MIN_BAR_SHARE = 0.03  # thinner "bars" are left alone: trimming them changes little, unstably
MIN_CONTENT_SHARE = 0.15  # a photo in a portrait screenshot can be as low as 18 % of its height
INSET_SHARE = 0.02
BLANK_STDDEV = 2.0  # grey levels over the 32x32 thumbnail: below it the picture is uniform

Box = tuple[float, float, float, float]


def _dct_matrix(size: int) -> npt.NDArray[np.float64]:
    frequencies = np.arange(size)[:, None]
    positions = np.arange(size)[None, :]
    return np.cos(np.pi * (2 * positions + 1) * frequencies / (2 * size))


_DCT_32 = _dct_matrix(32)


def perceptual_hashes(image: Image.Image) -> PerceptualHashes:
    """Hashes of an already orientation-corrected image (a rendition, at most ~2048 px)."""
    return grey_hashes(reduced_grey(image))


def grey_hashes(grey: Image.Image) -> PerceptualHashes:
    """Hashes of the shrunk grey copy :func:`reduced_grey` makes of an image."""
    box = _inset(content_box(np.asarray(grey, dtype=np.uint8)), INSET_SHARE)
    thumb = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS, box=box), np.float64)
    grid = np.asarray(grey.resize((9, 9), Image.Resampling.LANCZOS, box=box), np.float64)
    mirrored_thumb, mirrored_grid = thumb[:, ::-1], grid[:, ::-1]
    return PerceptualHashes(
        phash=_phash(thumb),
        dhash=_dhash_rows(grid),
        dhash_vertical=_dhash_cols(grid),
        phash_mirrored=_phash(mirrored_thumb),
        dhash_mirrored=_dhash_rows(mirrored_grid),
        dhash_vertical_mirrored=_dhash_cols(mirrored_grid),
        is_blank=bool(thumb.std() < BLANK_STDDEV),
    )


def reduced_grey(image: Image.Image) -> Image.Image:
    """The image box-averaged to 256-511 px on its long side, in grey (step 1 of the recipe)."""
    return grey_of(reduced_colour(image))


def reduced_colour(image: Image.Image) -> Image.Image:
    """The image box-averaged to 256-511 px on its long side, in L, RGB or RGBX.

    The shrinking of step 1 before the grey: a photo's job makes its thumbnail from it too.
    """
    if image.mode not in ("L", "RGB", "RGBX"):
        # Palette indexes cannot be averaged; alpha, CMYK and 16-bit modes are rare enough here.
        # RGBX (a JPEG as Bukti decodes it) is RGB with a pad byte: averaged and greyed alike.
        image = image.convert("RGB")
    factor = max(image.size) // WORK_LONG_SIDE_PX
    return image.reduce(factor) if factor > 1 else image


def grey_of(reduced: Image.Image) -> Image.Image:
    """:func:`reduced_colour`'s copy in grey, the copy the hashes read."""
    return reduced if reduced.mode == "L" else reduced.convert("L")


def content_box(pixels: npt.NDArray[np.uint8]) -> Box:
    """Left, top, right, bottom of the picture inside bars and screenshot furniture."""
    height, width = pixels.shape
    top, bottom, left, right = 0, height, 0, width
    for _ in range(3):  # a chat bubble's rows only read as flat once its columns are trimmed
        rows = _content_span(_is_content(pixels[top:bottom, left:right]))
        new_top, new_bottom = top + rows[0], top + rows[1]
        columns = _content_span(_is_content(pixels[new_top:new_bottom, left:right].T))
        new_left, new_right = left + columns[0], left + columns[1]
        if (new_top, new_bottom, new_left, new_right) == (top, bottom, left, right):
            break
        top, bottom, left, right = new_top, new_bottom, new_left, new_right
    if bottom - top < max(8, MIN_CONTENT_SHARE * height) or right - left < max(
        8, MIN_CONTENT_SHARE * width
    ):
        # Too little would be left: a plain picture with a small detail, not a framed photo.
        return 0.0, 0.0, float(width), float(height)
    return float(left), float(top), float(right), float(bottom)


def _is_content(lines: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    count = lines.shape[1]
    if count == 0:
        return np.zeros(lines.shape[0], dtype=bool)
    # Each line's median as np.median gives it (the mean of the middle two values for an even
    # count), from numpy's radix sort of 8-bit values: a third of np.median's time.
    ordered = np.sort(lines, axis=1, kind="stable")
    middle = ordered[:, (count - 1) // 2 : count // 2 + 1].astype(np.float32)
    median = middle.mean(axis=1, keepdims=True)
    flat_share = (np.abs(lines.astype(np.float32) - median) <= FLAT_TOLERANCE).mean(axis=1)
    return np.asarray(flat_share < FLAT_SHARE)


def _content_span(is_content: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """First and past-the-last line of content, with bars and thin furniture bands cut off."""
    count = len(is_content)
    runs = _runs(is_content)
    first, last = 0, len(runs) - 1
    while first <= last and _is_frame(
        runs[first], runs[first + 1] if first < last else None, count
    ):
        first += 2 if runs[first][0] else 1
    while first <= last and _is_frame(runs[last], runs[last - 1] if first < last else None, count):
        last -= 2 if runs[last][0] else 1
    if first > last:
        return 0, count
    start, stop = runs[first][1], runs[last][2]
    # Thin cuts are noise (a dark edge, a sky that happens to be flat): leave those sides alone.
    if start < MIN_BAR_SHARE * count:
        start = 0
    if count - stop < MIN_BAR_SHARE * count:
        stop = count
    return start, stop


def _is_frame(run: tuple[bool, int, int], inward: tuple[bool, int, int] | None, count: int) -> bool:
    is_content, start, stop = run
    if not is_content:
        return True
    # A thin band of content counts as furniture only when a flat gap separates it from the
    # rest; a photo's own edge never has one.
    if inward is None or stop - start > THIN_BAND_SHARE * count:
        return False
    gap_is_content, gap_start, gap_stop = inward
    return not gap_is_content and gap_stop - gap_start >= GAP_MIN_LINES


def _runs(values: npt.NDArray[np.bool_]) -> list[tuple[bool, int, int]]:
    """Maximal runs of equal values as (value, start, stop)."""
    if len(values) == 0:
        return []
    edges = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = [0, *edges.tolist()]
    stops = [*edges.tolist(), len(values)]
    return [(bool(values[start]), start, stop) for start, stop in zip(starts, stops, strict=True)]


def _inset(box: Box, share: float) -> Box:
    left, top, right, bottom = box
    dx, dy = (right - left) * share, (bottom - top) * share
    return left + dx, top + dy, right - dx, bottom - dy


def _phash(thumb: npt.NDArray[np.float64]) -> int:
    low = (_DCT_32 @ thumb @ _DCT_32.T)[:8, :8]
    return _packed(low > np.median(low))


def _dhash_rows(grid: npt.NDArray[np.float64]) -> int:
    rises = np.diff(grid[:8, :], axis=1)
    # Against the median rise, not zero: a smooth gradient (a sky, a lit wall) would otherwise
    # set all 64 bits alike and match every other smooth picture.
    return _packed(rises > np.median(rises))


def _dhash_cols(grid: npt.NDArray[np.float64]) -> int:
    rises = np.diff(grid[:, :8], axis=0)
    return _packed(rises > np.median(rises))


def _packed(bits: npt.NDArray[np.bool_]) -> int:
    """64 booleans, first = most significant bit, as imagehash orders them."""
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")

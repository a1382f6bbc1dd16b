"""The near-duplicate index, fed with real photos (scikit-image's bundled ones)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Collection
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from evidence.duplicates import PerceptualHashes
from storage.hash_index import HashIndex, NearMatch
from workers.phash import perceptual_hashes

PHOTOS = Path(skimage.__file__).parent / "data"
# Colour, grey, texture and document photos; each gets its index as its evidence id.
NAMES = (
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "hubble_deep_field.jpg",
    "motorcycle_left.png",
    "page.png",
    "rocket.jpg",
)


@cache
def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as image:
        return image.convert("RGB")


@cache
def stored(name: str) -> PerceptualHashes:
    return perceptual_hashes(photo(name))


@pytest.fixture(scope="module")
def index() -> HashIndex:
    index = HashIndex()
    index.add_many(list(range(len(NAMES))), [stored(name) for name in NAMES])
    return index


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def resized(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def cropped(image: Image.Image) -> Image.Image:
    w, h = image.size
    return image.crop((w * 3 // 100, h * 3 // 100, w - w * 2 // 100, h))


def letterboxed(image: Image.Image) -> Image.Image:
    w, h = image.size
    canvas = Image.new("RGB", (w + w // 2, h + h // 3), "black")
    canvas.paste(image, (w // 4, h // 6))
    return canvas


def screenshot(image: Image.Image) -> Image.Image:
    """The photo shown in a dark phone gallery: status bar, toolbar text, navigation bar."""
    screen = Image.new("RGB", (540, 1170), "black")
    draw = ImageDraw.Draw(screen)
    draw.text((20, 12), "07:12   4G", fill="white")
    draw.rectangle((470, 14, 510, 28), outline="white", width=2)
    draw.text((20, 60), "<  Hari ini 07:12", fill="white")
    for x in (140, 270, 400):
        draw.ellipse((x - 12, 1120, x + 12, 1144), outline="#cccccc", width=2)
    fitted = ImageOps.contain(image, (540, 900))
    screen.paste(fitted, ((540 - fitted.width) // 2, (1170 - fitted.height) // 2))
    return screen


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "recompressed": lambda image: jpeg(image, 55),
    "resized": resized,
    "brightened": lambda image: ImageEnhance.Brightness(image).enhance(1.15),
    "cropped": cropped,
    "rotated": lambda image: image.rotate(1.5, Image.Resampling.BICUBIC),
    "mirrored": ImageOps.mirror,
    "letterboxed": letterboxed,
    "screenshot": screenshot,
}


def query_with(
    index: HashIndex, image: Image.Image, exclude_ids: Collection[int] = (), limit: int = 10
) -> list[NearMatch]:
    return index.query(perceptual_hashes(image), exclude_ids=exclude_ids, limit=limit)


@pytest.mark.parametrize("copy", COPIES)
@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "motorcycle_left.png"])
def test_finds_the_original_of_a_recycled_copy(index: HashIndex, name: str, copy: str) -> None:
    matches = query_with(index, COPIES[copy](photo(name)))
    assert [match.evidence_id for match in matches] == [NAMES.index(name)]


def test_reports_that_a_mirrored_copy_matched_through_its_mirror_image(index: HashIndex) -> None:
    (match,) = query_with(index, ImageOps.mirror(photo("chelsea.png")))
    assert match.evidence_id == NAMES.index("chelsea.png")
    assert match.mirrored


def test_an_identical_photo_matches_at_distance_zero(index: HashIndex) -> None:
    (match,) = query_with(index, photo("rocket.jpg"))
    assert match == NearMatch(NAMES.index("rocket.jpg"), 0, 0, False)


@pytest.mark.parametrize("name", NAMES)
def test_does_not_match_different_real_photos(name: str) -> None:
    others = HashIndex()
    for evidence_id, other in enumerate(NAMES):
        if other != name:
            others.add(evidence_id, stored(other))
    assert query_with(others, photo(name)) == []
    assert query_with(others, jpeg(resized(photo(name)), 60)) == []


def test_flags_the_other_half_of_a_stereo_pair(index: HashIndex) -> None:
    # Shot at the same instant a few centimetres to the side: like a burst shot, one moment
    # handed in twice is what a reviewer should see, so it counts as a near duplicate.
    (match,) = query_with(index, photo("motorcycle_right.png"))
    assert match.evidence_id == NAMES.index("motorcycle_left.png")


def test_excluded_ids_are_left_out(index: HashIndex) -> None:
    coffee = NAMES.index("coffee.png")
    assert query_with(index, photo("coffee.png"), exclude_ids={coffee}) == []
    assert query_with(index, photo("coffee.png"), exclude_ids=[coffee + 1]) != []


def test_several_fingerprints_of_one_item_give_one_match_the_nearest() -> None:
    index = HashIndex()
    index.add(7, perceptual_hashes(jpeg(photo("coffee.png"), 50)))
    index.add(7, stored("coffee.png"))
    index.add(8, perceptual_hashes(cropped(photo("coffee.png"))))
    matches = query_with(index, photo("coffee.png"))
    assert [m.evidence_id for m in matches] == [7, 8]
    assert matches[0].distance == 0


def test_limit_keeps_the_nearest_matches() -> None:
    index = HashIndex()
    index.add(1, perceptual_hashes(cropped(photo("coffee.png"))))
    index.add(2, stored("coffee.png"))
    index.add(3, perceptual_hashes(jpeg(photo("coffee.png"), 50)))
    assert [m.evidence_id for m in query_with(index, photo("coffee.png"), limit=1)] == [2]
    assert query_with(index, photo("coffee.png"), limit=0) == []


def test_grows_from_a_tiny_capacity_and_keeps_every_row() -> None:
    rng = np.random.default_rng(0)
    index = HashIndex(initial_capacity=1)
    for batch in range(20):
        size = 1 + batch * 7
        index.add_columns(
            np.arange(size) + 10_000 * (batch + 1),
            rng.integers(0, 2**64, size, dtype=np.uint64),
            rng.integers(0, 2**64, size, dtype=np.uint64),
            rng.integers(0, 2**64, size, dtype=np.uint64),
        )
    index.add(42, stored("astronaut.png"))
    total = sum(1 + batch * 7 for batch in range(20)) + 1
    assert len(index) == total
    assert index.nbytes >= total * 32
    assert index.nbytes < 4 * total * 32  # doubling, not a copy per append
    assert [m.evidence_id for m in query_with(index, photo("astronaut.png"))] == [42]


def test_stores_and_finds_hashes_with_the_top_bit_set() -> None:
    top = PerceptualHashes((1 << 64) - 1, 1 << 63, (1 << 64) - 2, 0, 0, 0)
    index = HashIndex()
    index.add(5, top)
    assert index.query(top) == [NearMatch(5, 0, 0, False)]


def test_blank_pictures_are_neither_stored_nor_matched() -> None:
    black = perceptual_hashes(Image.new("RGB", (800, 600), "black"))
    grey = perceptual_hashes(Image.new("L", (640, 480), 128))
    assert black.is_blank and grey.is_blank
    index = HashIndex()
    index.add(1, black)
    assert len(index) == 0
    index.add(2, stored("camera.png"))
    assert index.query(grey) == []


def test_readers_see_consistent_results_while_a_writer_grows_the_index() -> None:
    rng = np.random.default_rng(1)
    index = HashIndex(initial_capacity=2)
    index.add(1, stored("chelsea.png"))
    query = stored("chelsea.png")
    failures: list[list[NearMatch]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            result = index.query(query)
            if not result or result[0].evidence_id != 1:
                failures.append(result)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for _ in range(200):
        index.add_columns(
            rng.integers(2, 2**40, 64),
            rng.integers(0, 2**64, 64, dtype=np.uint64),
            rng.integers(0, 2**64, 64, dtype=np.uint64),
            rng.integers(0, 2**64, 64, dtype=np.uint64),
        )
    done.set()
    for reader in readers:
        reader.join()
    assert failures == []
    assert len(index) == 1 + 200 * 64


def test_rejects_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="length"):
        HashIndex().add_columns([1, 2], [1, 2], [1], [1, 2])

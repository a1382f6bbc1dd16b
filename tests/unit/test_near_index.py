"""The banded near-duplicate index: band and probe logic, and lookups of real photos.

Lookups run on an in-memory SQLite holding only the index table (its rows need no items);
tests/integration/test_duplicates_db.py runs them on PostgreSQL through the worker's code.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
import skimage
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from evidence.duplicates import Fingerprint, PerceptualHashes, compare, hamming
from storage import near_index
from storage.models import PerceptualHashRow
from storage.near_index import NearMatch
from tests.fixtures.photos import VARIED_SAMPLES as NAMES
from workers.phash import perceptual_hashes

PHOTOS = Path(skimage.__file__).parent / "data"
U64 = (1 << 64) - 1


@cache
def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as image:
        return image.convert("RGB")


@cache
def stored(name: str) -> PerceptualHashes:
    return perceptual_hashes(photo(name))


@pytest.fixture
def empty() -> Iterator[Session]:
    with near_index.memory_index() as session:
        yield session


@pytest.fixture(scope="module")
def index() -> Iterator[Session]:
    """Every picture of NAMES indexed, its evidence id its place in NAMES."""
    with near_index.memory_index() as session:
        for evidence_id, name in enumerate(NAMES):
            near_index.register(session, evidence_id, stored(name))
        yield session


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


def query_with(session: Session, image: Image.Image, **options: object) -> list[NearMatch]:
    return near_index.lookup(session, perceptual_hashes(image), **options)  # type: ignore[arg-type]


# --- bands and probes ----------------------------------------------------------------------


def test_the_bands_cut_each_hash_into_21_21_and_22_bits() -> None:
    fingerprint = Fingerprint(U64, 0, 1 << 63 | 1)
    assert near_index.bands(fingerprint) == (
        (1 << 21) - 1,
        (1 << 21) - 1,
        (1 << 22) - 1,
        0,
        0,
        0,
        1 << 20,
        0,
        1,
    )
    assert sum(near_index.band_width(band) for band in range(near_index.BAND_COUNT)) == 192


def test_the_bands_put_every_bit_back_together() -> None:
    rng = random.Random(3)
    for _ in range(200):
        value = rng.getrandbits(64)
        rebuilt = 0
        for width, band in zip(near_index.BAND_WIDTHS, near_index.hash_bands(value), strict=True):
            assert 0 <= band < 1 << width
            rebuilt = rebuilt << width | band
        assert rebuilt == value


def test_neighbours_are_the_values_within_the_radius() -> None:
    found = near_index.neighbours(0b1010, 4)
    assert found == {0b1010, 0b1011, 0b1000, 0b1110, 0b0010}
    assert len(near_index.neighbours(12345, 21)) == 22
    assert len(near_index.neighbours(12345, 21, radius=2)) == 1 + 21 + 210
    assert near_index.neighbours(7, 21, radius=0) == {7}


def test_a_lookup_probes_402_values_for_a_photo_and_its_mirror_image() -> None:
    hashes = stored("astronaut.png")
    per_band = near_index.probes((hashes.fingerprint, hashes.mirrored_fingerprint))
    assert sum(len(values) for values in per_band) <= 2 * (6 * 22 + 3 * 23)
    for band, values in enumerate(per_band):
        assert near_index.bands(hashes.fingerprint)[band] in values
        assert near_index.bands(hashes.mirrored_fingerprint)[band] in values


def flip(value: int, bits: list[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def test_every_fingerprint_within_17_bits_shares_a_probed_band() -> None:
    # the pigeonhole guarantee: 9 bands, so 17 differing bits leave a band with at most 1
    rng = random.Random(5)
    for _ in range(2000):
        query = Fingerprint(rng.getrandbits(64), rng.getrandbits(64), rng.getrandbits(64))
        bits = rng.sample(range(192), rng.randint(0, 17))
        whole = query.phash << 128 | query.dhash << 64 | query.dhash_vertical
        other = flip(whole, bits)
        stored_print = Fingerprint(other >> 128, other >> 64 & U64, other & U64)
        assert compare(query, stored_print).distance == len(bits)
        per_band = near_index.probes([query])
        assert any(
            value in per_band[band] for band, value in enumerate(near_index.bands(stored_print))
        )


def test_signed_storage_keeps_every_bit() -> None:
    for value in (0, 1, (1 << 63) - 1, 1 << 63, U64):
        signed = near_index.to_signed(value)
        assert -(1 << 63) <= signed < 1 << 63
        assert near_index.to_unsigned(signed) == value


def random_hashes(rng: random.Random) -> PerceptualHashes:
    a, b, c, d, e, f = (rng.getrandbits(64) for _ in range(6))
    return PerceptualHashes(a, b, c, d, e, f)


def test_two_photos_a_lookup_can_connect_share_a_lock_bucket() -> None:
    rng = random.Random(9)
    for _ in range(300):
        a = random_hashes(rng)
        bits = rng.sample(range(192), rng.randint(0, 17))
        whole = flip(a.phash << 128 | a.dhash << 64 | a.dhash_vertical, bits)
        b = PerceptualHashes(whole >> 128, whole >> 64 & U64, whole & U64, 0, 0, 0)
        a_own, a_probed = near_index.lock_keys(a)
        b_own, b_probed = near_index.lock_keys(b)
        # whichever registers second waits for the first: an exclusive bucket meets the other's
        assert a_own & (b_own | b_probed) or b_own & (a_own | a_probed)


def test_unrelated_photos_rarely_share_a_lock_bucket() -> None:
    rng = random.Random(11)
    keys = []
    for _ in range(200):
        hashes = random_hashes(rng)
        keys.append(near_index.lock_keys(hashes))
    conflicts = sum(
        bool(a_own & (b_own | b_probed))
        for i, (a_own, _) in enumerate(keys)
        for b_own, b_probed in keys[i + 1 :]
    )
    pairs = len(keys) * (len(keys) - 1) // 2
    assert conflicts / pairs < 0.1


def test_a_blank_picture_takes_no_lock() -> None:
    black = perceptual_hashes(Image.new("RGB", (800, 600), "black"))
    assert near_index.lock_keys(black) == (set(), set())


# --- lookups of real photos --------------------------------------------------------------


@pytest.mark.parametrize("copy", COPIES)
@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "motorcycle_left.png"])
def test_finds_the_original_of_a_recycled_copy(index: Session, name: str, copy: str) -> None:
    matches = query_with(index, COPIES[copy](photo(name)))
    assert [match.evidence_id for match in matches] == [NAMES.index(name)]


def test_reports_that_a_mirrored_copy_matched_through_its_mirror_image(index: Session) -> None:
    (match,) = query_with(index, ImageOps.mirror(photo("chelsea.png")))
    assert match.evidence_id == NAMES.index("chelsea.png")
    assert match.mirrored


def test_an_identical_photo_matches_at_distance_zero(index: Session) -> None:
    (match,) = query_with(index, photo("rocket.jpg"))
    assert match == NearMatch(NAMES.index("rocket.jpg"), 0, 0, False)


@pytest.mark.parametrize("name", NAMES)
def test_does_not_match_different_real_photos(empty: Session, name: str) -> None:
    for evidence_id, other in enumerate(NAMES):
        if other != name:
            near_index.register(empty, evidence_id, stored(other))
    assert query_with(empty, photo(name)) == []
    assert query_with(empty, jpeg(resized(photo(name)), 60)) == []


def test_flags_the_other_half_of_a_stereo_pair(index: Session) -> None:
    # Shot at the same instant a few centimetres to the side: like a burst shot, one moment
    # handed in twice is what a reviewer should see, so it counts as a near duplicate.
    (match,) = query_with(index, photo("motorcycle_right.png"))
    assert match.evidence_id == NAMES.index("motorcycle_left.png")


def test_excluded_ids_are_left_out(index: Session) -> None:
    coffee = NAMES.index("coffee.png")
    assert query_with(index, photo("coffee.png"), exclude_ids={coffee}) == []
    assert query_with(index, photo("coffee.png"), exclude_ids=[coffee + 1]) != []


def test_registering_again_overwrites_the_row(empty: Session) -> None:
    near_index.register(empty, 7, perceptual_hashes(jpeg(photo("coffee.png"), 50)))
    near_index.register(empty, 7, stored("coffee.png"))
    assert empty.scalar(select(PerceptualHashRow.evidence_id)) == 7
    assert query_with(empty, photo("coffee.png")) == [NearMatch(7, 0, 0, False)]


def test_limit_keeps_the_nearest_matches(empty: Session) -> None:
    near_index.register(empty, 1, perceptual_hashes(cropped(photo("coffee.png"))))
    near_index.register(empty, 2, stored("coffee.png"))
    near_index.register(empty, 3, perceptual_hashes(jpeg(photo("coffee.png"), 50)))
    assert [m.evidence_id for m in query_with(empty, photo("coffee.png"), limit=1)] == [2]
    assert query_with(empty, photo("coffee.png"))[0].evidence_id == 2
    assert query_with(empty, photo("coffee.png"), limit=0) == []


def test_stores_and_finds_hashes_with_the_top_bit_set(empty: Session) -> None:
    top = PerceptualHashes(U64, 1 << 63, U64 - 1, 0, 0, 0)
    near_index.register(empty, 5, top)
    assert near_index.lookup(empty, top) == [NearMatch(5, 0, 0, False)]


def test_finds_a_copy_with_its_differences_spread_thinly(empty: Session) -> None:
    original = stored("astronaut.png").fingerprint
    near_index.register(empty, 1, near_index.stored_hashes(original))
    # 17 bits, each band but one off by two: only the band within one bit connects them
    whole = original.phash << 128 | original.dhash << 64 | original.dhash_vertical
    bits = [0, 5, 22, 30, 43, 50, 64, 70, 86, 90, 107, 113, 128, 131, 150, 155, 171]
    query = flip(whole, bits)
    hashes = near_index.stored_hashes(Fingerprint(query >> 128, query >> 64 & U64, query & U64))
    assert hamming(whole, query) == 17
    assert [m.evidence_id for m in near_index.lookup(empty, hashes)] == [1]


def test_blank_pictures_are_neither_stored_nor_matched(empty: Session) -> None:
    black = perceptual_hashes(Image.new("RGB", (800, 600), "black"))
    grey = perceptual_hashes(Image.new("L", (640, 480), 128))
    assert black.is_blank and grey.is_blank
    assert near_index.register(empty, 1, black) is False
    assert empty.scalar(select(PerceptualHashRow.evidence_id)) is None
    near_index.register(empty, 2, stored("camera.png"))
    assert near_index.lookup(empty, grey) == []


def test_an_array_literal_is_postgresqls_text_form_of_the_sorted_integers() -> None:
    assert near_index.array_literal({3, -1, 2}) == "{-1,2,3}"
    assert near_index.array_literal([]) == "{}"


def test_a_json_list_is_sqlites_text_form_of_the_sorted_integers() -> None:
    assert near_index.json_list({3, -1, 2}) == "[-1,2,3]"
    assert near_index.json_list([]) == "[]"


def test_sqlites_lookup_takes_each_band_as_one_parameter() -> None:
    # a list parameter would be written into the statement's text again on every lookup
    compiled = near_index.lookup_statement(False, False).compile(dialect=sqlite.dialect())
    assert set(compiled.binds) == {f"band_{band}" for band in range(9)} | {"exclude"}
    assert not any(bind.expanding for bind in compiled.binds.values())

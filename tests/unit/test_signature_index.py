"""The signature index of documents and videos: its keys, the banding's guarantee, its lookup."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from evidence.text_duplicates import (
    LSH_BANDS,
    PERMUTATIONS,
    TextSignature,
    band_recall,
    estimate_jaccard,
    is_near_duplicate,
    min_equal_values,
    text_signature,
)
from evidence.video_duplicates import VideoHashes, near_duplicate_match
from storage import near_index, signature_index
from storage.models import SignatureKeyRow
from tests.fixtures.documents import lesson_pages
from tests.fixtures.frame_hashes import random_video, reencoded, trimmed
from tests.fixtures.photos import sample
from workers.phash import perceptual_hashes


def document(seed: int, pages: int = 20) -> TextSignature:
    signature = text_signature("\n".join(lesson_pages(pages, seed=seed)))
    assert signature is not None
    return signature


def one_page_changed(seed: int) -> TextSignature:
    pages = lesson_pages(20, seed=seed)
    pages[7] = lesson_pages(1, seed=seed + 500)[0]
    signature = text_signature("\n".join(pages))
    assert signature is not None
    return signature


@pytest.fixture
def index() -> Iterator[Session]:
    """A private in-memory SQLite holding only the index table (no items behind its rows)."""
    engine = create_engine("sqlite://")
    SignatureKeyRow.__table__.create(engine)  # type: ignore[attr-defined]
    with Session(engine) as session:
        yield session
    engine.dispose()


# --- the banding's guarantee ------------------------------------------------------------------


def test_a_pair_the_policy_accepts_shares_a_band_with_probability_099_or_more() -> None:
    fewest = min_equal_values()
    assert fewest == 77  # 0.6 of 128 values, rounded up
    assert 76 / PERMUTATIONS < 0.6 <= fewest / PERMUTATIONS
    recall = [band_recall(same, 128 // LSH_BANDS, LSH_BANDS) for same in range(fewest, 129)]
    assert recall == sorted(recall)  # more equal values, likelier found
    assert recall[0] == pytest.approx(0.9966, abs=1e-4)
    assert recall[-1] == 1.0


def test_band_recall_is_the_share_of_placements_found() -> None:
    # every placement of `same` equal values among 8, bands of 2: counted one by one
    for same in range(9):
        placements = list(itertools.combinations(range(8), same))
        found = sum(
            any({2 * band, 2 * band + 1} <= set(equal) for band in range(4)) for equal in placements
        )
        assert band_recall(same, 2, 4, values=8) == pytest.approx(found / len(placements))
    with pytest.raises(ValueError):
        band_recall(5, 3, 3, values=8)


def test_pairs_at_the_threshold_are_found_through_the_products_keys() -> None:
    # signatures with exactly 77 of 128 values equal, the equal ones anywhere: the policy
    # accepts every such pair, and the keys of 32 bands find all but ~0.34 % of them
    rng = random.Random(8)
    trials, found = 3000, 0
    for _ in range(trials):
        a = [rng.getrandbits(32) for _ in range(PERMUTATIONS)]
        b = [value ^ (1 + rng.getrandbits(31)) for value in a]  # every value differs...
        for position in rng.sample(range(PERMUTATIONS), min_equal_values()):
            b[position] = a[position]  # ...but 77
        first, second = TextSignature(tuple(a), 500), TextSignature(tuple(b), 500)
        assert is_near_duplicate(first, second)
        found += bool(signature_index.text_keys(first) & signature_index.text_keys(second))
    assert found / trials >= 0.99
    assert found / trials == pytest.approx(band_recall(77, 4, 32), abs=0.005)


# --- keys -------------------------------------------------------------------------------------


def test_a_text_has_one_key_a_band_and_a_copy_shares_some() -> None:
    original, copy, other = document(1), one_page_changed(1), document(2)
    assert estimate_jaccard(original, copy) >= 0.6
    keys = signature_index.text_keys(original)
    assert len(keys) == LSH_BANDS
    assert keys & signature_index.text_keys(copy)
    assert not keys & signature_index.text_keys(other)
    assert all(-(2**63) <= key < 2**63 for key in keys)  # a BIGINT


def keys_of(video: VideoHashes) -> list[int]:
    return sorted({k for f in video.frames if f for k in signature_index.frame_keys(f)})


def test_a_videos_sketch_is_its_64_smallest_frame_keys_and_its_first_minutes() -> None:
    minute = random_video(5)  # 120 samples: all of it is the head
    assert len(keys_of(minute)) == 4 * 120
    assert signature_index.video_keys(minute) == set(keys_of(minute)[:64])
    assert len(signature_index.video_keys(trimmed(minute, end_s=58))) == 4 * 4  # 4 frames left
    ten_minutes = random_video(6, 1200)
    head = VideoHashes(2.0, ten_minutes.frames[:120])
    assert signature_index.video_keys(ten_minutes) == set(keys_of(ten_minutes)[:64]) | set(
        keys_of(head)[:64]
    )
    assert len(signature_index.video_keys(ten_minutes)) <= 2 * signature_index.VIDEO_SKETCH


@pytest.mark.parametrize("seed", range(10))
def test_a_short_excerpt_of_a_long_videos_start_shares_a_key(seed: int) -> None:
    # a 20 s excerpt from within the first 15 s of 10 minutes: the policy accepts it, and its
    # keys are few of the long video's; the heads' sketches meet
    long = random_video(100 + seed, 1200)
    excerpt = trimmed(reencoded(long, bits=2, seed=seed), start_s=seed, end_s=580 - seed)
    assert near_duplicate_match(long, excerpt) is not None
    assert signature_index.video_keys(long) & signature_index.video_keys(excerpt)


def test_a_reencoded_trimmed_copy_shares_its_sketch_and_another_video_does_not() -> None:
    original = random_video(6)
    for copy in (
        reencoded(original, bits=2, seed=1),
        trimmed(reencoded(original, bits=1, seed=2), start_s=5, end_s=8),
    ):
        assert near_duplicate_match(original, copy) is not None
        assert signature_index.video_keys(original) & signature_index.video_keys(copy)
    assert not signature_index.video_keys(original) & signature_index.video_keys(random_video(7))


def test_flat_frames_have_no_keys() -> None:
    flat = VideoHashes(2.0, (None,) * 10)
    assert signature_index.video_keys(flat) == frozenset()
    assert signature_index.signature_of("video", {"video": flat.to_json()}) is None


def test_what_each_kind_is_stored_and_looked_up_under() -> None:
    text = document(3)
    page = perceptual_hashes(sample("page"))
    blank = perceptual_hashes(Image.new("RGB", (595, 842), "white"))
    video = random_video(8)
    of = signature_index.signature_of
    by_text = of("document", {"text": text.to_json(), "preview": page.to_json()})
    assert by_text is not None and by_text.page is None
    assert by_text.stored == by_text.probed == signature_index.text_keys(text)
    by_page = of("document", {"text": None, "preview": page.to_json()})
    assert by_page is not None and by_page.page == page
    assert len(by_page.stored) == near_index.BAND_COUNT and by_page.stored < by_page.probed
    assert len(by_page.probed) == 402  # each band and its one-bit neighbours, both views
    by_video = of("video", {"video": video.to_json()})
    assert by_video is not None and by_video.stored == signature_index.video_keys(video)
    assert of("document", {"text": None, "preview": blank.to_json()}) is None
    assert of("document", {"text": None}) is None
    assert of("document", None) is None
    assert of("photo", {"text": text.to_json()}) is None


# --- lookup and locks -------------------------------------------------------------------------


def test_a_lookup_reads_only_the_rows_of_its_keys(index: Session) -> None:
    for evidence_id in range(1, 201):
        signature_index.register(
            index, evidence_id, signature_index.video_keys(random_video(evidence_id, 40))
        )
    original = random_video(1077, 40)
    signature_index.register(index, 1000, signature_index.video_keys(original))
    stored = index.scalar(select(func.count()).select_from(SignatureKeyRow))
    assert stored == 201 * signature_index.VIDEO_SKETCH
    probed = signature_index.video_keys(reencoded(original, bits=1))
    ((found, shared),) = signature_index.lookup(index, probed)
    assert found == 1000 and shared > 0
    assert signature_index.rows_read(index, probed) == shared  # no unrelated row
    assert signature_index.lookup(index, probed, exclude_ids=[1000]) == []


def test_candidates_come_most_shared_first_and_registering_again_replaces(index: Session) -> None:
    keys = sorted(signature_index.text_keys(document(4)))
    signature_index.register(index, 1, keys[:3])
    signature_index.register(index, 2, keys[:10])
    signature_index.register(index, 3, keys[20:21])
    assert signature_index.lookup(index, keys) == [(2, 10), (1, 3), (3, 1)]
    signature_index.register(index, 2, keys[30:])
    assert signature_index.lookup(index, keys) == [(1, 3), (2, 2), (3, 1)]
    assert signature_index.lookup(index, []) == []


def test_items_that_can_find_each_other_meet_on_a_lock() -> None:
    def locks(signature: TextSignature) -> set[tuple[int, int]]:
        found = signature_index.signature_of("document", {"text": signature.to_json()})
        assert found is not None
        exclusive, shared = signature_index.lock_keys(found)
        assert shared == set() and len(exclusive) == LSH_BANDS
        assert all(-(2**31) <= value < 2**31 for _, value in exclusive)  # int4 keys
        return exclusive

    assert locks(document(5)) & locks(one_page_changed(5))
    assert not locks(document(5)) & locks(document(6))
    page = perceptual_hashes(sample("page"))
    scan = signature_index.signature_of("document", {"text": None, "preview": page.to_json()})
    assert scan is not None
    assert signature_index.lock_keys(scan) == near_index.lock_keys(page)

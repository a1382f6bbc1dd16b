"""Frame-hash sequences: a re-encoded, rescaled or trimmed copy matches; another video does not.

Sequences are synthetic here (random 64-bit hashes, bits flipped as re-encoding does: see
tests/fixtures/frame_hashes.py); the integration tests run the same comparison on hashes of
real clips.
"""

from __future__ import annotations

import pytest

from evidence.video_duplicates import (
    FrameHash,
    VideoHashes,
    VideoMatchPolicy,
    best_alignment,
    hamming_distance,
    near_duplicate_match,
)
from tests.fixtures.frame_hashes import RATE, random_video, reencoded, trimmed


def test_hamming_distance_counts_differing_bits() -> None:
    assert hamming_distance(0, 0) == 0
    assert hamming_distance(0b1011, 0b0001) == 2
    assert hamming_distance(0, 2**64 - 1) == 64


def test_a_video_matches_itself_at_offset_zero() -> None:
    video = random_video(1)
    match = near_duplicate_match(video, video)
    assert match is not None
    assert (match.offset_s, match.matched, match.compared) == (0.0, 120, 120)


def test_a_reencoded_copy_is_a_near_duplicate() -> None:
    original = random_video(2)
    match = near_duplicate_match(original, reencoded(original, bits=8))
    assert match is not None and match.matching_share == 1.0


@pytest.mark.parametrize(("start_s", "end_s"), [(3, 0), (0, 4), (2.5, 2), (10, 10)])
def test_a_trimmed_copy_is_found_at_its_offset(start_s: float, end_s: float) -> None:
    original = random_video(3)
    copy = reencoded(trimmed(original, start_s, end_s))
    match = near_duplicate_match(original, copy)
    assert match is not None
    assert match.offset_s == -int(start_s * RATE) / RATE
    # Symmetric: the copy finds the original too, shifted the other way.
    back = near_duplicate_match(copy, original)
    assert back is not None and back.offset_s == -match.offset_s


def test_a_copy_drifting_by_a_sample_still_matches_through_neighbouring_samples() -> None:
    # A copy at 29.97 fps of a 30 fps video, or one trimmed between two sampling instants,
    # drifts against the original: here its first half runs one sample ahead.
    original = random_video(4, samples=40)
    drifting = VideoHashes(
        RATE, tuple(original.frames[i + 1] if i < 20 else original.frames[i] for i in range(40))
    )
    no_search = VideoMatchPolicy(max_offset_s=0)
    match = near_duplicate_match(original, drifting, no_search)
    assert match is not None and match.matched == 39


def test_a_different_video_is_not_a_near_duplicate() -> None:
    match = best_alignment(random_video(5), random_video(6))
    assert match is not None and match.matched == 0
    assert near_duplicate_match(random_video(5), random_video(6)) is None


def test_a_shared_intro_alone_does_not_make_two_videos_duplicates() -> None:
    # Two teachers of one school open with the same 5 s school ident, then differ.
    intro = random_video(7, samples=10).frames
    a = VideoHashes(RATE, intro + random_video(8, samples=110).frames)
    b = VideoHashes(RATE, intro + random_video(9, samples=110).frames)
    match = best_alignment(a, b)
    assert match is not None and match.matched == 10
    assert near_duplicate_match(a, b) is None


def test_a_short_excerpt_of_a_long_video_needs_enough_overlap() -> None:
    long = random_video(10, samples=600)
    excerpt = trimmed(long, start_s=5, end_s=270)  # 25 s taken from the start
    assert near_duplicate_match(long, excerpt) is not None
    # ...but not from beyond the offsets searched (a "few seconds" trimmed, not minutes).
    late = trimmed(long, start_s=100, end_s=170)
    assert near_duplicate_match(long, late) is None
    wide = VideoMatchPolicy(max_offset_s=120)
    assert near_duplicate_match(long, late, wide) is not None


def test_flat_frames_never_match() -> None:
    black = VideoHashes(RATE, (None,) * 60)
    assert best_alignment(black, black) is None
    assert near_duplicate_match(black, black) is None


def test_flat_frames_do_not_dilute_a_match() -> None:
    original = random_video(11, samples=40)
    with_fades = VideoHashes(RATE, (None,) * 6 + original.frames + (None,) * 6)
    copy = VideoHashes(RATE, (None,) * 2 + reencoded(original).frames + (None,) * 2)
    match = near_duplicate_match(with_fades, copy)
    assert match is not None and match.compared == 40


def test_too_few_informative_frames_decide_nothing() -> None:
    tiny = random_video(12, samples=3)
    assert near_duplicate_match(tiny, tiny) is None
    assert near_duplicate_match(tiny, tiny, VideoMatchPolicy(min_compared_frames=3)) is not None


def test_frames_far_apart_in_either_hash_do_not_match() -> None:
    original = random_video(13, samples=20)
    policy = VideoMatchPolicy()
    far = reencoded(original, bits=policy.max_phash_distance + 1)
    assert near_duplicate_match(original, far, policy) is None
    loose = VideoMatchPolicy(max_phash_distance=20, max_dhash_distance=20)
    assert near_duplicate_match(original, far, loose) is not None


def test_sequences_sampled_at_different_rates_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="frames/s"):
        best_alignment(random_video(14), VideoHashes(1.0, random_video(14).frames))


def test_hashes_round_trip_through_json() -> None:
    video = VideoHashes(RATE, (FrameHash(2**64 - 1, 0), None, FrameHash(1, 2**63)))
    data = video.to_json()
    assert data["frames"][0] == ["ffffffffffffffff", "0000000000000000"]
    assert VideoHashes.from_json(data) == video


def test_a_match_describes_itself_for_a_reviewer() -> None:
    original = random_video(15, samples=20)
    match = near_duplicate_match(original, trimmed(original, start_s=2))
    assert match is not None
    assert match.describe() == (
        "16 of 16 sampled frames match (100%) with the other video shifted by -2.0 s"
    )

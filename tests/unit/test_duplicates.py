"""The near-duplicate policy and Hamming distance, on plain values."""

from __future__ import annotations

import pytest

from evidence.duplicates import (
    DEFAULT_POLICY,
    Fingerprint,
    Likeness,
    NearDuplicatePolicy,
    PerceptualHashes,
    compare,
    hamming,
    is_near_duplicate,
    matching_likeness,
)

ALL_BITS = (1 << 64) - 1


def flipped(value: int, bits: int, offset: int = 0) -> int:
    """``value`` with ``bits`` consecutive bits flipped, starting at bit ``offset``."""
    return value ^ (((1 << bits) - 1) << offset)


ORIGINAL = Fingerprint(0x0123_4567_89AB_CDEF, 0xF0F0_F0F0_0F0F_0F0F, 0xAAAA_5555_AAAA_5555)
FAR = Fingerprint(ORIGINAL.phash ^ ALL_BITS, ORIGINAL.dhash ^ ALL_BITS, ORIGINAL.dhash_vertical)


def near(phash_bits: int, dhash_bits: int, vertical_bits: int) -> Fingerprint:
    """A fingerprint that many bits away from ORIGINAL in each hash."""
    return Fingerprint(
        flipped(ORIGINAL.phash, phash_bits),
        flipped(ORIGINAL.dhash, dhash_bits, 10),
        flipped(ORIGINAL.dhash_vertical, vertical_bits, 30),
    )


def hashes(
    picture: Fingerprint, mirrored: Fingerprint = FAR, *, is_blank: bool = False
) -> PerceptualHashes:
    """A picture's hashes; its mirror image is far from everything unless given."""
    return PerceptualHashes(*picture.__dict__.values(), *mirrored.__dict__.values(), is_blank)


STORED = hashes(ORIGINAL)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(0, 0, 0), (0, ALL_BITS, 64), (0b1011, 0b0110, 3), (1 << 63, 0, 1), (ALL_BITS, 1, 63)],
)
def test_hamming_counts_differing_bits(a: int, b: int, expected: int) -> None:
    assert hamming(a, b) == expected
    assert hamming(b, a) == expected


def test_compare_adds_up_the_three_distances() -> None:
    assert compare(near(5, 7, 9), ORIGINAL) == Likeness(
        phash_distance=5, distance=21, mirrored=False
    )


def test_hashes_expose_both_orientations_as_fingerprints() -> None:
    both = hashes(near(1, 2, 3), ORIGINAL)
    assert both.fingerprint == near(1, 2, 3)
    assert both.mirrored_fingerprint == ORIGINAL


def test_identical_pictures_are_near_duplicates() -> None:
    assert is_near_duplicate(STORED, STORED)


def test_accepts_a_copy_right_at_both_thresholds() -> None:
    policy = NearDuplicatePolicy(max_phash_distance=12, max_distance=30)
    assert is_near_duplicate(hashes(near(12, 10, 8)), STORED, policy)


def test_rejects_one_bit_past_the_summed_threshold() -> None:
    policy = NearDuplicatePolicy(max_phash_distance=12, max_distance=30)
    assert not is_near_duplicate(hashes(near(12, 10, 9)), STORED, policy)


def test_rejects_a_phash_past_its_gate_even_when_the_dhashes_agree() -> None:
    policy = NearDuplicatePolicy(max_phash_distance=12, max_distance=30)
    assert not is_near_duplicate(hashes(near(13, 0, 0)), STORED, policy)


def test_default_policy_rejects_unrelated_hashes() -> None:
    assert not is_near_duplicate(hashes(FAR), STORED, DEFAULT_POLICY)


def test_finds_a_mirrored_copy_through_the_mirror_image_hashes() -> None:
    flipped_copy = hashes(near(30, 30, 30), mirrored=ORIGINAL)
    assert is_near_duplicate(flipped_copy, STORED)
    assert matching_likeness(flipped_copy, STORED) == Likeness(0, 0, mirrored=True)


def test_ignores_the_stored_pictures_mirror_image() -> None:
    # The index holds one orientation per picture; the query brings both.
    stored = hashes(FAR, mirrored=ORIGINAL)
    assert not is_near_duplicate(hashes(ORIGINAL, mirrored=near(30, 30, 30)), stored)


def test_prefers_the_unmirrored_view_when_both_are_as_close() -> None:
    likeness = matching_likeness(hashes(ORIGINAL, ORIGINAL), STORED)
    assert likeness is not None
    assert not likeness.mirrored


def test_takes_the_view_that_passes_the_gate_over_a_closer_one_that_does_not() -> None:
    policy = NearDuplicatePolicy(max_phash_distance=5, max_distance=40)
    closer_but_gated = near(8, 0, 0)  # summed distance 8, pHash beyond the gate
    farther_but_passing = near(4, 10, 10)  # summed distance 24
    likeness = matching_likeness(hashes(closer_but_gated, farther_but_passing), STORED, policy)
    assert likeness == Likeness(4, 24, mirrored=True)


def test_blank_pictures_are_nobodys_near_duplicate() -> None:
    blank = hashes(ORIGINAL, ORIGINAL, is_blank=True)
    assert not is_near_duplicate(blank, STORED)
    assert not is_near_duplicate(STORED, blank)
    assert matching_likeness(blank, blank) is None

"""Near-duplicate photos: Hamming distance and the policy that decides what counts as a copy.

A picture's :class:`Fingerprint` is three 64-bit perceptual hashes of the same (border-trimmed)
picture (:class:`PerceptualHashes` holds it and its mirror image's), each thresholded at its own median so that every hash has about 32 bits set:

- ``phash``: signs of the 8x8 lowest DCT frequencies (the imagehash pHash definition);
- ``dhash``: whether brightness rises from each cell to the next along the rows of a 9x8
  grid, compared with the median rise (a balanced dHash);
- ``dhash_vertical``: the same down the columns.

Two pictures match when their pHashes are close and the three distances *added up* are small.
The sum is what keeps false matches rare: between unrelated pictures each distance is about
29-31 +- 3.4-5.5 bits and the sum 90 +- 8.6 (bench/near_dup_accuracy.py: 214 000 pairs of
distinct pictures and of tiles of distinct pictures), so a threshold far below that mean rules
out far more unrelated pairs than one 64-bit hash can at the same recall. The mirror image of
the query is compared too: a selfie camera or an editor's flip must not hide a copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


def hamming(a: int, b: int) -> int:
    """Number of bits in which two unsigned hashes differ."""
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class Fingerprint:
    """The three 64-bit hashes of one picture, one orientation (unsigned ints)."""

    phash: int
    dhash: int  # along the rows
    dhash_vertical: int  # down the columns


@dataclass(frozen=True)
class PerceptualHashes:
    """A picture's near-duplicate hashes and those of its mirror image (unsigned 64-bit ints).

    The mirrored hashes are kept because a pHash of the mirror image cannot be derived from the
    picture's own bits (the median moves), and a query needs both.
    """

    phash: int
    dhash: int
    dhash_vertical: int
    phash_mirrored: int
    dhash_mirrored: int
    dhash_vertical_mirrored: int
    # A (nearly) uniform picture - black, white, a lens cap - hashes to noise that matches every
    # other uniform picture; it is nobody's near duplicate (its exact copies are still caught
    # by SHA-256).
    is_blank: bool = False

    @property
    def fingerprint(self) -> Fingerprint:
        """The hashes of the picture as it is: what the index stores."""
        return Fingerprint(self.phash, self.dhash, self.dhash_vertical)

    @property
    def mirrored_fingerprint(self) -> Fingerprint:
        """The hashes of its mirror image: queried alongside :attr:`fingerprint`."""
        return Fingerprint(self.phash_mirrored, self.dhash_mirrored, self.dhash_vertical_mirrored)

    def to_json(self) -> dict[str, str | bool]:
        """The hashes as 16-digit hex strings (JSON has no unsigned 64-bit integers)."""
        return {
            name: value if isinstance(value, bool) else f"{value:016x}"
            for name, value in asdict(self).items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PerceptualHashes:
        """The inverse of :meth:`to_json`."""
        values: dict[str, Any] = {
            name: value if isinstance(value, bool) else int(value, 16)
            for name, value in data.items()
        }
        return cls(**values)


@dataclass(frozen=True)
class Likeness:
    """How far a query picture is from a stored one."""

    phash_distance: int
    distance: int  # the three Hamming distances added up, 0..192
    mirrored: bool  # True when the query's mirror image was the closer one


@dataclass(frozen=True)
class NearDuplicatePolicy:
    """Thresholds of the near-duplicate decision (settings; defaults from the benchmark).

    ``max_distance`` (40 of 192 bits) decides. 97.6 % of recycled copies are within it; the
    nearest of 214 000 unrelated pairs is at 41 (and its pHash is beyond the gate), the nearest
    that passes the gate at 50. A normal tail fitted to unrelated pairs puts ~0.004 false
    matches per query against 1 M stored photos at 40 (0.001 at 38, 0.02 at 42). Classroom
    photos are more alike than the benchmark's pictures, so the real tail is heavier: if
    reviewers reject many ``near_duplicate`` flags, lower it (36 keeps 96.6 % recall).

    ``max_phash_distance`` (18 of 64) is a gate that bounds the index's work: only photos this
    close are confirmed with the dHashes. Copies sit at 0-14 but for the hardest crops and
    screenshots, unrelated photos at 29 +- 3.4. In the benchmark gates from 16 to 22 find the
    same copies within 0.2 % of recall, while the share of unrelated photos let through grows
    from 0.05 % (16) to 0.27 % (18), 1.2 % (20) and 3.8 % (22).
    """

    max_phash_distance: int = 18
    max_distance: int = 40

    def accepts(self, likeness: Likeness) -> bool:
        """True when the likeness is close enough to call the pictures near duplicates."""
        return (
            likeness.phash_distance <= self.max_phash_distance
            and likeness.distance <= self.max_distance
        )


DEFAULT_POLICY = NearDuplicatePolicy()


def compare(query: Fingerprint, stored: Fingerprint, *, mirrored: bool = False) -> Likeness:
    """Distances between a query fingerprint and a stored one."""
    phash_distance = hamming(query.phash, stored.phash)
    distance = (
        phash_distance
        + hamming(query.dhash, stored.dhash)
        + hamming(query.dhash_vertical, stored.dhash_vertical)
    )
    return Likeness(phash_distance, distance, mirrored)


def matching_likeness(
    query: PerceptualHashes,
    stored: PerceptualHashes,
    policy: NearDuplicatePolicy = DEFAULT_POLICY,
) -> Likeness | None:
    """The closest likeness the policy accepts, of the query or its mirror image; else None."""
    if query.is_blank or stored.is_blank:
        return None
    likenesses = (
        compare(query.fingerprint, stored.fingerprint),
        compare(query.mirrored_fingerprint, stored.fingerprint, mirrored=True),
    )
    accepted = [likeness for likeness in likenesses if policy.accepts(likeness)]
    return min(accepted, key=_closeness, default=None)


def is_near_duplicate(
    query: PerceptualHashes,
    stored: PerceptualHashes,
    policy: NearDuplicatePolicy = DEFAULT_POLICY,
) -> bool:
    """True when the stored picture is a recycled copy of the query (or of its mirror image)."""
    return matching_likeness(query, stored, policy) is not None


def _closeness(likeness: Likeness) -> tuple[int, int, bool]:
    # Summed distance first; the pHash distance and then "not mirrored" only break ties.
    return likeness.distance, likeness.phash_distance, likeness.mirrored

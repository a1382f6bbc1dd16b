"""Near-duplicate videos: perceptual hashes of frames sampled at a fixed rate, compared as sequences.

A recycled video is rarely byte-identical: a messenger re-encodes and rescales it, an editor
trims a few seconds from either end. Frames sampled at a fixed rate survive all three: the
re-encoded frame hashes within a few bits of the original's, and trimming only shifts the
sequence. So two sequences are slid against each other (up to ``max_offset_s``) and, at the
best offset, the share of sampled frames whose hashes are close decides.

Flat frames (black, white, one colour: fades, covered lenses) hash alike whatever the video,
so they are stored as None and never count as a match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FrameHash:
    """64-bit pHash and dHash of one sampled frame, as unsigned integers."""

    phash: int
    dhash: int


@dataclass(frozen=True)
class VideoHashes:
    """Frame hashes sampled every ``1 / samples_per_s`` seconds from the start; None for flat frames."""

    samples_per_s: float
    frames: tuple[FrameHash | None, ...]

    @property
    def informative_frames(self) -> int:
        """How many sampled frames are not flat."""
        return sum(frame is not None for frame in self.frames)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; hashes as 16-digit hex (JSON has no unsigned 64-bit integers)."""
        return {
            "samples_per_s": self.samples_per_s,
            "frames": [
                None if frame is None else [f"{frame.phash:016x}", f"{frame.dhash:016x}"]
                for frame in self.frames
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoHashes:
        """The inverse of :meth:`to_json`."""
        return cls(
            samples_per_s=float(data["samples_per_s"]),
            frames=tuple(
                None if raw is None else FrameHash(int(raw[0], 16), int(raw[1], 16))
                for raw in data["frames"]
            ),
        )


@dataclass(frozen=True)
class VideoMatchPolicy:
    """When two frame sequences count as the same video; every value is a setting.

    The defaults were chosen on clips made from real photos (tests/integration): most frames
    of copies re-encoded at CRF 28-36 and scaled to a half or a third are within 10 bits of the
    original's in both hashes (the outliers sit at scene cuts, where a trimmed copy's samples
    fall on the other side of the cut), while frames of different photos are 20 or more bits
    apart in both. ``min_matching`` absorbs the outliers.
    """

    max_phash_distance: int = 12
    max_dhash_distance: int = 16
    # Trimming "a few seconds" at the start shifts the sequence; trimming the end does not.
    max_offset_s: float = 15.0
    # At the best offset, at least this share of the shorter video's informative frames must
    # be compared (so a shared 5 s school intro on two long videos cannot decide alone) ...
    min_overlap: float = 0.5
    # ... and at least this share of the compared frames must match.
    min_matching: float = 0.8
    min_compared_frames: int = 4


@dataclass(frozen=True)
class VideoMatch:
    """The best alignment of two sequences: b's frame ``i + offset_samples`` against a's ``i``."""

    offset_samples: int
    offset_s: float
    compared: int
    matched: int

    @property
    def matching_share(self) -> float:
        """Share of the compared frame pairs whose hashes are close."""
        return self.matched / self.compared if self.compared else 0.0

    def describe(self) -> str:
        """A sentence for a reviewer."""
        return (
            f"{self.matched} of {self.compared} sampled frames match "
            f"({self.matching_share:.0%}) with the other video shifted by {self.offset_s:+.1f} s"
        )


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def best_alignment(
    a: VideoHashes, b: VideoHashes, policy: VideoMatchPolicy | None = None
) -> VideoMatch | None:
    """The offset at which the most sampled frames match; None when nothing can be compared.

    Raises ValueError when the two were sampled at different rates.
    """
    policy = policy or VideoMatchPolicy()
    if a.samples_per_s != b.samples_per_s:
        raise ValueError(f"sampled at {a.samples_per_s} and {b.samples_per_s} frames/s")
    rate = a.samples_per_s
    max_shift = int(policy.max_offset_s * rate)
    best: VideoMatch | None = None
    best_rank: tuple[int, int, int] = (-1, -1, 0)
    for shift in range(-max_shift, max_shift + 1):
        compared, matched, centred = _score(a.frames, b.frames, shift, policy)
        if compared == 0:
            continue
        # The most matching pairs wins; then the most matched at the sample itself rather than
        # a neighbour (which tells shift k from k +- 1); then the smaller shift, since static
        # scenes match at any.
        rank = (matched, centred, -abs(shift))
        if rank > best_rank:
            best, best_rank = VideoMatch(shift, shift / rate, compared, matched), rank
    return best


def near_duplicate_match(
    a: VideoHashes, b: VideoHashes, policy: VideoMatchPolicy | None = None
) -> VideoMatch | None:
    """The alignment that makes b a near duplicate of a, or None when it is a different video."""
    policy = policy or VideoMatchPolicy()
    match = best_alignment(a, b, policy)
    if match is None:
        return None
    shorter = min(a.informative_frames, b.informative_frames)
    if match.compared < max(policy.min_compared_frames, policy.min_overlap * shorter):
        return None
    if match.matching_share < policy.min_matching:
        return None
    return match


def _score(
    a: tuple[FrameHash | None, ...],
    b: tuple[FrameHash | None, ...],
    shift: int,
    policy: VideoMatchPolicy,
) -> tuple[int, int, int]:
    """Frame pairs compared, matched, and matched without a neighbour, b shifted by ``shift``."""
    compared = matched = centred = 0
    for i in range(max(0, -shift), min(len(a), len(b) - shift)):
        frame = a[i]
        if frame is None or b[i + shift] is None:
            continue
        compared += 1
        # A trim rarely falls on a sampling instant: the copy's samples sit up to half an
        # interval away from the original's, so the neighbouring samples may match instead.
        for j in (i + shift, i + shift - 1, i + shift + 1):
            if 0 <= j < len(b) and _is_close(frame, b[j], policy):
                matched += 1
                centred += j == i + shift
                break
    return compared, matched, centred


def _is_close(a: FrameHash, b: FrameHash | None, policy: VideoMatchPolicy) -> bool:
    return (
        b is not None
        and hamming_distance(a.phash, b.phash) <= policy.max_phash_distance
        and hamming_distance(a.dhash, b.dhash) <= policy.max_dhash_distance
    )

"""Near-duplicate documents and videos looked up in the database: their signatures' keys, indexed.

Each signature becomes a few 64-bit *keys*, one row of ``signature_keys`` each (the key, then
the item: the primary key's B-tree is the index). A lookup asks for the rows holding any key
it probes, one ``= ANY(array)`` on PostgreSQL (an ``IN`` list on SQLite), and reads only those:
the candidates, which the policy of their kind then confirms in Python. Every key is a BLAKE2b
digest personalised by its scheme, so keys of different schemes never meet.

- **Texts** (``perceptual["text"]``, :class:`~evidence.text_duplicates.TextSignature`): the
  128 MinHash values cut into 32 bands of 4 (:meth:`TextSignature.band_keys`), one key a band.
  :func:`~evidence.text_duplicates.is_near_duplicate` accepts a pair with at least 77 of 128
  values equal; which values are equal is a uniformly random choice (the hash functions are
  independent), so such a pair shares a band with probability 0.9966 or more
  (:func:`~evidence.text_duplicates.band_recall`). Unrelated texts share a band only through
  shingles they share: a pair at similarity 0.2 (a common template) with probability 0.05.
- **Scans without text** (``perceptual["preview"]``, the first page's photo hashes): the nine
  bands of :mod:`storage.near_index`, one key each; a lookup probes every value within one bit
  of a band of the page or of its mirror image (``near_index.probes``, 402 keys), so it finds
  what the photo lookup finds, and :func:`~evidence.duplicates.matching_likeness` confirms.
- **Videos** (``perceptual["video"]``, :class:`~evidence.video_duplicates.VideoHashes`): every
  informative frame gives four keys, the 32-bit halves of its pHash and of its dHash; a copy
  re-encoded, rescaled or trimmed keeps some of them exactly on some of its frames. A video
  is stored (and probes) as the :data:`VIDEO_SKETCH` smallest of its distinct keys, a
  bottom-k MinHash sketch of its key set: when two videos' key sets overlap with Jaccard
  similarity J, their sketches share a key with probability 1 - (1 - J)^64 or more (0.96 at
  J = 0.05). The policy aligns two videos within 15 s of their starts, and accepts a short
  excerpt of a long video's start, whose keys are few of the long one's: so the sketch also
  holds the 64 smallest keys of the first :data:`HEAD_S` seconds, where both begin. Every
  video holds at most 128 rows and a lookup 128 probes, however long.
  :func:`~evidence.video_duplicates.near_duplicate_match` confirms.

What a lookup reads: the rows of the keys it probes, no other. Unrelated items reach it only
through a shared key: a shared band of text (shared shingles), a photo-like band of a page
(their crowding, see :mod:`storage.near_index`), or a 32-bit half of a frame hash.

Concurrent registrations: :func:`lock_keys` gives the advisory locks of
:func:`storage.near_index.take_locks`: a text or video takes an exclusive lock on each key it
stores, which are also the keys it probes, so two items that can find each other meet on that
key's lock; a scan takes the photo bands' locks (:func:`storage.near_index.lock_keys`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Select, any_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from evidence.duplicates import PerceptualHashes
from evidence.status import Kind
from evidence.text_duplicates import TextSignature
from evidence.video_duplicates import FrameHash, VideoHashes
from storage import near_index
from storage.models import SignatureKeyRow

#: a video's stored and probed keys: the smallest of its distinct frame keys
VIDEO_SKETCH = 64
#: the seconds from a video's start whose keys get a sketch of their own
HEAD_S = 60.0
#: advisory lock namespace of the text and video keys (beside the photo bands' and SHA-256's)
LOCK_NAMESPACE = near_index.LOCK_NAMESPACE + 0x100

_TEXT = b"bukti-text"
_SCAN = b"bukti-scan"
_VIDEO = b"bukti-video"
_HALF = (1 << 32) - 1


@dataclass(frozen=True)
class Signature:
    """An item's keys: those stored for it, and those its lookup asks for."""

    stored: frozenset[int]
    probed: frozenset[int]
    #: a scan's first page, whose locks are the photo bands'
    page: PerceptualHashes | None = None


def key(scheme: bytes, token: str) -> int:
    """A 64-bit key (a signed BIGINT) of one band of a scheme."""
    digest = hashlib.blake2b(token.encode(), digest_size=8, person=scheme).digest()
    return int.from_bytes(digest, "big", signed=True)


def text_keys(signature: TextSignature) -> frozenset[int]:
    """One key per band of 4 MinHash values: near-duplicate texts share one, very likely."""
    return frozenset(key(_TEXT, band) for band in signature.band_keys())


def _band_keys(per_band: Iterable[Iterable[int]]) -> frozenset[int]:
    return frozenset(
        key(_SCAN, f"{band}:{value}") for band, values in enumerate(per_band) for value in values
    )


def page_keys(page: PerceptualHashes) -> frozenset[int]:
    """The nine keys a scan's first page is stored under: its photo bands."""
    return _band_keys([value] for value in near_index.bands(page.fingerprint))


def page_probes(page: PerceptualHashes) -> frozenset[int]:
    """The keys of every band value within one bit of the page's or its mirror image's."""
    return _band_keys(near_index.probes((page.fingerprint, page.mirrored_fingerprint)))


def frame_keys(frame: FrameHash) -> tuple[int, ...]:
    """The four keys of a frame: the 32-bit halves of its pHash and of its dHash."""
    halves = (frame.phash >> 32, frame.phash & _HALF, frame.dhash >> 32, frame.dhash & _HALF)
    return tuple(key(_VIDEO, f"{band}:{value}") for band, value in enumerate(halves))


def _smallest_keys(frames: Iterable[FrameHash | None], size: int) -> list[int]:
    keys = {k for frame in frames if frame is not None for k in frame_keys(frame)}
    return sorted(keys)[:size]


def video_keys(video: VideoHashes, size: int = VIDEO_SKETCH) -> frozenset[int]:
    """A video's sketch: the ``size`` smallest of its informative frames' distinct keys, and
    the ``size`` smallest of those of its first :data:`HEAD_S` seconds."""
    head = video.frames[: round(HEAD_S * video.samples_per_s)]
    return frozenset(_smallest_keys(video.frames, size) + _smallest_keys(head, size))


def signature_of(kind: str, perceptual: Mapping[str, Any] | None) -> Signature | None:
    """The keys of a document or a video, from its ``evidence.perceptual``; None when it has none.

    A document with text is stored under its text's keys only, a scan without text under its
    first page's: texts are compared with texts, pages without text with pages without text.
    """
    if not perceptual:
        return None
    if kind == Kind.DOCUMENT:
        if perceptual.get("text"):
            keys = text_keys(TextSignature.from_json(perceptual["text"]))
            return Signature(keys, keys)
        if perceptual.get("preview"):
            page = PerceptualHashes.from_json(perceptual["preview"])
            if page.is_blank:
                return None  # a blank page is nobody's near duplicate
            return Signature(page_keys(page), page_probes(page), page)
        return None
    if kind == Kind.VIDEO and perceptual.get("video"):
        keys = video_keys(VideoHashes.from_json(perceptual["video"]))
        return Signature(keys, keys) if keys else None
    return None


def register(session: Session, evidence_id: int, keys: Collection[int]) -> None:
    """Store (or replace) an item's keys, in the session's transaction."""
    session.execute(delete(SignatureKeyRow).where(SignatureKeyRow.evidence_id == evidence_id))
    if keys:
        rows = [{"key": k, "evidence_id": evidence_id} for k in sorted(keys)]
        session.execute(insert(SignatureKeyRow), rows)


@cache
def lookup_statement(postgres: bool) -> Select[Any]:
    """Items sharing a probed key, with how many they share, most first (values as parameters)."""
    table = SignatureKeyRow.__table__
    if postgres:  # one array parameter: the statement's text never changes
        hit = table.c.key == any_(bindparam("keys", type_=ARRAY(BigInteger)))
    else:
        hit = table.c.key.in_(bindparam("keys", expanding=True))
    shared = func.count().label("shared")
    return (
        select(table.c.evidence_id, shared)
        .where(hit, table.c.evidence_id.not_in(bindparam("exclude", expanding=True)))
        .group_by(table.c.evidence_id)
        .order_by(shared.desc(), table.c.evidence_id)
    )


def lookup(
    session: Session, probed: Collection[int], exclude_ids: Collection[int] = ()
) -> list[tuple[int, int]]:
    """(item, keys shared) of every stored item holding a probed key, the most shared first."""
    if not probed:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    parameters = {"keys": sorted(probed), "exclude": sorted(exclude_ids) or [-1]}
    rows = session.execute(lookup_statement(postgres), parameters)
    return [(evidence_id, shared) for evidence_id, shared in rows]


def rows_read(session: Session, probed: Collection[int]) -> int:
    """How many rows of the index a lookup of ``probed`` reads."""
    if not probed:
        return 0
    table = SignatureKeyRow.__table__
    return session.scalar(select(func.count()).where(table.c.key.in_(sorted(probed)))) or 0


def lock_keys(signature: Signature) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The advisory locks an item's registration and lookup take: (exclusive, shared).

    A text or a video probes exactly the keys it stores, so one exclusive lock per key (its
    top 32 bits; 32 for a text, up to 128 for a video) is enough: two items that can find each other share a key. A scan locks its
    page's photo bands as a photo does.
    """
    if signature.page is not None:
        return near_index.lock_keys(signature.page)
    return {(LOCK_NAMESPACE, k >> 32) for k in signature.stored}, set()

"""Exact and near-duplicate lookup across every teacher's evidence, decided by order of receipt.

:func:`find_duplicates` runs in the transaction that records an item's outcome. It registers
the item's hashes first (a photo's row in the banded index of ``storage/near_index.py``, a
document's or a video's keys in the signature index of ``storage/signature_index.py``), then
looks for the other items with the same SHA-256 (the indexed ``evidence.sha256``) or a similar
picture, text, first page or video (the indexes give the candidates, the policies confirm
them). Of each pair the item received first (then the lower id) is the original, whatever
order the workers reach them in: the item gets a duplicate flag for each earlier copy, and a
later copy that is already finished gets one for the item, with an event, and turns
``flagged`` if it was ``accepted``.

Concurrent items see each other without a cluster-wide lock. On PostgreSQL a registration and
its lookup take transaction-scoped advisory locks, exclusive on the item's own buckets (its
SHA-256, its bands or keys) and shared on the buckets its lookup probes, so two items that can
find each other conflict on one bucket: the second waits for the first to commit, and its
lookup, a new statement under READ COMMITTED, sees the first's row. Unrelated items rarely
share a bucket. SQLite lets one transaction write at a time: the lookup follows a write, so it sees
every committed item and no other can commit until it is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.settings import Settings
from evidence.duplicates import NearDuplicatePolicy, PerceptualHashes, matching_likeness
from evidence.flags import Code, Flag, needs_review
from evidence.status import Kind, Status
from evidence.text_duplicates import TextSignature, estimate_jaccard
from evidence.text_duplicates import is_near_duplicate as is_text_near_duplicate
from evidence.video_duplicates import VideoHashes, near_duplicate_match
from storage import near_index, signature_index
from storage.db import is_postgres
from storage.models import (
    Activity,
    Evidence,
    EvidenceFlag,
    PerceptualHashRow,
    SignatureKeyRow,
    Teacher,
    table_of,
)
from storage.repositories import ROW_ONLY, add_event, add_flags
from storage.signature_index import Signature

DEAD_STATUSES = (Status.REJECTED.value, Status.FAILED.value)
FINISHED_STATUSES = (Status.ACCEPTED.value, Status.FLAGGED.value)
#: advisory lock key beside the bands' (storage/near_index.py): an item's SHA-256
_SHA_LOCK = near_index.LOCK_NAMESPACE + 0xFFFF

_EVIDENCE = table_of(Evidence)

# The statements every item's lookup runs, built once: their values are parameters, so a job
# neither builds them nor computes their cache keys again.
#: SQLite: a write that takes the database's write lock and changes nothing (the item's own
#: kind); Core, so that the ORM has no objects to bring up to date after it
_WRITE_LOCK = (
    update(_EVIDENCE)
    .where(_EVIDENCE.c.id == bindparam("evidence_id"))
    .values(kind=bindparam("kind"))
)
#: the other items with the same bytes, first received first
_SAME_BYTES = (
    select(Evidence)
    .options(*ROW_ONLY)
    .where(Evidence.sha256 == bindparam("sha256"), Evidence.id != bindparam("id"))
    .order_by(Evidence.received_at, Evidence.id)
)
#: items by id, their rows only
_BY_ID = (
    select(Evidence).options(*ROW_ONLY).where(Evidence.id.in_(bindparam("ids", expanding=True)))
)
#: what a flag says of another item: its teacher's name and NIP, its activity's title and date
#: (none when it has no activity), in one query rather than two objects loaded one by one
_DESCRIBED = (
    select(Teacher.name, Teacher.nip, Activity.title, Activity.date)
    .select_from(Teacher)
    .outerjoin(Activity, Activity.id == bindparam("activity_id"))
    .where(Teacher.id == bindparam("teacher_id"))
)


def context_of(item: Evidence) -> tuple[str, int]:
    """What an item proves: its activity, or itself when it is attached to none."""
    if item.activity_id is not None:
        return ("activity", item.activity_id)
    return ("item", item.id)


def policy_of(settings: Settings) -> NearDuplicatePolicy:
    """The near-duplicate thresholds the settings choose."""
    return NearDuplicatePolicy(
        max_phash_distance=settings.near_duplicate_phash_distance,
        max_distance=settings.near_duplicate_max_distance,
    )


def receipt_order(item: Evidence) -> tuple[Any, int]:
    """What decides which of two copies is the original: received first, then the lower id."""
    return (item.received_at, item.id)


@dataclass(frozen=True)
class Match:
    """Another live item in another context that is a copy of the item, or the item of it."""

    code: Code
    other: Evidence
    how: str  # for a near duplicate: how they are alike


def find_duplicates(services: Services, session: Session, item: Evidence) -> list[Flag]:
    """Register ``item``'s hashes and return its duplicate flags against earlier items.

    Later items that are already finished and turn out to be copies of ``item`` are flagged
    here (with an event). Runs inside the transaction that records the item's outcome, after
    ``item.perceptual`` is set; running it again changes nothing.

    The caller locks the item's row FOR NO KEY UPDATE (``with_for_update={"key_share":
    True}``), not FOR UPDATE: on PostgreSQL this may wait for another item's transaction
    whose flag points at this item, and a foreign key check needs FOR KEY SHARE on it.
    """
    if item.kind == Kind.YOUTUBE:
        return []  # links are checked for reuse by verification
    photo = _photo_hashes(item)
    signature = (
        None if photo is not None else signature_index.signature_of(item.kind, item.perceptual)
    )
    _serialize(session, item, photo, signature)
    if photo is not None:
        near_index.register(session, item.id, photo)
    elif signature is not None:
        signature_index.register(session, item.id, signature.stored)
    matches = _matches(session, item, photo, signature, policy_of(services.settings))
    mine = receipt_order(item)
    flags = _own_flags(session, item, [m for m in matches if receipt_order(m.other) < mine])
    later = sorted((m for m in matches if receipt_order(m.other) > mine), key=lambda m: m.other.id)
    for match in later:
        _flag_later_copy(session, match, item)
    return flags


def _photo_hashes(item: Evidence) -> PerceptualHashes | None:
    if item.kind != Kind.PHOTO or item.perceptual is None:
        return None
    return PerceptualHashes.from_json(item.perceptual)


def _serialize(
    session: Session, item: Evidence, photo: PerceptualHashes | None, signature: Signature | None
) -> None:
    """Make sure that of two items that can find each other, the second sees the first."""
    if not is_postgres(session):
        # SQLite: write first, so that this transaction holds the database's only write lock
        session.connection().execute(_WRITE_LOCK, {"evidence_id": item.id, "kind": item.kind})
        return
    exclusive = {(_SHA_LOCK, int(item.sha256[:7], 16))}
    shared: set[tuple[int, int]] = set()
    if photo is not None:
        own, probed = near_index.lock_keys(photo)
        exclusive |= own
        shared |= probed
    elif signature is not None:
        own, probed = signature_index.lock_keys(signature)
        exclusive |= own
        shared |= probed
    near_index.take_locks(session, exclusive, shared)


def _matches(
    session: Session,
    item: Evidence,
    photo: PerceptualHashes | None,
    signature: Signature | None,
    policy: NearDuplicatePolicy,
) -> list[Match]:
    """Exact copies (same SHA-256) first, then near ones, nearest first; live, other context."""
    exact = session.scalars(_SAME_BYTES, {"sha256": item.sha256, "id": item.id}).all()
    found = [Match(Code.EXACT_DUPLICATE, other, "") for other in exact]
    seen = {other.id for other in exact} | {item.id}
    if photo is not None:
        nearest = near_index.lookup(session, photo, policy=policy, exclude_ids=seen, limit=20)
        others = _by_id(session, [near.evidence_id for near in nearest])
        found += [
            Match(
                Code.NEAR_DUPLICATE,
                others[near.evidence_id],
                f"perceptual distance {near.distance} of 192 bits",
            )
            for near in nearest
            if near.evidence_id in others
        ]
    elif signature is not None:
        candidates = _candidates(session, item, signature, seen)
        alike = _near_videos if item.kind == Kind.VIDEO else _near_documents
        found += [Match(Code.NEAR_DUPLICATE, other, how) for how, other in alike(item, candidates)]
    return [
        match
        for match in found
        if match.other.status not in DEAD_STATUSES and context_of(match.other) != context_of(item)
    ]


def _by_id(session: Session, ids: list[int]) -> dict[int, Evidence]:
    """The items of ``ids`` (their rows only), in one query."""
    if not ids:
        return {}
    rows = session.scalars(_BY_ID, {"ids": ids})
    return {other.id: other for other in rows}


def _own_flags(session: Session, item: Evidence, earlier: list[Match]) -> list[Flag]:
    """The item's flags: the first-received exact copy, the nearest earlier look-alike."""
    flags: list[Flag] = []
    exact = [m for m in earlier if m.code == Code.EXACT_DUPLICATE]
    if exact:
        flags.append(_flag(session, exact[0], item, len(exact) - 1))
    near = [m for m in earlier if m.code == Code.NEAR_DUPLICATE]
    if near:
        flags.append(_flag(session, near[0], item, len(near) - 1))
    return flags


def _flag(session: Session, match: Match, copy: Evidence, more: int = 0) -> Flag:
    """The flag ``copy`` gets for being a copy of the earlier ``match.other``."""
    original = match.other
    if match.code == Code.EXACT_DUPLICATE:
        detail = (
            f"the same file (SHA-256 {copy.sha256[:12]}…) was already submitted as "
            f"{describe(session, original)}"
        )
    else:
        detail = f"looks like {describe(session, original)} ({match.how})"
    return Flag.raise_(match.code, detail + _and_more(more), original.id)


def _looked_up(session: Session, evidence_id: int) -> bool:
    """True when an item's own duplicate lookup has committed: finished, or hashes registered."""
    status = session.scalar(select(Evidence.status).where(Evidence.id == evidence_id))
    if status in FINISHED_STATUSES:
        return True
    if status in DEAD_STATUSES:
        return False
    return any(
        session.scalar(select(row.evidence_id).where(row.evidence_id == evidence_id).limit(1))
        is not None
        for row in (PerceptualHashRow, SignatureKeyRow)
    )


def _flag_later_copy(session: Session, match: Match, item: Evidence) -> None:
    """An item received after ``item`` is a copy of it and has done its own lookup (it did not
    see ``item`` then): flag it now, with an event. Its status turns ``flagged`` if it was
    ``accepted``; one still in the pipeline gets its outcome from its flags as usual."""
    if not _looked_up(session, match.other.id):
        # Its own lookup has not run: when it does (after this transaction, whose locks it
        # waits for) it finds the item. Its job may hold its row: no row lock here.
        return
    later = session.get(
        Evidence, match.other.id, with_for_update={"key_share": True}, populate_existing=True
    )
    if later is None or later.status in DEAD_STATUSES:
        return
    has_code = session.scalar(
        select(EvidenceFlag.id)
        .where(EvidenceFlag.evidence_id == later.id, EvidenceFlag.code == match.code.value)
        .limit(1)
    )
    if has_code is not None:
        return  # already a copy of another earlier item: one flag of a code is enough
    flag = _flag(session, Match(match.code, item, match.how), later)
    add_flags(session, later.id, [flag])
    before = later.status
    if later.status == Status.ACCEPTED and needs_review([flag]):
        later.status = Status.FLAGGED.value
    add_event(
        session,
        later.id,
        "dedup",
        "earlier-copy",
        f"{before} -> {later.status}: {flag.code.value}:{item.id} "
        f"(evidence #{item.id} was received earlier and processed later)",
    )


def _candidates(
    session: Session, item: Evidence, signature: Signature, seen: set[int]
) -> list[Evidence]:
    """The live items of the item's kind that share a key of its signature (index rows only)."""
    ids = [
        evidence_id for evidence_id, _ in signature_index.lookup(session, signature.probed, seen)
    ]
    if not ids:
        return []
    return list(
        session.scalars(
            select(Evidence)
            .options(*ROW_ONLY)
            .where(
                Evidence.id.in_(ids),
                Evidence.kind == item.kind,
                Evidence.perceptual.is_not(None),
                Evidence.status.not_in(DEAD_STATUSES),
            )
            .order_by(Evidence.id)
        )
    )


def _near_videos(item: Evidence, candidates: Iterable[Evidence]) -> list[tuple[str, Evidence]]:
    assert item.perceptual is not None
    mine = VideoHashes.from_json(item.perceptual["video"])
    found = []
    for other in candidates:
        assert other.perceptual is not None
        match = near_duplicate_match(mine, VideoHashes.from_json(other.perceptual["video"]))
        if match is not None:
            found.append((match.describe(), other))
    return found


def _near_documents(item: Evidence, candidates: Iterable[Evidence]) -> list[tuple[str, Evidence]]:
    assert item.perceptual is not None
    text = item.perceptual.get("text")
    page = item.perceptual.get("preview")
    found = []
    for other in candidates:
        assert other.perceptual is not None
        their_text = other.perceptual.get("text")
        if text is not None and their_text is not None:
            mine, theirs = TextSignature.from_json(text), TextSignature.from_json(their_text)
            if is_text_near_duplicate(mine, theirs):
                alike = estimate_jaccard(mine, theirs)
                found.append((f"the same text, {alike:.0%} alike", other))
        elif text is None and their_text is None and page and other.perceptual.get("preview"):
            # scans without text: their first pages are compared as photos are
            likeness = matching_likeness(
                PerceptualHashes.from_json(page),
                PerceptualHashes.from_json(other.perceptual["preview"]),
            )
            if likeness is not None:
                how = f"the same first page, perceptual distance {likeness.distance} of 192"
                found.append((how, other))
    return found


def describe(session: Session, item: Evidence) -> str:
    """A reviewer-readable reference to another item."""
    name, nip, title, day = session.execute(
        _DESCRIBED, {"teacher_id": item.teacher_id, "activity_id": item.activity_id}
    ).one()
    text = f"evidence #{item.id} of teacher {name} (NIP {nip})"
    if title is not None:
        text += f" for activity '{title}' on {day.isoformat()}"
    return text


def _and_more(count: int) -> str:
    return f", and {count} more" if count > 0 else ""

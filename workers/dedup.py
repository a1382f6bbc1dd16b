"""Exact and near-duplicate lookup across every teacher's evidence.

Each worker process keeps the perceptual hashes of all items in an in-memory index and
catches up from the ``perceptual_hashes`` table before each lookup. Lookups and the
registration of new hashes happen under one Redis lock, so two copies of a photo that
are processed at the same moment still find each other, and rows are committed in
``seq`` order, which makes a plain watermark enough to catch up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from typing import Any, ClassVar

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.errors import DependencyError
from evidence.duplicates import NearDuplicatePolicy, matching_likeness
from evidence.flags import Code, Flag
from evidence.status import Kind, Status
from evidence.text_duplicates import TextSignature, estimate_jaccard
from evidence.text_duplicates import is_near_duplicate as is_text_near_duplicate
from evidence.video_duplicates import VideoHashes, near_duplicate_match
from storage.hash_index import HashIndex
from storage.models import Activity, Evidence, PerceptualHashRow
from workers.phash import PerceptualHashes

LOCK_NAME = "bukti:lock:dedup"
DEAD_STATUSES = (Status.REJECTED.value, Status.FAILED.value)


def hashes_to_json(hashes: PerceptualHashes) -> dict[str, str | bool]:
    """Perceptual hashes as 16-digit hex strings (JSON has no unsigned 64-bit integers)."""
    return {
        name: value if isinstance(value, bool) else f"{value:016x}"
        for name, value in asdict(hashes).items()
    }


def hashes_from_json(data: dict[str, str | bool]) -> PerceptualHashes:
    """The inverse of :func:`hashes_to_json`."""
    values: dict[str, Any] = {
        name: value if isinstance(value, bool) else int(value, 16) for name, value in data.items()
    }
    return PerceptualHashes(**values)


def context_of(item: Evidence) -> tuple[str, int]:
    """What an item proves: its activity, or itself when it is attached to none."""
    if item.activity_id is not None:
        return ("activity", item.activity_id)
    return ("item", item.id)


class DuplicateFinder:
    """Finds earlier items with the same bytes or a perceptually similar picture."""

    _per_process: ClassVar[dict[str, DuplicateFinder]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, services: Services, client: redis.Redis) -> None:
        self.services = services
        self.client = client
        settings = services.settings
        self.policy = NearDuplicatePolicy(
            max_phash_distance=settings.near_duplicate_phash_distance,
            max_distance=settings.near_duplicate_max_distance,
        )
        self.index = HashIndex(self.policy)
        self.watermark = 0

    @classmethod
    def for_process(cls, services: Services) -> DuplicateFinder:
        """The finder of this process for these services' database."""
        key = services.settings.resolved_database_url
        with cls._guard:
            finder = cls._per_process.get(key)
            if finder is None:
                client = redis.Redis.from_url(services.settings.redis_url)
                finder = cls._per_process[key] = cls(services, client)
            return finder

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cluster-wide dedup lock (30 s at most to get it, 120 s to hold it)."""
        lock = self.client.lock(LOCK_NAME, timeout=120, blocking_timeout=30)
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            raise DependencyError(f"cannot take the dedup lock: {exc}") from exc
        if not acquired:
            raise DependencyError("the dedup lock stayed taken for 30 s")
        try:
            yield
        finally:
            # an expired lock may already be someone else's: nothing of ours to release
            with suppress(redis.exceptions.LockError):
                lock.release()

    def refresh(self, session: Session) -> None:
        """Load the hashes registered since the last lookup."""
        rows = session.execute(
            select(PerceptualHashRow.seq, PerceptualHashRow.evidence_id, PerceptualHashRow.hashes)
            .where(PerceptualHashRow.seq > self.watermark)
            .order_by(PerceptualHashRow.seq)
        ).all()
        for seq, evidence_id, hashes in rows:
            self.index.add(evidence_id, hashes_from_json(hashes))
            self.watermark = seq

    def find(self, session: Session, item: Evidence) -> list[Flag]:
        """The duplicate flags of ``item`` against every other live item, of any teacher."""
        exact = session.scalars(
            select(Evidence)
            .where(
                Evidence.sha256 == item.sha256,
                Evidence.id != item.id,
                Evidence.status.not_in(DEAD_STATUSES),
            )
            .order_by(Evidence.id)
        ).all()
        exact = [other for other in exact if context_of(other) != context_of(item)]
        flags: list[Flag] = []
        if exact:
            first = exact[0]
            flags.append(
                Flag.raise_(
                    Code.EXACT_DUPLICATE,
                    f"the same file (SHA-256 {item.sha256[:12]}…) was already submitted as "
                    f"{describe(session, first)}" + _and_more(len(exact) - 1),
                    first.id,
                )
            )
        seen = {other.id for other in exact} | {item.id}
        near = self._near(session, item, seen)
        live = [
            (how, other)
            for how, other in near
            if other.status not in DEAD_STATUSES and context_of(other) != context_of(item)
        ]
        if live:
            how, other = live[0]
            flags.append(
                Flag.raise_(
                    Code.NEAR_DUPLICATE,
                    f"looks like {describe(session, other)} ({how})" + _and_more(len(live) - 1),
                    other.id,
                )
            )
        return flags

    def _near(self, session: Session, item: Evidence, seen: set[int]) -> list[tuple[str, Evidence]]:
        """Perceptually similar items, nearest first, with how they are alike."""
        if item.perceptual is None:
            return []
        if item.kind == Kind.PHOTO:
            self.refresh(session)
            hashes = hashes_from_json(item.perceptual)
            found = []
            for match in self.index.query(hashes, exclude_ids=seen, limit=20):
                other = session.get(Evidence, match.evidence_id)
                if other is not None:
                    how = f"perceptual distance {match.distance} of 192 bits"
                    found.append((how, other))
            return found
        if item.kind == Kind.VIDEO:
            return _near_videos(session, item, seen)
        if item.kind == Kind.DOCUMENT:
            return _near_documents(session, item, seen)
        return []


def _candidates(session: Session, item: Evidence, seen: set[int]) -> list[Evidence]:
    # videos and documents are few beside photos: a scan of their signatures is enough
    return list(
        session.scalars(
            select(Evidence)
            .where(
                Evidence.kind == item.kind,
                Evidence.id.not_in(seen),
                Evidence.perceptual.is_not(None),
                Evidence.status.not_in(DEAD_STATUSES),
            )
            .order_by(Evidence.id)
        )
    )


def _near_videos(session: Session, item: Evidence, seen: set[int]) -> list[tuple[str, Evidence]]:
    assert item.perceptual is not None
    mine = VideoHashes.from_json(item.perceptual["video"])
    found = []
    for other in _candidates(session, item, seen):
        assert other.perceptual is not None
        match = near_duplicate_match(mine, VideoHashes.from_json(other.perceptual["video"]))
        if match is not None:
            found.append((match.describe(), other))
    return found


def _near_documents(session: Session, item: Evidence, seen: set[int]) -> list[tuple[str, Evidence]]:
    assert item.perceptual is not None
    text = item.perceptual.get("text")
    page = item.perceptual.get("preview")
    found = []
    for other in _candidates(session, item, seen):
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
                hashes_from_json(page), hashes_from_json(other.perceptual["preview"])
            )
            if likeness is not None:
                how = f"the same first page, perceptual distance {likeness.distance} of 192"
                found.append((how, other))
    return found


def describe(session: Session, item: Evidence) -> str:
    """A reviewer-readable reference to another item."""
    text = f"evidence #{item.id} of teacher {item.teacher.name} (NIP {item.teacher.nip})"
    if item.activity_id is not None:
        activity = session.get(Activity, item.activity_id)
        if activity is not None:
            text += f" for activity '{activity.title}' on {activity.date.isoformat()}"
    return text


def _and_more(count: int) -> str:
    return f", and {count} more" if count > 0 else ""

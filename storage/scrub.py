"""Scrubbing the archive: read objects back and compare their SHA-256 with the record.

Objects are read least recently verified first, so a scrub of a sample each night walks the
whole archive in turn. A missing or altered object is marked on its record (``damage``), on
each item that uses it (an event in its log) and in the audit trail; an object that reads
back right again is cleared. Where the store keeps versions (an S3 bucket with versioning, as
every bucket with object lock has), a damaged object is put right from the newest earlier
version that still has the recorded bytes, and the repair is audited. Objects recorded without a size (previews backfilled by
migration 0013) get their size from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import objects
from storage.audit import Actor, append
from storage.backend import ObjectStore
from storage.db import transaction
from storage.integrity import object_sha256
from storage.models import ArchiveObject, Evidence, EvidenceObject, utcnow
from storage.repositories import add_event


@dataclass(frozen=True)
class Finding:
    """An object that does not read back as recorded."""

    key: str
    klass: str
    problem: str
    evidence_ids: tuple[int, ...]


@dataclass
class ScrubReport:
    """What a scrub read and what it found."""

    checked: int = 0
    bytes_read: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: keys put right from an earlier version that still had the recorded bytes
    repaired: list[str] = field(default_factory=list)


def scrub(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    actor: Actor,
    sample: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScrubReport:
    """Verify ``sample`` held objects (all when None), least recently verified first."""
    with sessions() as session:
        query = (
            select(ArchiveObject.id)
            .where(ArchiveObject.removed_at.is_(None))
            .order_by(ArchiveObject.verified_at.asc().nulls_first(), ArchiveObject.id)
        )
        if sample is not None:
            query = query.limit(sample)
        ids = list(session.scalars(query))
    report = ScrubReport()
    for done, object_id in enumerate(ids, start=1):
        with transaction(sessions) as session:
            finding = _check(session, store, object_id, actor, report)
        if finding is not None:
            report.findings.append(finding)
        report.checked += 1
        if progress:
            progress(done, len(ids))
    return report


def _check(
    session: Session, store: ObjectStore, object_id: int, actor: Actor, report: ScrubReport
) -> Finding | None:
    held = session.get_one(ArchiveObject, object_id, with_for_update=True)
    if held.removed_at is not None:
        return None  # removed by retention since the list was read
    try:
        size_bytes = store.stat(held.key).size_bytes
        actual = object_sha256(store, held.key)
        report.bytes_read += size_bytes
        problem = None if actual == held.sha256 else f"altered: reads as {actual[:12]}…"
    except FileNotFoundError:
        problem = "missing"
    if problem is not None and _repair(store, held):
        append(
            session,
            actor,
            "archive.repaired",
            f"object:{held.id}",
            data={"key": held.key, "class": held.klass, "problem": problem},
        )
        report.repaired.append(held.key)
        problem = None
        size_bytes = held.size_bytes
    users = tuple(
        session.scalars(
            select(EvidenceObject.evidence_id).where(
                EvidenceObject.object_id == held.id, EvidenceObject.released_at.is_(None)
            )
        )
    )
    if problem is None:
        held.verified_at = utcnow()
        held.damage = None
        if held.size_bytes == 0 and size_bytes:
            held.size_bytes = size_bytes
            for evidence_id in users:
                objects.refresh_stored_bytes(session, session.get_one(Evidence, evidence_id))
        return None
    first_time = held.damage != problem
    held.damage = problem
    if first_time:
        for evidence_id in users:
            add_event(
                session, evidence_id, "scrub", "damaged", f"{held.klass} {held.key}: {problem}"
            )
        append(
            session,
            actor,
            "archive.damaged",
            f"object:{held.id}",
            evidence_id=users[0] if users else None,
            data={"key": held.key, "class": held.klass, "problem": problem, "items": users},
        )
    return Finding(held.key, held.klass, problem, users)


def _repair(store: ObjectStore, held: ArchiveObject) -> bool:
    """Put back the newest earlier version whose bytes match the record (S3 versioning)."""
    for version in store.earlier_versions(held.key):
        if object_sha256(store, held.key, version) == held.sha256:
            store.restore_version(held.key, version)
            return object_sha256(store, held.key) == held.sha256
    return False


def damaged(session: Session) -> list[ArchiveObject]:
    """Held objects the last scrub found missing or altered."""
    return list(
        session.scalars(
            select(ArchiveObject)
            .where(ArchiveObject.damage.is_not(None), ArchiveObject.removed_at.is_(None))
            .order_by(ArchiveObject.id)
        )
    )

"""The audit trail: an append-only log whose entries are chained by SHA-256.

Each entry carries the digest of the entry before it, so removing or editing any entry
breaks the chain at that point, and :func:`verify_chain` names the first broken entry.

Appending takes the chain's head row first (``UPDATE audit_head ... RETURNING``): on
PostgreSQL that is a row lock held to the end of the caller's transaction, on SQLite the
database's write lock. Two writers therefore never fork the chain, and since the head is
taken by the append itself, callers append last in their transaction to hold it briefly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import AuditEntry, AuditHead, utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or the system itself (a worker, a scheduled job)."""

    user_id: int | None
    name: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The service acting on its own (``name`` says which part)."""
        return cls(None, name)


def entry_digest(
    prev_sha256: str,
    at: datetime,
    actor_user_id: int | None,
    actor_name: str,
    action: str,
    subject: str,
    evidence_id: int | None,
    school_id: int | None,
    data: dict[str, Any],
) -> str:
    """The SHA-256 of one entry: its fields in a canonical JSON form, after its predecessor's."""
    canonical = json.dumps(
        [
            prev_sha256,
            at.isoformat(timespec="microseconds"),
            actor_user_id,
            actor_name,
            action,
            subject,
            evidence_id,
            school_id,
            data,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry to append: see :func:`append` for what each field holds."""

    actor: Actor
    action: str
    subject: str
    evidence_id: int | None = None
    school_id: int | None = None
    data: dict[str, Any] | None = None


def append(
    session: Session,
    actor: Actor,
    action: str,
    subject: str,
    *,
    evidence_id: int | None = None,
    school_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction; call it last there.

    ``action`` is a dotted verb (``review.decided``, ``evidence.status``, ``user.updated``);
    ``subject`` names what it acted on (``evidence:42``, ``user:7``); ``data`` holds the
    old and new values. ``school_id`` scopes who may read the entry.
    """
    entry = Entry(actor, action, subject, evidence_id, school_id, data)
    return append_many(session, [entry])[0]


def append_many(session: Session, entries: list[Entry]) -> list[AuditEntry]:
    """Append ``entries`` in order, taking the chain's head once; call it last."""
    if not entries:
        return []
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + len(entries))
        .returning(AuditHead.seq, AuditHead.sha256)
    ).one_or_none()
    if head is None:
        raise RuntimeError("the audit chain has no head row: run `bukti migrate`")
    last, prev = head
    number = last - len(entries)
    written = []
    for entry in entries:
        number += 1
        payload = json.loads(json.dumps(entry.data or {}, default=str))
        at = utcnow()
        actor = entry.actor
        digest = entry_digest(
            prev,
            at,
            actor.user_id,
            actor.name,
            entry.action,
            entry.subject,
            entry.evidence_id,
            entry.school_id,
            payload,
        )
        row = AuditEntry(
            seq=number,
            at=at,
            actor_user_id=actor.user_id,
            actor_name=actor.name,
            action=entry.action,
            subject=entry.subject,
            evidence_id=entry.evidence_id,
            school_id=entry.school_id,
            data=payload,
            prev_sha256=prev,
            sha256=digest,
        )
        session.add(row)
        written.append(row)
        prev = digest
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(sha256=prev))
    session.flush()
    return written


@dataclass(frozen=True)
class ChainReport:
    """What walking the chain found: how many entries hold, and the first that does not."""

    checked: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def is_intact(self) -> bool:
        """True when every entry links to its predecessor and hashes to its digest."""
        return self.broken_at is None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order and report the first entry that does not hold."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in _entries(session, batch):
        if entry.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_sha256 != prev:
            return ChainReport(checked, entry.seq, "does not link to the entry before it")
        digest = entry_digest(
            entry.prev_sha256,
            entry.at,
            entry.actor_user_id,
            entry.actor_name,
            entry.action,
            entry.subject,
            entry.evidence_id,
            entry.school_id,
            entry.data,
        )
        if digest != entry.sha256:
            return ChainReport(checked, entry.seq, "its content was changed after it was written")
        prev = entry.sha256
        expected_seq += 1
        checked += 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != checked or head.sha256 != prev:
        return ChainReport(checked, checked + 1, "the last entries were removed")
    return ChainReport(checked)


def _entries(session: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()

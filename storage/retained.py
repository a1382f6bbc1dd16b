"""The items retention and legal holds look at: each finished item's kind, outcome, day,
review date and the copies it holds, read in a few queries (see :class:`RetainedItem`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence.retention import HeldCopy, RetainedItem, outcome_of
from storage.models import (
    Activity,
    ArchiveObject,
    Attendance,
    Evidence,
    EvidenceObject,
    Review,
    Teacher,
)


def retained_items(
    session: Session, evidence_ids: list[int] | None = None, with_copies: bool = True
) -> list[RetainedItem]:
    """Finished items with what retention needs of them; all of them, or ``evidence_ids``."""
    day = func.coalesce(Evidence.local_date, Evidence.claimed_date, Activity.date, Attendance.date)
    query = (
        select(
            Evidence.id,
            Evidence.teacher_id,
            Teacher.school_id,
            Evidence.kind,
            Evidence.status,
            Evidence.month,
            day,
            Evidence.received_at,
        )
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .outerjoin(Attendance, Attendance.id == Evidence.attendance_id)
        .order_by(Evidence.id)
    )
    if evidence_ids is not None:
        query = query.where(Evidence.id.in_(evidence_ids))
    rows = session.execute(query).all()
    ids = [row[0] for row in rows]
    decisions = _last_decisions(session, ids if evidence_ids is not None else None)
    copies = _held_copies(session, ids if evidence_ids is not None else None) if with_copies else {}
    items = []
    for evidence_id, teacher_id, school_id, kind, status, month, item_day, received_at in rows:
        decision, decided_at = decisions.get(evidence_id, (None, None))
        items.append(
            RetainedItem(
                evidence_id,
                teacher_id,
                school_id,
                kind,
                outcome_of(status, decision),
                item_day or _day_of(month, received_at),
                decided_at.date() if decided_at else None,
                tuple(copies.get(evidence_id, ())),
            )
        )
    return items


def _day_of(month: str | None, received_at: datetime) -> date:
    # a monthly video without a capture date belongs to its month
    if month:
        return date(int(month[:4]), int(month[5:7]), 1)
    return received_at.date()


def _last_decisions(session: Session, ids: list[int] | None) -> dict[int, tuple[str, datetime]]:
    query = select(Review.evidence_id, Review.decision, Review.at).order_by(Review.id)
    if ids is not None:
        query = query.where(Review.evidence_id.in_(ids))
    return {evidence_id: (decision, at) for evidence_id, decision, at in session.execute(query)}


def _held_copies(session: Session, ids: list[int] | None) -> dict[int, list[HeldCopy]]:
    query = (
        select(
            EvidenceObject.evidence_id,
            ArchiveObject.id,
            ArchiveObject.klass,
            ArchiveObject.size_bytes,
        )
        .join(ArchiveObject, ArchiveObject.id == EvidenceObject.object_id)
        .where(EvidenceObject.released_at.is_(None), ArchiveObject.removed_at.is_(None))
    )
    if ids is not None:
        query = query.where(EvidenceObject.evidence_id.in_(ids))
    found: dict[int, list[HeldCopy]] = defaultdict(list)
    for evidence_id, object_id, klass, size_bytes in session.execute(query):
        found[evidence_id].append(HeldCopy(object_id, klass, size_bytes))
    return found

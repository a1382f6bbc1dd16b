"""The reviewer's work: the queue of items needing a decision, and the decisions themselves.

The API (api.routes.review) and the pages (api.web.review) both call these functions.
A decision is a new row beside the earlier ones (never an update) and an entry in the
audit trail, appended last in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Select, case, exists, func, literal, select
from sqlalchemy.orm import Session

from api.auth import Principal
from bukti.errors import ConflictError, InvalidRequestError
from evidence.flags import Severity
from evidence.review import SEVERITY_RANK, Decision, reason_problem
from evidence.status import Role, Status
from storage.models import (
    Activity,
    Attendance,
    Evidence,
    EvidenceFlag,
    Review,
    Teacher,
    User,
    utcnow,
)
from storage.repositories import add_event

#: items a reviewer decides on: processed and kept
DECIDABLE = (Status.ACCEPTED.value, Status.FLAGGED.value)
BULK_LIMIT = 500


@dataclass(frozen=True)
class QueueFilter:
    """Which items the queue shows; the defaults are flagged items nobody decided yet."""

    school_id: int | None = None
    teacher_id: int | None = None
    flag: str | None = None
    severity: Severity | None = None
    kind: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    status: Status | None = Status.FLAGGED
    decided: bool | None = False

    def without_flag(self) -> QueueFilter:
        """The same filter for every flag (what the per-flag counts are counted over)."""
        return QueueFilter(**{**self.__dict__, "flag": None})


@dataclass(frozen=True)
class QueueRow:
    """One item in the queue, with what a reviewer scans it by."""

    item: Evidence
    teacher: Teacher
    day: date | None
    top_severity: Severity | None
    decision: Review | None


@dataclass(frozen=True)
class Queue:
    """One page of the queue, its total, and how many items carry each flag."""

    rows: list[QueueRow]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


_RANK = case(
    *((EvidenceFlag.severity == sev.value, rank) for sev, rank in SEVERITY_RANK.items()),
    else_=0,
)


def _top_rank() -> Any:
    return (
        select(func.max(_RANK))
        .where(EvidenceFlag.evidence_id == Evidence.id)
        .correlate(Evidence)
        .scalar_subquery()
    )


def _latest_review_id() -> Any:
    return (
        select(func.max(Review.id))
        .where(Review.evidence_id == Evidence.id)
        .correlate(Evidence)
        .scalar_subquery()
    )


def day_of_item() -> Any:
    """The day an item is evidence for: its activity's, its attendance day's, the day the
    teacher named, else the day it was taken."""
    return func.coalesce(Activity.date, Attendance.date, Evidence.claimed_date, Evidence.local_date)


def queue_query(who: Principal, wanted: QueueFilter) -> Select[Any]:
    """Items the reviewer may see that match ``wanted``, worst flag first, then oldest."""
    if who.role is Role.TEACHER:
        raise HTTPException(403, "the review queue is for reviewers and admins")
    rank = _top_rank()
    day = day_of_item()
    query = (
        select(Evidence, Teacher, day.label("day"), rank.label("rank"))
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .outerjoin(Attendance, Attendance.id == Evidence.attendance_id)
    )
    if who.role is Role.REVIEWER:
        query = query.where(Teacher.school_id == who.school_id)
    if wanted.school_id is not None:
        query = query.where(Teacher.school_id == wanted.school_id)
    if wanted.teacher_id is not None:
        query = query.where(Evidence.teacher_id == wanted.teacher_id)
    if wanted.kind is not None:
        query = query.where(Evidence.kind == wanted.kind)
    if wanted.status is not None:
        query = query.where(Evidence.status == wanted.status.value)
    else:
        query = query.where(Evidence.status.in_(DECIDABLE))
    if wanted.flag is not None:
        query = query.where(
            exists().where(
                EvidenceFlag.evidence_id == Evidence.id, EvidenceFlag.code == wanted.flag
            )
        )
    if wanted.severity is not None:
        query = query.where(rank == SEVERITY_RANK[wanted.severity])
    if wanted.day_from is not None:
        query = query.where(day >= wanted.day_from)
    if wanted.day_to is not None:
        query = query.where(day <= wanted.day_to)
    if wanted.decided is not None:
        reviewed = exists().where(Review.evidence_id == Evidence.id)
        query = query.where(reviewed if wanted.decided else ~reviewed)
    return query.order_by(func.coalesce(rank, literal(0)).desc(), Evidence.received_at, Evidence.id)


def load_queue(db: Session, who: Principal, wanted: QueueFilter, limit: int, offset: int) -> Queue:
    """One page of the queue, with its total and the count of items per flag code."""
    query = queue_query(who, wanted)
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.execute(query.limit(limit).offset(offset)).all()
    latest = _latest_reviews(db, [row[0].id for row in rows])
    by_rank = {rank: sev for sev, rank in SEVERITY_RANK.items()}
    return Queue(
        rows=[
            QueueRow(item, teacher, day, by_rank.get(rank or 0), latest.get(item.id))
            for item, teacher, day, rank in rows
        ],
        total=total,
        counts=flag_counts(db, who, wanted.without_flag()),
    )


def flag_counts(db: Session, who: Principal, wanted: QueueFilter) -> dict[str, int]:
    """How many items of the filtered set carry each flag code, most frequent first."""
    ids = queue_query(who, wanted).with_only_columns(Evidence.id).order_by(None).subquery()
    rows = db.execute(
        select(EvidenceFlag.code, func.count(func.distinct(EvidenceFlag.evidence_id)))
        .where(EvidenceFlag.evidence_id.in_(select(ids.c.id)))
        .group_by(EvidenceFlag.code)
    ).all()
    return dict(sorted(((code, n) for code, n in rows), key=lambda pair: (-pair[1], pair[0])))


def _latest_reviews(db: Session, ids: list[int]) -> dict[int, Review]:
    if not ids:
        return {}
    newest = (
        select(func.max(Review.id)).where(Review.evidence_id.in_(ids)).group_by(Review.evidence_id)
    )
    return {r.evidence_id: r for r in db.scalars(select(Review).where(Review.id.in_(newest)))}


def next_in_queue(db: Session, who: Principal, wanted: QueueFilter, after_id: int) -> int | None:
    """The first item of the queue other than ``after_id`` (the one just decided)."""
    query = queue_query(who, wanted).where(Evidence.id != after_id).limit(1)
    row = db.execute(query).first()
    return row[0].id if row else None


def decide(
    db: Session,
    who: Principal,
    item: Evidence,
    decision: Decision,
    reason_code: str | None = None,
    reason: str | None = None,
) -> Review:
    """Record a decision on ``item`` (visible to ``who``) as a new row beside any earlier one;
    the audit hook (storage.audit_hook) appends it to the trail when the transaction commits."""
    if who.role is Role.TEACHER:
        raise HTTPException(403, "only reviewers and admins decide on evidence")
    if item.status not in DECIDABLE:
        raise ConflictError(
            f"evidence {item.id} is {item.status}; only processed items are decided on"
        )
    problem = reason_problem(decision, reason_code, reason)
    if problem is not None:
        raise InvalidRequestError(problem)
    text = (reason or "").strip() or None
    review = Review(
        evidence_id=item.id,
        reviewer_id=who.user_id,
        decision=decision.value,
        reason_code=reason_code,
        reason=text,
        at=utcnow(),
    )
    db.add(review)
    db.flush()
    add_event(db, item.id, "review", decision.value, text or reason_code or "")
    return review


def approve_all(db: Session, who: Principal, wanted: QueueFilter, expected: int) -> int:
    """Approve every undecided item of a filtered set, once the reviewer confirmed its size.

    ``expected`` is the count the reviewer was shown; if the set changed meanwhile, nothing
    is approved (409) and they look again.
    """
    undecided = QueueFilter(**{**wanted.__dict__, "decided": False})
    ids = [row[0].id for row in db.execute(queue_query(who, undecided).limit(BULK_LIMIT + 1))]
    if len(ids) > BULK_LIMIT:
        raise InvalidRequestError(f"approve at most {BULK_LIMIT} items at once; filter further")
    if len(ids) != expected:
        raise ConflictError(
            f"the set now holds {len(ids)} undecided items, not {expected}; look again"
        )
    for item in db.scalars(select(Evidence).where(Evidence.id.in_(ids)).order_by(Evidence.id)):
        decide(db, who, item, Decision.APPROVED, reason="bulk approval")
    return len(ids)


def decisions_of(db: Session, evidence_id: int) -> list[Review]:
    """Every decision on an item, oldest first (the last one stands)."""
    return list(
        db.scalars(select(Review).where(Review.evidence_id == evidence_id).order_by(Review.id))
    )


def reviewer_names(db: Session, reviews: list[Review]) -> dict[int, str]:
    """The names of the reviewers of ``reviews``, by user id."""
    ids = {r.reviewer_id for r in reviews}
    if not ids:
        return {}
    return {
        user_id: name
        for user_id, name in db.execute(select(User.id, User.name).where(User.id.in_(ids)))
    }

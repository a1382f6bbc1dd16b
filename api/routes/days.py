"""A teacher's day and month as TRK sees them, and the TRK day draft."""

from __future__ import annotations

import calendar
import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import DbDep, PrincipalDep
from api.reverify import queue_reverification
from api.routes.activities import activity_out
from api.routes.attendance import attendance_out
from api.schemas import ActivityOut, AttendanceOut, Category, ClockTime, FlagOut, RecordId, Title
from api.scoping import visible_teacher
from bukti.bootstrap import Services
from bukti.errors import InvalidRequestError
from evidence.calendar import month_target_min
from evidence.day_draft import propose_day
from evidence.days import COUNTING_RULE, day_totals
from evidence.flags import Code, Flag
from evidence.months import REQUIREMENTS, has_ended
from evidence.status import Status
from storage.models import Activity, Attendance, Evidence, MonthlyFlag, School, Teacher
from storage.repositories import (
    activities_of_day,
    activity_window,
    attendance_day,
    check_selfies,
    counted_from,
    school_place,
)

router = APIRouter(prefix="/api/v1/teachers", tags=["days"])

Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-10"])]


class EvidenceBrief(BaseModel):
    """An item as a day lists it."""

    id: int
    status: str
    kind: str
    flags: list[str]
    review: str | None


class DayActivity(ActivityOut):
    """An activity of the day with its evidence."""

    evidenced: bool
    evidence: list[EvidenceBrief]


class DaySummary(BaseModel):
    """A teacher's day: activities, minutes logged, evidenced and pending, attendance, flags."""

    teacher_id: int
    date: date
    working_day: bool
    counted: bool = Field(description="false before the teacher's (or school's) start date")
    hours_label: str
    target_min: int
    minutes_logged: int
    minutes_evidenced: int
    minutes_pending: int
    counting_rule: str = COUNTING_RULE
    attendance: AttendanceOut | None
    activities: list[DayActivity]
    unattached_evidence: list[EvidenceBrief]
    flags: list[FlagOut]
    open_evidence_flags: int


class MonthDay(BaseModel):
    """One day of a month summary."""

    date: date
    working_day: bool
    counted: bool
    target_min: int
    attendance_status: str | None
    minutes_logged: int
    minutes_evidenced: int
    minutes_pending: int
    flags: list[str]


class MonthSummary(BaseModel):
    """A teacher's month against its target (by default TRK's 20 x 450 = 9,000 minutes)."""

    teacher_id: int
    month: str
    month_ended: bool
    counted_from: date | None
    working_days: int
    target_min: int
    target_rule: str
    minutes_logged: int
    minutes_evidenced: int
    minutes_pending: int
    counting_rule: str = COUNTING_RULE
    days: list[MonthDay]
    evidence_counts: dict[str, int]
    monthly_videos: dict[str, EvidenceBrief | None]
    open_flags: list[FlagOut]


def _brief(item: Evidence) -> EvidenceBrief:
    return EvidenceBrief(
        id=item.id,
        status=item.status,
        kind=item.kind,
        flags=[f.code for f in item.flags],
        review=item.reviews[-1].decision if item.reviews else None,
    )


def is_good(item: Evidence) -> bool:
    """Accepted by Bukti, or approved by a reviewer."""
    if item.reviews:
        return item.reviews[-1].decision == "approved"
    return item.status == Status.ACCEPTED


def _school(db: Session, teacher: Teacher) -> School:
    school = db.get(School, teacher.school_id)
    assert school is not None
    return school


def _summarise_day(db: Session, teacher: Teacher, day: date, services: Services) -> DaySummary:
    school = _school(db, teacher)
    place = school_place(school, services.national_calendar)
    activities = activities_of_day(db, teacher.id, day)
    record = db.scalar(
        select(Attendance).where(Attendance.teacher_id == teacher.id, Attendance.date == day)
    )
    items = db.scalars(
        select(Evidence)
        .where(
            Evidence.teacher_id == teacher.id,
            (Evidence.activity_id.in_([a.id for a in activities]))
            | (Evidence.attendance_id == (record.id if record else -1))
            | (
                Evidence.activity_id.is_(None)
                & Evidence.attendance_id.is_(None)
                & ((Evidence.local_date == day) | (Evidence.claimed_date == day))
            ),
        )
        .order_by(Evidence.id)
    ).all()
    by_activity: dict[int, list[Evidence]] = {}
    for item in items:
        if item.activity_id is not None:
            by_activity.setdefault(item.activity_id, []).append(item)
    evidenced = {aid for aid, its in by_activity.items() if any(is_good(i) for i in its)}
    pending = {aid for aid, its in by_activity.items() if any(is_pending(i) for i in its)}
    selfie_in, selfie_out = check_selfies(db, record.id) if record else (None, None)
    settings = services.settings
    totals = day_totals(
        day,
        [activity_window(a) for a in activities],
        evidenced,
        attendance_day(record) if record else None,
        place,
        settings.trk_target_min,
        pending_activity_ids=pending,
        selfie_in=selfie_in,
        selfie_out=selfie_out,
        counted_from=counted_from(teacher, school),
        rules=services.rules,
    )
    return DaySummary(
        teacher_id=teacher.id,
        date=day,
        working_day=totals.is_working_day,
        counted=totals.is_counted,
        hours_label=totals.hours.label,
        target_min=totals.target_min,
        minutes_logged=totals.minutes_logged,
        minutes_evidenced=totals.minutes_evidenced,
        minutes_pending=totals.minutes_pending,
        attendance=attendance_out(db, record, services) if record else None,
        activities=[
            DayActivity(
                **activity_out(a).model_dump(),
                evidenced=a.id in evidenced,
                evidence=[_brief(i) for i in by_activity.get(a.id, [])],
            )
            for a in activities
        ],
        unattached_evidence=[
            _brief(i) for i in items if i.activity_id is None and i.attendance_id is None
        ],
        flags=[FlagOut(**f.to_json()) for f in totals.flags if _is_due(f, day, place.timezone)],
        open_evidence_flags=sum(1 for i in items if i.status == Status.FLAGGED and not i.reviews),
    )


def is_pending(item: Evidence) -> bool:
    """Not decided yet: flagged and awaiting a reviewer, or still in the pipeline."""
    if item.reviews:
        return False
    return item.status in (Status.FLAGGED, Status.RECEIVED, Status.PROCESSING)


def _is_due(flag: Flag, day: date, zone: str) -> bool:
    """A day's TRK total is judged once the day is over in the school's zone, not before."""
    if flag.code is not Code.TRK_UNDER_TARGET:
        return True
    return day < datetime.now(ZoneInfo(zone)).date()


@router.get("/{teacher_id}/days/{day}", response_model=DaySummary)
def get_day(
    teacher_id: RecordId, day: date, request: Request, db: DbDep, who: PrincipalDep
) -> DaySummary:
    """The day: activities with their evidence, minutes logged, evidenced and pending, flags."""
    teacher = visible_teacher(db, who, teacher_id)
    return _summarise_day(db, teacher, day, request.app.state.services)


@router.get("/{teacher_id}/months/{month}", response_model=MonthSummary)
def get_month(
    teacher_id: RecordId, month: Month, request: Request, db: DbDep, who: PrincipalDep
) -> MonthSummary:
    """The month: each day's totals against the target, evidence counts and open flags.

    Days before the teacher's (or the school's) start date are listed but not counted; the
    target follows the month rule setting, named in ``target_rule``.
    """
    teacher = visible_teacher(db, who, teacher_id)
    services: Services = request.app.state.services
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    days = [first + timedelta(days=n) for n in range(calendar.monthrange(year, number)[1])]
    summaries = [_summarise_day(db, teacher, day, services) for day in days]
    school = _school(db, teacher)
    items = db.scalars(
        select(Evidence).where(
            Evidence.teacher_id == teacher.id,
            Evidence.local_date >= first,
            Evidence.local_date <= days[-1],
        )
    ).all()
    counts = Counter(item.status for item in items)
    open_flags = [
        FlagOut(
            code=f.code,
            severity=f.severity,
            detail=f"evidence #{item.id}: {f.detail}",
            related_evidence_id=f.related_evidence_id,
        )
        for item in items
        if item.status == Status.FLAGGED and not item.reviews
        for f in item.flags
        if f.severity in ("medium", "high")
    ]
    open_flags += [flag for summary in summaries for flag in summary.flags]
    open_flags += [
        FlagOut(code=f.code, severity=f.severity, detail=f.detail, related_evidence_id=None)
        for f in db.scalars(
            select(MonthlyFlag).where(
                MonthlyFlag.teacher_id == teacher.id, MonthlyFlag.month == month
            )
        )
    ]
    videos: dict[str, EvidenceBrief | None] = {}
    for requirement in REQUIREMENTS:
        latest = db.scalar(
            select(Evidence)
            .where(
                Evidence.teacher_id == teacher.id,
                Evidence.month == month,
                Evidence.requirement == requirement,
            )
            .order_by(Evidence.id.desc())
            .limit(1)
        )
        videos[requirement] = _brief(latest) if latest else None
    working = [s for s in summaries if s.working_day and s.target_min > 0]
    month_min = services.settings.trk_month_target_min
    counted = [s for s in summaries if s.counted]
    return MonthSummary(
        teacher_id=teacher.id,
        month=month,
        month_ended=has_ended(month, school.timezone, datetime.now(UTC)),
        counted_from=counted_from(teacher, school),
        working_days=len(working),
        target_min=month_target_min(
            [s.target_min for s in working], services.month_rule, month_min
        ),
        target_rule=services.month_rule.describe(month_min),
        minutes_logged=sum(s.minutes_logged for s in counted),
        minutes_evidenced=sum(s.minutes_evidenced for s in counted),
        minutes_pending=sum(s.minutes_pending for s in counted),
        days=[
            MonthDay(
                date=s.date,
                working_day=s.working_day,
                counted=s.counted,
                target_min=s.target_min,
                attendance_status=s.attendance.status if s.attendance else None,
                minutes_logged=s.minutes_logged,
                minutes_evidenced=s.minutes_evidenced,
                minutes_pending=s.minutes_pending,
                flags=[f.code for f in s.flags],
            )
            for s in summaries
        ],
        evidence_counts=dict(counts),
        monthly_videos=videos,
        open_flags=open_flags,
    )


class ProposedBlockOut(BaseModel):
    """A block of the day that the photos suggest was one activity."""

    start: ClockTime
    end: ClockTime
    minutes: int
    evidence_ids: list[int]


class DraftProposal(BaseModel):
    """Activities the day's unattached photos suggest, for the teacher to name and confirm."""

    date: date
    blocks: list[ProposedBlockOut]
    evidence_without_time: list[int]


class ConfirmedBlock(BaseModel):
    """A named block: it becomes an activity with these items attached."""

    start: ClockTime
    end: ClockTime
    title: Title
    category: Category | None = None
    evidence_ids: list[RecordId] = Field(default_factory=list)


class DraftConfirmation(BaseModel):
    """The teacher's named blocks."""

    blocks: list[ConfirmedBlock] = Field(min_length=1, max_length=30)


class DraftCreated(BaseModel):
    """The activities created from a confirmed draft."""

    activities: list[ActivityOut]


@router.post(
    "/{teacher_id}/days/{day}/draft",
    response_model=DraftProposal | DraftCreated,
    responses={200: {"model": DraftProposal}, 201: {"model": DraftCreated}},
)
def draft_day(
    teacher_id: RecordId,
    day: date,
    request: Request,
    response: Response,
    db: DbDep,
    who: PrincipalDep,
    confirmation: Annotated[DraftConfirmation | None, Body()] = None,
) -> DraftProposal | DraftCreated:
    """Without a body: propose the day's activities from its photos' capture times (200).

    With ``blocks``: create those activities and attach their items, in one request (201).
    """
    teacher = visible_teacher(db, who, teacher_id)
    if not who.can_write_teacher(teacher.id):
        raise HTTPException(403, "only the teacher themselves or an admin drafts a day")
    zone = ZoneInfo(_school(db, teacher).timezone)
    items = _unattached(db, teacher.id, day)
    if confirmation is None:
        timed = {i.id: i.captured_at.astimezone(zone) for i in items if i.captured_at}
        local = {eid: moment.replace(tzinfo=None) for eid, moment in timed.items()}
        blocks = propose_day({eid: m for eid, m in local.items() if m.date() == day})
        return DraftProposal(
            date=day,
            blocks=[
                ProposedBlockOut(
                    start=_clock(b.start, day, start=True),
                    end=_clock(b.end, day, start=False),
                    minutes=b.minutes,
                    evidence_ids=list(b.evidence_ids),
                )
                for b in blocks
            ],
            evidence_without_time=[i.id for i in items if i.captured_at is None],
        )
    return _confirm(db, who, request, response, teacher, day, items, confirmation)


def _unattached(db: Session, teacher_id: int, day: date) -> list[Evidence]:
    return list(
        db.scalars(
            select(Evidence)
            .where(
                Evidence.teacher_id == teacher_id,
                Evidence.activity_id.is_(None),
                Evidence.attendance_id.is_(None),
                Evidence.status.in_([Status.ACCEPTED.value, Status.FLAGGED.value]),
                (Evidence.local_date == day) | (Evidence.claimed_date == day),
            )
            .order_by(Evidence.id)
        )
    )


def _clock(moment: datetime, day: date, *, start: bool) -> time:
    # padding never crosses midnight in the proposer, but keep the API's times in the day
    if moment.date() < day:
        return time(0, 0)
    if moment.date() > day:
        return time(23, 59)
    return moment.time().replace(second=0, microsecond=0)


def _confirm(
    db: Session,
    who: Principal,
    request: Request,
    response: Response,
    teacher: Teacher,
    day: date,
    items: list[Evidence],
    confirmation: DraftConfirmation,
) -> DraftCreated:
    available = {item.id: item for item in items}
    claimed: list[int] = [eid for block in confirmation.blocks for eid in block.evidence_ids]
    unknown = sorted(set(claimed) - set(available))
    if unknown:
        raise InvalidRequestError(
            f"evidence {unknown} is not an unattached item of teacher {teacher.id} on {day}"
        )
    if len(claimed) != len(set(claimed)):
        raise InvalidRequestError("an item can be attached to one block only")
    ordered = sorted(confirmation.blocks, key=lambda b: b.start)
    for block in ordered:
        if block.end <= block.start:
            raise InvalidRequestError(f"block '{block.title}': end must be after start")
    for first, second in itertools.pairwise(ordered):
        if second.start < first.end:
            raise InvalidRequestError(f"blocks '{first.title}' and '{second.title}' overlap")
    created: list[Activity] = []
    for block in confirmation.blocks:
        activity = Activity(
            teacher_id=teacher.id,
            date=day,
            start=block.start,
            end=block.end,
            title=block.title,
            category=block.category.value if block.category else None,
        )
        db.add(activity)
        db.flush()
        for evidence_id in block.evidence_ids:
            available[evidence_id].activity_id = activity.id
        created.append(activity)
    db.flush()
    queue_reverification(request, db, claimed)
    response.status_code = 201
    return DraftCreated(activities=[activity_out(a) for a in created])

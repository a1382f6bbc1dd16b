"""Today: checking in and out with a selfie and the phone's position, and the answer in words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import DbDep, ServicesDep
from api.flag_views import render_flags
from api.routes.attendance import attendance_out
from api.routes.days import get_day
from api.schemas import FlagOut
from api.web.i18n import Translator
from api.web.render import translator
from api.web.teacher.context import TeacherDep, TeacherView, own_item, render_page, teacher_view
from bukti.bootstrap import Services
from bukti.errors import NotFoundError
from evidence.flags import Code
from evidence.geo import distance_m
from evidence.records import AttendanceStatus, Place, SchoolPlace
from evidence.status import Status
from evidence.verification import check_times
from storage.models import Attendance, Evidence, Review
from storage.repositories import (
    attendance_day,
    attendance_on,
    check_selfies,
    school_place,
    teacher_home,
)

router = APIRouter()

Check = Literal["in", "out"]
#: flags that the answer already says in its own words
_ANSWERED = {Code.OUTSIDE_GEOFENCE.value, Code.NO_LOCATION.value}


@dataclass(frozen=True)
class CheckAnswer:
    """A check-in or check-out as the teacher is told it: time, place, anything else."""

    check: Check
    at: time | None
    #: late (in) or early (out) by this many minutes; 0 on time; None without a deadline
    minutes_off: int | None
    selfie: Evidence | None
    #: whose area the selfie should be in: "school", "home", "destination"; None on leave
    place: str | None = None
    #: metres beyond that area; 0 inside; None while unknown (no position, not checked yet)
    outside_by_m: int | None = None
    other_flags: list[FlagOut] = field(default_factory=list)

    @property
    def is_checked(self) -> bool:
        """True once the selfie went through the checks (the place is known)."""
        return self.selfie is not None and Status(self.selfie.status).is_terminal


def latest_selfie(db: Session, record: Attendance, check: Check) -> Evidence | None:
    """The last selfie sent for one check of an attendance day."""
    return db.scalar(
        select(Evidence)
        .where(Evidence.attendance_id == record.id, Evidence.check == check)
        .order_by(Evidence.id.desc())
        .limit(1)
    )


def _expected_place(view: TeacherView, record: Attendance) -> tuple[str, Place] | None:
    if record.status == "WFO":
        return "school", school_place(view.school).place  # the calendar has no say in where
    if record.status == "WFH":
        home = teacher_home(view.teacher)
        return ("home", home.place) if home else None
    if record.status == "DL" and record.destination_lat is not None:
        assert record.destination_lon is not None
        radius = record.destination_radius_m or 150.0
        place = Place("destination", record.destination_lat, record.destination_lon, radius)
        return "destination", place
    return None


def _minutes_off(
    place: SchoolPlace, record: Attendance, check: Check, at: datetime | None, codes: set[str]
) -> int | None:
    """Minutes late (in) or early (out): the attendance's flag decides, the clock counts.

    None where no deadline binds (a DL or leave day, a day off), as the flags see it."""
    status = AttendanceStatus(record.status)
    hours = place.hours.on(record.date)
    if status.is_absence or status is AttendanceStatus.DL or not hours.is_working_day:
        return None
    deadline = hours.check_in_by if check == "in" else hours.check_out_from
    if at is None or deadline is None:
        return None
    flagged = Code.LATE_CHECK_IN if check == "in" else Code.EARLY_CHECK_OUT
    if flagged.value not in codes:
        return 0
    apart = at - datetime.combine(record.date, deadline, tzinfo=ZoneInfo(place.timezone))
    return max(1, math.ceil(abs(apart.total_seconds()) / 60))


def check_answer(
    db: Session,
    services: Services,
    view: TeacherView,
    record: Attendance,
    check: Check,
    t: Translator,
) -> CheckAnswer:
    """What the teacher is told about one check of their day: its time is the selfie's
    capture time once known, else the time taken when the button was pressed."""
    codes = {str(flag.code) for flag in attendance_out(db, record, services).flags}
    place = school_place(view.school, services.national_calendar)
    selfie_in, selfie_out = check_selfies(db, record.id)
    times = check_times(attendance_day(record), place.timezone, selfie_in, selfie_out)
    moment = times.check_in if check == "in" else times.check_out
    at = moment.astimezone(ZoneInfo(place.timezone)).time() if moment else None
    minutes_off = _minutes_off(place, record, check, moment, codes)
    selfie = latest_selfie(db, record, check)
    answer = CheckAnswer(check, at, minutes_off, selfie)
    expected = _expected_place(view, record)
    if selfie is None or not answer.is_checked:
        return answer
    others = render_flags(
        db, [flag for flag in selfie.flags if flag.code not in _ANSWERED], view.principal, t
    )
    if expected is None:
        return CheckAnswer(check, at, minutes_off, selfie, other_flags=others)
    name, area = expected
    outside_by = None
    if selfie.lat is not None and selfie.lon is not None:
        distance = distance_m(area.lat, area.lon, selfie.lat, selfie.lon)
        is_outside = any(flag.code == Code.OUTSIDE_GEOFENCE for flag in selfie.flags)
        outside_by = max(1, round(distance - area.radius_m)) if is_outside else 0
    return CheckAnswer(check, at, minutes_off, selfie, name, outside_by, others)


@router.get("")
def today_page(request: Request, db: DbDep, services: ServicesDep, session: TeacherDep) -> Response:
    """Today: the attendance checks with their answers, and what is left to do."""
    view = teacher_view(db, session)
    today = view.today()
    record = attendance_on(db, view.teacher.id, today)
    answers = {}
    if record is not None:
        t = translator(request)
        answers = {
            check: check_answer(db, services, view, record, check, t) for check in ("in", "out")
        }
    summary = get_day(view.teacher.id, today, request, db, session.principal)
    return render_page(
        request,
        "teacher/today.html",
        session,
        tab="today",
        view=view,
        today=today,
        record=record,
        answers=answers,
        summary=summary,
        has_home=teacher_home(view.teacher) is not None,
        sent_today=_sent_on(db, view, today),
        waiting=_needing_attention(db, view),
    )


@router.get("/answers/{evidence_id}")
def answer_fragment(
    evidence_id: int, request: Request, db: DbDep, services: ServicesDep, session: TeacherDep
) -> Response:
    """The answer to one check, while its selfie is checked (the page polls it)."""
    view = teacher_view(db, session)
    item = own_item(db, view, evidence_id)
    if item is None or item.attendance_id is None or item.check not in ("in", "out"):
        raise NotFoundError(f"check selfie {evidence_id} not found")
    record = db.get(Attendance, item.attendance_id)
    assert record is not None
    check: Check = "in" if item.check == "in" else "out"
    return render_page(
        request,
        "teacher/_answer.html",
        session,
        view=view,
        answer=check_answer(db, services, view, record, check, translator(request)),
    )


def _sent_on(db: Session, view: TeacherView, day: date) -> int:
    """How many items the teacher sent for a day's TRK (not counting the check selfies)."""
    count = db.scalar(
        select(func.count(Evidence.id)).where(
            Evidence.teacher_id == view.teacher.id,
            Evidence.attendance_id.is_(None),
            (Evidence.claimed_date == day) | (Evidence.local_date == day),
        )
    )
    return count or 0


def _needing_attention(db: Session, view: TeacherView) -> int:
    """Items waiting on the teacher: sent back by a reviewer who asks for another proof."""
    latest = (
        select(Review.evidence_id, func.max(Review.id).label("review_id"))
        .group_by(Review.evidence_id)
        .subquery()
    )
    asked = db.scalar(
        select(func.count(Evidence.id))
        .join(latest, latest.c.evidence_id == Evidence.id)
        .join(Review, Review.id == latest.c.review_id)
        .where(Evidence.teacher_id == view.teacher.id, Review.decision == "ask_again")
    )
    return asked or 0

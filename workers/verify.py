"""Verification of one item against its records: loads plain values, calls the pure rules.

Used by the pipeline's ``verify`` step and by re-verification when an activity or an
attendance record changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from evidence.document_dates import DocumentDateRules, document_date_flags
from evidence.document_facts import DocumentFacts
from evidence.facts import CaptureFacts, Location
from evidence.flags import Code, Flag, Phrase
from evidence.records import ActivityWindow, AttendanceDay
from evidence.status import Kind
from evidence.verification import (
    day_zone,
    evidence_day,
    history_scope,
    item_capture_time,
    verify_photo,
)
from evidence.video_facts import VideoFacts
from storage.models import Activity, Attendance, Evidence, School, Teacher
from storage.repositories import (
    activity_window,
    attendance_day,
    attendance_on,
    school_place,
    teacher_history,
    teacher_home,
)
from workers import youtube_links

#: Flags verification owns; the duplicate flags belong to the dedup step.
VERIFY_FLAGS = frozenset(Code) - {Code.EXACT_DUPLICATE, Code.NEAR_DUPLICATE}

# The statements every item's verification runs, built once: their values are parameters, so
# a job neither builds them nor computes their cache keys again.
#: an item's activity and the attendance of its day, in one query
_ACTIVITY_AND_ATTENDANCE = (
    select(Activity, Attendance)
    .outerjoin(
        Attendance,
        and_(Attendance.teacher_id == bindparam("teacher_id"), Attendance.date == Activity.date),
    )
    .where(Activity.id == bindparam("activity_id"))
)
#: a teacher and their school, in one query
_TEACHER_AND_SCHOOL = (
    select(Teacher, School)
    .join(School, School.id == Teacher.school_id)
    .where(Teacher.id == bindparam("id"))
)


def verify_item(services: Services, session: Session, item: Evidence) -> list[Flag]:
    """Flags of ``item`` against its activity or attendance check, school, home and history.

    Also records where and when the item was taken (``captured_at``, ``local_date``,
    ``lat``/``lon``), which later items' history checks and the day's check times read.
    """
    if item.facts is None:
        return []
    if item.kind == Kind.YOUTUBE:
        return youtube_links.verify(services, session, item)
    if item.kind == Kind.DOCUMENT:
        return _document_flags(session, item)
    facts = CaptureFacts.from_json(item.facts)
    teacher, school = _teacher_and_school(session, item)
    place = school_place(school)
    window, attendance = _window_and_attendance(session, item)
    check: Literal["in", "out"] | None = None
    if item.attendance_id is not None:
        check = "out" if item.check == "out" else "in"
    client = _client_location(item)
    received = item.received_at.astimezone(UTC)
    resolved, _ = item_capture_time(
        facts,
        received_at_utc=received,
        activity=window,
        attendance=attendance,
        school=place,
        rules=services.rules,
        zone_at=services.zone_at,
        client_location=client,
    )
    position = facts.location.value if facts.location else client
    item.captured_at = resolved.utc if resolved else None
    day = evidence_day(resolved, day_zone(place, attendance), window, attendance)
    item.local_date = day if day is not None else item.claimed_date
    item.lat = position.lat if position else None
    item.lon = position.lon if position else None
    item.accuracy_m = position.accuracy_m if position else None
    scope = history_scope(position, resolved)
    history = teacher_history(session, item.teacher_id, item.id, scope) if scope else []
    extra = facts.extra or {}
    flags = verify_photo(
        facts,
        received_at_utc=received,
        activity=window,
        attendance=attendance,
        school=place,
        home=teacher_home(teacher),
        history=history,
        rules=services.rules,
        zone_at=services.zone_at,
        client_location=client,
        filename=item.client_filename,
        exif_thumbnail_distance=extra.get("exif_thumbnail_distance"),
        evidence_id=item.id,
        check=check,
        period=item.month if item.kind == Kind.VIDEO and item.requirement else None,
    )
    if item.kind == Kind.VIDEO and item.requirement:
        flags += _duration_flags(services, item)
    return flags


def _duration_flags(services: Services, item: Evidence) -> list[Flag]:
    """A monthly teaching video must run at least the minimum (60 s by default)."""
    assert item.facts is not None
    duration = VideoFacts.from_json(item.facts["video"]).duration_s
    minimum = services.settings.min_video_duration_s
    if duration is None or duration >= minimum:
        return []
    return [
        Flag.raise_(
            Code.VIDEO_TOO_SHORT,
            f"the {item.requirement} video runs {duration:.0f} s; a monthly video needs "
            f"at least {minimum:.0f} s",
            phrases=(
                Phrase(
                    "video_too_short", {"duration_s": round(duration), "minimum_s": round(minimum)}
                ),
            ),
        )
    ]


def _document_flags(session: Session, item: Evidence) -> list[Flag]:
    """A document's dates against the activity it proves (milder than a photo's time)."""
    assert item.facts is not None
    window, attendance = _window_and_attendance(session, item)
    if window is None:
        return []
    _, school = _teacher_and_school(session, item)
    zone = ZoneInfo(day_zone(school_place(school), attendance))
    start = datetime.combine(window.date, window.start, zone)
    end = datetime.combine(window.date, window.end, zone)
    offset = start.utcoffset()
    rules = DocumentDateRules(
        school_utc_offset_min=int(offset.total_seconds() // 60) if offset else 0
    )
    return document_date_flags(
        DocumentFacts.from_json(item.facts["document"]),
        activity_start=start,
        activity_end=end,
        received_at=item.received_at,
        rules=rules,
    )


def _window_and_attendance(
    session: Session, item: Evidence
) -> tuple[ActivityWindow | None, AttendanceDay | None]:
    """What the item proves (an activity; None for a check selfie) and that day's attendance."""
    if item.attendance_id is not None:
        record = session.get(Attendance, item.attendance_id)
        if record is None:
            return None, None
        day = attendance_day(record)
        return None, day
    if item.activity_id is not None:
        values = {"teacher_id": item.teacher_id, "activity_id": item.activity_id}
        row = session.execute(_ACTIVITY_AND_ATTENDANCE, values).one_or_none()
        if row is None:
            return None, None
        activity, record = row
        return activity_window(activity), attendance_day(record) if record else None
    if item.claimed_date is not None:
        record = attendance_on(session, item.teacher_id, item.claimed_date)
        return None, attendance_day(record) if record else None
    return None, None


def _teacher_and_school(session: Session, item: Evidence) -> tuple[Teacher, School]:
    """The item's teacher and their school, in one query."""
    teacher, school = session.execute(_TEACHER_AND_SCHOOL, {"id": item.teacher_id}).one()
    return teacher, school


def _client_location(item: Evidence) -> Location | None:
    if item.client_lat is None or item.client_lon is None:
        return None
    return Location(item.client_lat, item.client_lon, None, item.client_accuracy_m)

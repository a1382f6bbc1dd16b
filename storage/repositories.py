"""Records as the domain takes them: rows in, plain frozen values out."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    HistoryItem,
    HoursOverride,
    Place,
    SchoolPlace,
    TeacherHome,
)
from evidence.status import Status
from storage.models import Activity, Attendance, Evidence, School, Teacher

_LIVE = (Status.ACCEPTED.value, Status.FLAGGED.value, Status.PROCESSING.value)


def school_place(school: School) -> SchoolPlace:
    """A school's geofence, zone, hours and calendar."""
    return SchoolPlace(
        name=school.name,
        lat=school.lat,
        lon=school.lon,
        radius_m=school.radius_m,
        timezone=school.timezone,
        check_in_by=school.check_in_by,
        check_out_from=school.check_out_from,
        calendar=tuple(hours_override(entry) for entry in school.calendar or ()),
    )


def hours_override(entry: dict[str, Any]) -> HoursOverride:
    """A calendar entry stored as JSON (see api.schemas.CalendarEntry)."""

    def clock(value: str | None) -> time | None:
        return time.fromisoformat(value) if value else None

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return HoursOverride(
        label=entry.get("label", ""),
        weekdays=frozenset(entry.get("weekdays") or ()),
        start=day(entry.get("start")),
        end=day(entry.get("end")),
        check_in_by=clock(entry.get("check_in_by")),
        check_out_from=clock(entry.get("check_out_from")),
        day_off=bool(entry.get("day_off", False)),
    )


def teacher_home(teacher: Teacher) -> TeacherHome | None:
    """The teacher's registered home, if any."""
    if teacher.home_lat is None or teacher.home_lon is None:
        return None
    return TeacherHome(teacher.home_lat, teacher.home_lon)


def activity_window(activity: Activity) -> ActivityWindow:
    """An activity as a time window."""
    return ActivityWindow(activity.id, activity.date, activity.start, activity.end, activity.title)


def attendance_day(record: Attendance) -> AttendanceDay:
    """An attendance record as the domain's day."""
    destination = None
    if record.destination_lat is not None and record.destination_lon is not None:
        destination = Place(
            record.destination_name or "the declared destination",
            record.destination_lat,
            record.destination_lon,
            record.destination_radius_m or 150.0,
        )
    return AttendanceDay(
        record.date,
        AttendanceStatus(record.status),
        record.check_in,
        record.check_out,
        destination,
    )


def attendance_on(session: Session, teacher_id: int, day: date) -> Attendance | None:
    """The teacher's attendance record of a day."""
    return session.scalar(
        select(Attendance).where(Attendance.teacher_id == teacher_id, Attendance.date == day)
    )


def teacher_history(session: Session, teacher_id: int, exclude_id: int) -> list[HistoryItem]:
    """The teacher's other live items with a position, for repeated-location and travel checks."""
    rows = session.execute(
        select(
            Evidence.id,
            Evidence.captured_at,
            Evidence.lat,
            Evidence.lon,
            Evidence.local_date,
            Evidence.accuracy_m,
        )
        .where(
            Evidence.teacher_id == teacher_id,
            Evidence.id != exclude_id,
            Evidence.status.in_(_LIVE),
            Evidence.lat.is_not(None),
            Evidence.local_date.is_not(None),
        )
        .order_by(Evidence.id)
    ).all()
    return [
        HistoryItem(row.id, row.captured_at, row.lat, row.lon, row.local_date, row.accuracy_m)
        for row in rows
    ]

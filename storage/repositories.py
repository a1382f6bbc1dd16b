"""Records as the domain takes them: rows in, plain frozen values out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased, lazyload

from evidence.flags import Flag
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    CheckSelfie,
    HistoryItem,
    HistoryScope,
    HoursOverride,
    Place,
    SchoolPlace,
    TeacherHome,
)
from evidence.status import Kind, Status
from storage.models import (
    Activity,
    Attendance,
    Base,
    Evidence,
    EvidenceEvent,
    EvidenceFlag,
    School,
    Teacher,
    table_of,
    utcnow,
)

_LIVE = (Status.ACCEPTED.value, Status.FLAGGED.value, Status.PROCESSING.value)
#: the statuses re-verification applies to (see workers.pipeline.reverify)
VERIFIED = (Status.ACCEPTED.value, Status.FLAGGED.value)


def school_place(school: School, national: Sequence[HoursOverride] = ()) -> SchoolPlace:
    """A school's geofence, zone, hours and calendar (the national calendar's entries first)."""
    return SchoolPlace(
        name=school.name,
        lat=school.lat,
        lon=school.lon,
        radius_m=school.radius_m,
        timezone=school.timezone,
        check_in_by=school.check_in_by,
        check_out_from=school.check_out_from,
        calendar=(*national, *(hours_override(entry) for entry in school.calendar or ())),
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
            record.destination_timezone,
        )
    return AttendanceDay(
        record.date,
        AttendanceStatus(record.status),
        record.check_in,
        record.check_out,
        destination,
    )


#: built once (the values are parameters): a job runs it for an item not tied to an activity
_ATTENDANCE_ON = select(Attendance).where(
    Attendance.teacher_id == bindparam("teacher_id"), Attendance.date == bindparam("day")
)


def attendance_on(session: Session, teacher_id: int, day: date) -> Attendance | None:
    """The teacher's attendance record of a day."""
    return session.scalar(_ATTENDANCE_ON, {"teacher_id": teacher_id, "day": day})


#: half the width of the latitude and longitude range read for a repeated location: twice
#: the rounding's half step (5e-7), so that only the exact comparison in Python decides
_SAME_SPOT_MARGIN = 1e-6


def teacher_history(
    session: Session, teacher_id: int, exclude_id: int, scope: HistoryScope
) -> list[HistoryItem]:
    """The teacher's other live items with a position that the history checks read.

    Those are the items within a small range of ``scope.coordinates`` (a superset of the ones
    rounding to them: the repeated-location check compares the rounded values itself) and the
    nearest timed item at or before ``scope.around_utc`` and the nearest after it, ties broken
    by id as the travel check breaks them. Each is one indexed query, whatever the history's
    length; the result is in id order, each item once.
    """
    by_place, by_time = scope.coordinates is not None, scope.around_utc is not None
    if not (by_place or by_time):
        return []
    values: dict[str, Any] = {"teacher_id": teacher_id, "exclude_id": exclude_id}
    if scope.coordinates is not None:
        lat, lon = scope.coordinates
        values["lat_min"], values["lat_max"] = lat - _SAME_SPOT_MARGIN, lat + _SAME_SPOT_MARGIN
        values["lon_min"], values["lon_max"] = lon - _SAME_SPOT_MARGIN, lon + _SAME_SPOT_MARGIN
    if scope.around_utc is not None:
        values["around"] = scope.around_utc
    items: dict[int, HistoryItem] = {}
    for row in session.execute(_history_statement(by_place, by_time), values):
        items[row.id] = HistoryItem(
            row.id, row.captured_at, row.lat, row.lon, row.local_date, row.accuracy_m
        )
    return [items[key] for key in sorted(items)]


@cache
def _history_statement(by_place: bool, by_time: bool) -> Executable:
    """:func:`teacher_history`'s statement for the parts a scope reads, built once: the
    values are parameters, so a job neither builds it nor computes its cache key again."""
    placed = (
        Evidence.teacher_id == bindparam("teacher_id"),
        Evidence.id != bindparam("exclude_id"),
        Evidence.status.in_(_LIVE),
        Evidence.lat.is_not(None),
        Evidence.local_date.is_not(None),
    )
    queries = []
    if by_place:
        queries.append(
            _history_rows().where(
                *placed,
                Evidence.lat.between(bindparam("lat_min"), bindparam("lat_max")),
                Evidence.lon.between(bindparam("lon_min"), bindparam("lon_max")),
            )
        )
    if by_time:
        around = bindparam("around", type_=Evidence.captured_at.type)
        queries += [
            _history_rows()
            .where(*placed, Evidence.captured_at <= around)
            .order_by(Evidence.captured_at.desc(), Evidence.id.desc())
            .limit(1),
            _history_rows()
            .where(*placed, Evidence.captured_at > around)
            .order_by(Evidence.captured_at, Evidence.id)
            .limit(1),
        ]
    # one statement: each part, with its own order and limit, as a subquery of a UNION ALL
    if len(queries) == 1:
        return queries[0]
    return union_all(*(select(*query.subquery().c) for query in queries))


def _history_rows() -> Select[
    int, datetime | None, float | None, float | None, date | None, float | None
]:
    return select(
        Evidence.id,
        Evidence.captured_at,
        Evidence.lat,
        Evidence.lon,
        Evidence.local_date,
        Evidence.accuracy_m,
    )


def check_selfies(
    session: Session, attendance_id: int
) -> tuple[CheckSelfie | None, CheckSelfie | None]:
    """A day's check-in and check-out selfies with a capture time (not refused ones).

    The first check-in selfie is the check-in, the last check-out selfie the check-out: a
    teacher who retakes a check-in selfie does not move the moment they arrived.
    """
    rows = session.execute(
        select(Evidence.id, Evidence.check, Evidence.captured_at)
        .where(
            Evidence.attendance_id == attendance_id,
            Evidence.captured_at.is_not(None),
            Evidence.status.in_(_LIVE),
        )
        .order_by(Evidence.captured_at, Evidence.id)
    ).all()
    ins = [CheckSelfie(row.id, row.captured_at) for row in rows if row.check != "out"]
    outs = [CheckSelfie(row.id, row.captured_at) for row in rows if row.check == "out"]
    return (ins[0] if ins else None), (outs[-1] if outs else None)


def counted_from(teacher: Teacher, school: School) -> date | None:
    """The first day Bukti counts for a teacher: the later of theirs and their school's."""
    starts = [day for day in (teacher.start_date, school.start_date) if day is not None]
    return max(starts) if starts else None


# --- which verified items a change of a record affects ------------------------------------
#
# Each function returns the ids of the items (accepted or flagged: re-verification skips the
# rest, and items still in the pipeline read the records when they get there) whose
# verification reads what changed, and no others.

_PLACED = (Kind.PHOTO.value, Kind.VIDEO.value)


def _verified(*conditions: ColumnElement[bool]) -> list[Any]:
    return [Evidence.status.in_(VERIFIED), *conditions]


def activities_of_day(session: Session, teacher_id: int, day: date) -> list[Activity]:
    """A teacher's activities of ``day``, in the order of the day."""
    query = select(Activity).where(Activity.teacher_id == teacher_id, Activity.date == day)
    return list(session.scalars(query.order_by(Activity.start, Activity.id)))


def items_of_activity(session: Session, activity_id: int) -> list[int]:
    """Items attached to an activity: they are verified against its window."""
    query = select(Evidence.id).where(*_verified(Evidence.activity_id == activity_id))
    return list(session.scalars(query.order_by(Evidence.id)))


def items_of_day(session: Session, teacher_id: int, day: date) -> list[int]:
    """Items verified against a teacher's attendance of ``day``.

    Those are the day's check selfies, the items of the day's activities and the day's
    unattached items (by the date the teacher gave them): the attendance status says where
    they should have been taken and the day's zone how their times read. Monthly videos and
    YouTube links are not: no day's attendance applies to them.
    """
    activity_ids = select(Activity.id).where(
        Activity.teacher_id == teacher_id, Activity.date == day
    )
    record_ids = select(Attendance.id).where(
        Attendance.teacher_id == teacher_id, Attendance.date == day
    )
    query = select(Evidence.id).where(
        *_verified(
            Evidence.teacher_id == teacher_id,
            or_(
                Evidence.attendance_id.in_(record_ids),
                Evidence.activity_id.in_(activity_ids),
                and_(
                    Evidence.activity_id.is_(None),
                    Evidence.attendance_id.is_(None),
                    Evidence.claimed_date == day,
                ),
            ),
        )
    )
    return list(session.scalars(query.order_by(Evidence.id)))


def _status_on_item_day() -> Any:
    """The attendance status of each item's day for its teacher (None without a record).

    An item's day is its activity's date, its check's attendance date, or the date the
    teacher gave it. The inner subqueries correlate explicitly with the outer ``evidence``
    row: auto-correlation would look only one level up and cross-join ``evidence`` instead.
    """
    own_record = aliased(Attendance)
    activity_date = (
        select(Activity.date)
        .where(Activity.id == Evidence.activity_id)
        .correlate(Evidence)
        .scalar_subquery()
    )
    attendance_date = (
        select(own_record.date)
        .where(own_record.id == Evidence.attendance_id)
        .correlate(Evidence)
        .scalar_subquery()
    )
    day = func.coalesce(activity_date, attendance_date, Evidence.claimed_date)
    return (
        select(Attendance.status)
        .where(Attendance.teacher_id == Evidence.teacher_id, Attendance.date == day)
        .correlate(Evidence)
        .scalar_subquery()
    )


def items_placed_at_school(session: Session, school_id: int) -> list[int]:
    """Items with a position checked against the school's geofence (its name is in details).

    Photos and videos of the school's teachers, with a position, proving an activity or a
    check of a WFO day (or of a day with no attendance record, which counts as WFO).
    Monthly videos are not held to a place.
    """
    status = _status_on_item_day()
    query = select(Evidence.id).where(
        *_verified(
            Evidence.teacher_id.in_(select(Teacher.id).where(Teacher.school_id == school_id)),
            Evidence.kind.in_(_PLACED),
            Evidence.month.is_(None),
            Evidence.lat.is_not(None),
            or_(status.is_(None), status == AttendanceStatus.WFO.value),
        )
    )
    return list(session.scalars(query.order_by(Evidence.id)))


def items_placed_at_home(session: Session, teacher_id: int) -> list[int]:
    """Items with a position checked against the teacher's home: those of WFH days."""
    status = _status_on_item_day()
    query = select(Evidence.id).where(
        *_verified(
            Evidence.teacher_id == teacher_id,
            Evidence.kind.in_(_PLACED),
            Evidence.month.is_(None),
            Evidence.lat.is_not(None),
            status == AttendanceStatus.WFH.value,
        )
    )
    return list(session.scalars(query.order_by(Evidence.id)))


def items_of_teachers(
    session: Session, teacher_ids: Sequence[int], kinds: Sequence[str]
) -> list[int]:
    """Every verified item of these teachers of these kinds (a zone or a school changed)."""
    if not teacher_ids:
        return []
    query = select(Evidence.id).where(
        *_verified(Evidence.teacher_id.in_(teacher_ids), Evidence.kind.in_(kinds))
    )
    return list(session.scalars(query.order_by(Evidence.id)))


def teachers_of_school(session: Session, school_id: int) -> list[int]:
    """The ids of a school's teachers."""
    query = select(Teacher.id).where(Teacher.school_id == school_id).order_by(Teacher.id)
    return list(session.scalars(query))


#: load options for an item's own row: its flags and reviews are read when first used, not
#: with it (the job replaces the flags it reads, and a duplicate's reviews are never read)
ROW_ONLY = (lazyload(Evidence.flags), lazyload(Evidence.reviews))


def add_event(
    session: Session, evidence_id: int, step: str, outcome: str, detail: str = ""
) -> None:
    """Append to the item's event log (its history: what happened, never what is due)."""
    session.add(
        EvidenceEvent(evidence_id=evidence_id, step=step, outcome=outcome, detail=detail or None)
    )


def add_events(session: Session, evidence_id: int, entries: Sequence[tuple[str, str, str]]) -> None:
    """Append several ``(step, outcome, detail)`` entries to the item's event log, in order,
    in one statement (the job's outcome writes one per phase)."""
    now = utcnow()
    rows = [
        {
            "evidence_id": evidence_id,
            "at": now,
            "step": step,
            "outcome": outcome,
            "detail": detail or None,
        }
        for step, outcome, detail in entries
    ]
    _insert_rows(session, EvidenceEvent, rows)


def add_flags(session: Session, evidence_id: int, flags: Sequence[Flag]) -> None:
    """Record ``flags`` on the item, in one statement."""
    rows = [
        {
            "evidence_id": evidence_id,
            "code": flag.code.value,
            "severity": flag.severity.value,
            "detail": flag.detail,
            "related_evidence_id": flag.related_evidence_id,
            "detail_phrases": flag.phrases_json(),
        }
        for flag in flags
    ]
    _insert_rows(session, EvidenceFlag, rows)


def _insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    # the table's own INSERT, run once for all rows (the ORM's bulk insert splits the rows by
    # which columns are None, one statement a group)
    if rows:
        session.connection().execute(insert(table_of(model)), rows)

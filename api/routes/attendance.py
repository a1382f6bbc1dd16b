"""Attendance days (K-Mob): teachers keep their own, reviewers read their school's."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbDep, PrincipalDep, ServicesDep
from api.pagination import PagingDep, paginate
from api.reverify import queue_reverification
from api.schemas import (
    AttendanceIn,
    AttendanceOut,
    AttendanceStatus,
    AttendanceUpdate,
    Destination,
    FlagOut,
    Page,
    RecordId,
)
from api.scoping import in_range, scoped, visible_attendance, visible_teacher
from bukti.bootstrap import Services
from bukti.errors import ConflictError, InvalidRequestError
from evidence.verification import attendance_flags
from storage.models import Attendance, Evidence, School, Teacher
from storage.repositories import (
    attendance_day,
    attendance_on,
    check_selfies,
    items_of_day,
    school_place,
)

router = APIRouter(prefix="/api/v1", tags=["attendance"])


def attendance_out(db: Session, record: Attendance, services: Services) -> AttendanceOut:
    """The API view of an attendance day, with its late/early flags from its selfies' times."""
    teacher = db.get(Teacher, record.teacher_id)
    assert teacher is not None
    school = db.get(School, teacher.school_id)
    assert school is not None
    selfie_in, selfie_out = check_selfies(db, record.id)
    flags = attendance_flags(
        attendance_day(record),
        school_place(school, services.national_calendar),
        selfie_in,
        selfie_out,
    )
    destination = None
    if record.destination_lat is not None and record.destination_lon is not None:
        destination = Destination(
            name=record.destination_name or "destination",
            lat=record.destination_lat,
            lon=record.destination_lon,
            radius_m=record.destination_radius_m or 150.0,
            timezone=record.destination_timezone,
        )
    return AttendanceOut(
        id=record.id,
        teacher_id=record.teacher_id,
        date=record.date,
        status=AttendanceStatus(record.status),
        check_in=record.check_in,
        check_out=record.check_out,
        destination=destination,
        check_in_selfie_id=selfie_in.evidence_id if selfie_in else None,
        check_out_selfie_id=selfie_out.evidence_id if selfie_out else None,
        flags=[FlagOut(**flag.to_json()) for flag in flags],
    )


def _apply_destination(
    record: Attendance, destination: Destination | None, services: Services
) -> None:
    record.destination_name = destination.name if destination else None
    record.destination_lat = destination.lat if destination else None
    record.destination_lon = destination.lon if destination else None
    record.destination_radius_m = destination.radius_m if destination else None
    record.destination_timezone = None
    if destination is not None:
        # the destination's own zone: typed when the teacher knows it, else where it is
        zone_at = services.zone_at
        found = zone_at(destination.lat, destination.lon) if zone_at else None
        record.destination_timezone = destination.timezone or found


def _check_home(teacher: Teacher, status: AttendanceStatus) -> None:
    if status is AttendanceStatus.WFH and (teacher.home_lat is None or teacher.home_lon is None):
        # without a registered home a WFH photo could be taken anywhere unnoticed
        raise InvalidRequestError(
            f"teacher {teacher.id} has no registered home: an admin sets home_lat/home_lon "
            "before WFH days can be recorded"
        )


@router.post("/attendance", status_code=201, response_model=AttendanceOut)
def create_attendance(
    body: AttendanceIn, request: Request, db: DbDep, who: PrincipalDep, services: ServicesDep
) -> AttendanceOut:
    """Record a teacher's attendance day; the day's evidence is verified again against it.

    Teachers usually fill the day in the evening, after its photos were uploaded: those were
    verified as a WFO day, and a DL or WFH record changes where they belong.
    """
    teacher = visible_teacher(db, who, body.teacher_id)
    if not who.can_write_teacher(teacher.id):
        raise HTTPException(403, "only the teacher themselves or an admin records attendance")
    _check_home(teacher, body.status)
    if attendance_on(db, teacher.id, body.date) is not None:
        raise ConflictError(
            f"teacher {teacher.id} already has an attendance record for {body.date}; update it"
        )
    record = Attendance(
        teacher_id=teacher.id,
        date=body.date,
        status=body.status.value,
        check_in=body.check_in,
        check_out=body.check_out,
    )
    _apply_destination(record, body.destination, services)
    db.add(record)
    db.flush()
    queue_reverification(request, db, items_of_day(db, teacher.id, record.date))
    return attendance_out(db, record, services)


@router.patch("/attendance/{attendance_id}", response_model=AttendanceOut)
def update_attendance(
    attendance_id: RecordId,
    body: AttendanceUpdate,
    request: Request,
    db: DbDep,
    who: PrincipalDep,
    services: ServicesDep,
) -> AttendanceOut:
    """Change an attendance day; its selfies and the day's evidence are verified again."""
    record = visible_attendance(db, who, attendance_id)
    if not who.can_write_teacher(record.teacher_id):
        raise HTTPException(403, "only the teacher themselves or an admin edits attendance")
    changes = body.model_dump(exclude_unset=True)
    candidate = AttendanceIn(
        teacher_id=record.teacher_id,
        date=record.date,
        status=changes.get("status", AttendanceStatus(record.status)),
        check_in=changes.get("check_in", record.check_in),
        check_out=changes.get("check_out", record.check_out),
        destination=body.destination
        if "destination" in changes
        else attendance_out(db, record, services).destination,
    )
    teacher = db.get(Teacher, record.teacher_id)
    assert teacher is not None
    _check_home(teacher, candidate.status)
    record.status = candidate.status.value
    record.check_in = candidate.check_in
    record.check_out = candidate.check_out
    _apply_destination(record, candidate.destination, services)
    db.flush()
    queue_reverification(request, db, items_of_day(db, record.teacher_id, record.date))
    return attendance_out(db, record, services)


@router.delete("/attendance/{attendance_id}", status_code=204)
def delete_attendance(
    attendance_id: RecordId, request: Request, db: DbDep, who: PrincipalDep
) -> Response:
    """Remove an attendance day; its selfies stay as the day's items, verified again.

    Without a record the day counts as WFO, so the day's evidence is checked again too.
    """
    record = visible_attendance(db, who, attendance_id)
    if not who.can_write_teacher(record.teacher_id):
        raise HTTPException(403, "only the teacher themselves or an admin removes attendance")
    affected = items_of_day(db, record.teacher_id, record.date)
    for selfie in db.scalars(select(Evidence).where(Evidence.attendance_id == record.id)):
        selfie.attendance_id, selfie.check, selfie.claimed_date = None, None, record.date
    db.flush()
    db.delete(record)
    db.flush()
    queue_reverification(request, db, affected)
    return Response(status_code=204)


@router.get("/attendance", response_model=Page[AttendanceOut])
def list_attendance(
    db: DbDep,
    who: PrincipalDep,
    services: ServicesDep,
    paging: PagingDep,
    teacher_id: Annotated[RecordId | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> Page[AttendanceOut]:
    """Attendance days the caller may see, by teacher and date range (inclusive)."""
    query = select(Attendance).order_by(Attendance.date, Attendance.id)
    query = in_range(scoped(query, who, Attendance.teacher_id), Attendance.date, date_from, date_to)
    if teacher_id is not None:
        query = query.where(Attendance.teacher_id == teacher_id)
    return paginate(db, query, paging, lambda record: attendance_out(db, record, services))


@router.get("/attendance/{attendance_id}", response_model=AttendanceOut)
def get_attendance(
    attendance_id: RecordId, db: DbDep, who: PrincipalDep, services: ServicesDep
) -> AttendanceOut:
    """One attendance day."""
    return attendance_out(db, visible_attendance(db, who, attendance_id), services)

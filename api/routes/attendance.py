"""Attendance days (K-Mob): teachers keep their own, reviewers read their school's."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import DbDep, PrincipalDep
from api.pagination import PagingDep, paginate
from api.reverify import queue_reverification
from api.routes.directory import visible_teacher
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
from api.scoping import in_range, scoped, visible_record
from bukti.errors import ConflictError, InvalidRequestError
from evidence.verification import attendance_flags
from storage.models import Attendance, Evidence, School, Teacher
from storage.repositories import attendance_day, attendance_on, school_place

router = APIRouter(prefix="/api/v1", tags=["attendance"])


def attendance_out(db: Session, record: Attendance) -> AttendanceOut:
    """The API view of an attendance day, with its late/early flags."""
    teacher = db.get(Teacher, record.teacher_id)
    assert teacher is not None
    school = db.get(School, teacher.school_id)
    assert school is not None
    flags = attendance_flags(attendance_day(record), school_place(school))
    destination = None
    if record.destination_lat is not None and record.destination_lon is not None:
        destination = Destination(
            name=record.destination_name or "destination",
            lat=record.destination_lat,
            lon=record.destination_lon,
            radius_m=record.destination_radius_m or 150.0,
        )
    return AttendanceOut(
        id=record.id,
        teacher_id=record.teacher_id,
        date=record.date,
        status=AttendanceStatus(record.status),
        check_in=record.check_in,
        check_out=record.check_out,
        destination=destination,
        flags=[FlagOut(**flag.to_json()) for flag in flags],
    )


def _apply_destination(record: Attendance, destination: Destination | None) -> None:
    record.destination_name = destination.name if destination else None
    record.destination_lat = destination.lat if destination else None
    record.destination_lon = destination.lon if destination else None
    record.destination_radius_m = destination.radius_m if destination else None


def _check_home(teacher: Teacher, status: AttendanceStatus) -> None:
    if status is AttendanceStatus.WFH and (teacher.home_lat is None or teacher.home_lon is None):
        # without a registered home a WFH photo could be taken anywhere unnoticed
        raise InvalidRequestError(
            f"teacher {teacher.id} has no registered home: an admin sets home_lat/home_lon "
            "before WFH days can be recorded"
        )


@router.post("/attendance", status_code=201, response_model=AttendanceOut)
def create_attendance(body: AttendanceIn, db: DbDep, who: PrincipalDep) -> AttendanceOut:
    """Record a teacher's attendance day: the teacher themselves or an admin."""
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
    _apply_destination(record, body.destination)
    db.add(record)
    db.flush()
    return attendance_out(db, record)


@router.patch("/attendance/{attendance_id}", response_model=AttendanceOut)
def update_attendance(
    attendance_id: RecordId, body: AttendanceUpdate, request: Request, db: DbDep, who: PrincipalDep
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
        else attendance_out(db, record).destination,
    )
    teacher = db.get(Teacher, record.teacher_id)
    assert teacher is not None
    _check_home(teacher, candidate.status)
    record.status = candidate.status.value
    record.check_in = candidate.check_in
    record.check_out = candidate.check_out
    _apply_destination(record, candidate.destination)
    db.flush()
    affected = db.scalars(
        select(Evidence.id).where(
            (Evidence.attendance_id == record.id)
            | ((Evidence.teacher_id == record.teacher_id) & (Evidence.local_date == record.date))
        )
    ).all()
    queue_reverification(request, db, list(affected))
    return attendance_out(db, record)


@router.get("/attendance", response_model=Page[AttendanceOut])
def list_attendance(
    db: DbDep,
    who: PrincipalDep,
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
    return paginate(db, query, paging, lambda record: attendance_out(db, record))


@router.get("/attendance/{attendance_id}", response_model=AttendanceOut)
def get_attendance(attendance_id: RecordId, db: DbDep, who: PrincipalDep) -> AttendanceOut:
    """One attendance day."""
    return attendance_out(db, visible_attendance(db, who, attendance_id))


def visible_attendance(db: Session, who: Principal, attendance_id: int) -> Attendance:
    """The record if the caller may see it; 404 otherwise."""
    return visible_record(db, who, Attendance, attendance_id, "attendance")

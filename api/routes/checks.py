"""Checking in and out from a phone: the attendance day takes this moment's time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel

from api.deps import DbDep, PrincipalDep, ServicesDep
from api.routes.attendance import attendance_out, create_attendance, update_attendance
from api.schemas import AttendanceIn, AttendanceOut, AttendanceStatus, AttendanceUpdate
from api.scoping import visible_teacher
from bukti.errors import ConflictError
from evidence.status import Role
from storage.models import School
from storage.repositories import attendance_on

router = APIRouter(prefix="/api/v1", tags=["attendance"])


class CheckNow(BaseModel):
    """A check-in or check-out happening now."""

    check: Literal["in", "out"]
    #: the day's status when this check opens the day; a day on record keeps its own
    status: Literal[AttendanceStatus.WFO, AttendanceStatus.WFH] = AttendanceStatus.WFO
    teacher_id: int | None = None


@router.post(
    "/attendance/check",
    response_model=AttendanceOut,
    responses={201: {"model": AttendanceOut, "description": "the day was opened by this check"}},
)
def check_now(
    body: CheckNow,
    request: Request,
    response: Response,
    db: DbDep,
    who: PrincipalDep,
    services: ServicesDep,
) -> AttendanceOut:
    """Check in or out now: today's attendance, in the school's zone, takes this moment.

    The first check opens the day (``201``, with ``status``); a second check-in keeps the
    first time (arriving counts), a check-out takes the latest (leaving counts). Send the
    selfie next, with ``attendance_id`` and ``check``: its capture time becomes the check
    time, and one more than 10 min from this one is ``check_time_mismatch``.
    """
    if who.role is Role.REVIEWER:
        raise HTTPException(403, "reviewers do not check in for teachers")
    teacher = visible_teacher(db, who, who.acting_for(body.teacher_id))
    school = db.get(School, teacher.school_id)
    assert school is not None
    now = datetime.now(ZoneInfo(school.timezone))
    moment = now.time().replace(second=0, microsecond=0)
    record = attendance_on(db, teacher.id, now.date())
    if record is None:
        response.status_code = 201
        return create_attendance(
            AttendanceIn(
                teacher_id=teacher.id,
                date=now.date(),
                status=body.status,
                check_in=moment if body.check == "in" else None,
                check_out=moment if body.check == "out" else None,
            ),
            request,
            db,
            who,
            services,
        )
    if body.check == "in":
        if record.check_in is not None:
            return attendance_out(db, record, services)
        change = AttendanceUpdate(check_in=moment)
    else:
        if record.check_in is not None and moment <= record.check_in:
            raise ConflictError(
                f"a check-out comes after the check-in at {record.check_in:%H:%M}; "
                "wait a minute and check out again"
            )
        change = AttendanceUpdate(check_out=moment)
    return update_attendance(record.id, change, request, db, who, services)

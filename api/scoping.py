"""Row-level scope: one place decides what each role sees, in a list or by id (404 for a
record the caller may not see, as if absent)."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.auth import Principal
from bukti.errors import NotFoundError
from evidence.status import Role
from storage.models import Activity, Attendance, Evidence, Teacher


def scoped(
    query: Select[Any], who: Principal, teacher_id: InstrumentedAttribute[int]
) -> Select[Any]:
    """``query`` limited to the caller's rows: a teacher's own, a reviewer's school's, all."""
    if who.role is Role.TEACHER:
        return query.where(teacher_id == who.teacher_id)
    if who.role is Role.REVIEWER:
        return query.join(Teacher, Teacher.id == teacher_id).where(
            Teacher.school_id == who.school_id
        )
    return query


R = TypeVar("R", Activity, Attendance, Evidence)


def visible_record(db: Session, who: Principal, model: type[R], record_id: int, noun: str) -> R:
    """A teacher's record if the caller may see its teacher; 404 otherwise, as if absent."""
    record = db.get(model, record_id)
    if record is not None:
        teacher = db.get(Teacher, record.teacher_id)
        if teacher is not None and who.can_see_teacher(teacher.id, teacher.school_id):
            return record
    raise NotFoundError(f"{noun} {record_id} not found")


def visible_teacher(db: Session, who: Principal, teacher_id: int) -> Teacher:
    """The teacher if the caller may see them; 404 otherwise (existence is not disclosed)."""
    teacher = db.get(Teacher, teacher_id)
    if teacher is None or not who.can_see_teacher(teacher.id, teacher.school_id):
        raise NotFoundError(f"teacher {teacher_id} not found")
    return teacher


def visible_activity(db: Session, who: Principal, activity_id: int) -> Activity:
    """The activity if the caller may see it; 404 otherwise."""
    return visible_record(db, who, Activity, activity_id, "activity")


def visible_attendance(db: Session, who: Principal, attendance_id: int) -> Attendance:
    """The record if the caller may see it; 404 otherwise."""
    return visible_record(db, who, Attendance, attendance_id, "attendance")


def visible_evidence(db: Session, who: Principal, evidence_id: int) -> Evidence:
    """The item if the caller may see it; 404 otherwise (a teacher never learns of others')."""
    return visible_record(db, who, Evidence, evidence_id, "evidence")


def in_range(
    query: Select[Any], column: InstrumentedAttribute[date], start: date | None, end: date | None
) -> Select[Any]:
    """``query`` limited to dates from ``start`` to ``end``, both inclusive, when given."""
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column <= end)
    return query

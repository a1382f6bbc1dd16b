"""Row-level scope of list queries: one place decides what each role sees."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from api.auth import Principal
from evidence.status import Role
from storage.models import Teacher


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


def in_range(
    query: Select[Any], column: InstrumentedAttribute[date], start: date | None, end: date | None
) -> Select[Any]:
    """``query`` limited to dates from ``start`` to ``end``, both inclusive, when given."""
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column <= end)
    return query

"""Closing a reporting month: a teacher without a learning or problem-solving video is flagged."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bukti.bootstrap import Services
from evidence.flags import SEVERITY, Code
from evidence.status import Kind, Status
from storage.db import transaction
from storage.models import Evidence, MonthlyFlag, Teacher

REQUIREMENTS = ("learning", "problem_solving")
_NAMES = {"learning": "learning video", "problem_solving": "problem-solving video"}
_COUNTING = (
    Status.ACCEPTED.value,
    Status.FLAGGED.value,
    Status.RECEIVED.value,
    Status.PROCESSING.value,
)


def previous_month(today: date) -> str:
    """The reporting month that closed most recently, as YYYY-MM."""
    first = today.replace(day=1)
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def close_month(services: Services, month: str) -> int:
    """Raise ``missing_monthly_video`` for each teacher-requirement without a video; idempotent.

    A submission still being processed counts: it was handed in on time.
    """
    raised = 0
    with transaction(services.sessions) as session:
        submitted = {
            (row.teacher_id, row.requirement)
            for row in session.execute(
                select(Evidence.teacher_id, Evidence.requirement).where(
                    Evidence.month == month,
                    Evidence.kind.in_([Kind.VIDEO.value, Kind.YOUTUBE.value]),
                    Evidence.status.in_(_COUNTING),
                )
            )
        }
        existing = {
            (row.teacher_id, row.requirement)
            for row in session.execute(
                select(MonthlyFlag.teacher_id, MonthlyFlag.requirement).where(
                    MonthlyFlag.month == month,
                    MonthlyFlag.code == Code.MISSING_MONTHLY_VIDEO.value,
                )
            )
        }
        for teacher_id in session.scalars(select(Teacher.id).order_by(Teacher.id)):
            for requirement in REQUIREMENTS:
                key = (teacher_id, requirement)
                if key in submitted or key in existing:
                    continue
                session.add(
                    MonthlyFlag(
                        teacher_id=teacher_id,
                        month=month,
                        requirement=requirement,
                        code=Code.MISSING_MONTHLY_VIDEO.value,
                        severity=SEVERITY[Code.MISSING_MONTHLY_VIDEO].value,
                        detail=f"{month} closed without a {_NAMES[requirement]}",
                    )
                )
                raised += 1
    return raised

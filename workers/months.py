"""Closing a reporting month: a teacher without a learning or problem-solving video is flagged."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bukti.bootstrap import Services
from evidence.flags import SEVERITY, Code
from evidence.months import REQUIREMENTS, has_ended, owes_videos
from evidence.status import Kind, Status
from storage.db import transaction
from storage.models import Evidence, MonthlyFlag, School, Teacher
from storage.repositories import counted_from

_NAMES = {"learning": "learning video", "problem_solving": "problem-solving video"}
# A submission counts while it is still being checked, and when its check failed on Bukti's
# side (an outage, YouTube unreachable): that failure is retried, not the teacher's. Only a
# refused file (rejected) leaves the requirement open.
_COUNTING = (
    Status.ACCEPTED.value,
    Status.FLAGGED.value,
    Status.RECEIVED.value,
    Status.PROCESSING.value,
    Status.FAILED.value,
)


def close_month(services: Services, month: str, now_utc: datetime | None = None) -> int:
    """Raise ``missing_monthly_video`` for each teacher-requirement without a video; idempotent.

    A submission still being processed counts: it was handed in on time; so does one whose
    check failed on Bukti's side. Teachers are skipped whose school has not seen the month
    end yet, those counted only from a later day (their or their school's start date), and
    deactivated ones.
    """
    now_utc = now_utc or datetime.now(UTC)
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
        schools = {school.id: school for school in session.scalars(select(School))}
        for teacher in session.scalars(select(Teacher).order_by(Teacher.id)):
            school = schools[teacher.school_id]
            if not (teacher.is_active and school.is_active):
                continue
            if not has_ended(month, school.timezone, now_utc):
                continue
            if not owes_videos(counted_from(teacher, school), month):
                continue
            for requirement in REQUIREMENTS:
                key = (teacher.id, requirement)
                if key in submitted or key in existing:
                    continue
                session.add(
                    MonthlyFlag(
                        teacher_id=teacher.id,
                        month=month,
                        requirement=requirement,
                        code=Code.MISSING_MONTHLY_VIDEO.value,
                        severity=SEVERITY[Code.MISSING_MONTHLY_VIDEO].value,
                        detail=f"{month} closed without a {_NAMES[requirement]}",
                    )
                )
                raised += 1
    return raised

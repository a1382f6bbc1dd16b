"""A teacher's working day as TRK counts it: minutes logged, minutes evidenced, day flags."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from evidence.flags import Flag
from evidence.records import ActivityWindow, AttendanceDay, DayHours, SchoolPlace
from evidence.verification import (
    activity_overlap_flag,
    activity_overlaps,
    attendance_flags,
    logged_minutes,
    trk_day_flags,
)


@dataclass(frozen=True)
class DayTotals:
    """What a day adds up to against the TRK target, and the flags the records earn."""

    hours: DayHours
    target_min: int
    minutes_logged: int
    minutes_evidenced: int
    flags: tuple[Flag, ...]

    @property
    def is_working_day(self) -> bool:
        """True when attendance and the TRK target apply."""
        return self.hours.is_working_day


def day_totals(
    day: date,
    activities: Sequence[ActivityWindow],
    evidenced_activity_ids: Collection[int],
    attendance: AttendanceDay | None,
    school: SchoolPlace,
    target_min: int,
) -> DayTotals:
    """Totals and record flags of ``day`` (its ``activities`` and ``attendance``).

    An activity counts as evidenced when at least one of its items was accepted or approved;
    overlapping activities count their shared minutes once, in both totals.
    """
    hours = school.hours.on(day)
    flags: list[Flag] = []
    if attendance is not None:
        flags.extend(attendance_flags(attendance, school))
    flags.extend(activity_overlap_flag(a, b) for a, b in activity_overlaps(activities))
    by_day = trk_day_flags(
        activities,
        target_min,
        hours=school.hours,
        attendance=[attendance] if attendance else [],
        days=[day],
    )
    flags.extend(by_day.get(day, []))
    evidenced = [a for a in activities if a.id is not None and a.id in evidenced_activity_ids]
    absent = attendance is not None and attendance.status.is_absence
    return DayTotals(
        hours=hours,
        target_min=0 if absent or not hours.is_working_day else target_min,
        minutes_logged=logged_minutes(activities),
        minutes_evidenced=logged_minutes(evidenced),
        flags=tuple(flags),
    )

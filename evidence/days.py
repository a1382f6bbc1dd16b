"""A teacher's working day as TRK counts it: minutes logged, evidenced and pending; day flags."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from evidence.calendar import day_target_min
from evidence.flags import Flag
from evidence.records import ActivityWindow, AttendanceDay, CheckSelfie, DayHours, SchoolPlace
from evidence.verification import (
    Rules,
    activity_overlap_flag,
    activity_overlaps,
    attendance_flags,
    check_times,
    day_zone,
    logged_minutes,
    trk_day_flags,
    trk_plausibility_flags,
)

COUNTING_RULE = (
    "minutes_evidenced: activities with at least one item accepted by Bukti or approved by a "
    "reviewer; minutes_pending: activities whose items still await a reviewer (flagged, not "
    "yet decided) or processing; an activity whose items were all rejected counts in neither"
)


@dataclass(frozen=True)
class DayTotals:
    """What a day adds up to against the TRK target, and the flags the records earn."""

    hours: DayHours
    target_min: int
    minutes_logged: int
    minutes_evidenced: int
    minutes_pending: int
    flags: tuple[Flag, ...]
    is_counted: bool = True

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
    *,
    pending_activity_ids: Collection[int] = (),
    selfie_in: CheckSelfie | None = None,
    selfie_out: CheckSelfie | None = None,
    counted_from: date | None = None,
    rules: Rules | None = None,
) -> DayTotals:
    """Totals and record flags of ``day`` (its ``activities`` and ``attendance``).

    An activity counts as evidenced when at least one of its items was accepted or approved,
    as pending when none was but one awaits a reviewer (or processing); overlapping activities
    count their shared minutes once. ``target_min`` is the full TRK day; a day the calendar
    shortens asks less (see :func:`evidence.calendar.day_target_min`). A day before
    ``counted_from`` (the teacher's or the school's start) has no target and no day flags.
    """
    hours = school.hours.on(day)
    rules = rules or Rules(trk_target_min=target_min)
    if counted_from is not None and day < counted_from:
        return DayTotals(hours, 0, logged_minutes(activities), 0, 0, (), is_counted=False)
    flags: list[Flag] = []
    times = None
    if attendance is not None:
        flags.extend(attendance_flags(attendance, school, selfie_in, selfie_out))
        times = check_times(attendance, day_zone(school, attendance), selfie_in, selfie_out)
    flags.extend(activity_overlap_flag(a, b) for a, b in activity_overlaps(activities))
    flags.extend(trk_plausibility_flags(day, activities, attendance, times, rules))
    by_day = trk_day_flags(
        activities,
        target_min,
        hours=school.hours,
        attendance=[attendance] if attendance else [],
        days=[day],
    )
    flags.extend(by_day.get(day, []))
    evidenced = [a for a in activities if a.id is not None and a.id in evidenced_activity_ids]
    pending = [
        a
        for a in activities
        if a.id is not None and a.id in pending_activity_ids and a.id not in evidenced_activity_ids
    ]
    absent = attendance is not None and attendance.status.is_absence
    target = 0 if absent else day_target_min(school.hours, day, target_min)
    return DayTotals(
        hours=hours,
        target_min=target,
        minutes_logged=logged_minutes(activities),
        minutes_evidenced=logged_minutes(evidenced),
        minutes_pending=logged_minutes(pending),
        flags=tuple(flags),
    )

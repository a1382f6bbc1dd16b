"""Working days and the TRK target: national holidays, a school's calendar, shortened days.

Pure: the national calendar arrives as plain :class:`NationalDay` values (``storage`` reads
them from the maintained ``holidays`` package); this module turns them into calendar entries
that a school's own entries override, and says what a day and a month must log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from evidence.records import HoursOverride, WorkingHours

# TRK asks 450 minutes a working day, and states the month as 20 days of them.
TRK_DAY_MIN = 450
TRK_MONTH_MIN = 20 * TRK_DAY_MIN


@dataclass(frozen=True)
class NationalDay:
    """A day off for every civil servant: a national holiday or a collective leave day."""

    date: date
    name: str
    collective_leave: bool = False  # cuti bersama: a leave day the government sets for all

    def as_override(self) -> HoursOverride:
        """The day as a calendar entry (a day off on that date)."""
        label = self.name
        if self.collective_leave and "cuti bersama" not in label.lower():
            label += " (cuti bersama)"
        return HoursOverride(label=label, start=self.date, end=self.date, day_off=True)


def national_overrides(days: Iterable[NationalDay]) -> tuple[HoursOverride, ...]:
    """The national calendar as entries, in date order, to go before a school's own."""
    return tuple(day.as_override() for day in sorted(days, key=lambda d: d.date))


def day_target_min(hours: WorkingHours, day: date, full_day_min: int = TRK_DAY_MIN) -> int:
    """Minutes a day must log: the full TRK day, shortened with the day's working hours.

    A day whose calendar entry shortens the hours (a Ramadan day 08:00-14:00, a Friday to
    11:30) asks the same share of the full target as its hours are of the base week's day;
    a day off asks nothing. A day with longer hours never asks more than the full target.
    """
    span = hours.day_span_min(day)
    base = hours.span_min
    if span <= 0 or base <= 0:
        return 0
    if span >= base:
        return full_day_min
    return round(full_day_min * span / base)


class MonthRule(StrEnum):
    """How a month's target is set (``BUKTI_MONTH_TARGET_RULE``)."""

    TRK = "trk"  # 9,000 minutes, or the working days' targets when they add up to less
    WORKING_DAYS = "working_days"  # the sum of the month's working days' targets

    def describe(self, month_min: int) -> str:
        """The rule in a sentence, for the month summary."""
        if self is MonthRule.TRK:
            return (
                f"TRK: {month_min:,} min a month (20 days x {TRK_DAY_MIN}), or the sum of the "
                "working days' targets when the month has less (holidays, a later start date)"
            )
        return "the sum of the month's working days' targets (450 min each, less on short days)"


def month_target_min(day_targets: Iterable[int], rule: MonthRule, month_min: int) -> int:
    """The month's target under ``rule`` from its counted days' targets."""
    total = sum(day_targets)
    if rule is MonthRule.TRK:
        return min(month_min, total)
    return total

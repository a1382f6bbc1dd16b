"""Reporting months as TRK counts them: "YYYY-MM", their bounds, when one has ended, who owes
its two videos (pure: the caller passes the clock)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from evidence.youtube import Requirement

#: the two videos a teacher owes each month, as stored and written in the API
REQUIREMENTS: tuple[str, ...] = tuple(requirement.value for requirement in Requirement)


def previous_month(today: date) -> str:
    """The reporting month that closed most recently, as YYYY-MM."""
    first = today.replace(day=1)
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a "YYYY-MM" month."""
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def has_ended(month: str, zone: str, now_utc: datetime) -> bool:
    """True once the month is over in the zone (the school's)."""
    return now_utc.astimezone(ZoneInfo(zone)).date() > month_bounds(month)[1]


def owes_videos(start: date | None, month: str) -> bool:
    """Whether a teacher counted from ``start`` owes the month's videos: whole months only.

    A teacher who starts on 2 October owes November's videos first, not October's.
    """
    return start is None or start <= month_bounds(month)[0]

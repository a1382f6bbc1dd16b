"""The records evidence is checked against, as plain values: school, home, activities, attendance.

They mirror what teachers keep today in K-Mob (attendance) and TRK (the activity log). Times of
day are wall-clock times in the school's zone; dates are that zone's local dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

# ASN work Monday to Friday (Perpres 21/2023): 20 working days x 450 min make TRK's 9,000.
MONDAY_TO_FRIDAY = frozenset(range(5))

# A date range open at one end counts as this long when ranges are compared.
_UNBOUNDED_DAYS = 1_000_000

# Radius of a geofence when a record gives none: SPEC's default for schools, and the same
# allowance for a registered home or a DL destination.
DEFAULT_RADIUS_M = 150.0


@dataclass(frozen=True)
class Place:
    """A geofence: a named point with the radius within which evidence counts as taken there.

    ``timezone`` is the IANA zone of the place when it matters and is known: a DL destination
    in Bali keeps WITA, and times typed for that day are read in it.
    """

    name: str
    lat: float
    lon: float
    radius_m: float = DEFAULT_RADIUS_M
    timezone: str | None = None


@dataclass(frozen=True)
class DayHours:
    """The hours that apply on one date; a day off has neither check-in nor check-out time."""

    check_in_by: time | None
    check_out_from: time | None
    label: str = ""

    @property
    def is_working_day(self) -> bool:
        """True when attendance and the TRK target apply on this day."""
        return self.check_in_by is not None or self.check_out_from is not None


@dataclass(frozen=True)
class HoursOverride:
    """A calendar entry: other hours (or a day off) on some weekdays and/or a date range.

    ``weekdays`` uses Python's numbering (0 = Monday, 4 = Friday); empty means every weekday.
    ``start``/``end`` bound the dates, both inclusive; None means unbounded. A field left None
    keeps the base hours, so "Fridays end at 11:30" needs only ``check_out_from``. Only an
    entry naming weekdays makes a weekend day a working day: Ramadan hours leave Saturdays off.
    """

    label: str
    weekdays: frozenset[int] = frozenset()
    start: date | None = None
    end: date | None = None
    check_in_by: time | None = None
    check_out_from: time | None = None
    day_off: bool = False

    def applies_on(self, day: date) -> bool:
        """True when this entry covers the given date."""
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        if self.start is not None and day < self.start:
            return False
        return self.end is None or day <= self.end

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Which entry wins when several cover a date: the narrowest.

        Date ranges beat weekdays; a shorter range beats a longer one (a national holiday
        beats Ramadan hours around it); on the same range, naming weekdays beats not (Fridays
        in Ramadan beat Ramadan). On a full tie the later entry wins, which is how a school's
        own entry overrides the national calendar's for the same date.
        """
        has_range = self.start is not None or self.end is not None
        if self.start is not None and self.end is not None:
            span_days = (self.end - self.start).days
        else:
            span_days = _UNBOUNDED_DAYS
        return (int(has_range), -span_days, int(bool(self.weekdays)))


@dataclass(frozen=True)
class WorkingHours:
    """A school's working hours: a base week and a calendar of overrides, kept as data."""

    check_in_by: time = time(7, 0)
    check_out_from: time = time(15, 30)
    working_weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    overrides: tuple[HoursOverride, ...] = ()

    @property
    def span_min(self) -> int:
        """Minutes from the base check-in deadline to the base check-out time."""
        return _span_min(self.check_in_by, self.check_out_from)

    def day_span_min(self, day: date) -> int:
        """Minutes of the working hours on one date (0 on a day off)."""
        hours = self.on(day)
        if not hours.is_working_day:
            return 0
        return _span_min(
            hours.check_in_by or self.check_in_by, hours.check_out_from or self.check_out_from
        )

    def on(self, day: date) -> DayHours:
        """The hours on one date: the most specific override wins, the later one on a tie."""
        matching = [
            (entry.specificity, position, entry)
            for position, entry in enumerate(self.overrides)
            if entry.applies_on(day)
        ]
        if not matching:
            if day.weekday() not in self.working_weekdays:
                return DayHours(None, None, "weekend")
            return DayHours(self.check_in_by, self.check_out_from)
        entry = max(matching, key=lambda found: found[:2])[2]
        if entry.day_off:
            return DayHours(None, None, entry.label)
        if not entry.weekdays and day.weekday() not in self.working_weekdays:
            return DayHours(None, None, "weekend")
        return DayHours(
            self.check_in_by if entry.check_in_by is None else entry.check_in_by,
            self.check_out_from if entry.check_out_from is None else entry.check_out_from,
            entry.label,
        )


def _span_min(start: time, end: time) -> int:
    anchor = date(2000, 1, 3)
    span = datetime.combine(anchor, end) - datetime.combine(anchor, start)
    return max(0, int(span.total_seconds() // 60))


@dataclass(frozen=True)
class SchoolPlace:
    """A school: its geofence, its time zone and its working hours with their calendar.

    ``calendar`` holds the national calendar's entries first and the school's own after them,
    so the school's entry for a date wins over the national one (see
    :attr:`HoursOverride.specificity`).
    """

    name: str
    lat: float
    lon: float
    radius_m: float = DEFAULT_RADIUS_M
    timezone: str = "Asia/Jakarta"
    check_in_by: time = time(7, 0)
    check_out_from: time = time(15, 30)
    working_weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    calendar: tuple[HoursOverride, ...] = ()

    def __post_init__(self) -> None:
        # A misspelt zone would shift every capture time by hours; refuse it here, loudly.
        ZoneInfo(self.timezone)

    @property
    def place(self) -> Place:
        """The school's geofence."""
        return Place(self.name, self.lat, self.lon, self.radius_m)

    @property
    def hours(self) -> WorkingHours:
        """The school's working hours with its calendar."""
        return WorkingHours(
            self.check_in_by, self.check_out_from, self.working_weekdays, self.calendar
        )


@dataclass(frozen=True)
class TeacherHome:
    """A teacher's registered home: the expected place on a WFH day."""

    lat: float
    lon: float
    radius_m: float = DEFAULT_RADIUS_M

    @property
    def place(self) -> Place:
        """The home's geofence."""
        return Place("the registered home", self.lat, self.lon, self.radius_m)


@dataclass(frozen=True)
class ActivityWindow:
    """A TRK activity (or an attendance check) as the time window evidence must fall in.

    ``kind`` is the word a flag's detail uses for it: "activity", "check-in", "check-out".
    """

    id: int | None
    date: date
    start: time
    end: time
    title: str = ""
    kind: str = "activity"

    @property
    def minutes(self) -> int:
        """The window's length in whole minutes; an end before the start counts as zero."""
        start = datetime.combine(self.date, self.start)
        end = datetime.combine(self.date, self.end)
        return max(0, int((end - start).total_seconds() // 60))


class AttendanceStatus(StrEnum):
    """K-Mob's attendance statuses."""

    WFO = "WFO"  # work from office: at the school
    WFH = "WFH"  # work from home: at the registered home
    DL = "DL"  # dinas luar: official duty at a declared destination
    CUTI = "CUTI"  # leave
    SAKIT = "SAKIT"  # sick
    IZIN = "IZIN"  # excused absence

    @property
    def is_absence(self) -> bool:
        """True for the statuses on which no work, and so no evidence, is expected."""
        return self in (AttendanceStatus.CUTI, AttendanceStatus.SAKIT, AttendanceStatus.IZIN)


@dataclass(frozen=True)
class AttendanceDay:
    """One teacher-day of attendance; a DL day names its destination."""

    date: date
    status: AttendanceStatus
    check_in: time | None = None
    check_out: time | None = None
    destination: Place | None = None

    def check_window(self, which: Literal["in", "out"]) -> ActivityWindow | None:
        """The moment of a check as a window, to verify the check's selfie against."""
        moment = self.typed_check(which)
        if moment is None:
            return None
        return ActivityWindow(None, self.date, moment, moment, kind=f"check-{which}")

    def typed_check(self, which: Literal["in", "out"]) -> time | None:
        """The check-in or check-out time the teacher typed, if any."""
        return self.check_in if which == "in" else self.check_out

    def local_zone(self, school_zone: str) -> str:
        """The zone the day's times are typed in: a DL destination's own, else the school's."""
        destination = self.destination
        if self.status is AttendanceStatus.DL and destination and destination.timezone:
            return destination.timezone
        return school_zone


@dataclass(frozen=True)
class CheckSelfie:
    """The selfie of an attendance check: in K-Mob its capture time *is* the check time."""

    evidence_id: int
    at: datetime  # aware


@dataclass(frozen=True)
class HistoryItem:
    """One of the teacher's earlier items with a position, for the history checks.

    ``date`` is the local date the item counts for (its capture date, or its activity's date
    when it has no capture time); ``captured_utc`` is aware, or None when unknown.
    """

    evidence_id: int
    captured_utc: datetime | None
    lat: float
    lon: float
    date: date
    accuracy_m: float | None = None


@dataclass(frozen=True)
class HistoryScope:
    """The part of a teacher's history the history checks of one item read.

    ``coordinates``: the items whose coordinates round to these (six decimals), for the
    repeated-location check; None when that check cannot flag the item. ``around_utc``: the
    nearest timed item at or before this instant and the nearest after it (ties broken by
    id), for the travel check; None when the item has no capture time. A history holding
    those items gives the same flags as the teacher's whole history: the checks read no other.
    """

    coordinates: tuple[float, float] | None
    around_utc: datetime | None  # aware

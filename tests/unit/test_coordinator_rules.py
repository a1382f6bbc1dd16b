"""The rules as a school coordinator applies them: K-Mob check times, zones, calendars, TRK days."""

# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from evidence.calendar import (
    TRK_MONTH_MIN,
    MonthRule,
    NationalDay,
    day_target_min,
    month_target_min,
    national_overrides,
)
from evidence.days import day_totals
from evidence.facts import CaptureFacts, Location, Sourced
from evidence.flags import Code, Flag, Severity
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    CheckSelfie,
    HoursOverride,
    Place,
    SchoolPlace,
    TeacherHome,
    WorkingHours,
)
from evidence.verification import Rules, attendance_flags, trk_plausibility_flags, verify_photo

SCHOOL = SchoolPlace("SMKN 1 Cianjur", -6.8200, 107.1400)
DAY = date(2026, 10, 13)  # a Tuesday
WIB = timezone(timedelta(hours=7))
HOME = TeacherHome(-6.8500, 107.1000)
BALI = Place("LPMP Bali", -8.6705, 115.2126, 150.0, "Asia/Makassar")
JAYAPURA = Place("Dinas Pendidikan Papua", -2.5337, 140.7181, 150.0, "Asia/Jayapura")


def zones(lat: float, lon: float) -> str | None:
    """A fake lookup: WIB west of 115 E, WITA to 135 E, WIT east of it."""
    if lon < 115:
        return "Asia/Jakarta"
    return "Asia/Makassar" if lon < 135 else "Asia/Jayapura"


def photo(
    taken: datetime,
    *,
    offset_min: int | None = 420,
    at: tuple[float, float] | None = (SCHOOL.lat, SCHOOL.lon),
    offset_source: str = "exif:OffsetTimeOriginal",
    time_source: str = "exif:DateTimeOriginal",
) -> CaptureFacts:
    """A phone photo (or a video's capture facts) with a written time, offset and position."""
    return CaptureFacts(
        width=4000,
        height=3000,
        format="image/jpeg",
        captured_local=Sourced(taken, time_source),
        utc_offset_min=Sourced(offset_min, offset_source) if offset_min is not None else None,
        modified_local=Sourced(taken, "exif:DateTime"),
        location=Sourced(Location(*at, accuracy_m=8.0), "exif:GPS") if at else None,
        make=Sourced("samsung", "exif:Make"),
        model=Sourced("SM-A145F", "exif:Model"),
    )


def verify(facts: CaptureFacts, **overrides: Any) -> list[Flag]:
    options: dict[str, Any] = {
        "received_at_utc": datetime(2026, 10, 13, 12, 0, tzinfo=UTC),
        "activity": ActivityWindow(1, DAY, time(7, 0), time(8, 30), "Mengajar X TKJ 1"),
        "attendance": None,
        "school": SCHOOL,
        "home": HOME,
        "history": [],
        "rules": Rules(),
        "zone_at": zones,
    }
    options.update(overrides)
    return verify_photo(facts, **options)


def codes(flags: list[Flag]) -> list[Code]:
    return [flag.code for flag in flags]


def only(flags: list[Flag], code: Code) -> Flag:
    found = [flag for flag in flags if flag.code is code]
    assert len(found) == 1, codes(flags)
    return found[0]


def selfie(hour: int, minute: int, second: int = 0, evidence_id: int = 7) -> CheckSelfie:
    return CheckSelfie(evidence_id, datetime(2026, 10, 13, hour, minute, second, tzinfo=WIB))


def wfo(check_in: time | None = None, check_out: time | None = None) -> AttendanceDay:
    return AttendanceDay(DAY, AttendanceStatus.WFO, check_in, check_out)


# --- K-Mob: the selfie is the check ---------------------------------------------------------


def test_a_late_selfie_is_a_late_check_in_whatever_was_typed() -> None:
    (flag,) = attendance_flags(wfo(time(6, 59)), SCHOOL, selfie_in=selfie(7, 25))
    assert flag.code is Code.LATE_CHECK_IN
    assert flag.detail == (
        "checked in 07:25 WIB on 2026-10-13 (the check-in selfie, #7), after 07:00 (25 min late)"
    )


def test_a_selfie_without_a_typed_time_is_the_check_in() -> None:
    (flag,) = attendance_flags(wfo(), SCHOOL, selfie_in=selfie(8, 40))
    assert flag.code is Code.LATE_CHECK_IN and "1 h 40 min late" in flag.detail


def test_the_selfie_decides_even_when_the_typed_time_was_late() -> None:
    assert attendance_flags(wfo(time(7, 20)), SCHOOL, selfie_in=selfie(6, 52)) == []


@pytest.mark.parametrize(
    ("moment", "late"),
    [((6, 59, 59), False), ((7, 0, 0), False), ((7, 0, 1), True), ((7, 1, 0), True)],
)
def test_a_check_in_at_exactly_07_00_00_is_on_time(
    moment: tuple[int, int, int], late: bool
) -> None:
    flags = attendance_flags(wfo(), SCHOOL, selfie_in=selfie(*moment))
    assert codes(flags) == ([Code.LATE_CHECK_IN] if late else [])


@pytest.mark.parametrize(
    ("moment", "early"), [((15, 29, 59), True), ((15, 30, 0), False), ((15, 30, 1), False)]
)
def test_a_check_out_at_exactly_15_30_00_is_on_time(
    moment: tuple[int, int, int], early: bool
) -> None:
    flags = attendance_flags(wfo(), SCHOOL, selfie_out=selfie(*moment))
    assert codes(flags) == ([Code.EARLY_CHECK_OUT] if early else [])


def test_the_deadline_binds_on_wfh_days_but_not_on_dl_days() -> None:
    wfh = AttendanceDay(DAY, AttendanceStatus.WFH)
    dl = AttendanceDay(DAY, AttendanceStatus.DL, destination=BALI)
    assert codes(attendance_flags(wfh, SCHOOL, selfie_in=selfie(7, 20))) == [Code.LATE_CHECK_IN]
    assert attendance_flags(dl, SCHOOL, selfie_in=selfie(9, 30), selfie_out=selfie(11, 0)) == []


def test_a_typed_check_time_far_from_its_selfie_is_its_own_flag() -> None:
    attendance = wfo(time(6, 59))
    flags = verify(
        photo(datetime(2026, 10, 13, 7, 25)), activity=None, attendance=attendance, check="in"
    )
    flag = only(flags, Code.CHECK_TIME_MISMATCH)
    assert flag.severity is Severity.MEDIUM
    assert flag.detail == (
        "check-in typed as 06:59 but the selfie was taken 07:25 WIB (26 min apart, more than "
        "10 min); the selfie's time is the check-in time"
    )
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(flags)


def test_a_typed_check_time_within_ten_minutes_of_its_selfie_is_a_slip() -> None:
    attendance = wfo(check_out=time(15, 35))
    taken = datetime(2026, 10, 13, 15, 45, 59)  # the minute the teacher saw is 15:45
    assert verify(photo(taken), activity=None, attendance=attendance, check="out") == []


def test_a_check_selfie_from_another_day_is_wrong_day() -> None:
    taken = datetime(2026, 10, 12, 6, 50)
    flags = verify(photo(taken), activity=None, attendance=wfo(time(6, 50)), check="in")
    assert codes(flags) == [Code.WRONG_DAY]


# --- zones and clocks ------------------------------------------------------------------------


def test_dl_day_times_are_read_in_the_destinations_zone() -> None:
    dl = AttendanceDay(DAY, AttendanceStatus.DL, destination=BALI)
    taken = datetime(2026, 10, 13, 7, 10)  # 07:10 WITA, written by the phone with +08:00
    flags = verify(
        photo(taken, offset_min=480, at=(BALI.lat, BALI.lon)),
        attendance=dl,
        received_at_utc=datetime(2026, 10, 13, 0, 0, tzinfo=UTC),  # 08:00 WITA
    )
    assert flags == []


def test_dl_day_in_jayapura_is_not_in_the_future() -> None:
    dl = AttendanceDay(DAY, AttendanceStatus.DL, destination=JAYAPURA)
    taken = datetime(2026, 10, 13, 7, 10)  # 07:10 WIT, no offset: the zone at its GPS point
    flags = verify(
        photo(taken, offset_min=None, at=(JAYAPURA.lat, JAYAPURA.lon)),
        attendance=dl,
        received_at_utc=datetime(2026, 10, 12, 23, 0, tzinfo=UTC),  # 08:00 WIT
    )
    assert flags == []


def test_a_dl_photo_without_offset_or_position_assumes_the_destinations_zone() -> None:
    dl = AttendanceDay(DAY, AttendanceStatus.DL, destination=BALI)
    flags = verify(photo(datetime(2026, 10, 13, 7, 10), offset_min=None, at=None), attendance=dl)
    assert codes(flags) == [Code.TIME_ZONE_ASSUMED, Code.NO_LOCATION]
    assert "Asia/Makassar (WITA) assumed" in flags[0].detail


def video(taken: datetime, at: tuple[float, float] | None) -> CaptureFacts:
    """A video's capture facts from a UTC-labelled creation_time, as video_facts makes them."""
    source = "container:creation_time (format, UTC)"
    return photo(taken, offset_min=0, at=at, offset_source=source, time_source=source)


def test_local_time_labelled_utc_is_recognised_by_the_upload_time() -> None:
    # Filmed 07:10 WIB, the phone wrote "07:10Z"; uploaded 07:40 WIB: as UTC it is 14:10 WIB
    flags = verify(
        video(datetime(2026, 10, 13, 7, 10), at=None),
        received_at_utc=datetime(2026, 10, 13, 0, 40, tzinfo=UTC),
    )
    assert Code.TIME_IN_FUTURE not in codes(flags)
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(flags)
    note = only(flags, Code.TIME_ZONE_ASSUMED)
    assert "labelled UTC but holds local time" in note.detail
    assert (
        "read as 07:10 WIB" in note.detail and "after the server received the file" in note.detail
    )


def test_local_time_labelled_utc_is_recognised_by_the_gps_position() -> None:
    # Uploaded in the evening, so UTC is not impossible; the position says WIB and WIB fits
    flags = verify(video(datetime(2026, 10, 13, 7, 40), at=(SCHOOL.lat, SCHOOL.lon)))
    assert codes(flags) == [Code.TIME_ZONE_ASSUMED]
    assert "inside it" in flags[0].detail


def test_a_true_utc_creation_time_is_kept() -> None:
    flags = verify(video(datetime(2026, 10, 13, 0, 40), at=(SCHOOL.lat, SCHOOL.lon)))
    assert flags == []


def test_never_both_time_outside_activity_and_time_in_future_for_a_utc_label() -> None:
    # 16:00 "UTC" on the activity day, uploaded 17:00 WIB: as UTC 23:00 WIB (future); as
    # local 16:00 WIB, after the lesson: one finding, with the reading explained
    flags = verify(
        video(datetime(2026, 10, 13, 16, 0), at=None),
        received_at_utc=datetime(2026, 10, 13, 10, 0, tzinfo=UTC),
    )
    assert Code.TIME_IN_FUTURE not in codes(flags)
    assert Code.TIME_OUTSIDE_ACTIVITY in codes(flags)


def test_an_offset_other_than_the_zone_at_the_gps_position_is_a_signal() -> None:
    # WITA (+08:00) written in Cianjur (WIB): the instant is consistent, the phone is not
    flags = verify(photo(datetime(2026, 10, 13, 8, 30), offset_min=480))
    flag = only(flags, Code.TIME_ZONE_MISMATCH)
    assert flag.severity is Severity.LOW
    assert "+08:00" in flag.detail and "Asia/Jakarta" in flag.detail and "+07:00" in flag.detail
    assert verify(photo(datetime(2026, 10, 13, 7, 30), offset_min=420)) == []


def test_wrong_day_respects_the_tolerance_across_midnight() -> None:
    evening = ActivityWindow(2, DAY, time(21, 0), time(23, 50), "Persiapan lomba")
    next_day = datetime(2026, 10, 14, 0, 10)  # 20 min after the end: within 30
    flags = verify(
        photo(next_day), activity=evening, received_at_utc=datetime(2026, 10, 14, 1, 0, tzinfo=UTC)
    )
    assert flags == []
    later = datetime(2026, 10, 14, 0, 40)
    flags = verify(
        photo(later), activity=evening, received_at_utc=datetime(2026, 10, 14, 1, 0, tzinfo=UTC)
    )
    assert codes(flags) == [Code.WRONG_DAY]
    early = ActivityWindow(3, DAY, time(0, 15), time(1, 0), "Ronda")
    before = datetime(2026, 10, 12, 23, 50)
    assert verify(photo(before), activity=early) == []


# --- monthly videos --------------------------------------------------------------------------


def test_a_monthly_video_filmed_in_another_month_is_outside_its_period() -> None:
    flags = verify(photo(datetime(2026, 9, 28, 10, 0), at=None), activity=None, period="2026-10")
    flag = only(flags, Code.VIDEO_OUTSIDE_PERIOD)
    assert flag.severity is Severity.HIGH
    assert "2026-09-28" in flag.detail and "2026-10" in flag.detail
    assert Code.NO_LOCATION not in codes(flags)


def test_a_monthly_video_is_not_held_to_the_geofence() -> None:
    far = (-6.9, 107.6)  # filmed at home in Bandung
    flags = verify(
        photo(datetime(2026, 10, 20, 19, 0), at=far),
        activity=None,
        period="2026-10",
        received_at_utc=datetime(2026, 10, 21, 0, 0, tzinfo=UTC),
    )
    assert flags == []


# --- calendars, targets, plausibility ----------------------------------------------------------

CHRISTMAS = NationalDay(date(2026, 12, 25), "Hari Raya Natal")
CUTI_NATAL = NationalDay(date(2026, 12, 24), "Cuti Bersama Hari Raya Natal", collective_leave=True)


def school_with(*own: HoursOverride) -> SchoolPlace:
    return replace(SCHOOL, calendar=(*national_overrides([CHRISTMAS, CUTI_NATAL]), *own))


def test_national_holidays_and_collective_leave_are_days_off() -> None:
    hours = school_with().hours
    assert not hours.on(date(2026, 12, 25)).is_working_day
    assert not hours.on(date(2026, 12, 24)).is_working_day
    assert "cuti bersama" in hours.on(date(2026, 12, 24)).label.lower()
    checked = AttendanceDay(date(2026, 12, 25), AttendanceStatus.WFO, time(9, 0))
    assert attendance_flags(checked, school_with()) == []


def test_a_school_entry_overrides_the_national_calendar() -> None:
    opened = HoursOverride("Masuk (ujian)", start=date(2026, 12, 24), end=date(2026, 12, 24))
    hours = school_with(opened).hours
    assert hours.on(date(2026, 12, 24)).is_working_day
    assert not hours.on(date(2026, 12, 25)).is_working_day


def test_a_holiday_beats_the_ramadan_hours_around_it() -> None:
    ramadan = HoursOverride(
        "Ramadan", start=date(2027, 2, 8), end=date(2027, 3, 9), check_in_by=time(8)
    )
    holiday = NationalDay(date(2027, 2, 17), "Tahun Baru Imlek")
    hours = replace(SCHOOL, calendar=(*national_overrides([holiday]), ramadan)).hours
    assert not hours.on(date(2027, 2, 17)).is_working_day
    assert hours.on(date(2027, 2, 16)).check_in_by == time(8)


def test_the_day_target_follows_shortened_hours() -> None:
    friday = HoursOverride("Jumat", weekdays=frozenset({4}), check_out_from=time(11, 30))
    ramadan = HoursOverride(
        "Ramadan", start=date(2027, 2, 8), end=date(2027, 3, 9), check_in_by=time(8),
        check_out_from=time(14, 0),
    )  # fmt: skip
    hours = WorkingHours(overrides=(friday, ramadan))
    assert day_target_min(hours, DAY) == 450  # 07:00-15:30, the base day
    assert day_target_min(hours, date(2026, 10, 16)) == 238  # 270 of 510 min
    assert day_target_min(hours, date(2027, 2, 15)) == 318  # 360 of 510 min
    assert day_target_min(hours, date(2026, 10, 17)) == 0  # Saturday


def test_a_shortened_day_is_judged_against_its_own_target() -> None:
    friday = replace(
        SCHOOL,
        calendar=(HoursOverride("Jumat", weekdays=frozenset({4}), check_out_from=time(11, 30)),),
    )
    lessons = [ActivityWindow(1, date(2026, 10, 16), time(7, 0), time(11, 0), "Mengajar")]
    totals = day_totals(date(2026, 10, 16), lessons, {1}, None, friday, 450)
    assert totals.target_min == 238 and totals.flags == ()


def test_the_month_target_is_trks_9000_unless_the_days_add_up_to_less() -> None:
    assert month_target_min([450] * 22, MonthRule.TRK, TRK_MONTH_MIN) == 9000
    assert month_target_min([450] * 18, MonthRule.TRK, TRK_MONTH_MIN) == 8100
    assert month_target_min([450] * 22, MonthRule.WORKING_DAYS, TRK_MONTH_MIN) == 9900
    assert "9,000" in MonthRule.TRK.describe(9000)


def test_activities_at_night_on_leave_or_outside_the_attendance_are_implausible() -> None:
    activities = [
        ActivityWindow(1, DAY, time(6, 0), time(7, 0), "Apel"),
        ActivityWindow(2, DAY, time(7, 0), time(15, 0), "Mengajar"),
        ActivityWindow(3, DAY, time(21, 30), time(23, 0), "Menilai"),
    ]
    from evidence.verification import check_times

    times = check_times(wfo(), "Asia/Jakarta", selfie(6, 55), selfie(15, 35))
    (flag,) = trk_plausibility_flags(DAY, activities, wfo(), times, Rules())
    assert flag.code is Code.TRK_IMPLAUSIBLE_TIME and flag.severity is Severity.MEDIUM
    assert "06:00–07:00 “Apel” begins before the check-in 06:55" in flag.detail
    assert "21:30–23:00 “Menilai” is at night" in flag.detail
    assert "Mengajar" not in flag.detail
    leave = AttendanceDay(DAY, AttendanceStatus.CUTI)
    (flag,) = trk_plausibility_flags(DAY, activities[1:2], leave, None, Rules())
    assert "480 min logged on a CUTI (leave) day" in flag.detail


def test_an_activity_before_the_check_in_is_implausible_without_a_check_out() -> None:
    from evidence.verification import check_times

    times = check_times(wfo(), "Asia/Jakarta", selfie(7, 40))
    day = [ActivityWindow(1, DAY, time(6, 30), time(7, 15), "Apel pagi")]
    (flag,) = trk_plausibility_flags(DAY, day, wfo(), times, Rules())
    assert "begins before the check-in 07:40" in flag.detail


def test_activities_within_the_attendance_and_its_tolerance_are_plausible() -> None:
    from evidence.verification import check_times

    times = check_times(wfo(), "Asia/Jakarta", selfie(6, 55), selfie(15, 35))
    day = [ActivityWindow(1, DAY, time(6, 30), time(16, 0), "Mengajar")]
    assert trk_plausibility_flags(DAY, day, wfo(), times, Rules()) == []


def test_the_day_counts_evidenced_and_pending_minutes_apart() -> None:
    activities = [
        ActivityWindow(1, DAY, time(7, 0), time(8, 30), "Mengajar"),
        ActivityWindow(2, DAY, time(9, 0), time(10, 0), "Rapat"),
        ActivityWindow(3, DAY, time(10, 0), time(11, 0), "Piket"),
    ]
    totals = day_totals(DAY, activities, {1}, None, SCHOOL, 450, pending_activity_ids={1, 2})
    assert (totals.minutes_logged, totals.minutes_evidenced, totals.minutes_pending) == (
        210,
        90,
        60,
    )


def test_days_before_the_start_date_are_not_counted() -> None:
    totals = day_totals(DAY, [], set(), None, SCHOOL, 450, counted_from=date(2026, 10, 14))
    assert not totals.is_counted and totals.target_min == 0 and totals.flags == ()
    counted = day_totals(DAY, [], set(), None, SCHOOL, 450, counted_from=DAY)
    assert counted.is_counted and counted.target_min == 450

"""Verification: each photo flag and each record flag, its boundaries and its detail."""

# Details are asserted as a reviewer reads them, with their en dashes and multiplication signs.
# ruff: noqa: RUF001

from __future__ import annotations

import ast
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from math import pi
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from evidence.details import clock_text, distance_text, duration_text
from evidence.editors import editor_named_in
from evidence.facts import CaptureFacts, Location, Sourced
from evidence.flags import Code, Flag, Severity
from evidence.geo import EARTH_RADIUS_M, distance_m
from evidence.provenance import chat_app_naming, is_screen_sized
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    HistoryItem,
    HistoryScope,
    HoursOverride,
    Place,
    SchoolPlace,
    TeacherHome,
    WorkingHours,
)
from evidence.timeresolve import ResolvedTime
from evidence.verification import (
    Rules,
    activity_overlap_flag,
    activity_overlaps,
    attendance_flags,
    history_scope,
    trk_day_flags,
    verify_photo,
)

# SMKN 1 Cianjur, roughly; Tuesday 13 October 2026
SCHOOL = SchoolPlace("SMKN 1 Cianjur", -6.8200, 107.1400)
DAY = date(2026, 10, 13)
LESSON = ActivityWindow(1, DAY, time(7, 0), time(8, 30), "Mengajar Matematika X-1")
RECEIVED = datetime(2026, 10, 13, 12, 0, tzinfo=UTC)  # 19:00 WIB, the evening upload
HOME = TeacherHome(-6.8500, 107.1000)
BANDUNG = (-6.9025, 107.6188)


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point due north: along a meridian the haversine distance is exactly R * dlat."""
    return lat + metres / EARTH_RADIUS_M * 180 / pi, lon


def zones(lat: float, lon: float) -> str | None:
    """A fake lookup: WIB west of 115.5 E, WITA east of it, nothing at sea (lat > 0 here)."""
    if lat > 0:
        return None
    return "Asia/Jakarta" if lon < 115.5 else "Asia/Makassar"


def photo(
    taken: datetime | None = datetime(2026, 10, 13, 7, 30),
    *,
    offset_min: int | None = 420,
    at: tuple[float, float] | None = (SCHOOL.lat, SCHOOL.lon),
    accuracy_m: float | None = 8.0,
    gps_utc: datetime | None = None,
    width: int = 4000,
    height: int = 3000,
    fmt: str = "image/jpeg",
    camera: bool = True,
    software: str | None = "A145FXXU1AWA1",
    creator_tool: str | None = None,
    saved: datetime | None = None,
) -> CaptureFacts:
    """A Samsung Galaxy A14 photo taken at the school during the lesson, unless told otherwise."""
    if gps_utc is None and taken is not None and at is not None:
        gps_utc = taken.replace(tzinfo=UTC) - timedelta(hours=7, seconds=20)
    return CaptureFacts(
        width=width,
        height=height,
        format=fmt,
        captured_local=Sourced(taken, "exif:DateTimeOriginal") if taken else None,
        utc_offset_min=(
            Sourced(offset_min, "exif:OffsetTimeOriginal") if offset_min is not None else None
        ),
        modified_local=Sourced(saved or taken, "exif:DateTime") if (saved or taken) else None,
        gps_time_utc=Sourced(gps_utc, "exif:GPSTimeStamp") if gps_utc else None,
        location=Sourced(Location(*at, accuracy_m=accuracy_m), "exif:GPS") if at else None,
        make=Sourced("samsung", "exif:Make") if camera else None,
        model=Sourced("SM-A145F", "exif:Model") if camera else None,
        software=Sourced(software, "exif:Software") if software else None,
        creator_tool=Sourced(creator_tool, "xmp:CreatorTool") if creator_tool else None,
    )


def verify(facts: CaptureFacts, **overrides: Any) -> list[Flag]:
    options: dict[str, Any] = {
        "received_at_utc": RECEIVED,
        "activity": LESSON,
        "attendance": None,
        "school": SCHOOL,
        "home": HOME,
        "history": [],
        "rules": Rules(),
        "zone_at": zones,
        **overrides,
    }
    return verify_photo(facts, **options)


def codes(flags: list[Flag]) -> list[Code]:
    return [flag.code for flag in flags]


def only(flags: list[Flag], code: Code) -> Flag:
    found = [flag for flag in flags if flag.code == code]
    assert len(found) == 1, codes(flags)
    return found[0]


# --- a clean photo, and the shape of the answer ----------------------------------------------


def test_clean_photo_from_the_lesson_at_school_has_no_flag() -> None:
    assert verify(photo()) == []


def test_flags_come_one_per_code_in_spec_order() -> None:
    facts = photo(
        datetime(2026, 10, 13, 10, 47),
        at=BANDUNG,
        accuracy_m=300,
        software="Snapseed 2.0",
        width=1080,
        height=2400,
        camera=False,
    )
    flags = verify(facts, filename="IMG-20261013-WA0011.jpg", exif_thumbnail_distance=40)
    assert codes(flags) == [
        Code.TIME_OUTSIDE_ACTIVITY,
        Code.OUTSIDE_GEOFENCE,
        Code.LOW_GPS_ACCURACY,
        Code.EDITED,
        Code.FORWARDED_OR_SCREENSHOT,
    ]
    assert [flag.severity for flag in flags] == [
        Severity.HIGH,
        Severity.HIGH,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.MEDIUM,
    ]


def test_verification_never_raises_on_a_bare_photo() -> None:
    bare = CaptureFacts(width=1, height=1, format="image/jpeg")
    assert codes(verify(bare, activity=None, home=None)) == [
        Code.NO_CAPTURE_TIME,
        Code.NO_LOCATION,
    ]


def test_rule_defaults_are_the_specs() -> None:
    rules = Rules()
    assert (rules.activity_tolerance_min, rules.future_tolerance_min) == (30, 5)
    assert (rules.gps_time_tolerance_min, rules.modified_after_capture_s) == (60, 60)
    assert (rules.accuracy_allowance_cap_m, rules.low_accuracy_m) == (100, 100)
    assert (rules.repeated_location_days, rules.max_speed_kmh) == (3, 150)
    assert (rules.trk_target_min, SCHOOL.radius_m) == (450, 150)
    assert (SCHOOL.check_in_by, SCHOOL.check_out_from) == (time(7, 0), time(15, 30))


# --- capture time ----------------------------------------------------------------------------


def test_flags_photo_taken_after_the_activity_with_a_readable_detail() -> None:
    flag = only(verify(photo(datetime(2026, 10, 13, 10, 47))), Code.TIME_OUTSIDE_ACTIVITY)
    assert flag.severity is Severity.HIGH
    assert flag.detail == "taken 10:47 WIB; activity 07:00–08:30 (2 h 17 min after its end)"


def test_flags_photo_taken_before_the_activity() -> None:
    flag = only(verify(photo(datetime(2026, 10, 13, 6, 29))), Code.TIME_OUTSIDE_ACTIVITY)
    assert flag.detail == "taken 06:29 WIB; activity 07:00–08:30 (31 min before its start)"


@pytest.mark.parametrize(
    "taken",
    [
        datetime(2026, 10, 13, 6, 30),  # exactly 30 min before the start
        datetime(2026, 10, 13, 9, 0),  # exactly 30 min after the end
        datetime(2026, 10, 13, 7, 45),
    ],
)
def test_photo_within_30_min_of_the_activity_is_not_flagged(taken: datetime) -> None:
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(verify(photo(taken)))


def test_one_second_past_the_tolerance_is_flagged_and_says_so() -> None:
    flag = only(verify(photo(datetime(2026, 10, 13, 9, 0, 1))), Code.TIME_OUTSIDE_ACTIVITY)
    assert "(30 min 1 s after its end)" in flag.detail


def test_activity_tolerance_is_a_rule() -> None:
    late = photo(datetime(2026, 10, 13, 8, 45))
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(verify(late))
    strict = Rules(activity_tolerance_min=10)
    assert Code.TIME_OUTSIDE_ACTIVITY in codes(verify(late, rules=strict))


def test_capture_time_is_compared_in_the_schools_zone() -> None:
    # 09:47 WITA in Makassar is 08:47 WIB: inside the Cianjur school's lesson window
    facts = photo(datetime(2026, 10, 13, 9, 47), offset_min=480)
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(verify(facts))


def test_flags_photo_taken_on_another_day() -> None:
    flags = verify(photo(datetime(2026, 10, 12, 7, 15)))
    flag = only(flags, Code.WRONG_DAY)
    assert flag.severity is Severity.HIGH
    assert flag.detail == (
        "taken 2026-10-12 07:15 WIB; activity dated 2026-10-13 07:00–08:30 (1 day before it)"
    )
    # one finding, not two: the other day's time is not also "outside the activity"
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(flags)


def test_wrong_day_counts_days_after() -> None:
    flag = only(verify(photo(datetime(2026, 10, 16, 7, 15))), Code.WRONG_DAY)
    assert "(3 days after it)" in flag.detail


def test_local_date_is_the_schools_not_utcs() -> None:
    # 06:50 WIB on the 13th is 23:50 UTC on the 12th: still the activity's day
    facts = photo(datetime(2026, 10, 13, 6, 50))
    assert codes(verify(facts)) == []


def test_photo_written_in_utc_is_placed_on_the_schools_date() -> None:
    # a camera set to UTC: 2026-10-12 23:40 +00:00 is 06:40 WIB on the 13th; that its zone is
    # not the one at its GPS position is only a low signal
    facts = photo(
        datetime(2026, 10, 12, 23, 40), offset_min=0, gps_utc=datetime(2026, 10, 12, 23, 39, 40)
    )
    assert codes(verify(facts)) == [Code.TIME_ZONE_MISMATCH]


def test_check_in_selfie_is_verified_against_the_check_time() -> None:
    attendance = AttendanceDay(DAY, AttendanceStatus.WFO, check_in=time(6, 55))
    window = attendance.check_window("in")
    assert window is not None
    assert codes(verify(photo(datetime(2026, 10, 13, 6, 54)), activity=window)) == []
    late = verify(photo(datetime(2026, 10, 13, 8, 10)), activity=window, attendance=attendance)
    assert only(late, Code.TIME_OUTSIDE_ACTIVITY).detail == (
        "taken 08:10 WIB; check-in 06:55 (1 h 15 min after it)"
    )


def test_a_day_without_a_check_has_no_check_window() -> None:
    assert AttendanceDay(DAY, AttendanceStatus.WFO).check_window("out") is None


def test_photo_without_activity_skips_the_window_checks() -> None:
    assert codes(verify(photo(datetime(2026, 10, 12, 22, 0)), activity=None)) == []


def test_flags_capture_time_in_the_future() -> None:
    received = datetime(2026, 10, 13, 0, 10, tzinfo=UTC)  # 07:10 WIB
    flags = verify(photo(datetime(2026, 10, 13, 7, 30)), received_at_utc=received)
    flag = only(flags, Code.TIME_IN_FUTURE)
    assert flag.severity is Severity.HIGH
    assert flag.detail == (
        "taken 07:30 WIB, 20 min after the server received it (07:10 WIB); "
        "the phone's clock or the metadata is wrong"
    )


def test_up_to_5_min_ahead_of_the_server_is_clock_drift() -> None:
    received = datetime(2026, 10, 13, 0, 25, tzinfo=UTC)  # 07:25 WIB
    assert codes(verify(photo(), received_at_utc=received)) == []
    just_over = received - timedelta(seconds=1)
    assert codes(verify(photo(), received_at_utc=just_over)) == [Code.TIME_IN_FUTURE]


def test_naive_received_time_is_taken_as_utc() -> None:
    received = datetime(2026, 10, 13, 0, 10)
    assert Code.TIME_IN_FUTURE in codes(verify(photo(), received_at_utc=received))


def test_no_capture_time_is_flagged_and_time_checks_are_skipped() -> None:
    flags = verify(photo(None))
    flag = only(flags, Code.NO_CAPTURE_TIME)
    assert flag.severity is Severity.MEDIUM
    assert codes(flags) == [Code.NO_CAPTURE_TIME]


def test_zone_is_assumed_without_offset_or_position() -> None:
    flags = verify(photo(offset_min=None, at=None), zone_at=zones)
    flag = only(flags, Code.TIME_ZONE_ASSUMED)
    assert flag.severity is Severity.INFO
    assert flag.detail == (
        "the camera wrote 2026-10-13 07:30:00 with no UTC offset and the photo has no "
        "position: Asia/Jakarta (WIB) assumed"
    )


def test_zone_is_assumed_when_no_zone_is_known_at_the_position() -> None:
    flags = verify(photo(offset_min=None), zone_at=lambda lat, lon: None)
    assert "no zone is known at its position" in only(flags, Code.TIME_ZONE_ASSUMED).detail


def test_zone_at_the_gps_point_is_no_assumption() -> None:
    assert codes(verify(photo(offset_min=None))) == []


def test_zone_at_the_gps_point_moves_the_instant() -> None:
    # on DL in Makassar, a camera without offsets: 08:20 local is 07:20 WIB, inside the lesson
    makassar = (-5.1400, 119.4200)
    facts = photo(datetime(2026, 10, 13, 8, 20), offset_min=None, at=makassar)
    flags = verify(facts, zone_at=zones)
    assert Code.TIME_OUTSIDE_ACTIVITY not in codes(flags)
    assert Code.TIME_ZONE_ASSUMED not in codes(flags)


def test_client_position_is_used_for_the_zone_lookup() -> None:
    asked: list[tuple[float, float]] = []

    def lookup(lat: float, lon: float) -> str | None:
        asked.append((lat, lon))
        return "Asia/Jakarta"

    client = Location(SCHOOL.lat, SCHOOL.lon, accuracy_m=5)
    flags = verify(photo(offset_min=None, at=None), zone_at=lookup, client_location=client)
    assert asked == [(SCHOOL.lat, SCHOOL.lon)]
    assert codes(flags) == []


def test_gps_fix_on_previous_utc_date_is_not_a_mismatch() -> None:
    # 06:50 WIB on the 13th; the fix, five minutes older, is dated the 12th in UTC
    facts = photo(datetime(2026, 10, 13, 6, 50), gps_utc=datetime(2026, 10, 12, 23, 45))
    assert codes(verify(facts)) == []


def test_flags_gps_fix_more_than_60_min_from_the_capture() -> None:
    facts = photo(datetime(2026, 10, 13, 7, 30), gps_utc=datetime(2026, 10, 12, 23, 29, 59))
    flag = only(verify(facts), Code.GPS_TIME_MISMATCH)
    assert flag.severity is Severity.LOW
    assert flag.detail.startswith(
        "GPS fix at 2026-10-12 23:29 UTC (06:29 WIB) but taken 07:30 WIB: "
        "1 h apart, more than 60 min"
    )


def test_gps_fix_exactly_60_min_away_is_no_mismatch() -> None:
    facts = photo(datetime(2026, 10, 13, 7, 30), gps_utc=datetime(2026, 10, 12, 23, 30))
    assert codes(verify(facts)) == []


def test_gps_time_is_utc_not_wall_clock() -> None:
    # a fix written with the local digits (07:30) is 7 hours off the 07:30 WIB capture
    facts = photo(datetime(2026, 10, 13, 7, 30), gps_utc=datetime(2026, 10, 13, 7, 30))
    flag = only(verify(facts), Code.GPS_TIME_MISMATCH)
    assert "(14:30 WIB)" in flag.detail and "7 h apart" in flag.detail


def test_gps_fix_dated_another_local_day_shows_its_date() -> None:
    facts = photo(datetime(2026, 10, 13, 7, 30), gps_utc=datetime(2026, 10, 11, 23, 0, tzinfo=UTC))
    assert "(2026-10-12 06:00 WIB)" in only(verify(facts), Code.GPS_TIME_MISMATCH).detail


# --- place -----------------------------------------------------------------------------------


def test_no_location_is_flagged() -> None:
    flag = only(verify(photo(at=None)), Code.NO_LOCATION)
    assert flag.severity is Severity.MEDIUM


def test_position_sent_by_the_phone_counts_as_location() -> None:
    client = Location(SCHOOL.lat, SCHOOL.lon, accuracy_m=5)
    assert codes(verify(photo(at=None), client_location=client)) == []


def test_photos_own_gps_is_preferred_to_the_phones_position() -> None:
    client = Location(*BANDUNG)
    assert codes(verify(photo(), client_location=client)) == []


def test_outside_geofence_detail_reads_on_its_own() -> None:
    facts = photo(at=north_of(SCHOOL.lat, SCHOOL.lon, 1_900), accuracy_m=12)
    flag = only(verify(facts), Code.OUTSIDE_GEOFENCE)
    assert flag.severity is Severity.HIGH
    assert flag.detail == "1.9 km from SMKN 1 Cianjur (radius 150 m, GPS accuracy 12 m)"


def test_outside_geofence_names_the_phones_position_and_unreported_accuracy() -> None:
    client = Location(*north_of(SCHOOL.lat, SCHOOL.lon, 400))
    flag = only(verify(photo(at=None), client_location=client), Code.OUTSIDE_GEOFENCE)
    assert flag.detail == (
        "400 m from SMKN 1 Cianjur (radius 150 m, GPS accuracy not reported; "
        "the phone's reported position)"
    )


def test_exactly_radius_plus_accuracy_is_inside_the_geofence() -> None:
    at = north_of(SCHOOL.lat, SCHOOL.lon, 162.0)
    exact = distance_m(SCHOOL.lat, SCHOOL.lon, *at)
    on_the_edge = replace(SCHOOL, radius_m=exact - 12.0)
    assert codes(verify(photo(at=at, accuracy_m=12.0), school=on_the_edge)) == []
    just_inside_out = replace(SCHOOL, radius_m=exact - 12.0 - 0.01)
    assert codes(verify(photo(at=at, accuracy_m=12.0), school=just_inside_out)) == [
        Code.OUTSIDE_GEOFENCE
    ]


def test_accuracy_allowance_is_capped_at_100_m() -> None:
    # 300 m of reported error stretches the 150 m fence to 250 m, not 450 m
    inside = photo(at=north_of(SCHOOL.lat, SCHOOL.lon, 249), accuracy_m=300)
    outside = photo(at=north_of(SCHOOL.lat, SCHOOL.lon, 252), accuracy_m=300)
    assert Code.OUTSIDE_GEOFENCE not in codes(verify(inside))
    assert Code.OUTSIDE_GEOFENCE in codes(verify(outside))


def test_unreported_accuracy_earns_no_allowance() -> None:
    facts = photo(at=north_of(SCHOOL.lat, SCHOOL.lon, 155), accuracy_m=None)
    assert codes(verify(facts)) == [Code.OUTSIDE_GEOFENCE]


def test_no_attendance_record_means_the_school() -> None:
    at_home = photo(at=(HOME.lat, HOME.lon))
    assert "from SMKN 1 Cianjur" in only(verify(at_home), Code.OUTSIDE_GEOFENCE).detail


def test_wfh_photo_is_checked_against_the_registered_home() -> None:
    wfh = AttendanceDay(DAY, AttendanceStatus.WFH, time(6, 50), time(15, 40))
    assert codes(verify(photo(at=(HOME.lat, HOME.lon)), attendance=wfh)) == []
    flag = only(verify(photo(), attendance=wfh), Code.OUTSIDE_GEOFENCE)
    assert flag.detail.startswith("5.5 km from the registered home (WFH) (radius 150 m")


def test_wfh_without_a_registered_home_cannot_be_placed() -> None:
    wfh = AttendanceDay(DAY, AttendanceStatus.WFH)
    assert codes(verify(photo(at=BANDUNG), attendance=wfh, home=None)) == []


def test_dl_photo_is_checked_against_the_declared_destination() -> None:
    office = Place("Disdik Jabar, Bandung", *BANDUNG, radius_m=300)
    dl = AttendanceDay(DAY, AttendanceStatus.DL, destination=office)
    there = photo(at=north_of(*BANDUNG, 290), accuracy_m=None)
    assert codes(verify(there, attendance=dl)) == []
    flag = only(verify(photo(), attendance=dl), Code.OUTSIDE_GEOFENCE)
    assert flag.detail.startswith(
        "53.6 km from Disdik Jabar, Bandung (DL destination) (radius 300 m"
    )


def test_dl_without_a_destination_cannot_be_placed() -> None:
    dl = AttendanceDay(DAY, AttendanceStatus.DL)
    assert codes(verify(photo(at=BANDUNG), attendance=dl)) == []


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (AttendanceStatus.CUTI, "leave"),
        (AttendanceStatus.SAKIT, "sick leave"),
        (AttendanceStatus.IZIN, "excused absence"),
    ],
)
def test_photo_on_a_leave_day_gets_its_own_flag_not_outside_geofence(
    status: AttendanceStatus, word: str
) -> None:
    leave = AttendanceDay(DAY, status)
    flags = verify(photo(), attendance=leave)
    assert codes(flags) == [Code.EVIDENCE_ON_LEAVE_DAY]
    flag = only(flags, Code.EVIDENCE_ON_LEAVE_DAY)
    assert flag.severity is Severity.MEDIUM
    assert flag.detail == (
        f"evidence for 2026-10-13, recorded as {status.value} ({word}) in the attendance: "
        "no work is expected that day"
    )


def test_photo_without_position_on_a_leave_day_is_not_also_no_location() -> None:
    leave = AttendanceDay(DAY, AttendanceStatus.SAKIT)
    assert codes(verify(photo(at=None), attendance=leave)) == [Code.EVIDENCE_ON_LEAVE_DAY]


def test_photo_without_position_is_never_outside_the_geofence() -> None:
    for status in (AttendanceStatus.WFO, AttendanceStatus.WFH):
        flags = verify(photo(at=None), attendance=AttendanceDay(DAY, status))
        assert codes(flags) == [Code.NO_LOCATION]


def test_flags_low_gps_accuracy_over_100_m() -> None:
    assert codes(verify(photo(accuracy_m=100.0))) == []
    flag = only(verify(photo(accuracy_m=140.0)), Code.LOW_GPS_ACCURACY)
    assert flag.severity is Severity.LOW
    assert flag.detail == (
        "the photo's GPS reports a horizontal error of 140 m, more than 100 m: "
        "the position is only roughly known"
    )


# --- edited ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "software",
    [
        "Adobe Photoshop 25.0 (Windows)",
        "Adobe Photoshop Lightroom Classic 13.0 (Windows)",
        "Snapseed 2.0",
        "PicsArt",
        "GIMP 2.10.34",
        "Meitu",
        "Canva",
        "Adobe Photoshop Express",
        "Photo Editor Pro",
    ],
)
def test_editor_in_software_is_an_edit(software: str) -> None:
    flag = only(verify(photo(software=software)), Code.EDITED)
    assert flag.severity is Severity.MEDIUM
    assert flag.detail.startswith(f"exif:Software is “{software}” (")


def test_editor_in_xmp_creator_tool_is_an_edit() -> None:
    flag = only(verify(photo(creator_tool="Canva")), Code.EDITED)
    assert flag.detail == "xmp:CreatorTool is “Canva” (Canva is an image editor)"


@pytest.mark.parametrize(
    "firmware",
    [
        "A145FXXU1AWA1",  # Samsung Galaxy A14 build
        "G991BXXU5CVF3",  # Samsung Galaxy S21 build
        "Galaxy S23 Ultra",
        "MIUI Camera",
        "HDR+ 1.0.541323597zd",  # Pixel
        "17.1.2",  # iPhone: the iOS version
        "MediaTek Camera Application",
        "vivo 1906",
        "Canvas Camera",  # "Canva" only as a whole word
    ],
)
def test_phone_firmware_is_not_an_edit(firmware: str) -> None:
    assert codes(verify(photo(software=firmware, creator_tool=firmware))) == []


def test_editor_names_are_matched_whole_and_without_case() -> None:
    assert editor_named_in("snapseed") == "Snapseed"
    assert editor_named_in("ADOBE PHOTOSHOP CC") == "Photoshop"
    assert editor_named_in("Paint.NET 5.0") == "Paint.NET"
    assert editor_named_in("Canvas") is None
    assert editor_named_in("") is None
    assert editor_named_in(None) is None


def test_saved_more_than_60_s_after_capture_is_an_edit() -> None:
    taken = datetime(2026, 10, 13, 7, 30)
    assert codes(verify(photo(taken, saved=taken + timedelta(seconds=60)))) == []
    flag = only(verify(photo(taken, saved=taken + timedelta(minutes=14, seconds=3))), Code.EDITED)
    assert flag.detail == (
        "saved again 14 min 3 s after it was taken (exif:DateTime 2026-10-13 07:44:03, "
        "exif:DateTimeOriginal 2026-10-13 07:30:00)"
    )


def test_saved_before_capture_is_not_an_edit() -> None:
    taken = datetime(2026, 10, 13, 7, 30)
    assert codes(verify(photo(taken, saved=taken - timedelta(hours=1)))) == []


def test_thumbnail_different_from_the_image_is_an_edit() -> None:
    assert codes(verify(photo(), exif_thumbnail_distance=None)) == []
    assert codes(verify(photo(), exif_thumbnail_distance=20)) == []
    flag = only(verify(photo(), exif_thumbnail_distance=21), Code.EDITED)
    assert "perceptual distance 21 of 64, limit 20" in flag.detail


def test_edit_reasons_join_in_one_flag() -> None:
    taken = datetime(2026, 10, 13, 7, 30)
    facts = photo(taken, software="Snapseed", saved=taken + timedelta(hours=2))
    flag = only(verify(facts, exif_thumbnail_distance=33), Code.EDITED)
    assert flag.detail.count("; ") == 2


# --- forwarded or screenshot -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "who"),
    [
        ("IMG-20261013-WA0011.jpg", "WhatsApp"),
        ("IMG-20261013-WA0011 (1).jpg", "WhatsApp"),
        ("WhatsApp Image 2026-10-13 at 07.15.02.jpeg", "WhatsApp"),
        ("Gambar WhatsApp 2026-10-13 pukul 07.15.02_4f3c2a1b.jpg", "WhatsApp"),
        ("C:\\fakepath\\IMG-20261013-WA0011.jpg", "WhatsApp"),
        ("photo_2026-10-13_07-15-02.jpg", "Telegram"),
        ("FB_IMG_1697180000000.jpg", "Facebook"),
        ("received_1234567890123456.jpeg", "Messenger"),
        ("Screenshot_20261013-071502.png", "a screenshot tool"),
        ("Screenshot_2026-10-13-07-15-02-123_com.whatsapp.jpg", "WhatsApp"),
        ("Tangkapan layar 2026-10-13 071502.png", "a screenshot tool"),
    ],
)
def test_whatsapp_file_name_is_forwarded(filename: str, who: str) -> None:
    assert chat_app_naming(filename) == who
    flag = only(verify(photo(), filename=filename), Code.FORWARDED_OR_SCREENSHOT)
    assert flag.severity is Severity.MEDIUM
    assert flag.detail == f"file name “{filename}” follows {who}'s naming, not a camera's"


@pytest.mark.parametrize(
    "filename",
    [
        "IMG_20261013_071502.jpg",  # Android camera
        "20261013_071502.jpg",  # Samsung camera
        "PXL_20261013_001502123.jpg",  # Pixel camera
        "IMG_1234.HEIC",  # iPhone
        "DSC_0001.JPG",
        "mengajar kelas X.jpg",
        None,
        "",
    ],
)
def test_camera_file_names_are_not_forwarded(filename: str | None) -> None:
    assert chat_app_naming(filename) is None
    assert codes(verify(photo(), filename=filename)) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (1080, 2400),
        (2400, 1080),
        (1170, 2532),
        (1179, 2556),
        (720, 1600),
        (1440, 3200),
        (750, 1334),
        (1080, 1920),
    ],
)
def test_screen_sized_image_without_camera_tags_is_a_screenshot(width: int, height: int) -> None:
    assert is_screen_sized(width, height)
    # a screenshot carries no camera tags: no make or model, no capture time with a GPS fix
    facts = photo(width=width, height=height, camera=False, software=None, at=None)
    flag = only(verify(facts), Code.FORWARDED_OR_SCREENSHOT)
    assert flag.detail == (
        f"{width}×{height} with no camera metadata: the size of a phone screen, as screenshots are"
    )


def test_screen_sized_image_with_camera_tags_is_a_photo() -> None:
    assert codes(verify(photo(width=1080, height=2400))) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [(4000, 3000), (1600, 1200), (1200, 1600), (3000, 3000), (1080, 1440), (900, 1600)],
)
def test_camera_or_chat_sizes_are_not_screen_sizes(width: int, height: int) -> None:
    assert not is_screen_sized(width, height)
    assert codes(verify(photo(width=width, height=height, camera=False))) == []


def test_png_without_camera_tags_is_a_screenshot() -> None:
    facts = photo(fmt="image/png", camera=False, width=800, height=600, at=None)
    assert (
        "a PNG with no camera metadata" in only(verify(facts), Code.FORWARDED_OR_SCREENSHOT).detail
    )


# --- the teacher's history -------------------------------------------------------------------

SPOT = (-6.819873, 107.140412)


def item(
    evidence_id: int,
    day: date,
    at: tuple[float, float] = SPOT,
    hhmm: str | None = "07:20",
    accuracy_m: float | None = None,
) -> HistoryItem:
    captured = None
    if hhmm is not None:
        local = datetime.combine(day, time.fromisoformat(hhmm))
        captured = (local - timedelta(hours=7)).replace(tzinfo=UTC)
    return HistoryItem(evidence_id, captured, at[0], at[1], day, accuracy_m)


def test_identical_coordinates_on_three_days_is_repeated_location() -> None:
    history = [item(40, date(2026, 10, 9)), item(41, date(2026, 10, 12))]
    flags = verify(photo(at=SPOT), history=history)
    flag = only(flags, Code.REPEATED_LOCATION)
    assert flag.severity is Severity.MEDIUM
    assert flag.related_evidence_id == 41
    assert flag.detail.startswith(
        "exactly the same coordinates (-6.819873, 107.140412) on 3 different days "
        "(2026-10-09, 2026-10-12, 2026-10-13)"
    )


def test_identical_coordinates_on_two_days_are_not_yet_a_pattern() -> None:
    history = [item(40, date(2026, 10, 12)), item(41, date(2026, 10, 13), hhmm="07:05")]
    assert codes(verify(photo(at=SPOT), history=history)) == []


def test_repeated_location_counts_days_not_items() -> None:
    history = [item(i, date(2026, 10, 12), hhmm=f"07:{i:02d}") for i in range(10, 20)]
    assert codes(verify(photo(at=SPOT), history=history)) == []


def test_coordinates_a_metre_apart_are_not_identical() -> None:
    history = [
        item(40, date(2026, 10, 9), at=north_of(*SPOT, 1.0)),
        item(41, date(2026, 10, 12), at=north_of(*SPOT, 2.0)),
    ]
    assert codes(verify(photo(at=SPOT), history=history)) == []


def test_coordinates_rounded_by_the_database_still_match() -> None:
    history = [
        item(40, date(2026, 10, 9), at=(-6.8198731, 107.1404119)),
        item(41, date(2026, 10, 12), at=(-6.8198729, 107.1404121)),
    ]
    assert Code.REPEATED_LOCATION in codes(verify(photo(at=SPOT), history=history))


def test_whole_arcsecond_coordinates_are_not_repeated_location() -> None:
    # 6 deg 49' 12" S, 107 deg 8' 25" E: budget phones writing whole seconds repeat these daily
    coarse = (-(6 + 49 / 60 + 12 / 3600), 107 + 8 / 60 + 25 / 3600)
    history = [item(40, date(2026, 10, 9), at=coarse), item(41, date(2026, 10, 12), at=coarse)]
    assert codes(verify(photo(at=coarse), history=history)) == []


def test_history_scope_is_the_rounded_spot_and_the_capture_instant() -> None:
    when = ResolvedTime(datetime(2026, 10, 13, 7, 30, tzinfo=ZoneInfo("Asia/Jakarta")), "x", "y")
    here = Location(-6.81987349, 107.14041151, accuracy_m=8.0)
    scope = history_scope(here, when)
    assert scope == HistoryScope((-6.819873, 107.140412), datetime(2026, 10, 13, 0, 30, tzinfo=UTC))
    assert scope.around_utc is not None and scope.around_utc.tzinfo is UTC


def test_history_scope_leaves_out_what_no_check_reads() -> None:
    when = ResolvedTime(datetime(2026, 10, 13, 0, 30, tzinfo=UTC), "x", "y")
    coarse = Location(-(6 + 49 / 60 + 12 / 3600), 107 + 8 / 60 + 25 / 3600)
    assert history_scope(None, when) is None  # no position: neither check applies
    assert history_scope(Location(*SPOT), None) == HistoryScope(SPOT, None)
    assert history_scope(coarse, when) == HistoryScope(None, when.utc)
    assert history_scope(coarse, None) is None


def test_the_item_itself_is_not_its_own_history() -> None:
    history = [item(40, date(2026, 10, 9)), item(41, date(2026, 10, 12)), item(42, DAY)]
    assert Code.REPEATED_LOCATION not in codes(
        verify(photo(at=SPOT), history=history[:1] + history[2:], evidence_id=42)
    )
    assert codes(verify(photo(at=SPOT), history=history, evidence_id=42)) == [
        Code.REPEATED_LOCATION
    ]


def test_flags_impossible_travel_from_the_previous_item() -> None:
    earlier = item(77, DAY, at=BANDUNG, hhmm="07:10")  # 54 km away, 20 min before
    flag = only(verify(photo(), history=[earlier]), Code.IMPOSSIBLE_TRAVEL)
    assert flag.severity is Severity.MEDIUM
    assert flag.related_evidence_id == 77
    assert flag.detail == (
        "53.6 km from evidence #77 taken 07:10 WIB, 20 min apart: 161 km/h, more than 150 km/h"
    )


def test_flags_impossible_travel_to_the_next_item() -> None:
    later = item(78, DAY, at=BANDUNG, hhmm="07:45")
    assert only(verify(photo(), history=[later]), Code.IMPOSSIBLE_TRAVEL).related_evidence_id == 78


def test_travel_by_car_is_possible() -> None:
    earlier = item(77, DAY, at=BANDUNG, hhmm="06:00")  # 54 km in 90 min: 36 km/h
    assert codes(verify(photo(), history=[earlier])) == []


def test_travel_is_checked_against_the_neighbours_in_time_only() -> None:
    # Bandung at 07:20 and school at 07:25 is that earlier item's problem, not this one's
    history = [item(70, DAY, at=BANDUNG, hhmm="07:20"), item(71, DAY, hhmm="07:25")]
    assert codes(verify(photo(at=SPOT), history=history)) == []


def test_pairs_within_a_kilometre_are_gps_noise_not_travel() -> None:
    near = item(77, DAY, at=north_of(SCHOOL.lat, SCHOOL.lon, 900), hhmm="07:29")
    assert codes(verify(photo(accuracy_m=None), history=[near])) == []


def test_pairs_within_their_reported_accuracy_are_ignored() -> None:
    # 3 km in a minute would be 180 km/h, but both fixes claim 1.6 km of error
    near = item(77, DAY, at=north_of(SCHOOL.lat, SCHOOL.lon, 3_000), hhmm="07:29", accuracy_m=1_600)
    assert Code.IMPOSSIBLE_TRAVEL not in codes(verify(photo(accuracy_m=1_600), history=[near]))
    precise = replace(near, accuracy_m=5)
    assert Code.IMPOSSIBLE_TRAVEL in codes(verify(photo(accuracy_m=5), history=[precise]))


def test_two_places_at_the_same_moment() -> None:
    same_time = item(77, DAY, at=BANDUNG, hhmm="07:30")
    flag = only(verify(photo(), history=[same_time]), Code.IMPOSSIBLE_TRAVEL)
    assert "at the same moment" in flag.detail


def test_history_without_capture_times_is_not_used_for_travel() -> None:
    assert codes(verify(photo(), history=[item(77, DAY, at=BANDUNG, hhmm=None)])) == []


def test_max_speed_is_a_rule() -> None:
    earlier = item(77, DAY, at=BANDUNG, hhmm="07:10")
    assert codes(verify(photo(), history=[earlier], rules=Rules(max_speed_kmh=200))) == []


# --- the records: overlaps, TRK minutes, attendance ------------------------------------------


def activity(id_: int, start: str, end: str, day: date = DAY, title: str = "") -> ActivityWindow:
    return ActivityWindow(id_, day, time.fromisoformat(start), time.fromisoformat(end), title)


def test_overlapping_activities_are_paired() -> None:
    a = activity(1, "07:00", "08:30")
    b = activity(2, "08:00", "09:00")
    c = activity(3, "09:00", "10:00")  # touches b: no overlap
    assert activity_overlaps([c, b, a]) == [(a, b)]


def test_nested_and_chained_overlaps_are_all_found() -> None:
    long_ = activity(1, "07:00", "12:00")
    inner = activity(2, "08:00", "09:00")
    late = activity(3, "11:30", "13:00")
    assert activity_overlaps([long_, inner, late]) == [(long_, inner), (long_, late)]


def test_activities_on_different_days_never_overlap() -> None:
    assert (
        activity_overlaps(
            [activity(1, "07:00", "09:00"), activity(2, "07:00", "09:00", date(2026, 10, 14))]
        )
        == []
    )


def test_overlap_flag_names_both_activities() -> None:
    a = activity(1, "07:00", "08:30", title="Mengajar X-1")
    b = activity(2, "08:00", "09:00", title="Rapat MGMP")
    flag = activity_overlap_flag(a, b)
    assert flag.code is Code.ACTIVITY_OVERLAP and flag.severity is Severity.MEDIUM
    assert flag.detail == (
        "on 2026-10-13, 07:00–08:30 “Mengajar X-1” and 08:00–09:00 “Rapat MGMP” overlap by 30 min"
    )


def test_flags_a_working_day_under_450_min() -> None:
    day = [activity(1, "07:00", "11:00"), activity(2, "12:00", "14:59")]  # 240 + 179
    flags = trk_day_flags(day)
    (flag,) = flags[DAY]
    assert flag.code is Code.TRK_UNDER_TARGET and flag.severity is Severity.MEDIUM
    assert flag.detail == (
        "419 min logged on 2026-10-13 in 2 activities: 31 min short of the day's 450 min"
    )


def test_exactly_450_min_meets_the_target() -> None:
    assert trk_day_flags([activity(1, "07:00", "11:00"), activity(2, "12:00", "15:30")]) == {}


def test_overlapping_minutes_count_once_toward_the_target() -> None:
    day = [
        activity(1, "07:00", "12:00"),
        activity(2, "07:00", "12:00"),
        activity(3, "13:00", "15:00"),
    ]
    assert "420 min logged" in trk_day_flags(day)[DAY][0].detail


def test_target_is_a_parameter() -> None:
    assert trk_day_flags([activity(1, "07:00", "11:00")], target_min=240) == {}


def test_days_to_check_include_days_without_activities() -> None:
    flags = trk_day_flags([], days=[DAY])
    assert flags[DAY][0].detail.startswith("0 min logged on 2026-10-13 in 0 activities")


def test_days_off_and_leave_days_have_no_target() -> None:
    saturday, holiday, leave = date(2026, 10, 17), date(2026, 10, 14), date(2026, 10, 15)
    hours = WorkingHours(
        overrides=(HoursOverride("Hari libur", start=holiday, end=holiday, day_off=True),)
    )
    absent = [AttendanceDay(leave, AttendanceStatus.CUTI)]
    flags = trk_day_flags([], hours=hours, attendance=absent, days=[DAY, saturday, holiday, leave])
    assert list(flags) == [DAY]


def test_wfh_and_dl_days_keep_their_target() -> None:
    records = [AttendanceDay(DAY, AttendanceStatus.DL)]
    assert list(trk_day_flags([], attendance=records, days=[DAY])) == [DAY]


def check(
    day: date, status: AttendanceStatus, check_in: str | None, check_out: str | None
) -> AttendanceDay:
    return AttendanceDay(
        day,
        status,
        time.fromisoformat(check_in) if check_in else None,
        time.fromisoformat(check_out) if check_out else None,
    )


def test_on_time_attendance_raises_nothing() -> None:
    assert attendance_flags(check(DAY, AttendanceStatus.WFO, "07:00", "15:30"), SCHOOL) == []


def test_flags_late_check_in_and_early_check_out() -> None:
    late, early = attendance_flags(check(DAY, AttendanceStatus.WFO, "07:12", "15:00"), SCHOOL)
    assert late.code is Code.LATE_CHECK_IN and late.severity is Severity.MEDIUM
    assert late.detail == (
        "checked in 07:12 WIB on 2026-10-13 (typed, no selfie), after 07:00 (12 min late)"
    )
    assert early.code is Code.EARLY_CHECK_OUT and early.severity is Severity.MEDIUM
    assert early.detail == (
        "checked out 15:00 WIB on 2026-10-13 (typed, no selfie), before 15:30 (30 min early)"
    )


def test_half_a_minute_late_is_late() -> None:
    (flag,) = attendance_flags(check(DAY, AttendanceStatus.WFH, "07:00:30", None), SCHOOL)
    assert flag.detail == (
        "checked in 07:00:30 WIB on 2026-10-13 (typed, no selfie), after 07:00 (30 s late)"
    )


def test_missing_checks_raise_nothing() -> None:
    assert attendance_flags(check(DAY, AttendanceStatus.WFO, None, None), SCHOOL) == []


@pytest.mark.parametrize(
    "status", [AttendanceStatus.CUTI, AttendanceStatus.SAKIT, AttendanceStatus.IZIN]
)
def test_absence_days_have_no_hours(status: AttendanceStatus) -> None:
    assert attendance_flags(check(DAY, status, "09:00", "10:00"), SCHOOL) == []


def test_hours_are_per_school_and_zone() -> None:
    school = replace(SCHOOL, timezone="Asia/Makassar", check_in_by=time(7, 30))
    (flag,) = attendance_flags(check(DAY, AttendanceStatus.WFO, "07:40", "15:30"), school)
    assert flag.detail == (
        "checked in 07:40 WITA on 2026-10-13 (typed, no selfie), after 07:30 (10 min late)"
    )


FRIDAY = date(2026, 10, 16)
RAMADAN = HoursOverride(
    "Ramadan",
    start=date(2027, 2, 8),
    end=date(2027, 3, 9),
    check_in_by=time(8),
    check_out_from=time(15),
)
CALENDAR = (
    HoursOverride("Friday", weekdays=frozenset({4}), check_out_from=time(11, 30)),
    RAMADAN,
    HoursOverride(
        "Ramadan Friday",
        weekdays=frozenset({4}),
        start=date(2027, 2, 8),
        end=date(2027, 3, 9),
        check_in_by=time(8),
        check_out_from=time(11, 0),
    ),
    HoursOverride("Maulid Nabi", start=date(2026, 8, 25), end=date(2026, 8, 25), day_off=True),
)
CALENDAR_SCHOOL = replace(SCHOOL, calendar=CALENDAR)


def test_friday_hours_come_from_the_calendar() -> None:
    assert (
        attendance_flags(check(FRIDAY, AttendanceStatus.WFO, "06:55", "11:35"), CALENDAR_SCHOOL)
        == []
    )
    (flag,) = attendance_flags(
        check(FRIDAY, AttendanceStatus.WFO, "06:55", "11:00"), CALENDAR_SCHOOL
    )
    assert flag.detail == (
        "checked out 11:00 WIB on 2026-10-16 (typed, no selfie), before 11:30, Friday hours "
        "(30 min early)"
    )


def test_ramadan_hours_cover_a_date_range() -> None:
    monday = date(2027, 2, 15)
    assert (
        attendance_flags(check(monday, AttendanceStatus.WFO, "07:55", "15:00"), CALENDAR_SCHOOL)
        == []
    )


def test_the_most_specific_calendar_entry_wins() -> None:
    hours = CALENDAR_SCHOOL.hours
    assert hours.on(date(2027, 2, 19)).check_out_from == time(11, 0)  # a Friday in Ramadan
    assert hours.on(date(2027, 2, 19)).label == "Ramadan Friday"
    assert hours.on(date(2027, 2, 18)).check_out_from == time(15, 0)  # a Thursday in Ramadan
    assert hours.on(FRIDAY).check_out_from == time(11, 30)
    assert hours.on(DAY).check_out_from == time(15, 30)


def test_a_later_entry_wins_a_tie() -> None:
    first = HoursOverride("a", weekdays=frozenset({1}), check_in_by=time(7, 15))
    second = HoursOverride("b", weekdays=frozenset({1}), check_in_by=time(7, 45))
    assert WorkingHours(overrides=(first, second)).on(DAY).check_in_by == time(7, 45)


def test_holidays_and_weekends_are_days_off() -> None:
    hours = CALENDAR_SCHOOL.hours
    assert not hours.on(date(2026, 8, 25)).is_working_day
    assert not hours.on(date(2026, 10, 17)).is_working_day  # Saturday
    assert hours.on(DAY).is_working_day
    assert (
        attendance_flags(
            check(date(2026, 8, 25), AttendanceStatus.WFO, "09:00", "10:00"), CALENDAR_SCHOOL
        )
        == []
    )


def test_ramadan_hours_leave_weekends_off_unless_a_weekday_is_named() -> None:
    saturday_in_ramadan = date(2027, 2, 20)
    assert not CALENDAR_SCHOOL.hours.on(saturday_in_ramadan).is_working_day
    makeup = HoursOverride(
        "Saturday make-up day",
        weekdays=frozenset({5}),
        start=saturday_in_ramadan,
        end=saturday_in_ramadan,
    )
    hours = replace(CALENDAR_SCHOOL, calendar=(*CALENDAR, makeup)).hours
    assert hours.on(saturday_in_ramadan).is_working_day


def test_a_six_day_school_works_saturdays() -> None:
    six_days = WorkingHours(working_weekdays=frozenset(range(6)))
    assert six_days.on(date(2026, 10, 17)).is_working_day


def test_a_misspelt_school_zone_is_refused() -> None:
    with pytest.raises(Exception, match="Asia/Jakrta"):
        SchoolPlace("SMKN 1", -6.8, 107.1, timezone="Asia/Jakrta")


def test_activity_minutes() -> None:
    assert activity(1, "07:00", "08:30").minutes == 90
    assert activity(1, "08:30", "07:00").minutes == 0


# --- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=30), "30 min"),
        (timedelta(minutes=30, seconds=1), "30 min 1 s"),
        (timedelta(hours=2, minutes=17, seconds=40), "2 h 17 min"),
        (timedelta(hours=7), "7 h"),
        (timedelta(days=3, hours=2), "3 d 2 h"),
        (timedelta(days=1), "1 d"),
        (-timedelta(minutes=5), "5 min"),
    ],
)
def test_durations_read_naturally(span: timedelta, text: str) -> None:
    assert duration_text(span) == text


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (0, "0 m"),
        (87.4, "87 m"),
        (999.4, "999 m"),
        (999.6, "1.0 km"),
        (1_930, "1.9 km"),
        (58_040, "58.0 km"),
        (1_523_400, "1,523 km"),
    ],
)
def test_distances_read_naturally(metres: float, text: str) -> None:
    assert distance_text(metres) == text


def test_clock_shows_the_date_only_when_it_differs() -> None:
    moment = datetime(2026, 10, 12, 23, 50, tzinfo=UTC)
    assert clock_text(moment, "Asia/Jakarta") == "06:50 WIB"
    assert clock_text(moment, "Asia/Jakarta", day=date(2026, 10, 13)) == "06:50 WIB"
    assert clock_text(moment, "Asia/Jakarta", day=date(2026, 10, 12)) == "2026-10-13 06:50 WIB"


# --- purity ------------------------------------------------------------------------------------

PURE_MODULES = [
    "records",
    "geo",
    "timeresolve",
    "details",
    "editors",
    "provenance",
    "verification",
    "day_draft",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_verification_modules_import_only_the_standard_library(module: str) -> None:
    source = Path(__file__).parents[2] / "evidence" / f"{module}.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    outside = {name for name in imported if name not in sys.stdlib_module_names}
    assert outside <= {"evidence"}


def test_camera_photo_without_make_or_model_is_not_a_screenshot() -> None:
    """Found by the accuracy set: Open Camera's "remove device info" drops Make/Model only."""
    from datetime import datetime

    from evidence.facts import CaptureFacts, Location, Sourced
    from evidence.verification import _forwarding_flags

    facts = CaptureFacts(
        width=1080,
        height=2400,
        format="image/jpeg",
        captured_local=Sourced(datetime(2026, 10, 13, 7, 15), "exif:DateTimeOriginal"),
        location=Sourced(Location(-6.8168, 107.1425), "exif:GPS"),
    )
    assert _forwarding_flags(facts, "IMG_20261013_071500.jpg") == []
    bare = CaptureFacts(width=1080, height=2400, format="image/jpeg")
    assert [f.code.value for f in _forwarding_flags(bare, None)] == ["forwarded_or_screenshot"]

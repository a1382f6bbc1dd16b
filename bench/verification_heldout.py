"""The held-out set of ``bench.verification_accuracy``: other pictures, school, weeks, scenarios.

Nothing in Bukti was tuned on these. The pictures are the two in five of the corpus the
development set never uses (chosen by a hash of their names, blind to content); the school is another
(SMAN 1 Garut, with a 200 m geofence and short Fridays), the weeks are other weeks, and the
scenarios are written from K-Mob and TRK practice, not from the rules' thresholds: times,
distances, editors and file names differ from the development set's. Each scenario states
the flags a coordinator would want, including the rules of issue 9 (check selfies, DL zones,
leave days, video clocks, monthly videos, calendars, plausible TRK minutes).

The scenarios are played on ``bench.verification_set``'s builder (``DevSet``), as the
development set's are; ``bench.verification_accuracy`` runs them (``held_out_set``) and scores
them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from bench.verification_set import (
    IPHONE,
    OPPO,
    PIXEL,
    SAMSUNG,
    XIAOMI,
    DevSet,
    Recipe,
    wib,
)
from evidence.calendar import national_overrides
from evidence.flags import Code
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    HoursOverride,
    Place,
    SchoolPlace,
)
from storage.national_calendar import national_days

WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))

# Garut: a school whose coordinator set a wider fence (a big campus) and short Fridays.
GARUT = SchoolPlace(
    "SMAN 1 Garut",
    -7.2135,
    107.9086,
    200.0,
    "Asia/Jakarta",
    calendar=(
        *national_overrides(national_days("ID", 2027)),
        HoursOverride("Jumat", weekdays=frozenset({4}), check_out_from=time(11, 30)),
    ),
)
GARUT_AT = (GARUT.lat, GARUT.lon)
# Official duty at the provincial quality-assurance office in Bali (WITA), and in Jayapura (WIT).
BALI = Place("LPMP Bali", -8.6705, 115.2126, 150.0, "Asia/Makassar")
JAYAPURA = Place("Dinas Pendidikan Papua", -2.5337, 140.7181, 150.0, "Asia/Jayapura")
HELD_OUT_MONDAY = date(2026, 11, 9)


def held_out_set(s: DevSet) -> None:
    """Every held-out scenario, for one repeat."""
    for scenario in SCENARIOS:
        scenario(s)


def at_in(zone: timezone, day: date, clock: str) -> datetime:
    """An aware instant from a wall-clock time in ``zone``."""
    hour, minute, second = (int(part) for part in f"{clock}:00".split(":")[:3])
    return datetime.combine(day, time(hour, minute, second), tzinfo=zone)


def ordinary_days(s: DevSet) -> None:
    """A teacher's clean days at Garut: check-in selfies and afternoon lessons."""
    teacher, phone = s.teacher(), s.phone()
    for offset in range(2 if s.quick else 4):
        day = s.day(offset)
        selfie = f"06:{s.rng.randint(20, 50)}"
        s.shoot(
            "clean: check-in selfie at Garut", teacher, wib(day, selfie), check="in", phone=phone
        )
        lesson = f"13:{s.rng.randint(5, 55)}"
        s.shoot("clean: afternoon lesson", teacher, wib(day, lesson), slot="nilai", phone=phone)


def around_activities(s: DevSet) -> None:
    """An afternoon lesson (13:00-14:30): just inside and just outside its tolerance."""
    teacher, day = s.teacher(), s.day(2)
    for clock in ("12:31", "14:59"):
        s.shoot(f"time: {clock} for 13:00-14:30", teacher, wib(day, clock), slot="nilai")
    for clock in ("12:25", "15:05", "09:10"):
        s.shoot(
            f"time: {clock} for 13:00-14:30",
            teacher,
            wib(day, clock),
            slot="nilai",
            expect=[Code.TIME_OUTSIDE_ACTIVITY],
        )


def around_midnight(s: DevSet) -> None:
    """An evening school event running to 23:40: photos after midnight, within and beyond."""
    teacher, day = s.teacher(), s.day(3)
    event = s.custom_activity(teacher, day, time(19, 0), time(23, 40), "Pentas seni malam")
    s.shoot(
        "time: 00:05 the next day, 25 min after a 23:40 end",
        teacher,
        wib(day + timedelta(days=1), "00:05"),
        day=day,
        activity=event,
        phone=IPHONE,
    )
    s.shoot(
        "wrong day: 00:50 the next day, 70 min after a 23:40 end",
        teacher,
        wib(day + timedelta(days=1), "00:50"),
        day=day,
        activity=event,
        phone=IPHONE,
        expect=[Code.WRONG_DAY],
    )
    s.shoot(
        "wrong day: two days before",
        teacher,
        wib(day - timedelta(days=2), "13:30"),
        day=day,
        slot="nilai",
        phone=IPHONE,
        expect=[Code.WRONG_DAY],
    )


def clocks(s: DevSet) -> None:
    """Phone clocks ahead of the server, stale GPS fixes, missing zones and times."""
    day = s.day(1)
    s.solo(
        "future: 12 min after receipt",
        at=wib(day, "09:52"),
        slot="ajar2",
        phone=OPPO,
        gps_age=timedelta(seconds=5),
        received=wib(day, "09:40"),
        expect=[Code.TIME_IN_FUTURE],
    )
    s.solo("gps time: fix 30 min old", phone=PIXEL, gps_age=timedelta(minutes=30))
    s.solo(
        "gps time: fix 75 min old",
        phone=PIXEL,
        gps_age=timedelta(minutes=75),
        expect=[Code.GPS_TIME_MISMATCH],
    )
    s.solo(
        "zone: no offset, no position",
        phone=XIAOMI,
        gps=False,
        expect=[Code.TIME_ZONE_ASSUMED, Code.NO_LOCATION],
    )
    s.solo(
        "no time: stripped by a backup app",
        stripped=True,
        filename="kegiatan_pagi.jpg",
        expect=[Code.NO_CAPTURE_TIME, Code.NO_LOCATION],
    )
    s.solo(
        "zone: the phone set to WITA (+08:00) at Garut",
        offset="+08:00",
        phone=IPHONE,
        expect=[Code.TIME_ZONE_MISMATCH],
    )


def places(s: DevSet) -> None:
    """Garut's 200 m fence, homes, DL destinations in other zones, leave days."""
    cases = [
        ("180 m, no accuracy", 180, None, []),
        ("215 m, accuracy 10 m (limit 210 m)", 215, 10.0, [Code.OUTSIDE_GEOFENCE]),
        ("290 m, accuracy 95 m (limit 295 m)", 290, 95.0, []),
        ("1.2 km, accuracy 6 m", 1200, 6.0, [Code.OUTSIDE_GEOFENCE]),
        ("60 m, accuracy 400 m", 60, 400.0, [Code.LOW_GPS_ACCURACY]),
    ]
    for label, distance, accuracy, expected in cases[:3] if s.quick else cases:
        phone = SAMSUNG if accuracy is None else IPHONE
        where = s.away(GARUT_AT, distance)
        s.solo(f"place: {label}", phone=phone, where=where, accuracy_m=accuracy, expect=expected)
    wfh, dl = AttendanceStatus.WFH, AttendanceStatus.DL
    s.solo("place: WFH at home", slot="rpp", status=wfh)
    s.solo(
        "place: WFH, photo at school",
        slot="rpp",
        status=wfh,
        where=s.near(GARUT_AT),
        expect=[Code.OUTSIDE_GEOFENCE],
    )
    for status in (AttendanceStatus.SAKIT, AttendanceStatus.IZIN):
        s.solo(
            f"leave: {status.value} day, photo at school",
            status=status,
            where=s.near(GARUT_AT),
            expect=[Code.EVIDENCE_ON_LEAVE_DAY],
        )
    s.solo(
        "leave: CUTI day, photo without position or offset",
        status=AttendanceStatus.CUTI,
        gps=False,
        phone=XIAOMI,
        expect=[Code.EVIDENCE_ON_LEAVE_DAY, Code.TIME_ZONE_ASSUMED],
    )
    day = s.day(2)
    for where, zone, offset, label in (
        (BALI, WITA, "+08:00", "DL in Bali, 07:40 WITA with +08:00"),
        (BALI, WITA, None, "DL in Bali, 07:40 WITA, zone from GPS"),
        (JAYAPURA, WIT, "+09:00", "DL in Jayapura, 07:40 WIT with +09:00"),
    ):
        teacher = s.teacher()
        record = AttendanceDay(day, dl, destination=where)
        s.shoot(
            f"zone: {label}",
            teacher,
            at_in(zone, day, "07:40"),
            slot="ajar1",
            record=record,
            where=s.near((where.lat, where.lon)),
            offset=offset,
            phone=IPHONE if offset else XIAOMI,
            zone=zone,
        )


def check_selfies(s: DevSet) -> None:
    """K-Mob check selfies against typed times, and the days they make."""
    day = s.day(1)
    # Every day logs the whole TRK day from the 06:30 apel: a check-in more than 30 min after
    # 06:30 also makes that apel implausible.
    late = [Code.LATE_CHECK_IN, Code.TRK_IMPLAUSIBLE_TIME]
    cases = [
        ("selfie 07:00:00, nothing typed", None, "07:00:00", [], []),
        ("selfie 07:00:40, nothing typed", None, "07:00:40", [], late),
        ("typed 06:55, selfie 07:20", "06:55", "07:20", [Code.CHECK_TIME_MISMATCH], late),
        ("typed 06:52, selfie 06:58", "06:52", "06:58", [], []),
    ]
    for label, typed, clock, photo_flags, day_flags in cases:
        teacher = s.teacher()
        record = AttendanceDay(
            day, AttendanceStatus.WFO, check_in=time.fromisoformat(typed) if typed else None
        )
        selfie = s.shoot(
            f"check: {label}",
            teacher,
            wib(day, clock),
            check="in",
            record=record,
            phone=SAMSUNG,
            expect=photo_flags,
        )
        s.record_day(
            f"day: {label}", teacher, day, expect=day_flags, slots=ALL_SLOTS, selfie_in=selfie
        )
    teacher = s.teacher()
    leaving = s.shoot(
        "check: check-out selfie 15:29:30",
        teacher,
        wib(day, "15:29:30"),
        check="out",
        phone=IPHONE,
    )
    s.record_day(
        "day: check-out 15:29:30",
        teacher,
        day,
        expect=[Code.EARLY_CHECK_OUT],
        slots=ALL_SLOTS,
        selfie_out=leaving,
    )
    for status, clock, expected in (
        (AttendanceStatus.WFH, "07:12", late),
        (AttendanceStatus.DL, "08:30", [Code.TRK_IMPLAUSIBLE_TIME]),
        (AttendanceStatus.DL, "06:40", []),
    ):
        teacher = s.teacher()
        record = AttendanceDay(
            day,
            status,
            destination=Place("Disdik Jabar", -6.9147, 107.6098)
            if status is AttendanceStatus.DL
            else None,
        )
        selfie = s.shoot(
            f"check: {status.value} selfie {clock}",
            teacher,
            wib(day, clock),
            check="in",
            record=record,
        )
        s.record_day(
            f"day: {status.value}, checked in {clock}",
            teacher,
            day,
            expect=expected,
            slots=ALL_SLOTS,
            selfie_in=selfie,
        )


ALL_SLOTS = ("apel", "ajar1", "ajar2", "rpp", "nilai", "bimbing")


def trk_days(s: DevSet) -> None:
    """Days as TRK counts them: holidays, short Fridays, night work, leave, early activities."""
    christmas = date(2026, 12, 25)
    teacher = s.teacher()
    selfie = s.shoot(
        "check: Christmas Day, selfie 09:00", teacher, wib(christmas, "09:00"), check="in"
    )
    s.record_day(
        "day: Christmas (national holiday), checked in 09:00", teacher, christmas, selfie_in=selfie
    )
    friday = s.day(4)
    teacher = s.teacher()
    s.attend(teacher, friday)
    s.record_day(
        "day: a short Friday (to 11:30), 07:15-12:15 logged",
        teacher,
        friday,
        slots=("ajar1", "ajar2", "rpp"),
    )
    teacher = s.teacher()
    s.attend(teacher, friday + timedelta(days=-1))
    s.record_day(
        "day: the Thursday before, the same 4 h 30 min logged",
        teacher,
        friday + timedelta(days=-1),
        slots=("ajar1", "ajar2", "rpp"),
        expect=[Code.TRK_UNDER_TARGET],
    )
    teacher = s.teacher()
    s.attend(teacher, s.day(0))
    s.record_day(
        "day: 3 lessons only",
        teacher,
        s.day(0),
        slots=("ajar1", "ajar2", "nilai"),
        expect=[Code.TRK_UNDER_TARGET],
    )
    teacher = s.teacher()
    s.attend(teacher, s.day(2))
    night = ActivityWindow(None, s.day(2), time(21, 30), time(23, 0), "Menilai ujian")
    s.record_day(
        "day: grading logged 21:30-23:00",
        teacher,
        s.day(2),
        slots=ALL_SLOTS,
        extra=[night],
        expect=[Code.TRK_IMPLAUSIBLE_TIME],
    )
    teacher = s.teacher()
    s.attend(teacher, s.day(3), AttendanceStatus.CUTI)
    s.record_day(
        "day: lessons logged on a CUTI day",
        teacher,
        s.day(3),
        slots=("ajar1",),
        expect=[Code.TRK_IMPLAUSIBLE_TIME],
    )
    teacher = s.teacher()
    late = s.shoot("check: selfie 07:40", teacher, wib(s.day(1), "07:40"), check="in")
    s.record_day(
        "day: apel 06:30 logged, checked in 07:40",
        teacher,
        s.day(1),
        slots=ALL_SLOTS,
        selfie_in=late,
        expect=[Code.LATE_CHECK_IN, Code.TRK_IMPLAUSIBLE_TIME],
    )


def videos(s: DevSet) -> None:
    """Video clocks and monthly videos."""
    day = s.day(1)
    s.solo(
        "video: local time labelled UTC, uploaded 30 min later",
        at=wib(day, "09:40"),
        slot="ajar2",
        phone=SAMSUNG,
        video_utc_label=True,
        received=wib(day, "10:10"),
        expect=[Code.TIME_ZONE_ASSUMED],
    )
    s.solo(
        "video: local time labelled UTC, uploaded in the evening, with GPS",
        at=wib(day, "09:40"),
        slot="ajar2",
        phone=SAMSUNG,
        video_utc_label=True,
        expect=[Code.TIME_ZONE_ASSUMED],
    )
    s.solo(
        "video: a true UTC creation_time",
        at=wib(day, "09:40"),
        slot="ajar2",
        phone=PIXEL,
        offset="+00:00",
        video_utc_label=True,
    )
    month = f"{day:%Y-%m}"
    s.solo(
        "monthly video: filmed at home in its month",
        at=wib(day, "19:30"),
        period=month,
        where=s.away(GARUT_AT, 4000),
        phone=IPHONE,
    )
    s.solo(
        "monthly video: filmed the month before",
        at=wib(day.replace(day=1) - timedelta(days=3), "19:30"),
        period=month,
        phone=IPHONE,
        expect=[Code.VIDEO_OUTSIDE_PERIOD],
    )


def edits_and_forwards(s: DevSet) -> None:
    """Editors, thumbnails that no longer match, chat forwards and screenshots."""
    for editor in ("Adobe Lightroom 9.2 (Android)", "VSCO", "Remini"):
        s.solo(f"edited: Software “{editor}”", software=editor, expect=[Code.EDITED])
    crop = Recipe(s.tile(), "crop:0.25", thumbnail="original")
    s.solo(
        "edited: cropped 25 %, camera thumbnail kept",
        recipe=crop,
        thumbnail_only=True,
        expect=[Code.EDITED],
    )
    other = Recipe(s.tile(), other=s.any_tile(), thumbnail="other")
    s.solo(
        "edited: another picture's thumbnail",
        recipe=other,
        thumbnail_only=True,
        expect=[Code.EDITED],
    )
    if not s.quick:
        pasted = Recipe(s.tile(), "paste", other=s.any_tile(), thumbnail="original")
        s.solo(
            "edited: a tenth pasted over, camera thumbnail kept",
            recipe=pasted,
            thumbnail_only=True,
            expect=[Code.EDITED],
        )
        brighter = Recipe(s.tile(), "bright:1.3", thumbnail="original")
        s.solo(
            "edited: brightened 30 %, camera thumbnail kept",
            recipe=brighter,
            thumbnail_only=True,
            expect=[Code.EDITED],
        )
    forwarded = [Code.FORWARDED_OR_SCREENSHOT, Code.NO_CAPTURE_TIME, Code.NO_LOCATION]
    day = s.day(2)
    s.solo(
        "forwarded: WhatsApp file name",
        stripped=True,
        quality=70,
        filename=f"IMG-{day:%Y%m%d}-WA0007.jpg",
        expect=forwarded,
    )
    s.solo(
        "forwarded: screenshot PNG 1080x2408",
        recipe=Recipe(s.tile(), "screen:1080x2408"),
        stripped=True,
        fmt="png",
        filename=f"Screenshot_{day:%Y%m%d}-131502.png",
        expect=forwarded,
    )


def copies_and_travel(s: DevSet) -> None:
    """Copies of a colleague's photo, a pinned fake-GPS fix, and a jump across the map."""
    owner = s.teacher()
    original = s.shoot("duplicate: the original", owner, wib(s.day(1), "10:05"), slot="ajar2")
    s.solo("exact: same file, a colleague", same_file_as=original, expect=[Code.EXACT_DUPLICATE])
    assert original.job.recipe is not None
    tile = original.job.recipe.tile
    s.solo(
        "near: resized 60 % q80, new EXIF, colleague",
        recipe=Recipe(tile, "resize:0.6"),
        quality=80,
        expect=[Code.NEAR_DUPLICATE],
    )
    spoofer, pinned = s.teacher(), s.away(GARUT_AT, 35)
    for offset in range(4):
        expected = [Code.REPEATED_LOCATION] if offset >= 2 else []
        s.shoot(
            f"repeated: pinned fix, day {offset + 1}",
            spoofer,
            wib(s.day(offset), "13:40"),
            slot="nilai",
            where=pinned,
            phone=OPPO,
            expect=expected,
        )
    teacher = s.teacher()
    s.shoot(
        "travel: at school 10:00",
        teacher,
        wib(s.day(3), "10:00"),
        slot="ajar2",
        phone=SAMSUNG,
    )
    s.shoot(
        "travel: 30 km away 10 min later",
        teacher,
        wib(s.day(3), "10:10"),
        slot="ajar2",
        where=s.away(GARUT_AT, 30_000),
        phone=SAMSUNG,
        expect=[Code.OUTSIDE_GEOFENCE, Code.IMPOSSIBLE_TRAVEL],
    )


SCENARIOS = (
    ordinary_days,
    around_activities,
    around_midnight,
    clocks,
    places,
    check_selfies,
    trk_days,
    videos,
    edits_and_forwards,
    copies_and_travel,
)

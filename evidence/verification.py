"""Verification of an item's facts and of a teacher's records: every mismatch is a Flag.

Plain values in, flags out; nothing here raises on a mismatch, reads a clock or touches IO.
:func:`verify_photo` checks one photo (or a video's capture facts) against the activity or
attendance check it proves, the day's attendance, the expected place and the teacher's own
history; :func:`activity_overlaps`, :func:`trk_day_flags`, :func:`attendance_flags` (with the
check selfies' times, :func:`check_times`) and :func:`trk_plausibility_flags` check the records
themselves. Each detail names the facts behind the flag, in the day's zone (the school's, or a
DL destination's), so a reviewer needs nothing else open to judge it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from evidence.calendar import day_target_min
from evidence.details import clock_text, distance_text, duration_text, time_text, window_text
from evidence.editors import editor_named_in
from evidence.facts import CaptureFacts, Location
from evidence.flags import Code, Flag, Phrase
from evidence.geo import distance_m, fence_limit_m
from evidence.provenance import chat_app_naming, is_screen_sized
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    CheckSelfie,
    HistoryItem,
    HistoryScope,
    Place,
    SchoolPlace,
    TeacherHome,
    WorkingHours,
)
from evidence.timeresolve import (
    ResolvedTime,
    ZoneLookup,
    resolve_capture_time,
    utc_label_holding_local_time,
    zone_abbreviation,
    zone_named,
)


@dataclass(frozen=True)
class Rules:
    """Every threshold of verification, with SPEC.md's defaults; settings map onto these."""

    # Minutes a photo may precede an activity's start or follow its end: setting up before a
    # lesson and tidying after it are part of it.
    activity_tolerance_min: float = 30
    # Phone clocks drift and some are set by hand; a few minutes "ahead" is not a forgery.
    future_tolerance_min: float = 5
    # Phones stamp a cached GPS fix, often tens of minutes old; an hour apart is suspicious.
    gps_time_tolerance_min: float = 60
    # SPEC: the geofence grows by the reported GPS error, but by at most this much.
    accuracy_allowance_cap_m: float = 100
    low_accuracy_m: float = 100
    # Phones write DateTime within a second or two of DateTimeOriginal; a save a minute later is
    # an editor's (or a gallery's rotate/crop).
    modified_after_capture_s: float = 60
    # pHash Hamming distance (of 64 bits) between the image and its EXIF thumbnail. Measured
    # on scikit-image photos: an untouched image scores 0-4, a letterboxed thumbnail 10-18, a
    # 20 % crop 26-34, a pasted box over a tenth of the picture 10-24.
    thumbnail_max_distance: int = 20
    repeated_location_days: int = 3
    max_speed_kmh: float = 150
    # Pairs closer than this are never "travel": urban GPS error and a cached cell-tower fix
    # (Android, no GPS lock indoors) are hundreds of metres; a school is not a kilometre wide.
    travel_ignore_m: float = 1000
    trk_target_min: int = 450
    # K-Mob shows the selfie's minute and teachers copy it into their records by hand, often
    # later from memory: ten minutes apart is a slip, more is another moment.
    check_time_tolerance_min: float = 10


#: how a DL destination's name is marked where a detail names the expected place
DL_PLACE_SUFFIX = " (DL destination)"

_CODE_ORDER = {code: position for position, code in enumerate(Code)}

_ABSENCE_WORDS = {
    AttendanceStatus.CUTI: "leave",
    AttendanceStatus.SAKIT: "sick leave",
    AttendanceStatus.IZIN: "excused absence",
}


# --- one photo -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Position:
    """Where the photo was taken, and what said so."""

    location: Location
    said_by: str  # "the photo's GPS" or "the phone's reported position"


def verify_photo(
    facts: CaptureFacts,
    *,
    received_at_utc: datetime,
    activity: ActivityWindow | None,
    attendance: AttendanceDay | None,
    school: SchoolPlace,
    home: TeacherHome | None,
    history: Sequence[HistoryItem],
    rules: Rules,
    zone_at: ZoneLookup | None,
    client_location: Location | None = None,
    filename: str | None = None,
    exif_thumbnail_distance: int | None = None,
    evidence_id: int | None = None,
    check: Literal["in", "out"] | None = None,
    period: str | None = None,
) -> list[Flag]:
    """Every flag a photo (or a video's capture facts) earns, at most one per code.

    ``activity`` is the TRK activity the item proves; ``check`` says it is instead the
    check-in or check-out selfie of ``attendance``, the day's record (None meaning a plain WFO
    day). ``period`` ("YYYY-MM") says it is a monthly video filmed for that month: no activity
    and no place apply to it, its month does. ``client_location`` is a position the phone
    sent for the moment of capture. ``exif_thumbnail_distance`` is the pHash Hamming distance
    between the image and its EXIF thumbnail. ``history`` is the teacher's other items, all
    of them or those :func:`history_scope` names (the flags are the same);
    ``evidence_id`` (this item's own id) keeps it out of its own history when verified again.
    """
    position = _position(facts, client_location)
    zone = day_zone(school, attendance)
    resolved, local_reading = item_capture_time(
        facts,
        received_at_utc=received_at_utc,
        activity=activity,
        attendance=attendance,
        school=school,
        rules=rules,
        zone_at=zone_at,
        client_location=client_location,
    )
    others = [item for item in history if item.evidence_id != evidence_id]
    day = evidence_day(resolved, zone, activity, attendance)
    flags = [
        *_time_flags(facts, resolved, position, activity, received_at_utc, zone, rules),
        *([local_reading] if local_reading else []),
        *_check_flags(resolved, check, attendance, zone, rules),
        *_period_flags(resolved, period, zone),
        *_zone_flags(facts, resolved, zone_at),
        *_place_flags(position, attendance, school, home, rules, period),
        *_edit_flags(facts, exif_thumbnail_distance, rules),
        *_forwarding_flags(facts, filename),
        *_history_flags(position, resolved, day, others, zone, rules),
    ]
    return sorted(flags, key=lambda flag: _CODE_ORDER[flag.code])


def item_capture_time(
    facts: CaptureFacts,
    *,
    received_at_utc: datetime,
    activity: ActivityWindow | None,
    attendance: AttendanceDay | None,
    school: SchoolPlace,
    rules: Rules,
    zone_at: ZoneLookup | None,
    client_location: Location | None = None,
) -> tuple[ResolvedTime | None, Flag | None]:
    """When an item was taken, as verification reads it, and the note when a video's UTC
    label was read as local time (see :func:`_utc_label_check`); what the worker records."""
    position = _position(facts, client_location)
    zone = day_zone(school, attendance)
    resolved = resolve_capture_time(
        facts,
        school_zone=zone,
        zone_at=zone_at,
        location=position.location if position else None,
    )
    return _utc_label_check(
        facts, resolved, position, activity, received_at_utc, zone, zone_at, rules
    )


def day_zone(school: SchoolPlace, attendance: AttendanceDay | None) -> str:
    """The zone the day is lived in: a DL destination's own (WITA in Bali), else the school's."""
    return attendance.local_zone(school.timezone) if attendance else school.timezone


def _position(facts: CaptureFacts, client_location: Location | None) -> _Position | None:
    # The photo's own GPS is written at the shutter; the client's position is the fallback.
    if facts.location is not None:
        return _Position(facts.location.value, "the photo's GPS")
    if client_location is not None:
        return _Position(client_location, "the phone's reported position")
    return None


def evidence_day(
    resolved: ResolvedTime | None,
    zone: str,
    activity: ActivityWindow | None,
    attendance: AttendanceDay | None,
) -> date | None:
    """The local date the photo counts for: its capture date, else its record's date."""
    if resolved is not None:
        return resolved.at.astimezone(ZoneInfo(zone)).date()
    if activity is not None:
        return activity.date
    return attendance.date if attendance is not None else None


# --- time ----------------------------------------------------------------------------------


def _time_flags(
    facts: CaptureFacts,
    resolved: ResolvedTime | None,
    position: _Position | None,
    activity: ActivityWindow | None,
    received_at_utc: datetime,
    zone: str,
    rules: Rules,
) -> list[Flag]:
    if resolved is None:
        return [_no_capture_time()]
    flags: list[Flag] = []
    if resolved.is_zone_assumed:
        flags.append(_zone_assumed(resolved, position, zone))
    received = _aware_utc(received_at_utc)
    ahead = resolved.utc - received
    if ahead > timedelta(minutes=rules.future_tolerance_min):
        flags.append(
            Flag.raise_(
                Code.TIME_IN_FUTURE,
                f"taken {clock_text(resolved.at, zone)}, {duration_text(ahead)} after the server "
                f"received it ({clock_text(received, zone, day=_local_date(resolved, zone))}); "
                "the phone's clock or the metadata is wrong",
                phrases=(
                    Phrase(
                        "time_in_future",
                        {
                            "taken_at": resolved.utc.isoformat(),
                            "received_at": received.isoformat(),
                            "ahead_s": _seconds(ahead),
                            "zone": zone,
                        },
                    ),
                ),
            )
        )
    if activity is not None:
        flags.extend(_activity_flags(resolved, activity, zone, rules))
    gps = facts.gps_time_utc.value if facts.gps_time_utc is not None else None
    if gps is not None:
        # GPSDateStamp/GPSTimeStamp are UTC by definition: a 06:50 WIB photo has a fix dated
        # the day before in UTC, and comparing instants (not dates) keeps that from counting.
        apart = abs(resolved.utc - _aware_utc(gps))
        if apart > timedelta(minutes=rules.gps_time_tolerance_min):
            flags.append(
                Flag.raise_(
                    Code.GPS_TIME_MISMATCH,
                    f"GPS fix at {_aware_utc(gps):%Y-%m-%d %H:%M} UTC "
                    f"({clock_text(_aware_utc(gps), zone, day=_local_date(resolved, zone))}) but "
                    f"taken {clock_text(resolved.at, zone)}: {duration_text(apart)} apart, more "
                    f"than {rules.gps_time_tolerance_min:g} min (phones reuse cached fixes; a "
                    "faked clock or position also shows like this)",
                    phrases=(
                        Phrase(
                            "gps_time_mismatch",
                            {
                                "gps_at": _aware_utc(gps).isoformat(),
                                "taken_at": resolved.utc.isoformat(),
                                "apart_s": _seconds(apart),
                                "limit_n": rules.gps_time_tolerance_min,
                                "zone": zone,
                            },
                        ),
                    ),
                )
            )
    return flags


def _activity_flags(
    resolved: ResolvedTime, activity: ActivityWindow, zone: str, rules: Rules
) -> list[Flag]:
    """time_outside_activity, or wrong_day when the photo is also from another local date.

    The tolerance holds across midnight: a photo at 00:10 of an activity that ended at 23:50
    the day before is 20 minutes after it, not on the wrong day.
    """
    local = resolved.at.astimezone(ZoneInfo(zone))
    window = window_text(activity.start, activity.end)
    point = activity.start == activity.end
    if point:
        window = time_text(activity.start)
    tolerance = timedelta(minutes=rules.activity_tolerance_min)
    start = datetime.combine(activity.date, activity.start, tzinfo=ZoneInfo(zone))
    end = datetime.combine(activity.date, activity.end, tzinfo=ZoneInfo(zone))
    if start - tolerance <= local <= end + tolerance:
        return []
    if local.date() != activity.date:
        days = (local.date() - activity.date).days
        side = "after" if days > 0 else "before"
        return [
            Flag.raise_(
                Code.WRONG_DAY,
                f"taken {local:%Y-%m-%d} {clock_text(local, zone)}; {activity.kind} dated "
                f"{activity.date:%Y-%m-%d} {window} ({abs(days)} day{'s' * (abs(days) != 1)} "
                f"{side} it)",
                phrases=(
                    Phrase(
                        f"wrong_day.{_kind_id(activity.kind)}",
                        {
                            "taken_at": local.isoformat(),
                            "activity_day": activity.date.isoformat(),
                            "activity_window": _window_value(activity.start, activity.end),
                            "zone": zone,
                        },
                    ),
                ),
            )
        ]
    if local < start:
        gap, where = start - local, "before it" if point else "before its start"
    else:
        gap, where = local - end, "after it" if point else "after its end"
    return [
        Flag.raise_(
            Code.TIME_OUTSIDE_ACTIVITY,
            f"taken {clock_text(local, zone)}; {activity.kind} {window} "
            f"({duration_text(gap)} {where})",
            phrases=(
                Phrase(
                    f"time_outside_activity.{_kind_id(activity.kind)}."
                    f"{'before' if local < start else 'after'}",
                    {
                        "taken_clock": local.isoformat(),
                        "activity_window": _window_value(activity.start, activity.end),
                        "gap_s": _seconds(gap),
                        "zone": zone,
                    },
                ),
            ),
        )
    ]


def _check_flags(
    resolved: ResolvedTime | None,
    check: Literal["in", "out"] | None,
    attendance: AttendanceDay | None,
    zone: str,
    rules: Rules,
) -> list[Flag]:
    """A check selfie: its day, and the typed check time against the selfie's own.

    In K-Mob the selfie *is* the check: its capture time is the check time the records use
    (see :func:`attendance_flags`); a typed time that says otherwise is its own finding.
    """
    if check is None or attendance is None or resolved is None:
        return []
    local = resolved.at.astimezone(ZoneInfo(zone))
    which = f"check-{check}"
    if local.date() != attendance.date:
        days = (local.date() - attendance.date).days
        side = "after" if days > 0 else "before"
        return [
            Flag.raise_(
                Code.WRONG_DAY,
                f"{which} selfie taken {local:%Y-%m-%d} {clock_text(local, zone)}; the "
                f"attendance day is {attendance.date:%Y-%m-%d} ({abs(days)} "
                f"day{'s' * (abs(days) != 1)} {side} it)",
                phrases=(
                    Phrase(
                        f"wrong_day.selfie_{check}",
                        {
                            "taken_at": local.isoformat(),
                            "attendance_day": attendance.date.isoformat(),
                            "zone": zone,
                        },
                    ),
                ),
            )
        ]
    typed = attendance.typed_check(check)
    if typed is None:
        return []
    written = datetime.combine(attendance.date, typed, tzinfo=ZoneInfo(zone))
    # The typed time has minutes only: the selfie's minute is what the teacher read.
    apart = abs(local.replace(second=0, microsecond=0) - written)
    if apart <= timedelta(minutes=rules.check_time_tolerance_min):
        return []
    return [
        Flag.raise_(
            Code.CHECK_TIME_MISMATCH,
            f"{which} typed as {time_text(typed)} but the selfie was taken "
            f"{clock_text(local, zone)} ({duration_text(apart)} apart, more than "
            f"{rules.check_time_tolerance_min:g} min); the selfie's time is the {which} time",
            phrases=(
                Phrase(
                    f"check_time_mismatch.{check}",
                    {
                        "typed_time": time_text(typed),
                        "taken_clock": local.isoformat(),
                        "apart_s": _seconds(apart),
                        "limit_n": rules.check_time_tolerance_min,
                        "zone": zone,
                    },
                ),
            ),
        )
    ]


def _period_flags(resolved: ResolvedTime | None, period: str | None, zone: str) -> list[Flag]:
    """A monthly video filmed outside its reporting month (in the school's zone)."""
    if period is None or resolved is None:
        return []
    local = resolved.at.astimezone(ZoneInfo(zone))
    if f"{local:%Y-%m}" == period:
        return []
    return [
        Flag.raise_(
            Code.VIDEO_OUTSIDE_PERIOD,
            f"filmed {local:%Y-%m-%d} {clock_text(local, zone)} ({resolved.source}), outside "
            f"the reporting month {period}",
            phrases=(
                Phrase(
                    "video_outside_period",
                    {"taken_at": local.isoformat(), "period_month": period, "zone": zone},
                ),
            ),
        )
    ]


def _zone_flags(
    facts: CaptureFacts, resolved: ResolvedTime | None, zone_at: ZoneLookup | None
) -> list[Flag]:
    """A written UTC offset that is not the zone at the photo's own GPS position.

    A phone whose zone is set by hand one zone off (WITA in Cianjur) writes a consistent
    offset that hides a clock set to match; the GPS point says which zone it really was in.
    Only the photo's own GPS counts (a position sent by the client is the phone's, later).
    """
    if resolved is None or facts.utc_offset_min is None or facts.location is None:
        return []
    if zone_at is None or facts.utc_offset_min.source.startswith("container:creation_time"):
        return []  # a container's UTC creation_time carries no phone zone
    here = facts.location.value
    name = zone_at(here.lat, here.lon)
    found = zone_named(name) if name else None
    if name is None or found is None:
        return []
    expected = resolved.utc.astimezone(found).utcoffset()
    written = timedelta(minutes=facts.utc_offset_min.value)
    if expected is None or expected == written:
        return []
    local = resolved.utc.astimezone(found)
    return [
        Flag.raise_(
            Code.TIME_ZONE_MISMATCH,
            f"the phone wrote UTC offset {_offset_text(written)} ({facts.utc_offset_min.source}) "
            f"but its GPS position is in {name} ({zone_abbreviation(name, local.replace(tzinfo=None))}, "
            f"{_offset_text(expected)}): its clock or zone was set by hand",
            phrases=(
                Phrase(
                    "time_zone_mismatch",
                    {
                        "written": _offset_text(written),
                        "place_zone": name,
                        "abbreviation": zone_abbreviation(name, local.replace(tzinfo=None)),
                        "expected": _offset_text(expected),
                    },
                ),
            ),
        )
    ]


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _utc_label_check(
    facts: CaptureFacts,
    resolved: ResolvedTime | None,
    position: _Position | None,
    activity: ActivityWindow | None,
    received_at_utc: datetime,
    zone: str,
    zone_at: ZoneLookup | None,
    rules: Rules,
) -> tuple[ResolvedTime | None, Flag | None]:
    """A video whose UTC ``creation_time`` holds local time, recognised and read as local.

    Some Android phones and cameras write the local wall clock into the container's
    ``creation_time``, which is UTC by definition: a 07:10 WIB video then reads as 14:10 WIB.
    Read as local time (the zone at its GPS position, else the day's zone) instead when
    either the upload time says UTC is impossible (later than the upload) and local is not,
    or the video has a GPS position and its local reading falls in the activity while the UTC
    one does not. The info flag says which reading was used and why.
    """
    if resolved is None:
        return resolved, None
    local = utc_label_holding_local_time(
        facts,
        resolved,
        fallback_zone=zone,
        zone_at=zone_at,
        location=position.location if position else None,
    )
    if local is None:
        return resolved, None
    received = _aware_utc(received_at_utc)
    future = timedelta(minutes=rules.future_tolerance_min)
    why, because = "", ""
    if resolved.utc - received > future >= local.utc - received:
        because = "future"
        why = (
            f"read as UTC it would be {duration_text(resolved.utc - received)} after the "
            "server received the file"
        )
    elif (
        activity is not None
        and position is not None
        and _activity_flags(resolved, activity, zone, rules)
        and not _activity_flags(local, activity, zone, rules)
    ):
        because = "activity"
        why = (
            f"read as UTC it falls outside the {activity.kind}, read as local time at its "
            f"GPS position ({local.zone}) inside it"
        )
    if not why:
        return resolved, None
    return local, Flag.raise_(
        Code.TIME_ZONE_ASSUMED,
        f"the video's creation_time is labelled UTC but holds local time, as some phones "
        f"write it: read as {clock_text(local.at, zone)} ({local.zone}), not "
        f"{clock_text(resolved.at, zone)}; {why}",
        phrases=(
            Phrase(
                f"time_zone_assumed.utc_label.{because}",
                {
                    "local_clock": local.utc.isoformat(),
                    "utc_clock": resolved.utc.isoformat(),
                    "ahead_s": _seconds(resolved.utc - received),
                    "zone": zone,
                },
            ),
        ),
    )


def _zone_assumed(resolved: ResolvedTime, position: _Position | None, zone: str) -> Flag:
    why = "the photo has no position" if position is None else "no zone is known at its position"
    return Flag.raise_(
        Code.TIME_ZONE_ASSUMED,
        f"the camera wrote {resolved.at:%Y-%m-%d %H:%M:%S} with no UTC offset and {why}: "
        f"{zone} ({zone_abbreviation(zone)}) assumed",
        phrases=(
            Phrase(
                "time_zone_assumed." + ("no_position" if position is None else "no_zone"),
                {
                    "written_wall": resolved.at.replace(tzinfo=None).isoformat(),
                    "abbreviation": zone_abbreviation(zone),
                },
            ),
        ),
    )


def _no_capture_time() -> Flag:
    return Flag.raise_(
        Code.NO_CAPTURE_TIME,
        "no capture time in the photo's metadata (DateTimeOriginal missing or unusable); "
        "forwarded chat photos, screenshots and stripped files look like this",
        phrases=(Phrase("no_capture_time"),),
    )


def _seconds(span: timedelta) -> int:
    """A span as whole seconds (sign dropped), as a phrase's ``_s`` values hold it."""
    return int(abs(span.total_seconds()))


def _window_value(start: time, end: time) -> str:
    """An activity's window as a phrase's ``_window`` value: two times joined by an en dash, or one."""
    return time_text(start) if start == end else window_text(start, end)


def _kind_id(kind: str) -> str:
    """An activity window's kind in message ids: activity, check_in or check_out."""
    return kind.replace("-", "_")


def _local_date(resolved: ResolvedTime, zone: str) -> date:
    return resolved.at.astimezone(ZoneInfo(zone)).date()


def _aware_utc(moment: datetime) -> datetime:
    """An instant in UTC; a naive one is taken as UTC already (GPS times, server times)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- place ---------------------------------------------------------------------------------


def _place_flags(
    position: _Position | None,
    attendance: AttendanceDay | None,
    school: SchoolPlace,
    home: TeacherHome | None,
    rules: Rules,
    period: str | None = None,
) -> list[Flag]:
    """Where it was taken against where the day's status (or the requirement) says.

    A monthly video has no place unless its requirement names one (none does yet), so it
    needs no position either. On a leave day no place of work applies: the item earns its
    own flag, and neither ``no_location`` nor ``outside_geofence``.
    """
    if period is not None:
        return []
    status = attendance.status if attendance is not None else AttendanceStatus.WFO
    if attendance is not None and status.is_absence:
        return [_leave_day_flag(attendance)]
    flags: list[Flag] = []
    if position is None:
        flags.append(_no_location())
    place = _expected_place(status, attendance, school, home)
    if place is not None and position is not None:
        flags.extend(_geofence_flags(position, place, rules, _place_id(status)))
    if position is not None:
        accuracy = position.location.accuracy_m
        if accuracy is not None and accuracy > rules.low_accuracy_m:
            flags.append(
                Flag.raise_(
                    Code.LOW_GPS_ACCURACY,
                    f"{position.said_by} reports a horizontal error of {accuracy:.0f} m, "
                    f"more than {rules.low_accuracy_m:g} m: the position is only roughly known",
                    phrases=(
                        Phrase(
                            "low_gps_accuracy",
                            {"accuracy_m": accuracy, "limit_m": rules.low_accuracy_m},
                        ),
                    ),
                )
            )
    return flags


def _expected_place(
    status: AttendanceStatus,
    attendance: AttendanceDay | None,
    school: SchoolPlace,
    home: TeacherHome | None,
) -> Place | None:
    """Where the day's status says the teacher works; None when no such place is on record."""
    if status is AttendanceStatus.WFH:
        if home is None:
            return None
        return Place("the registered home (WFH)", home.lat, home.lon, home.radius_m)
    if status is AttendanceStatus.DL:
        destination = attendance.destination if attendance is not None else None
        if destination is None:
            return None
        return Place(
            f"{destination.name}{DL_PLACE_SUFFIX}",
            destination.lat,
            destination.lon,
            destination.radius_m,
        )
    return school.place


def _place_id(status: AttendanceStatus) -> str:
    """Which expected place a status names, as the message ids of ``outside_geofence`` say it."""
    return {AttendanceStatus.WFH: "home", AttendanceStatus.DL: "dl"}.get(status, "school")


def _geofence_flags(
    position: _Position, place: Place, rules: Rules, place_id: str = "school"
) -> list[Flag]:
    here = position.location
    distance = distance_m(place.lat, place.lon, here.lat, here.lon)
    limit = fence_limit_m(place.radius_m, here.accuracy_m, rules.accuracy_allowance_cap_m)
    if distance <= limit:
        return []
    accuracy = f"{here.accuracy_m:.0f} m" if here.accuracy_m is not None else "not reported"
    said_by = "" if position.said_by == "the photo's GPS" else f"; {position.said_by}"
    return [
        Flag.raise_(
            Code.OUTSIDE_GEOFENCE,
            f"{distance_text(distance)} from {place.name} (radius {place.radius_m:.0f} m, "
            f"GPS accuracy {accuracy}{said_by})",
            phrases=(
                Phrase(
                    f"outside_geofence.{place_id}",
                    {
                        "distance_m": distance,
                        "place": place.name.removesuffix(DL_PLACE_SUFFIX),
                        "radius_m": place.radius_m,
                    },
                ),
                *(
                    [Phrase("outside_geofence.accuracy", {"accuracy_m": here.accuracy_m})]
                    if here.accuracy_m is not None
                    else []
                ),
                *([Phrase("outside_geofence.phone_position")] if said_by else []),
            ),
        )
    ]


def _leave_day_flag(attendance: AttendanceDay) -> Flag:
    """Evidence of work on a day recorded as CUTI/SAKIT/IZIN: either the record or it is wrong."""
    status = attendance.status
    return Flag.raise_(
        Code.EVIDENCE_ON_LEAVE_DAY,
        f"evidence for {attendance.date:%Y-%m-%d}, recorded as {status.value} "
        f"({_ABSENCE_WORDS[status]}) in the attendance: no work is expected that day",
        phrases=(
            Phrase(
                "evidence_on_leave_day",
                {"attendance_day": attendance.date.isoformat(), "status": status.value},
            ),
        ),
    )


def _no_location() -> Flag:
    return Flag.raise_(
        Code.NO_LOCATION,
        "no GPS position in the photo's metadata and none sent with the upload",
        phrases=(Phrase("no_location"),),
    )


# --- editing and provenance ----------------------------------------------------------------


def _edit_flags(facts: CaptureFacts, thumbnail_distance: int | None, rules: Rules) -> list[Flag]:
    reasons: list[str] = []
    phrases: list[Phrase] = []
    for tag in (facts.software, facts.creator_tool):
        editor = editor_named_in(tag.value) if tag is not None else None
        if tag is not None and editor is not None:
            reasons.append(f"{tag.source} is “{tag.value}” ({editor} is an image editor)")
            phrases.append(
                Phrase("edited.editor", {"tag": tag.source, "value": tag.value, "editor": editor})
            )
    if facts.captured_local is not None and facts.modified_local is not None:
        taken, saved = facts.captured_local, facts.modified_local
        later = saved.value.replace(tzinfo=None) - taken.value.replace(tzinfo=None)
        if later > timedelta(seconds=rules.modified_after_capture_s):
            reasons.append(
                f"saved again {duration_text(later)} after it was taken ({saved.source} "
                f"{saved.value:%Y-%m-%d %H:%M:%S}, {taken.source} {taken.value:%Y-%m-%d %H:%M:%S})"
            )
            phrases.append(
                Phrase(
                    "edited.saved_later",
                    {
                        "later_s": _seconds(later),
                        "saved_wall": saved.value.replace(tzinfo=None).isoformat(),
                        "taken_wall": taken.value.replace(tzinfo=None).isoformat(),
                    },
                )
            )
    if thumbnail_distance is not None and thumbnail_distance > rules.thumbnail_max_distance:
        reasons.append(
            f"the embedded EXIF thumbnail differs from the image (perceptual distance "
            f"{thumbnail_distance} of 64, limit {rules.thumbnail_max_distance}): editors rewrite "
            "the image but often keep the camera's thumbnail"
        )
        phrases.append(
            Phrase(
                "edited.thumbnail",
                {"distance_n": thumbnail_distance, "limit_n": rules.thumbnail_max_distance},
            )
        )
    if not reasons:
        return []
    return [Flag.raise_(Code.EDITED, "; ".join(reasons), phrases=tuple(phrases))]


def _forwarding_flags(facts: CaptureFacts, filename: str | None) -> list[Flag]:
    reasons: list[str] = []
    phrases: list[Phrase] = []
    who = chat_app_naming(filename)
    if who is not None:
        reasons.append(f"file name “{filename}” follows {who}'s naming, not a camera's")
        phrases.append(
            Phrase("forwarded_or_screenshot.chat_name", {"filename": filename or "", "app": who})
        )
    if not _has_camera_metadata(facts):
        if is_screen_sized(facts.width, facts.height):
            reasons.append(
                f"{facts.width}\N{MULTIPLICATION SIGN}{facts.height} with no camera metadata: "
                "the size of a phone screen, as screenshots are"
            )
            phrases.append(
                Phrase(
                    "forwarded_or_screenshot.screen_size",
                    {"width": facts.width or 0, "height": facts.height or 0},
                )
            )
        if facts.format.lower() in ("image/png", "png"):  # a MIME type, or a format name
            reasons.append(
                "a PNG with no camera metadata: phone cameras save JPEG or HEIC, screenshots PNG"
            )
            phrases.append(Phrase("forwarded_or_screenshot.png"))
    if not reasons:
        return []
    return [Flag.raise_(Code.FORWARDED_OR_SCREENSHOT, "; ".join(reasons), phrases=tuple(phrases))]


def _has_camera_metadata(facts: CaptureFacts) -> bool:
    """A camera's tags: make or model, or a capture time with a GPS fix.

    Camera apps with a "remove device info" option (Open Camera, some privacy modes) drop
    Make/Model but keep DateTimeOriginal and GPS; screenshots and chat copies have neither.
    """
    return facts.has_camera_tags or (
        facts.captured_local is not None and facts.location is not None
    )


# --- the teacher's history -----------------------------------------------------------------


def _history_flags(
    position: _Position | None,
    resolved: ResolvedTime | None,
    day: date | None,
    history: Sequence[HistoryItem],
    zone: str,
    rules: Rules,
) -> list[Flag]:
    if position is None:
        return []
    flags: list[Flag] = []
    repeated = _repeated_location(position.location, day, history, rules)
    if repeated is not None:
        flags.append(repeated)
    if resolved is not None:
        travel = _impossible_travel(position.location, resolved, history, zone, rules)
        if travel is not None:
            flags.append(travel)
    return flags


def _coordinate_key(lat: float, lon: float) -> tuple[float, float]:
    # Six decimals (11 cm): "identical" must survive a database column rounding the history.
    return round(lat, 6), round(lon, 6)


def _is_whole_seconds(lat: float, lon: float) -> bool:
    """True for a fix written in whole arc-seconds (~31 m steps), as some budget phones do.

    Such fixes repeat exactly whenever a teacher stands in the same classroom, so identical
    coordinates prove nothing about them.
    """

    def whole(degrees: float) -> bool:
        seconds = abs(degrees) * 3600
        return abs(seconds - round(seconds)) < 0.004

    return whole(lat) and whole(lon)


def history_scope(position: Location | None, resolved: ResolvedTime | None) -> HistoryScope | None:
    """Which of the teacher's other items the history checks of an item read; None for none.

    ``position`` and ``resolved`` are the item's own (see :func:`item_capture_time`): without a
    position neither check applies, and a whole arc-second fix is never a repeated location.
    A teacher's history grows by thousands of items a year; each check reads a handful.
    """
    if position is None:
        return None
    coordinates = repeated_location_key(position)
    around = resolved.utc if resolved is not None else None
    if coordinates is None and around is None:
        return None
    return HistoryScope(coordinates, around)


def repeated_location_key(here: Location) -> tuple[float, float] | None:
    """The rounded coordinates the repeated-location check matches; None when it cannot flag."""
    if _is_whole_seconds(here.lat, here.lon):
        return None
    return _coordinate_key(here.lat, here.lon)


def _repeated_location(
    here: Location, day: date | None, history: Sequence[HistoryItem], rules: Rules
) -> Flag | None:
    """Identical coordinates on several days: real fixes wander by metres, fake-GPS apps don't."""
    key = repeated_location_key(here)
    if key is None:
        return None
    same = [item for item in history if _coordinate_key(item.lat, item.lon) == key]
    days = {item.date for item in same} | ({day} if day is not None else set())
    if len(days) < rules.repeated_location_days or not same:
        return None
    latest = max(same, key=lambda item: (item.date, item.evidence_id))
    listed = ", ".join(f"{d:%Y-%m-%d}" for d in sorted(days))
    return Flag.raise_(
        Code.REPEATED_LOCATION,
        f"exactly the same coordinates ({here.lat:.6f}, {here.lon:.6f}) on {len(days)} "
        f"different days ({listed}); real GPS fixes differ by metres from day to day, "
        "fake-GPS apps repeat them",
        latest.evidence_id,
        phrases=(
            Phrase(
                "repeated_location",
                {
                    "lat": f"{here.lat:.6f}",
                    "lon": f"{here.lon:.6f}",
                    "count_n": len(days),
                    "listed_days": ", ".join(d.isoformat() for d in sorted(days)),
                },
            ),
        ),
    )


def _impossible_travel(
    here: Location,
    resolved: ResolvedTime,
    history: Sequence[HistoryItem],
    zone: str,
    rules: Rules,
) -> Flag | None:
    """A speed above the limit to or from the items just before and after this one in time.

    Only the neighbours in time matter: if any earlier item is out of reach, so is one of the
    legs through the neighbours (triangle inequality), and those legs were checked already.
    """
    when = resolved.utc
    timed = [(_aware_utc(item.captured_utc), item) for item in history if item.captured_utc]
    before = [entry for entry in timed if entry[0] <= when]
    after = [entry for entry in timed if entry[0] > when]
    by_time = _by_time_then_id
    neighbours = [
        *([max(before, key=by_time)] if before else []),
        *([min(after, key=by_time)] if after else []),
    ]
    worst: tuple[float, HistoryItem, datetime, float] | None = None
    for moment, item in neighbours:
        distance = distance_m(here.lat, here.lon, item.lat, item.lon)
        noise = (here.accuracy_m or 0.0) + (item.accuracy_m or 0.0)
        if distance <= max(rules.travel_ignore_m, noise):
            continue
        apart = abs(when - moment)
        seconds = apart.total_seconds()
        speed_kmh = float("inf") if seconds == 0 else distance / seconds * 3.6
        if speed_kmh > rules.max_speed_kmh and (worst is None or speed_kmh > worst[0]):
            worst = (speed_kmh, item, moment, distance)
    if worst is None:
        return None
    speed_kmh, item, moment, distance = worst
    apart = abs(when - moment)
    pace = "at the same moment" if apart == timedelta(0) else f"{duration_text(apart)} apart"
    speed = "" if apart == timedelta(0) else f": {speed_kmh:,.0f} km/h"
    return Flag.raise_(
        Code.IMPOSSIBLE_TRAVEL,
        f"{distance_text(distance)} from evidence #{item.evidence_id} taken "
        f"{clock_text(moment, zone, day=_local_date(resolved, zone))}, {pace}{speed}, more than "
        f"{rules.max_speed_kmh:g} km/h",
        item.evidence_id,
        phrases=(
            Phrase(
                "impossible_travel" + (".same_moment" if apart == timedelta(0) else ""),
                {
                    "distance_m": distance,
                    "other_id": item.evidence_id,
                    "other_at": moment.isoformat(),
                    "apart_s": _seconds(apart),
                    "speed_n": 0 if apart == timedelta(0) else round(speed_kmh),
                    "limit_n": rules.max_speed_kmh,
                    "zone": zone,
                },
            ),
        ),
    )


def _by_time_then_id(entry: tuple[datetime, HistoryItem]) -> tuple[datetime, int]:
    return entry[0], entry[1].evidence_id


# --- the records ---------------------------------------------------------------------------


def activity_overlaps(
    activities: Iterable[ActivityWindow],
) -> list[tuple[ActivityWindow, ActivityWindow]]:
    """Each pair of activities on one date whose windows overlap; touching ends do not."""
    by_day: dict[date, list[ActivityWindow]] = defaultdict(list)
    for activity in activities:
        by_day[activity.date].append(activity)
    pairs: list[tuple[ActivityWindow, ActivityWindow]] = []
    for day in sorted(by_day):
        ordered = sorted(by_day[day], key=lambda a: (a.start, a.end))
        for i, first in enumerate(ordered):
            for second in ordered[i + 1 :]:
                if second.start >= first.end:
                    break  # sorted by start: nothing later can overlap ``first``
                if first.start < second.end:
                    pairs.append((first, second))
    return pairs


def activity_overlap_flag(first: ActivityWindow, second: ActivityWindow) -> Flag:
    """The ``activity_overlap`` flag for a pair found by :func:`activity_overlaps`."""
    start = max(first.start, second.start)
    end = min(first.end, second.end)
    overlap = datetime.combine(first.date, end) - datetime.combine(first.date, start)
    return Flag.raise_(
        Code.ACTIVITY_OVERLAP,
        f"on {first.date:%Y-%m-%d}, {window_text(first.start, first.end)} “{first.title}” and "
        f"{window_text(second.start, second.end)} “{second.title}” overlap by "
        f"{duration_text(overlap)}",
        phrases=(
            Phrase(
                "activity_overlap",
                {
                    "activity_day": first.date.isoformat(),
                    "first_window": _window_value(first.start, first.end),
                    "first_title": first.title or "",
                    "second_window": _window_value(second.start, second.end),
                    "second_title": second.title or "",
                    "overlap_s": _seconds(overlap),
                },
            ),
        ),
    )


def trk_day_flags(
    activities: Iterable[ActivityWindow],
    target_min: int = 450,
    *,
    hours: WorkingHours | None = None,
    attendance: Iterable[AttendanceDay] = (),
    days: Iterable[date] | None = None,
) -> dict[date, list[Flag]]:
    """``trk_under_target`` for each working day whose activities total under its target.

    The days checked are ``days`` when given (a day with no activity then totals 0), else the
    days that have activities. Days off in ``hours`` and CUTI/SAKIT/IZIN days in
    ``attendance`` carry no target; a day the calendar shortens carries a shortened one (see
    :func:`evidence.calendar.day_target_min`). Overlapping activities count their shared
    minutes once.
    """
    by_day: dict[date, list[ActivityWindow]] = defaultdict(list)
    for activity in activities:
        by_day[activity.date].append(activity)
    absent = {record.date for record in attendance if record.status.is_absence}
    flagged: dict[date, list[Flag]] = {}
    for day in sorted(set(days) if days is not None else by_day):
        if day in absent or (hours is not None and not hours.on(day).is_working_day):
            continue
        target = day_target_min(hours, day, target_min) if hours is not None else target_min
        logged = logged_minutes(by_day.get(day, []))
        if logged >= target:
            continue
        count = len(by_day.get(day, []))
        label = hours.on(day).label if hours is not None else ""
        shortened = f" ({label} hours)" if label and target < target_min else ""
        flagged[day] = [
            Flag.raise_(
                Code.TRK_UNDER_TARGET,
                f"{logged} min logged on {day:%Y-%m-%d} in {count} "
                f"activit{'y' if count == 1 else 'ies'}: {target - logged} min short of "
                f"the day's {target} min{shortened}",
                phrases=(
                    Phrase(
                        "trk_under_target",
                        {
                            "logged_n": logged,
                            "activity_day": day.isoformat(),
                            "count_n": count,
                            "short_n": target - logged,
                            "target_n": target,
                        },
                    ),
                ),
            )
        ]
    return flagged


def logged_minutes(activities: Sequence[ActivityWindow]) -> int:
    """Minutes covered by at least one activity of one day."""
    total = 0
    covered_until: datetime | None = None
    for activity in sorted(activities, key=lambda a: a.start):
        start = datetime.combine(activity.date, activity.start)
        end = datetime.combine(activity.date, activity.end)
        if covered_until is not None:
            start = max(start, covered_until)
        if end > start:
            total += int((end - start).total_seconds())
            covered_until = end
    return total // 60


@dataclass(frozen=True)
class CheckTimes:
    """A day's check-in and check-out as the records count them, and what said so."""

    check_in: datetime | None
    check_out: datetime | None
    check_in_said_by: str
    check_out_said_by: str


def check_times(
    attendance: AttendanceDay,
    zone: str,
    selfie_in: CheckSelfie | None = None,
    selfie_out: CheckSelfie | None = None,
) -> CheckTimes:
    """The check times: each selfie's capture time, else the time the teacher typed.

    In K-Mob the selfie is the check: its resolved capture time is the check-in (check-out)
    time, whatever was typed. A typed time stands in only when there is no selfie with a
    capture time; it is read in the day's zone.
    """

    def one(which: Literal["in", "out"], selfie: CheckSelfie | None) -> tuple[datetime | None, str]:
        if selfie is not None:
            return selfie.at.astimezone(
                ZoneInfo(zone)
            ), f"the check-{which} selfie, #{selfie.evidence_id}"
        typed = attendance.typed_check(which)
        if typed is None:
            return None, ""
        return datetime.combine(attendance.date, typed, tzinfo=ZoneInfo(zone)), "typed, no selfie"

    check_in, in_by = one("in", selfie_in)
    check_out, out_by = one("out", selfie_out)
    return CheckTimes(check_in, check_out, in_by, out_by)


def attendance_flags(
    attendance: AttendanceDay,
    school: SchoolPlace,
    selfie_in: CheckSelfie | None = None,
    selfie_out: CheckSelfie | None = None,
) -> list[Flag]:
    """``late_check_in`` / ``early_check_out`` against the school's hours on that date.

    The check times are the selfies' (see :func:`check_times`). The deadline binds on WFO and
    WFH days, in the school's zone; on a DL day the duty's own schedule applies (a meeting in
    Bandung at 09:00), so neither flag is raised; leave days and days off have no hours. On
    time means at or before the deadline to the second: 07:00:00 is on time, 07:00:01 late;
    a check-out at 15:30:00 is on time, 15:29:59 early.
    """
    if attendance.status.is_absence or attendance.status is AttendanceStatus.DL:
        return []
    hours = school.hours.on(attendance.date)
    if not hours.is_working_day:
        return []
    zone = school.timezone
    times = check_times(attendance, zone, selfie_in, selfie_out)
    note = f", {hours.label} hours" if hours.label else ""
    day = attendance.date
    flags: list[Flag] = []
    if times.check_in is not None and hours.check_in_by is not None:
        deadline = datetime.combine(day, hours.check_in_by, tzinfo=ZoneInfo(zone))
        late = times.check_in - deadline
        if late > timedelta(0):
            flags.append(
                Flag.raise_(
                    Code.LATE_CHECK_IN,
                    f"checked in {_clock_with_seconds(times.check_in, zone)} on {day:%Y-%m-%d} "
                    f"({times.check_in_said_by}), after {time_text(hours.check_in_by)}{note} "
                    f"({duration_text(late)} late)",
                    phrases=(
                        Phrase(
                            "late_check_in",
                            {
                                "check_clock": times.check_in.isoformat(),
                                "deadline_time": time_text(hours.check_in_by),
                                "late_s": _seconds(late),
                                "zone": zone,
                            },
                        ),
                    ),
                )
            )
    if times.check_out is not None and hours.check_out_from is not None:
        opening = datetime.combine(day, hours.check_out_from, tzinfo=ZoneInfo(zone))
        early = opening - times.check_out
        if early > timedelta(0):
            flags.append(
                Flag.raise_(
                    Code.EARLY_CHECK_OUT,
                    f"checked out {_clock_with_seconds(times.check_out, zone)} on "
                    f"{day:%Y-%m-%d} ({times.check_out_said_by}), before "
                    f"{time_text(hours.check_out_from)}{note} ({duration_text(early)} early)",
                    phrases=(
                        Phrase(
                            "early_check_out",
                            {
                                "check_clock": times.check_out.isoformat(),
                                "opening_time": time_text(hours.check_out_from),
                                "early_s": _seconds(early),
                                "zone": zone,
                            },
                        ),
                    ),
                )
            )
    return flags


def _clock_with_seconds(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{time_text(local.time().replace(microsecond=0))} {zone_abbreviation(zone)}"


# Evening work at home is part of a teacher's day; past this hour, and before dawn, a logged
# activity is not work a school day holds.
NIGHT_STARTS = time(21, 0)
NIGHT_ENDS = time(5, 0)


def trk_plausibility_flags(
    day: date,
    activities: Sequence[ActivityWindow],
    attendance: AttendanceDay | None,
    times: CheckTimes | None,
    rules: Rules,
) -> list[Flag]:
    """``trk_implausible_time``: minutes no one could have worked where and when they say.

    Activities logged on a leave day, at night (21:00-05:00), or outside the day's attendance
    window (check-in to check-out, with the activity tolerance either side) are one flag for
    the reviewer, naming each.
    """
    day_activities = [a for a in activities if a.date == day]
    if not day_activities:
        return []
    reasons: list[str] = []
    phrases = [Phrase("trk_implausible_time.day", {"activity_day": day.isoformat()})]
    if attendance is not None and attendance.status.is_absence:
        minutes = logged_minutes(day_activities)
        reasons.append(
            f"{minutes} min logged on a {attendance.status.value} "
            f"({_ABSENCE_WORDS[attendance.status]}) day"
        )
        phrases.append(
            Phrase(
                "trk_implausible_time.leave",
                {"logged_n": minutes, "status": attendance.status.value},
            )
        )
    for activity in sorted(day_activities, key=lambda a: (a.start, a.end)):
        window = window_text(activity.start, activity.end)
        named: dict[str, str | int | float] = {
            "activity_window": _window_value(activity.start, activity.end),
            "title": activity.title or "",
        }
        if activity.start < NIGHT_ENDS or activity.end > NIGHT_STARTS:
            reasons.append(f"{window} “{activity.title}” is at night")
            phrases.append(Phrase("trk_implausible_time.night", named))
            continue
        if times is None:
            continue
        tolerance = timedelta(minutes=rules.activity_tolerance_min)
        # Each side of the attendance counts on its own: a day checked in but never checked
        # out still says when the teacher arrived.
        if times.check_in is not None:
            start = datetime.combine(day, activity.start, tzinfo=times.check_in.tzinfo)
            if start < times.check_in - tolerance:
                reasons.append(
                    f"{window} “{activity.title}” begins before the check-in {times.check_in:%H:%M}"
                )
                phrases.append(
                    Phrase(
                        "trk_implausible_time.before_check_in",
                        {**named, "check_time": f"{times.check_in:%H:%M}"},
                    )
                )
                continue
        if times.check_out is not None:
            end = datetime.combine(day, activity.end, tzinfo=times.check_out.tzinfo)
            if end > times.check_out + tolerance:
                reasons.append(
                    f"{window} “{activity.title}” ends after the check-out {times.check_out:%H:%M}"
                )
                phrases.append(
                    Phrase(
                        "trk_implausible_time.after_check_out",
                        {**named, "check_time": f"{times.check_out:%H:%M}"},
                    )
                )
    if not reasons:
        return []
    return [
        Flag.raise_(
            Code.TRK_IMPLAUSIBLE_TIME,
            f"on {day:%Y-%m-%d}: " + "; ".join(reasons),
            phrases=tuple(phrases),
        )
    ]

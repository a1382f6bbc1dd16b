"""Verification of an item's facts and of a teacher's records: every mismatch is a Flag.

Plain values in, flags out; nothing here raises on a mismatch, reads a clock or touches IO.
:func:`verify_photo` checks one photo against the activity it proves, the day's attendance, the
expected place and the teacher's own history; :func:`activity_overlaps`, :func:`trk_day_flags`
and :func:`attendance_flags` check the records themselves. Each detail names the facts behind
the flag, in the school's zone, so a reviewer needs nothing else open to judge it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from evidence.details import clock_text, distance_text, duration_text, time_text, window_text
from evidence.editors import editor_named_in
from evidence.facts import CaptureFacts, Location
from evidence.flags import Code, Flag
from evidence.geo import distance_m, fence_limit_m
from evidence.provenance import chat_app_naming, is_screen_sized
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    HistoryItem,
    Place,
    SchoolPlace,
    TeacherHome,
    WorkingHours,
)
from evidence.timeresolve import ResolvedTime, ZoneLookup, resolve_capture_time, zone_abbreviation


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
) -> list[Flag]:
    """Every flag a photo earns, at most one per code, in SPEC.md's order.

    ``activity`` is the window the photo proves (an attendance check's window for a check
    selfie, see :meth:`AttendanceDay.check_window`); ``attendance`` is that day's record, None
    meaning a plain WFO day. ``client_location`` is a position the phone sent for the moment of
    capture. ``exif_thumbnail_distance`` is the pHash Hamming distance between the image and
    its EXIF thumbnail. ``history`` is the teacher's other items; ``evidence_id`` (this item's
    own id) keeps it out of its own history when it is verified again.
    """
    position = _position(facts, client_location)
    resolved = resolve_capture_time(
        facts,
        school_zone=school.timezone,
        zone_at=zone_at,
        location=position.location if position else None,
    )
    others = [item for item in history if item.evidence_id != evidence_id]
    day = _evidence_day(resolved, school.timezone, activity, attendance)
    flags = [
        *_time_flags(facts, resolved, position, activity, received_at_utc, school, rules),
        *_place_flags(position, attendance, school, home, rules),
        *_edit_flags(facts, exif_thumbnail_distance, rules),
        *_forwarding_flags(facts, filename),
        *_history_flags(position, resolved, day, others, school.timezone, rules),
    ]
    return sorted(flags, key=lambda flag: _CODE_ORDER[flag.code])


def _position(facts: CaptureFacts, client_location: Location | None) -> _Position | None:
    # The photo's own GPS is written at the shutter; the client's position is the fallback.
    if facts.location is not None:
        return _Position(facts.location.value, "the photo's GPS")
    if client_location is not None:
        return _Position(client_location, "the phone's reported position")
    return None


def _evidence_day(
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
    school: SchoolPlace,
    rules: Rules,
) -> list[Flag]:
    if resolved is None:
        return [_no_capture_time()]
    zone = school.timezone
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
                )
            )
    return flags


def _activity_flags(
    resolved: ResolvedTime, activity: ActivityWindow, zone: str, rules: Rules
) -> list[Flag]:
    """wrong_day, else time_outside_activity: a photo from another day is one finding."""
    local = resolved.at.astimezone(ZoneInfo(zone))
    window = window_text(activity.start, activity.end)
    if activity.start == activity.end:
        window = time_text(activity.start)
    if local.date() != activity.date:
        days = (local.date() - activity.date).days
        side = "after" if days > 0 else "before"
        return [
            Flag.raise_(
                Code.WRONG_DAY,
                f"taken {local:%Y-%m-%d} {clock_text(local, zone)}; {activity.kind} dated "
                f"{activity.date:%Y-%m-%d} {window} ({abs(days)} day{'s' * (abs(days) != 1)} "
                f"{side} it)",
            )
        ]
    tolerance = timedelta(minutes=rules.activity_tolerance_min)
    start = datetime.combine(activity.date, activity.start, tzinfo=ZoneInfo(zone))
    end = datetime.combine(activity.date, activity.end, tzinfo=ZoneInfo(zone))
    point = activity.start == activity.end
    if local < start - tolerance:
        gap, where = start - local, "before it" if point else "before its start"
    elif local > end + tolerance:
        gap, where = local - end, "after it" if point else "after its end"
    else:
        return []
    return [
        Flag.raise_(
            Code.TIME_OUTSIDE_ACTIVITY,
            f"taken {clock_text(local, zone)}; {activity.kind} {window} "
            f"({duration_text(gap)} {where})",
        )
    ]


def _zone_assumed(resolved: ResolvedTime, position: _Position | None, zone: str) -> Flag:
    why = "the photo has no position" if position is None else "no zone is known at its position"
    return Flag.raise_(
        Code.TIME_ZONE_ASSUMED,
        f"the camera wrote {resolved.at:%Y-%m-%d %H:%M:%S} with no UTC offset and {why}: "
        f"{zone} ({zone_abbreviation(zone)}) assumed",
    )


def _no_capture_time() -> Flag:
    return Flag.raise_(
        Code.NO_CAPTURE_TIME,
        "no capture time in the photo's metadata (DateTimeOriginal missing or unusable); "
        "forwarded chat photos, screenshots and stripped files look like this",
    )


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
) -> list[Flag]:
    flags: list[Flag] = []
    if position is None:
        flags.append(_no_location())
    status = attendance.status if attendance is not None else AttendanceStatus.WFO
    if attendance is not None and status.is_absence:
        flags.append(_absence_flag(attendance, position, school))
    else:
        place = _expected_place(status, attendance, school, home)
        if place is not None and position is not None:
            flags.extend(_geofence_flags(position, place, rules))
    if position is not None:
        accuracy = position.location.accuracy_m
        if accuracy is not None and accuracy > rules.low_accuracy_m:
            flags.append(
                Flag.raise_(
                    Code.LOW_GPS_ACCURACY,
                    f"{position.said_by} reports a horizontal error of {accuracy:.0f} m, "
                    f"more than {rules.low_accuracy_m:g} m: the position is only roughly known",
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
            f"{destination.name} (DL destination)",
            destination.lat,
            destination.lon,
            destination.radius_m,
        )
    return school.place


def _geofence_flags(position: _Position, place: Place, rules: Rules) -> list[Flag]:
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
        )
    ]


def _absence_flag(
    attendance: AttendanceDay, position: _Position | None, school: SchoolPlace
) -> Flag:
    """Evidence of work on a day recorded as CUTI/SAKIT/IZIN: there is no place it belongs.

    ``outside_geofence`` because the status decides the expected place, and an absence day has
    none: whatever the position, the evidence is outside where the teacher was supposed to be.
    """
    status = attendance.status
    where = ""
    if position is not None:
        here = position.location
        away = distance_m(school.lat, school.lon, here.lat, here.lon)
        where = f"; taken {distance_text(away)} from {school.name}"
    return Flag.raise_(
        Code.OUTSIDE_GEOFENCE,
        f"evidence for {attendance.date:%Y-%m-%d}, recorded as {status.value} "
        f"({_ABSENCE_WORDS[status]}) in the attendance: no place of work applies that day{where}",
    )


def _no_location() -> Flag:
    return Flag.raise_(
        Code.NO_LOCATION,
        "no GPS position in the photo's metadata and none sent with the upload",
    )


# --- editing and provenance ----------------------------------------------------------------


def _edit_flags(facts: CaptureFacts, thumbnail_distance: int | None, rules: Rules) -> list[Flag]:
    reasons: list[str] = []
    for tag in (facts.software, facts.creator_tool):
        editor = editor_named_in(tag.value) if tag is not None else None
        if tag is not None and editor is not None:
            reasons.append(f"{tag.source} is “{tag.value}” ({editor} is an image editor)")
    if facts.captured_local is not None and facts.modified_local is not None:
        taken, saved = facts.captured_local, facts.modified_local
        later = saved.value.replace(tzinfo=None) - taken.value.replace(tzinfo=None)
        if later > timedelta(seconds=rules.modified_after_capture_s):
            reasons.append(
                f"saved again {duration_text(later)} after it was taken ({saved.source} "
                f"{saved.value:%Y-%m-%d %H:%M:%S}, {taken.source} {taken.value:%Y-%m-%d %H:%M:%S})"
            )
    if thumbnail_distance is not None and thumbnail_distance > rules.thumbnail_max_distance:
        reasons.append(
            f"the embedded EXIF thumbnail differs from the image (perceptual distance "
            f"{thumbnail_distance} of 64, limit {rules.thumbnail_max_distance}): editors rewrite "
            "the image but often keep the camera's thumbnail"
        )
    return [Flag.raise_(Code.EDITED, "; ".join(reasons))] if reasons else []


def _forwarding_flags(facts: CaptureFacts, filename: str | None) -> list[Flag]:
    reasons: list[str] = []
    who = chat_app_naming(filename)
    if who is not None:
        reasons.append(f"file name “{filename}” follows {who}'s naming, not a camera's")
    if not _has_camera_metadata(facts):
        if is_screen_sized(facts.width, facts.height):
            reasons.append(
                f"{facts.width}\N{MULTIPLICATION SIGN}{facts.height} with no camera metadata: "
                "the size of a phone screen, as screenshots are"
            )
        if facts.format.lower() in ("image/png", "png"):  # a MIME type, or a format name
            reasons.append(
                "a PNG with no camera metadata: phone cameras save JPEG or HEIC, screenshots PNG"
            )
    return [Flag.raise_(Code.FORWARDED_OR_SCREENSHOT, "; ".join(reasons))] if reasons else []


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


def _repeated_location(
    here: Location, day: date | None, history: Sequence[HistoryItem], rules: Rules
) -> Flag | None:
    """Identical coordinates on several days: real fixes wander by metres, fake-GPS apps don't."""
    if _is_whole_seconds(here.lat, here.lon):
        return None
    key = _coordinate_key(here.lat, here.lon)
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
    )


def trk_day_flags(
    activities: Iterable[ActivityWindow],
    target_min: int = 450,
    *,
    hours: WorkingHours | None = None,
    attendance: Iterable[AttendanceDay] = (),
    days: Iterable[date] | None = None,
) -> dict[date, list[Flag]]:
    """``trk_under_target`` for each working day whose activities total under the target.

    The days checked are ``days`` when given (a day with no activity then totals 0), else the
    days that have activities. Days off in ``hours`` and CUTI/SAKIT/IZIN days in
    ``attendance`` carry no target. Overlapping activities count their shared minutes once.
    """
    by_day: dict[date, list[ActivityWindow]] = defaultdict(list)
    for activity in activities:
        by_day[activity.date].append(activity)
    absent = {record.date for record in attendance if record.status.is_absence}
    flagged: dict[date, list[Flag]] = {}
    for day in sorted(set(days) if days is not None else by_day):
        if day in absent or (hours is not None and not hours.on(day).is_working_day):
            continue
        logged = logged_minutes(by_day.get(day, []))
        if logged >= target_min:
            continue
        count = len(by_day.get(day, []))
        flagged[day] = [
            Flag.raise_(
                Code.TRK_UNDER_TARGET,
                f"{logged} min logged on {day:%Y-%m-%d} in {count} "
                f"activit{'y' if count == 1 else 'ies'}: {target_min - logged} min short of "
                f"the {target_min}-minute TRK day",
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


def attendance_flags(attendance: AttendanceDay, school: SchoolPlace) -> list[Flag]:
    """``late_check_in`` / ``early_check_out`` against the school's hours on that date."""
    if attendance.status.is_absence:
        return []
    hours = school.hours.on(attendance.date)
    abbr = zone_abbreviation(school.timezone)
    note = f", {hours.label} hours" if hours.label else ""
    flags: list[Flag] = []
    day = attendance.date
    if attendance.check_in is not None and hours.check_in_by is not None:
        late = datetime.combine(day, attendance.check_in) - datetime.combine(day, hours.check_in_by)
        if late > timedelta(0):
            flags.append(
                Flag.raise_(
                    Code.LATE_CHECK_IN,
                    f"checked in {time_text(attendance.check_in)} {abbr} on {day:%Y-%m-%d}, "
                    f"after {time_text(hours.check_in_by)}{note} ({duration_text(late)} late)",
                )
            )
    if attendance.check_out is not None and hours.check_out_from is not None:
        early = datetime.combine(day, hours.check_out_from) - datetime.combine(
            day, attendance.check_out
        )
        if early > timedelta(0):
            flags.append(
                Flag.raise_(
                    Code.EARLY_CHECK_OUT,
                    f"checked out {time_text(attendance.check_out)} {abbr} on {day:%Y-%m-%d}, "
                    f"before {time_text(hours.check_out_from)}{note} ({duration_text(early)} "
                    "early)",
                )
            )
    return flags

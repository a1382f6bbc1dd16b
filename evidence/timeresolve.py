"""Capture-time resolution: a camera's wall-clock time made an instant, recording how.

A photo's DateTimeOriginal is the phone's wall clock with no zone. The zone comes, in order of
trust, from the offset the phone wrote beside it (OffsetTimeOriginal: iPhones since iOS 11,
Pixels, recent Samsungs), from the zone at the photo's GPS point, or from the school's zone as
an assumption that is flagged ``time_zone_assumed``. The GPS-point lookup is a polygon search
over a data file, so it is passed in as a callable and this module stays pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evidence.facts import CaptureFacts, Location

ZoneLookup = Callable[[float, float], str | None]
"""``zone_at(lat, lon)``: the IANA zone name at a point, or None where it cannot tell."""

GPS_ZONE_SOURCE = "zone_at_gps"
ASSUMED_ZONE_SOURCE = "assumed:school_zone"

# Indonesia's own abbreviations: a reviewer reads "10:47 WIB", not "10:47 +07". Pontianak
# (West Kalimantan) keeps WIB under a zone of its own.
_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


@dataclass(frozen=True)
class ResolvedTime:
    """A capture instant (aware), where its wall-clock time and zone came from, and the zone.

    ``source`` joins the two sources with "+", e.g. ``exif:DateTimeOriginal+exif:
    OffsetTimeOriginal``, ``exif:DateTimeOriginal+zone_at_gps`` or ``exif:DateTimeOriginal+
    assumed:school_zone``; ``zone`` is an IANA name, or "UTC+07:00" for a written offset.
    """

    at: datetime
    source: str
    zone: str

    @property
    def utc(self) -> datetime:
        """The instant in UTC."""
        return self.at.astimezone(UTC)

    @property
    def is_zone_assumed(self) -> bool:
        """True when neither the metadata nor the GPS point gave the zone."""
        return self.source.endswith(ASSUMED_ZONE_SOURCE)


def resolve_capture_time(
    facts: CaptureFacts,
    *,
    school_zone: str,
    zone_at: ZoneLookup | None,
    location: Location | None = None,
) -> ResolvedTime | None:
    """The capture instant: written offset, else zone at the GPS point, else the school's zone.

    ``location`` is the point whose zone is looked up; it defaults to the photo's own GPS
    position. None when the metadata holds no capture time at all.
    """
    if facts.captured_local is None:
        return None
    wall = facts.captured_local.value.replace(tzinfo=None)
    source = facts.captured_local.source
    if facts.utc_offset_min is not None:
        minutes = facts.utc_offset_min.value
        return ResolvedTime(
            wall.replace(tzinfo=timezone(timedelta(minutes=minutes))),
            f"{source}+{facts.utc_offset_min.source}",
            offset_name(minutes),
        )
    if location is None and facts.location is not None:
        location = facts.location.value
    if location is not None and zone_at is not None:
        name = zone_at(location.lat, location.lon)
        zone = zone_named(name) if name else None
        if name and zone is not None:
            return ResolvedTime(wall.replace(tzinfo=zone), f"{source}+{GPS_ZONE_SOURCE}", name)
    return ResolvedTime(
        wall.replace(tzinfo=ZoneInfo(school_zone)), f"{source}+{ASSUMED_ZONE_SOURCE}", school_zone
    )


def zone_named(name: str) -> tzinfo | None:
    """The zone of an IANA name, or None for a name the zone database does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def offset_name(minutes: int) -> str:
    """A fixed offset as "UTC+07:00"."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_abbreviation(zone: str, moment: datetime | None = None) -> str:
    """How a zone is written after a time: WIB, WITA, WIT; else the zone database's own."""
    if zone in _ABBREVIATIONS:
        return _ABBREVIATIONS[zone]
    found = zone_named(zone)
    if found is None:
        return zone
    name = (moment or datetime(2000, 1, 1)).replace(tzinfo=found).tzname()
    return name or zone


def in_zone(moment: datetime, zone: str) -> datetime:
    """An aware instant as wall-clock time in the named zone."""
    found = zone_named(zone)
    return moment.astimezone(found) if found is not None else moment


CONTAINER_UTC_SOURCE = "container:creation_time"
"""How :mod:`evidence.video_facts` names a video's UTC ``creation_time`` (plus where it was)."""

LOCAL_READING_SOURCE = "read_as_local_time"


def utc_label_holding_local_time(
    facts: CaptureFacts,
    resolved: ResolvedTime,
    *,
    fallback_zone: str,
    zone_at: ZoneLookup | None,
    location: Location | None = None,
) -> ResolvedTime | None:
    """The other reading of a video's UTC ``creation_time``: the same wall clock, local.

    None when the capture time did not come from a container's UTC field, or when the local
    zone (at ``location``, else ``fallback_zone``) is UTC itself, so both readings agree.
    Whether the local reading is the right one is the caller's to decide from other facts.
    """
    if facts.captured_local is None or facts.utc_offset_min is None:
        return None
    if not facts.utc_offset_min.source.startswith(CONTAINER_UTC_SOURCE):
        return None
    name = None
    if location is not None and zone_at is not None:
        name = zone_at(location.lat, location.lon)
    zone = zone_named(name) if name else None
    if name is None or zone is None:
        name, zone = fallback_zone, zone_named(fallback_zone)
    if zone is None:
        return None
    wall = facts.captured_local.value.replace(tzinfo=None)
    local = wall.replace(tzinfo=zone)
    if local.utcoffset() == timedelta(0):
        return None
    return ResolvedTime(local, f"{facts.captured_local.source}+{LOCAL_READING_SOURCE}", name)

"""What a video's container says about it, each capture value with the tag it came from.

Phones write capture facts into different tags than photos' EXIF:

* ``creation_time`` (the MP4/MOV ``mvhd`` box, Matroska's ``DateUTC``) is UTC by definition.
  Zero, 1904-01-01 (the QuickTime epoch) and 1970-01-01 (the Unix epoch) are what a writer
  with no clock or a bug leaves there, so they count as missing.
* iPhones also write ``com.apple.quicktime.creationdate``: the local time *with its offset*
  (``2024-03-05T07:12:33+0700``), the only tag that says in which zone a video was taken.
* The position comes as ISO 6709 text: ``com.apple.quicktime.location.ISO6709`` on iPhones,
  the ``©xyz`` atom (FFmpeg's ``location`` tag) on Android; make and model come from
  ``com.apple.quicktime.make``/``model`` or ``com.android.manufacturer``/``model``.

:func:`capture_facts` turns these into the :class:`~evidence.facts.CaptureFacts` fields that
photo verification already reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from evidence.facts import CaptureFacts, Location, Sourced, parse, plain

# Dates that mean "no clock": the QuickTime and Unix epochs, written by cameras whose clock was
# never set and by muxers that store 0 or forget the 1904 -> 1970 epoch conversion.
_PLACEHOLDER_DATES = {date(1904, 1, 1), date(1970, 1, 1)}

# ISO 6709 as phones write it: signed latitude and longitude, optional signed altitude, "/".
# Degrees may be written as DD.DD, DDMM.MM or DDMMSS.SS (latitude; one more digit for longitude).
# In the decimal-degree form exiftool also takes unpadded degrees ("-6.9147+107.6098/"), as some
# Android muxers write them; the DM and DMS forms are told apart by their digit counts.
_ISO6709_TAIL = r"(?P<alt>[+-]\d+(?:\.\d*)?)?(?:CRS[A-Za-z0-9_:]*)?/?$"
_ISO6709_FORMS = (
    re.compile(r"^(?P<lat>[+-]\d{1,2}(?:\.\d*)?)(?P<lon>[+-]\d{1,3}(?:\.\d*)?)" + _ISO6709_TAIL),
    re.compile(r"^(?P<lat>[+-]\d{4}(?:\.\d*)?)(?P<lon>[+-]\d{5}(?:\.\d*)?)" + _ISO6709_TAIL),
    re.compile(r"^(?P<lat>[+-]\d{6}(?:\.\d*)?)(?P<lon>[+-]\d{7}(?:\.\d*)?)" + _ISO6709_TAIL),
)


@dataclass(frozen=True)
class VideoFacts:
    """A video's technical facts and the capture facts in its container metadata.

    ``width``/``height`` are the stored frame size; ``rotation_deg`` is the clockwise turn a
    player applies (90 for a phone held upright), so the display size is swapped for 90/270.
    ``duration_s`` is None when the container does not say (browsers' MediaRecorder WebM).
    ``creation_time_utc`` is aware (UTC); ``local_creation_time`` is aware with the offset the
    phone wrote beside it.
    """

    container: str
    video_codec: str
    duration_s: float | None
    size_bytes: int
    width: int
    height: int
    rotation_deg: int = 0
    frame_rate: float | None = None
    pixel_format: str | None = None
    bit_rate: int | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    creation_time_utc: Sourced[datetime] | None = None
    local_creation_time: Sourced[datetime] | None = None
    location: Sourced[Location] | None = None
    make: Sourced[str] | None = None
    model: Sourced[str] | None = None
    software: Sourced[str] | None = None
    encoder: Sourced[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def display_width(self) -> int:
        """Width as a player shows the video, after rotation."""
        return self.height if self.rotation_deg in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        """Height as a player shows the video, after rotation."""
        return self.width if self.rotation_deg in (90, 270) else self.height

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: each sourced value as ``{"value": ..., "source": ...}``."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Sourced):
                out[f.name] = {"value": plain(value.value), "source": value.source}
            elif value is not None:
                out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VideoFacts:
        """The inverse of :meth:`to_json`."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if f.name in _SOURCED_FIELDS:
                kwargs[f.name] = Sourced(_parse(f.name, raw["value"]), raw["source"])
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)


_SOURCED_FIELDS = {
    "creation_time_utc",
    "local_creation_time",
    "location",
    "make",
    "model",
    "software",
    "encoder",
}


def _parse(name: str, value: Any) -> Any:
    return parse(name, value, {"creation_time_utc", "local_creation_time"})


def capture_facts(video: VideoFacts) -> CaptureFacts:
    """The photo-shaped capture facts of a video, for the verification rules photos use.

    The local time with its offset (iPhone) is preferred. Otherwise ``creation_time`` is used
    as what it is by definition, a UTC wall-clock time with offset 0; it is also kept in
    ``extra["creation_time_utc"]`` so verification can recognise the known confusion of phones
    that write local time there (a difference of exactly the zone's offset).
    """
    captured: Sourced[datetime] | None = None
    offset: Sourced[int] | None = None
    if video.local_creation_time is not None:
        moment = video.local_creation_time.value
        captured = Sourced(moment.replace(tzinfo=None), video.local_creation_time.source)
        offset = Sourced(_offset_min(moment), video.local_creation_time.source)
    elif video.creation_time_utc is not None:
        moment = video.creation_time_utc.value.astimezone(UTC)
        captured = Sourced(moment.replace(tzinfo=None), video.creation_time_utc.source)
        offset = Sourced(0, video.creation_time_utc.source)
    extra: dict[str, Any] = {"duration_s": video.duration_s, "container": video.container}
    if video.creation_time_utc is not None:
        extra["creation_time_utc"] = video.creation_time_utc.value.isoformat()
    return CaptureFacts(
        width=video.display_width,
        height=video.display_height,
        format=video.container,
        captured_local=captured,
        utc_offset_min=offset,
        location=video.location,
        make=video.make,
        model=video.model,
        software=video.software,
        # FFmpeg-based editors and converters name themselves here ("Lavf60.3.100"); phones
        # write nothing, so it plays the part of XMP's CreatorTool.
        creator_tool=video.encoder,
        orientation=None,
        extra=extra,
    )


def _offset_min(moment: datetime) -> int:
    offset = moment.utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def parse_creation_time(text: str) -> datetime | None:
    """A container's UTC ``creation_time`` as an aware datetime; None when missing or a placeholder."""
    moment = _parse_datetime(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        # Matroska and some muxers omit the "Z"; the field is UTC by definition.
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return None if _is_placeholder(moment) else moment


def parse_local_creation_time(text: str) -> datetime | None:
    """``com.apple.quicktime.creationdate`` as an aware datetime; None without an offset."""
    moment = _parse_datetime(text)
    if moment is None or moment.tzinfo is None or _is_placeholder(moment):
        return None
    return moment


def _parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_placeholder(moment: datetime) -> bool:
    return moment.date() in _PLACEHOLDER_DATES or moment.year < 1990


def parse_iso6709(text: str, accuracy_m: float | None = None) -> Location | None:
    """A position from ISO 6709 text (``-06.9147+107.6098+768.000/``); None when malformed."""
    found = next(
        (match for form in _ISO6709_FORMS if (match := form.match(text.strip())) is not None),
        None,
    )
    if found is None:
        return None
    lat = _degrees(found.group("lat"), 2)
    lon = _degrees(found.group("lon"), 3)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        # 0,0 is what a phone without a fix writes, not a place in the Gulf of Guinea.
        return None
    altitude = found.group("alt")
    return Location(
        lat=lat,
        lon=lon,
        altitude_m=float(altitude) if altitude is not None else None,
        accuracy_m=accuracy_m,
    )


def _degrees(text: str, degree_digits: int) -> float:
    """Signed degrees from ISO 6709's D, DM or DMS forms (told apart by the integer digits)."""
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    integer = body.split(".", 1)[0]
    if len(integer) <= degree_digits:
        return sign * float(body)
    degrees = float(body[:degree_digits])
    rest = body[degree_digits:]
    if len(integer) == degree_digits + 2:
        return sign * (degrees + float(rest) / 60)
    return sign * (degrees + float(rest[:2]) / 60 + float(rest[2:]) / 3600)

"""A photo's capture facts, read from its header (EXIF, XMP, PNG text) without decoding pixels.

Every value comes back with the tag it was read from (:class:`evidence.facts.Sourced`), and a
malformed value comes back missing rather than raising: a photo with a broken GPS block is still
evidence, it only lacks a position.
"""

from __future__ import annotations

import html
import re
import struct
from datetime import UTC, datetime
from math import isfinite
from typing import Any

from PIL import ExifTags, Image, ImageFile

from evidence.facts import CaptureFacts, Location, Sourced
from evidence.sniff import Sniffed
from workers.photos.open import DECODE_ERRORS

_T = ExifTags.Base
_G = ExifTags.GPS


def read_facts(image: ImageFile.ImageFile, sniffed: Sniffed) -> CaptureFacts:
    """Capture facts from the header of an opened (not decoded) photo."""
    raw = raw_exif(image) or png_trailing_exif(image)
    exif = parse_exif(raw)
    ifd0: dict[int, Any] = dict(exif) if exif is not None else {}
    sub = _get_ifd(exif, ExifTags.IFD.Exif)
    gps = _get_ifd(exif, ExifTags.IFD.GPSInfo)
    xmp = _xmp_packet(image)

    orientation = written_orientation(image, sniffed, ifd0)
    width, height = image.size
    # HEIF decoders apply the rotation themselves (pillow-heif reports the size upright).
    if orientation is not None and orientation >= 5 and sniffed.mime not in HEIF_MIMES:
        width, height = height, width

    captured, offset = _capture_time(ifd0, sub, xmp)
    return CaptureFacts(
        width=width,
        height=height,
        format=sniffed.mime,
        captured_local=captured,
        utc_offset_min=offset,
        modified_local=_sourced(
            _exif_datetime(ifd0.get(_T.DateTime), sub.get(_T.SubsecTime)), "exif:DateTime"
        ),
        gps_time_utc=_sourced(_gps_time(gps), "exif:GPSTimeStamp"),
        location=_sourced(_gps_location(gps), "exif:GPS"),
        make=_sourced(_text(ifd0.get(_T.Make)), "exif:Make"),
        model=_sourced(_text(ifd0.get(_T.Model)), "exif:Model"),
        software=_software(ifd0, image),
        creator_tool=_sourced(_xmp_value(xmp, _XMP_CREATOR_TOOL), "xmp:CreatorTool"),
        orientation=_sourced(orientation, "exif:Orientation"),
        has_exif_thumbnail=exif_thumbnail_bytes(raw) is not None,
    )


HEIF_MIMES = {"image/heic", "image/heic-sequence", "image/heif"}


def raw_exif(image: Image.Image) -> bytes | None:
    """The EXIF block the format's reader found in the header, or None."""
    raw = image.info.get("exif")
    return raw if isinstance(raw, bytes) and raw else None


# A PNG chunk walk stops after this many chunks: a file of a million empty chunks is not a photo.
_MAX_PNG_CHUNKS = 10_000


def png_trailing_exif(image: Image.Image) -> bytes | None:
    """A PNG's eXIf chunk when it follows the image data, where Pillow looks only on decode.

    The PNG 1.5 extension lets eXIf come anywhere before IEND, and exiftool reads it there; the
    chunks are walked by their lengths, so no pixel is decoded. The file position is restored.
    """
    fp = getattr(image, "fp", None)
    if image.format != "PNG" or fp is None:
        return None
    try:
        position = fp.tell()
    except (OSError, ValueError):
        return None
    try:
        fp.seek(8)  # after the PNG signature
        for _ in range(_MAX_PNG_CHUNKS):
            header = fp.read(8)
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I4s", header)
            if kind == b"eXIf":
                body: bytes = fp.read(length)
                return body if len(body) == length and body else None
            if kind == b"IEND":
                return None
            fp.seek(length + 4, 1)  # the chunk's data and its CRC
        return None
    except (OSError, ValueError, struct.error):
        return None
    finally:
        fp.seek(position)


def parse_exif(raw: bytes | None) -> Image.Exif | None:
    """The EXIF block parsed by Pillow, or None when absent or beyond repair.

    Parsed from the raw bytes rather than ``image.getexif()``, which for PNG decodes the whole
    image to look for an eXIf chunk after the pixel data.
    """
    if raw is None:
        return None
    exif = Image.Exif()
    try:
        exif.load(raw)
    except DECODE_ERRORS:  # a hostile EXIF block: a bad offset, a loop, a short rational
        return None
    return exif


def _get_ifd(exif: Image.Exif | None, tag: int) -> dict[int, Any]:
    """One sub-IFD as a dict; empty when missing or unreadable (a bad offset, a loop)."""
    if exif is None:
        return {}
    try:
        return dict(exif.get_ifd(tag))
    except DECODE_ERRORS:  # a hostile EXIF block: a bad offset, a loop, a short rational
        return {}


def written_orientation(image: Image.Image, sniffed: Sniffed, ifd0: dict[int, Any]) -> int | None:
    """The EXIF orientation the camera wrote (1-8), or None."""
    # pillow-heif applies HEIF's own rotation (irot/imir) on decode and resets the EXIF tag to
    # 1, keeping what the camera wrote in info["original_orientation"].
    value = image.info.get("original_orientation") if sniffed.mime in HEIF_MIMES else None
    if value is None:
        value = ifd0.get(_T.Orientation)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _capture_time(
    ifd0: dict[int, Any], sub: dict[int, Any], xmp: bytes | None
) -> tuple[Sourced[datetime] | None, Sourced[int] | None]:
    """Capture time and its UTC offset: EXIF first, then XMP, each with its own offset only.

    iPhones, Pixels and recent Samsung phones write OffsetTimeOriginal (EXIF 2.31) beside
    DateTimeOriginal; many budget Android camera apps write no offset at all, and chat apps
    (WhatsApp, Telegram) strip all of it. DateTimeDigitized equals DateTimeOriginal on phones,
    so it stands in when an editor dropped the original; a few writers put DateTimeOriginal in
    IFD0 instead of the EXIF IFD, where exiftool reads it too. An XMP date carries its own
    offset or none: pairing it with an EXIF offset written for another time shifts it by the
    difference (an export made in another zone than the photo).
    """
    offset: Sourced[int] | None = None
    for raw, source in (
        (sub.get(_T.OffsetTimeOriginal), "exif:OffsetTimeOriginal"),
        (sub.get(_T.OffsetTimeDigitized), "exif:OffsetTimeDigitized"),
        (sub.get(_T.OffsetTime), "exif:OffsetTime"),
    ):
        minutes = _utc_offset_min(raw)
        if minutes is not None:
            offset = Sourced(minutes, source)
            break
    for tags, time_tag, subsec_tag, source in (
        (sub, _T.DateTimeOriginal, _T.SubsecTimeOriginal, "exif:DateTimeOriginal"),
        (ifd0, _T.DateTimeOriginal, _T.SubsecTimeOriginal, "exif:IFD0:DateTimeOriginal"),
        (sub, _T.DateTimeDigitized, _T.SubsecTimeDigitized, "exif:DateTimeDigitized"),
    ):
        captured = _exif_datetime(tags.get(time_tag), sub.get(subsec_tag))
        if captured is not None:
            return Sourced(captured, source), offset
    # Photoshop, Lightroom and some phone galleries keep the capture time in XMP only.
    for pattern, source in _XMP_CAPTURE_DATES:
        created = _xmp_datetime(_xmp_value(xmp, pattern))
        if created is not None:
            local, minutes = created
            written = Sourced(minutes, source) if minutes is not None else None
            return Sourced(local, source), written
    return None, offset


_EXIF_DATETIME = re.compile(r"(\d{4})[:/-](\d{2})[:/-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _exif_datetime(value: Any, subsec: Any = None) -> datetime | None:
    """A naive datetime from EXIF's "YYYY:MM:DD HH:MM:SS"; blanks and zeros give None."""
    text = _text(value)
    found = _EXIF_DATETIME.match(text) if text else None
    if found is None:
        return None
    try:
        # "0000:00:00 00:00:00" (cameras without a set clock) fails here, as it should.
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    digits = _text(subsec)
    if digits and digits.isdigit():
        # SubSecTime holds the decimal digits of the fraction: "12" means 0.12 s.
        moment = moment.replace(microsecond=int(digits[:6].ljust(6, "0")))
    return moment


def _utc_offset_min(value: Any) -> int | None:
    """Minutes east of UTC from EXIF's "+07:00"; None when missing or out of range."""
    text = _text(value)
    found = _OFFSET.fullmatch(text) if text else None
    if found is None:
        return None
    sign, hours, minutes = found.groups()
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > 14 * 60:
        return None
    return -total if sign == "-" else total


def _gps_location(gps: dict[int, Any]) -> Location | None:
    """Position from the GPS IFD; None when any part is missing, malformed or impossible."""
    lat = _degrees(gps.get(_G.GPSLatitude))
    lon = _degrees(gps.get(_G.GPSLongitude))
    # exiftool reads the references case-blind; some Android writers put "s" and "e".
    lat_ref = (_text(gps.get(_G.GPSLatitudeRef)) or "").upper()
    lon_ref = (_text(gps.get(_G.GPSLongitudeRef)) or "").upper()
    # Without its reference the sign is a guess, and for Indonesia (south of the equator) a wrong
    # guess puts the school 1,500 km away: better no position than a wrong one.
    if lat is None or lon is None or lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        return None
    lat = -lat if lat_ref == "S" else lat
    lon = -lon if lon_ref == "W" else lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # some Android camera apps write 0/0 when they had no fix
    altitude = _number(gps.get(_G.GPSAltitude))
    if altitude is not None:
        below_sea = _byte(gps.get(_G.GPSAltitudeRef)) == 1
        altitude = -altitude if below_sea else altitude
        if abs(altitude) > 100_000:
            altitude = None
    # GPSHPositioningError is written by iPhones; most Android camera apps omit it.
    accuracy = _number(gps.get(_G.GPSHPositioningError))
    if accuracy is not None and accuracy < 0:
        accuracy = None
    return Location(lat=lat, lon=lon, altitude_m=altitude, accuracy_m=accuracy)


def _degrees(value: Any) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals."""
    parts = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(part) for part in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    degrees, minutes, seconds = (*numbers, 0.0, 0.0)[:3]
    assert degrees is not None and minutes is not None and seconds is not None
    # 60.x seconds happens when a writer rounds 59.99996 up or adds its own fraction; exiftool
    # takes them as they are, and so does this, up to a whole extra second.
    if minutes >= 60 or seconds >= 61:
        return None
    return degrees + minutes / 60 + seconds / 3600


def _gps_time(gps: dict[int, Any]) -> datetime | None:
    """The GPS fix time, always UTC, from GPSDateStamp and GPSTimeStamp."""
    date = _text(gps.get(_G.GPSDateStamp))
    stamp = gps.get(_G.GPSTimeStamp)
    if not date or not isinstance(stamp, tuple) or len(stamp) != 3:
        return None
    found = re.fullmatch(r"(\d{4})[:/-](\d{2})[:/-](\d{2})", date)
    hms = [_number(part) for part in stamp]
    if found is None or any(n is None for n in hms):
        return None
    hours, minutes, seconds = (float(n or 0) for n in hms)
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 61):
        return None
    try:
        year, month, day_of_month = (int(part) for part in found.groups())
        day = datetime(year, month, day_of_month, tzinfo=UTC)
        whole = int(seconds)
        micro = round((seconds - whole) * 1e6)
        return day.replace(
            hour=int(hours),
            minute=int(minutes),
            second=min(whole, 59),  # a leap second (60) is kept as :59
            microsecond=min(micro, 999_999),
        )
    except ValueError:
        return None


def _software(ifd0: dict[int, Any], image: Image.Image) -> Sourced[str] | None:
    """The Software tag; PNG screenshots name their tool in a tEXt chunk instead.

    Phones put their firmware here (iPhones the iOS version, "17.1.2"; Samsung the build,
    "G991BXXU5CVF3"); editors put their own name (Snapseed, Photoshop, PicsArt).
    """
    software = _sourced(_text(ifd0.get(_T.Software)), "exif:Software")
    if software is None and image.format == "PNG":
        software = _sourced(_text(image.info.get("Software")), "png:Software")
    return software


def exif_thumbnail_bytes(raw: bytes | None) -> bytes | None:
    """The JPEG thumbnail in EXIF's IFD1, which Pillow parses but does not hand out."""
    exif = parse_exif(raw)
    ifd1 = _get_ifd(exif, ExifTags.IFD.IFD1)
    offset = ifd1.get(_T.JpegIFOffset)
    length = ifd1.get(_T.JpegIFByteCount)
    if raw is None or not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
        return None
    tiff = re.sub(b"^(Exif\x00\x00){1,2}", b"", raw)  # offsets count from the TIFF header
    thumbnail = tiff[offset : offset + length]
    if len(thumbnail) != length or not thumbnail.startswith(b"\xff\xd8"):
        return None
    return thumbnail


# Raw XMP is searched with regular expressions: Pillow's getxmp() needs defusedxml, and the two
# values wanted here are plain properties (attribute or element form; "xap" is XMP's old prefix).
_XMP_CREATOR_TOOL = re.compile(
    rb"""(?:xmp|xap):CreatorTool(?:\s*=\s*"([^"]*)"|\s*=\s*'([^']*)'|\s*>([^<]*)<)"""
)


def _xmp_property(name: bytes) -> re.Pattern[bytes]:
    """A plain XMP property in attribute or element form."""
    return re.compile(name + rb"""(?:\s*=\s*"([^"]*)"|\s*=\s*'([^']*)'|\s*>([^<]*)<)""")


# In exiftool's order of trust for a capture time: the EXIF schema's copy of DateTimeOriginal,
# Photoshop's DateCreated, then the XMP basic CreateDate (when the file was made, usually the
# same moment for a camera file).
_XMP_CAPTURE_DATES = (
    (_xmp_property(rb"exif:DateTimeOriginal"), "xmp:exif:DateTimeOriginal"),
    (_xmp_property(rb"photoshop:DateCreated"), "xmp:photoshop:DateCreated"),
    (_xmp_property(rb"(?:xmp|xap):CreateDate"), "xmp:xmp:CreateDate"),
)
_XMP_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?"
)


def _xmp_packet(image: Image.Image) -> bytes | None:
    # JPEG, WebP, HEIF and AVIF readers put the packet in "xmp"; PNG's iTXt lands in its own key.
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    return packet if isinstance(packet, bytes) else None


def _xmp_value(packet: bytes | None, pattern: re.Pattern[bytes]) -> str | None:
    found = pattern.search(packet) if packet else None
    if found is None:
        return None
    raw = next(group for group in found.groups() if group is not None)
    return _text(html.unescape(raw.decode("utf-8", "replace")))


def _xmp_datetime(value: str | None) -> tuple[datetime, int | None] | None:
    """Local time and offset (minutes) from an XMP date; date-only values are too coarse."""
    found = _XMP_DATETIME.match(value) if value else None
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = datetime(  # local wall-clock time; the offset travels beside it
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )  # fmt: skip
    except ValueError:
        return None
    minutes = 0 if zone == "Z" else _utc_offset_min(zone)
    return moment, minutes


def _sourced(value: Any, source: str) -> Sourced[Any] | None:
    return None if value is None else Sourced(value, source)


def _text(value: Any) -> str | None:
    """A tag's text up to its first NUL, without padding; None when nothing is left.

    EXIF ASCII values end at a NUL, as exiftool reads them: "Nokia\\x002" is "Nokia", the
    rest is what the writer's buffer held before.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.split("\x00", 1)[0].strip()
    return text if text and text.isprintable() else None


def _number(value: Any) -> float | None:
    """A finite float from an EXIF number; a zero denominator gives None, not an exception."""
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if isfinite(number) else None


def _byte(value: Any) -> int | None:
    # Pillow returns BYTE tags as bytes (b"\x01") or int depending on the writer.
    if isinstance(value, bytes):
        return value[0] if value else None
    return value if isinstance(value, int) else None

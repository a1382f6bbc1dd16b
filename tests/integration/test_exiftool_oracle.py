"""Every metadata fact Bukti reads, compared with Debian's exiftool over a corpus of files.

exiftool is the reference reviewers and forensic examiners use; where Bukti reads a fact
differently (a missing capture time, an hour off, no position), a teacher's flag is wrong.
The corpus covers every format Bukti accepts: real camera JPEGs (the samples Debian ships
with the goexif package), files written by the real encoders (libjpeg, libpng, libwebp,
libheif, libavif through Pillow; ffmpeg's MP4 and MOV muxers; pikepdf) with the metadata
phones and editors write, and crafted files for the corners exiftool reads and a naive
reader does not. ``scripts/test`` installs exiftool and the samples.

exiftool runs once, with ``-n`` (numbers, not printed forms) and ``-G1`` (tag groups), so
the comparison knows which tag it read: ``ExifIFD:DateTimeOriginal`` is not
``IFD0:DateTimeOriginal``, and Bukti's choice between them is part of what is compared.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, TiffImagePlugin

from evidence.document_facts import DocumentFacts, DocumentType
from evidence.facts import CaptureFacts
from evidence.sniff import HEAD_BYTES, sniff
from evidence.video_facts import VideoFacts
from tests.fixtures.documents import DocumentFactory
from tests.fixtures.photos import GpsFix, PhotoFactory, xmp_packet
from tests.fixtures.videos import VideoMaker
from workers.documents.facts import document_facts
from workers.photos.metadata import read_facts
from workers.video import probe_video

pytestmark = pytest.mark.integration

GOEXIF = Path("/usr/share/gocode/src/github.com/rwcarlsen/goexif/exif")
# Real camera files from Debian's golang-github-rwcarlsen-goexif-dev: a Nikon D2H with GPS,
# and an HTC One M8 that writes its make in the EXIF IFD and its GPS seconds oddly. (The
# package's other samples are EXIF heads cut at 64 KB, which no reader opens as a photo.)
REAL_PHOTOS = ("sample1.jpg", "samples/geodegrees_as_string.jpg")

CAPTURED = datetime(2026, 10, 13, 7, 12, 33)
CIANJUR = GpsFix(-6.8168, 107.1425, accuracy_m=8.0, altitude_m=452.0)
# Where Bukti reads a file differently on purpose, and why; everything else must agree.
KNOWN_DIFFERENCES = {
    # The HTC One M8 writes its GPS degrees as text with decimal commas, "52,00000,50,00000,
    # 34,01180" (52° 50' 34.0118"); exiftool picks the first three numbers and puts the photo
    # at 52° 0' 50", 93 km away. No position is better than a wrong one: Bukti reads none.
    ("geodegrees_as_string.jpg", "lat"): "GPS degrees written as text",
    ("geodegrees_as_string.jpg", "lon"): "GPS degrees written as text",
    ("geodegrees_as_string.jpg", "altitude_m"): "no position, so no altitude",
}
# GPS positions are compared to 2e-5 degrees (2 m): exiftool's composite position of an MP4
# comes from its 3GPP "loci" box, which ffmpeg writes rounded to 5 decimals.
DEGREES_TOLERANCE = 2e-5


@dataclass(frozen=True)
class Sample:
    """A corpus file and the kind of facts Bukti reads from it."""

    path: Path
    kind: str  # photo | video | pdf
    note: str


def _rational(numerator: int, denominator: int) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(Fraction(numerator, denominator))


def _corpus(photos: PhotoFactory, videos: VideoMaker, documents: DocumentFactory) -> list[Sample]:
    """Real files and files written with the metadata phones, editors and odd writers leave."""
    samples = [Sample(GOEXIF / name, "photo", "real camera file") for name in REAL_PHOTOS]
    phone = {"make": "samsung", "model": "SM-A145F", "software": "A145FXXU1AWA1"}

    def photo(note: str, **options: Any) -> None:
        samples.append(Sample(photos(**options), "photo", note))

    photo(
        "iPhone JPEG: offset, GPS with accuracy and altitude, GPS time, thumbnail",
        captured=CAPTURED,
        subsec="25",
        offset="+07:00",
        gps=CIANJUR,
        gps_time_utc=CAPTURED - timedelta(hours=7, seconds=20),
        make="Apple",
        model="iPhone 13",
        software="17.1.2",
        modified=CAPTURED,
        orientation=6,
        thumbnail=True,
    )
    photo("no offset, no GPS", captured=CAPTURED, **phone)
    photo(
        "XMP only: xmp:CreateDate with its offset",
        xmp=xmp_packet(attributes={"xmp:CreateDate": "2026-10-13T07:12:33+07:00"}),
    )
    photo(
        "XMP only: exif:DateTimeOriginal as an element, no offset",
        xmp=xmp_packet(elements={"exif:DateTimeOriginal": "2026-10-13T07:12:33"}),
    )
    photo(
        "EXIF OffsetTime of the save, capture time only in XMP photoshop:DateCreated",
        xmp=xmp_packet(date_created="2026-10-13T07:12:33"),
        modified=CAPTURED + timedelta(hours=2),
        exif_ifd={ExifTags.Base.OffsetTime: "+08:00"},
        creator_tool="Adobe Photoshop Lightroom Classic 13.0 (Windows)",
    )
    photo(
        "Lightroom export: EXIF and XMP capture times with different offsets",
        captured=CAPTURED,
        offset="+07:00",
        xmp_date_created="2026-10-13T08:12:33+08:00",
        creator_tool="Adobe Photoshop 25.0",
    )
    photo(
        "DateTimeOriginal only in IFD0",
        ifd0={ExifTags.Base.DateTimeOriginal: "2026:10:13 07:12:33"},
        **phone,
    )
    photo(
        "lowercase GPS references",
        captured=CAPTURED,
        gps=CIANJUR,
        gps_ifd={ExifTags.GPS.GPSLatitudeRef: "s", ExifTags.GPS.GPSLongitudeRef: "e"},
        **phone,
    )
    photo(
        "GPS seconds of 60.4",
        captured=CAPTURED,
        gps=CIANJUR,
        gps_ifd={
            ExifTags.GPS.GPSLatitude: (_rational(6, 1), _rational(48, 1), _rational(604, 10)),
            ExifTags.GPS.GPSLongitude: (_rational(107, 1), _rational(8, 1), _rational(3304, 100)),
        },
        **phone,
    )
    photo(
        "a NUL inside Make",
        captured=CAPTURED,
        ifd0={ExifTags.Base.Make: "Nokia\x002", ExifTags.Base.Model: "TA-1032\x00\x00"},
    )
    photo(
        "PNG with eXIf before the image data", format="png", captured=CAPTURED, gps=CIANJUR, **phone
    )
    before = photos(format="png", captured=CAPTURED, offset="+07:00", gps=CIANJUR, **phone)
    samples.append(
        Sample(photos.exif_after_image_data(before), "photo", "PNG with eXIf after the image data")
    )
    photo("PNG with an XMP CreatorTool", format="png", creator_tool="GIMP 2.10.36")
    photo(
        "WebP with EXIF and XMP",
        format="webp",
        captured=CAPTURED,
        offset="+08:00",
        gps=CIANJUR,
        creator_tool="Snapseed 2.0",
        **phone,
    )
    photo(
        "HEIC from a phone",
        format="heic",
        size=(320, 240),
        captured=CAPTURED,
        offset="+07:00",
        gps=CIANJUR,
        make="Apple",
        model="iPhone 15",
    )
    photo("AVIF", format="avif", size=(320, 240), captured=CAPTURED, gps=CIANJUR, **phone)

    def video(note: str, **options: Any) -> None:
        samples.append(Sample(videos(duration_s=1.0, audio=False, **options), "video", note))

    video(
        "iPhone MOV: local creation date with its offset, ISO 6709 position, make and model",
        name="IMG_0042.mov",
        container="mov",
        creation_time=datetime(2026, 10, 13, 0, 12, 33, tzinfo=UTC),
        apple_creation_date="2026-10-13T07:12:33+0700",
        apple_location="-06.8168+107.1425+452.000/",
        make="Apple",
        model="iPhone 13",
    )
    video(
        "Android MP4: UTC creation time, position in the 3GPP loci box",
        name="VID_20261013_071233.mp4",
        creation_time=datetime(2026, 10, 13, 0, 12, 33, tzinfo=UTC),
        android_location="-6.8168+107.1425/",
    )
    video(
        "©xyz with an unpadded ISO 6709 latitude (ffmpeg's MOV muxer writes it as given)",
        container="mov",
        creation_time=datetime(2026, 10, 13, 0, 12, 33, tzinfo=UTC),
        android_location="-6.8168+107.1425/",
    )
    video(
        "Android MP4 with keyed make, model and position",
        creation_time=datetime(2026, 10, 13, 0, 12, 33, tzinfo=UTC),
        android_location="-06.8168+107.1425/",
        make="samsung",
        model="SM-A145F",
    )
    info = {
        "/Title": "Modul ajar X TKJ",
        "/Author": "Erni Wardhani",
        "/Creator": "Microsoft® Word 2019",
        "/Producer": "Microsoft® Word 2019",
        "/CreationDate": "D:20261013071233+07'00'",
        "/ModDate": "D:20261013081500+07'00'",
    }
    samples.append(Sample(documents.pdf(pages=["Modul ajar"], info=info), "pdf", "Word PDF"))
    return samples


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """The corpus, written once for the module."""
    assert GOEXIF.is_dir(), "scripts/test installs golang-github-rwcarlsen-goexif-dev"
    root = tmp_path_factory.mktemp("oracle")
    for name in ("photos", "videos", "documents"):
        (root / name).mkdir()
    return _corpus(
        PhotoFactory(root / "photos"),
        VideoMaker(root / "videos"),
        DocumentFactory(root / "documents"),
    )


@pytest.fixture(scope="module")
def exiftool(corpus: list[Sample]) -> dict[Path, dict[str, Any]]:
    """exiftool's reading of every corpus file, by path."""
    binary = shutil.which("exiftool")
    assert binary, "scripts/test installs exiftool (Debian's libimage-exiftool-perl)"
    result = subprocess.run(
        [binary, "-j", "-n", "-G1", "-a", "-q", "-q", *(str(s.path) for s in corpus)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return {Path(entry["SourceFile"]): entry for entry in json.loads(result.stdout)}


# --- what exiftool says, in Bukti's terms ---------------------------------------------------

_DATE = re.compile(
    r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$"
)


def _date(value: Any) -> tuple[datetime, int | None] | None:
    """A wall-clock time and its offset (minutes) from exiftool's date text."""
    found = _DATE.match(str(value)) if value not in (None, "") else None
    if found is None:
        return None
    *parts, fraction, zone = found.groups()
    wall = datetime(*(int(p) for p in parts), int((fraction or "0")[:6].ljust(6, "0")))
    if zone is None:
        return wall, None
    if zone == "Z":
        return wall, 0
    sign = -1 if zone[0] == "-" else 1
    return wall, sign * (int(zone[1:3]) * 60 + int(zone[4:6]))


def _offset(value: Any) -> int | None:
    found = re.fullmatch(r"([+-])(\d{2}):(\d{2})", str(value or ""))
    if found is None:
        return None
    sign, hours, minutes = found.groups()
    return (-1 if sign == "-" else 1) * (int(hours) * 60 + int(minutes))


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def exiftool_photo_facts(tags: dict[str, Any]) -> dict[str, Any]:
    """The facts Bukti reads from a photo, as exiftool reads the same tags.

    The capture time is the first of these that exiftool found, each with only its own
    offset: EXIF DateTimeOriginal (EXIF IFD, then IFD0), EXIF CreateDate (DateTimeDigitized),
    then XMP exif:DateTimeOriginal, photoshop:DateCreated and xmp:CreateDate.
    """
    exif_offset = next(
        (
            _offset(tags.get(f"ExifIFD:{name}"))
            for name in ("OffsetTimeOriginal", "OffsetTimeDigitized", "OffsetTime")
            if _offset(tags.get(f"ExifIFD:{name}")) is not None
        ),
        None,
    )
    captured, offset = None, None
    for key in ("ExifIFD:DateTimeOriginal", "IFD0:DateTimeOriginal", "ExifIFD:CreateDate"):
        found = _date(tags.get(key))
        if found is not None:
            subsec_key = "SubSecTimeOriginal" if "Original" in key else "SubSecTimeDigitized"
            subsec = str(tags.get(f"ExifIFD:{subsec_key}", ""))
            wall = found[0]
            if subsec.isdigit():
                wall = wall.replace(microsecond=int(subsec[:6].ljust(6, "0")))
            captured, offset = wall, exif_offset
            break
    else:
        for key in ("XMP-exif:DateTimeOriginal", "XMP-photoshop:DateCreated", "XMP-xmp:CreateDate"):
            found = _date(tags.get(key))
            if found is not None:
                captured, offset = found
                break
    modified = _date(tags.get("Composite:SubSecModifyDate") or tags.get("IFD0:ModifyDate"))
    gps_time = _date(tags.get("Composite:GPSDateTime"))
    has_position = "Composite:GPSLatitude" in tags and "Composite:GPSLongitude" in tags
    software = _text(tags.get("IFD0:Software")) or _text(tags.get("PNG:Software"))
    return {
        "captured_local": captured,
        "utc_offset_min": offset,
        "modified_local": modified[0] if modified else None,
        "gps_time_utc": gps_time[0].replace(tzinfo=UTC) if gps_time else None,
        "lat": tags.get("Composite:GPSLatitude") if has_position else None,
        "lon": tags.get("Composite:GPSLongitude") if has_position else None,
        "altitude_m": tags.get("Composite:GPSAltitude") if has_position else None,
        "accuracy_m": tags.get("GPS:GPSHPositioningError") if has_position else None,
        "make": _text(tags.get("IFD0:Make")),
        "model": _text(tags.get("IFD0:Model")),
        "software": software,
        "creator_tool": _text(tags.get("XMP-xmp:CreatorTool")),
        "orientation": tags.get("IFD0:Orientation"),
    }


def bukti_photo_facts(path: Path) -> dict[str, Any]:
    """The same facts as Bukti's reader returns them."""
    head = path.read_bytes()[:HEAD_BYTES]
    sniffed = sniff(head)
    assert sniffed is not None, path
    with Image.open(path) as image:
        facts: CaptureFacts = read_facts(image, sniffed)
    location = facts.location.value if facts.location else None

    def value(field: Any) -> Any:
        return field.value if field is not None else None

    return {
        "captured_local": value(facts.captured_local),
        "utc_offset_min": value(facts.utc_offset_min),
        "modified_local": value(facts.modified_local),
        "gps_time_utc": value(facts.gps_time_utc),
        "lat": location.lat if location else None,
        "lon": location.lon if location else None,
        "altitude_m": location.altitude_m if location else None,
        "accuracy_m": location.accuracy_m if location else None,
        "make": value(facts.make),
        "model": value(facts.model),
        "software": value(facts.software),
        "creator_tool": value(facts.creator_tool),
        "orientation": value(facts.orientation),
    }


def exiftool_video_facts(tags: dict[str, Any]) -> dict[str, Any]:
    """The facts Bukti reads from a video's container, as exiftool reads them."""
    created = _date(tags.get("QuickTime:CreateDate"))
    local = _date(tags.get("Keys:CreationDate"))
    has_position = "Composite:GPSLatitude" in tags
    return {
        "creation_time_utc": created[0].replace(tzinfo=UTC) if created else None,
        "local_creation_time": (
            local[0].replace(tzinfo=timezone(timedelta(minutes=local[1])))
            if local and local[1] is not None
            else None
        ),
        "lat": tags.get("Composite:GPSLatitude") if has_position else None,
        "lon": tags.get("Composite:GPSLongitude") if has_position else None,
        "make": _text(tags.get("Keys:Make")) or _text(tags.get("Keys:AndroidManufacturer")),
        "model": _text(tags.get("Keys:Model")) or _text(tags.get("Keys:AndroidModel")),
        "duration_s": tags.get("QuickTime:Duration"),
        "width": tags.get("Track1:ImageWidth"),
        "height": tags.get("Track1:ImageHeight"),
        "rotation_deg": tags.get("Composite:Rotation", 0),
    }


def bukti_video_facts(path: Path) -> dict[str, Any]:
    """The same facts as Bukti's ffprobe-based reader returns them."""
    facts: VideoFacts = probe_video(path)
    location = facts.location.value if facts.location else None
    return {
        "creation_time_utc": facts.creation_time_utc.value if facts.creation_time_utc else None,
        "local_creation_time": (
            facts.local_creation_time.value if facts.local_creation_time else None
        ),
        "lat": location.lat if location else None,
        "lon": location.lon if location else None,
        "make": facts.make.value if facts.make else None,
        "model": facts.model.value if facts.model else None,
        "duration_s": facts.duration_s,
        "width": facts.width,
        "height": facts.height,
        "rotation_deg": facts.rotation_deg,
    }


def exiftool_pdf_facts(tags: dict[str, Any]) -> dict[str, Any]:
    """The facts Bukti reads from a PDF's Info dictionary, as exiftool reads them."""

    def aware(key: str) -> datetime | None:
        found = _date(tags.get(key))
        if found is None:
            return None
        wall, minutes = found
        return (
            wall if minutes is None else wall.replace(tzinfo=timezone(timedelta(minutes=minutes)))
        )

    return {
        "page_count": tags.get("PDF:PageCount"),
        "title": _text(tags.get("PDF:Title")),
        "author": _text(tags.get("PDF:Author")),
        "creator_tool": _text(tags.get("PDF:Creator")),
        "producer": _text(tags.get("PDF:Producer")),
        "created": aware("PDF:CreateDate"),
        "modified": aware("PDF:ModifyDate"),
    }


def bukti_pdf_facts(path: Path) -> dict[str, Any]:
    """The same facts as Bukti's document reader returns them."""
    facts: DocumentFacts = document_facts(path, DocumentType.PDF)
    names = ("page_count", "title", "author", "creator_tool", "producer", "created", "modified")
    return {name: getattr(facts, name).value if getattr(facts, name) else None for name in names}


READERS: dict[
    str, tuple[Callable[[dict[str, Any]], dict[str, Any]], Callable[[Path], dict[str, Any]]]
] = {
    "photo": (exiftool_photo_facts, bukti_photo_facts),
    "video": (exiftool_video_facts, bukti_video_facts),
    "pdf": (exiftool_pdf_facts, bukti_pdf_facts),
}


def _agree(name: str, ours: Any, theirs: Any) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if name in ("lat", "lon"):
        return abs(float(ours) - float(theirs)) <= DEGREES_TOLERANCE
    if isinstance(ours, float) or isinstance(theirs, float):
        return abs(float(ours) - float(theirs)) <= 0.01 * max(1.0, abs(float(theirs)))
    return bool(ours == theirs)


def differences(corpus: list[Sample], tags: dict[Path, dict[str, Any]]) -> Iterator[str]:
    """One line per fact on which Bukti and exiftool disagree."""
    for sample in corpus:
        theirs_of, ours_of = READERS[sample.kind]
        theirs, ours = theirs_of(tags[sample.path]), ours_of(sample.path)
        for name in theirs:
            if (sample.path.name, name) in KNOWN_DIFFERENCES:
                continue
            if not _agree(name, ours[name], theirs[name]):
                yield (
                    f"{sample.path.name} ({sample.note}): {name}: Bukti {ours[name]!r}, "
                    f"exiftool {theirs[name]!r}"
                )


def test_the_corpus_covers_every_format_bukti_accepts(
    corpus: list[Sample], exiftool: dict[Path, dict[str, Any]]
) -> None:
    mimes = {exiftool[sample.path].get("File:MIMEType") for sample in corpus}
    accepted = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/avif"}
    assert accepted | {"video/mp4", "video/quicktime", "application/pdf"} <= mimes


def test_every_fact_bukti_reads_agrees_with_exiftool(
    corpus: list[Sample], exiftool: dict[Path, dict[str, Any]]
) -> None:
    found = list(differences(corpus, exiftool))
    assert not found, "\n".join(found)


def test_the_oracle_sees_the_facts_it_compares(
    corpus: list[Sample], exiftool: dict[Path, dict[str, Any]]
) -> None:
    # An exiftool that read nothing would agree with a reader that reads nothing.
    read = [exiftool_photo_facts(exiftool[s.path]) for s in corpus if s.kind == "photo"]
    assert sum(facts["captured_local"] is not None for facts in read) >= 14
    assert sum(facts["lat"] is not None for facts in read) >= 9
    assert sum(facts["make"] is not None for facts in read) >= 10

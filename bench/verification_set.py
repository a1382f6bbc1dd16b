"""The world the verification accuracy sets are built with: pictures, phones, files, a builder.

Both sets of ``bench.verification_accuracy`` (its development scenarios, and the held-out ones
of ``bench.verification_heldout``) are played with what is here:

- the corpus: real photographs, scikit-image's bundled photos and, in a full run, the desktop
  wallpapers installed under /usr/share (the corpus of ``bench/near_dup_accuracy.py``). Each is
  cut into distinct 4:3 tiles (the whole picture, its quadrants and, for pictures wide enough,
  its ninths); a tile that the near-duplicate policy, with a margin, would call a copy of an
  earlier tile is dropped, because two look-alike "different" photos would make the duplicate
  ground truth a guess;
- the phones (the tags each camera app writes, how it names files), what a photo file holds
  (``Recipe`` for its pixels, ``ExifSpec`` for its metadata) and the writing of it with
  ``tests/fixtures/photos.py``'s PhotoFactory, read back by the pipeline's extract and hash
  steps (``observe``);
- the school day (TRK slots, WIB wall clocks, points on the rules' sphere) and ``DevSet``, which
  builds a set's teachers, records, photo jobs and expected flags, scenario by scenario.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from fractions import Fraction
from functools import lru_cache
from math import asin, atan2, cos, degrees, radians, sin
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageEnhance, ImageOps, TiffImagePlugin

from bench.near_dup_accuracy import Picture, load_source, screenshot_chat, screenshot_viewer
from evidence.duplicates import PerceptualHashes, compare
from evidence.facts import CaptureFacts, Location
from evidence.flags import Code
from evidence.geo import EARTH_RADIUS_M
from evidence.records import (
    ActivityWindow,
    AttendanceDay,
    AttendanceStatus,
    Place,
    SchoolPlace,
    TeacherHome,
)
from tests.fixtures.photos import GpsFix, PhotoFactory
from workers.phash import perceptual_hashes
from workers.photo import extract_photo_facts, hash_photo
from workers.photos.hash import PhotoHashes

# Camera photos are written at 1024x768: big enough for every rule (the thumbnail check and the
# hashes look at 32x32 after all), small enough that hundreds of photos take seconds.
PHOTO_SIZE = (1024, 768)
# Pictures at least this wide also give their ninths as tiles: with the corpus split in two,
# scikit-image's 512 px photos must give theirs too, or the sets run out of distinct pictures
# (a ninth is then 170 px wide, scaled up: soft, but a distinct photo all the same).
NINTHS_MIN_WIDTH_PX = 384

WIB = ZoneInfo("Asia/Jakarta")
# The development set's school (DevSet's default: the held-out set brings its own).
SCHOOL = SchoolPlace("SMKN 1 Cianjur", -6.8168, 107.1425, 150.0, "Asia/Jakarta")
# A DL (official duty) destination: the provincial education office in Bandung, ~55 km east.
DL_DESTINATION = Place("Dinas Pendidikan Provinsi Jawa Barat", -6.9147, 107.6098, 150.0)

# The TRK day of a WFO teacher: (start, end, title).
SLOTS: dict[str, tuple[time, time, str]] = {
    "apel": (time(6, 30), time(7, 15), "Apel pagi dan piket"),
    "ajar1": (time(7, 15), time(8, 45), "Mengajar X TKJ 1"),
    "ajar2": (time(9, 0), time(10, 30), "Mengajar XI TKJ 2"),
    "rpp": (time(10, 45), time(12, 15), "Menyusun modul ajar"),
    "nilai": (time(13, 0), time(14, 30), "Menilai tugas siswa"),
    "bimbing": (time(14, 30), time(15, 40), "Bimbingan siswa"),
}
CHECK_IN, CHECK_OUT = time(6, 45), time(15, 35)


# --- phones: what each writes -----------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    """A phone's camera app: the tags it writes and how it names files."""

    make: str
    model: str
    firmware: str | None  # its Software tag: a firmware build, never an editor
    writes_offset: bool  # OffsetTimeOriginal (iPhones, Pixels, recent Samsungs)
    writes_accuracy: bool  # GPSHPositioningError (iPhones)
    writes_gps_time: bool  # GPSDateStamp/GPSTimeStamp
    naming: str

    def filename(self, at: datetime, number: int) -> str:
        """The name the camera app gives a photo taken at ``at``."""
        local = at.astimezone(WIB)
        stamp = f"{local:%Y%m%d_%H%M%S}"
        names = {
            "iphone": f"IMG_{number % 10000:04d}.JPG",
            "samsung": f"{stamp}.jpg",
            "pixel": f"PXL_{at.astimezone(UTC):%Y%m%d_%H%M%S}{number % 1000:03d}.jpg",
            "xiaomi": f"IMG_{stamp}.jpg",
            "oppo": f"IMG{local:%Y%m%d%H%M%S}.jpg",
            "infinix": f"IMG_{stamp}_{number % 1000:03d}.jpg",
        }
        return names[self.naming]


# Firmware strings as these phones write them into Software: none of them is an edit.
PHONES: tuple[Phone, ...] = (
    Phone("Apple", "iPhone 13", "17.1.2", True, True, True, "iphone"),
    Phone("samsung", "SM-A145F", "A145FXXU1AWA1", True, False, True, "samsung"),
    Phone("Xiaomi", "Redmi Note 12", "MIUI Camera", False, False, False, "xiaomi"),
    Phone("OPPO", "CPH2387", "CPH2387_11_A.20", False, False, True, "oppo"),
    Phone("Google", "Pixel 7", "HDR+ 1.0.541323597zd", True, False, True, "pixel"),
    Phone("samsung", "SM-G991B", "G991BXXU5CVF3", True, False, True, "samsung"),
    Phone("vivo", "V2111", "V2111A_PD2186F_EX_A_13.1.8", False, False, False, "xiaomi"),
    Phone(
        "INFINIX", "Infinix X6826", "MediaTek Camera Application", False, False, False, "infinix"
    ),
)
IPHONE, SAMSUNG, XIAOMI, OPPO, PIXEL = PHONES[:5]

# Exposure tags every phone camera writes and no screenshot has.
_CAMERA_TAGS: dict[int, object] = {
    ExifTags.Base.ExposureTime: TiffImagePlugin.IFDRational(Fraction(1, 120)),
    ExifTags.Base.FNumber: TiffImagePlugin.IFDRational(Fraction(18, 10)),
    ExifTags.Base.ISOSpeedRatings: 100,
    ExifTags.Base.FocalLength: TiffImagePlugin.IFDRational(Fraction(47, 10)),
}


# --- what a photo file holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How a photo's pixels (and its EXIF thumbnail) are made from a tile.

    ``op``: ``plain``; ``tall:WxH`` (a full-screen camera photo); ``wide`` (16:9);
    ``crop:F`` (a centred crop that cuts F off the width and height, as an editor's crop); ``paste`` (a box of ``other``
    pasted over a tenth of the picture); ``resize:F``; ``mirror``; ``bright:F``;
    ``screen:WxH`` (a gallery screenshot); ``chat`` (a chat-app screenshot).
    ``thumbnail``: ``self``, ``none``, ``original`` (the tile before ``op``: an editor that
    kept the camera's thumbnail), ``other`` (a different picture), ``letterbox`` (the picture
    padded to 4:3 with bars, as phones thumbnail a 16:9 photo).
    """

    tile: Path
    op: str = "plain"
    other: Path | None = None
    thumbnail: Literal["self", "none", "original", "other", "letterbox"] = "self"


@dataclass(frozen=True)
class ExifSpec:
    """The EXIF (and XMP) written into a photo; None values are left out."""

    captured: datetime | None = None  # the wall clock written, naive
    offset: str | None = None
    gps: GpsFix | None = None
    gps_time_utc: datetime | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    modified: datetime | None = None  # IFD0 DateTime, naive
    orientation: int | None = None
    creator_tool: str | None = None
    camera_tags: bool = True
    raw_exif_ifd: tuple[tuple[int, str], ...] = ()
    dropped_gps_tags: tuple[int, ...] = ()


@dataclass(frozen=True)
class PhotoJob:
    """One file to write, then to read back as the pipeline does."""

    path: Path
    recipe: Recipe | None  # None: the bytes of ``same_file_as``
    exif: ExifSpec | None  # None: no metadata at all (stripped, forwarded, screenshot)
    fmt: Literal["jpeg", "png"] = "jpeg"
    quality: int = 90
    same_file_as: Path | None = None


@dataclass(frozen=True)
class Teacher:
    """A teacher of the school, with a registered home."""

    id: int
    home: TeacherHome


@dataclass(frozen=True)
class Shot:
    """One upload of a set with its records and its ground truth."""

    id: int
    scenario: str
    teacher: Teacher
    job: PhotoJob
    filename: str
    activity: ActivityWindow | None
    attendance: AttendanceDay | None
    received_at_utc: datetime
    client_location: Location | None
    context: tuple[str, int]  # what it proves, as workers/dedup.py's context_of
    expected: frozenset[Code]
    school: SchoolPlace = field(default_factory=lambda: SCHOOL)
    check: Literal["in", "out"] | None = None
    period: str | None = None  # a monthly video's month
    video_utc_label: bool = False  # a video whose UTC creation_time holds the local wall clock
    thumbnail_only: bool = False  # an edit only the EXIF thumbnail shows


@dataclass(frozen=True)
class DayCase:
    """A teacher's day as the records see it: its check selfies, activities and ground truth."""

    scenario: str
    teacher: Teacher
    attendance: AttendanceDay
    school: SchoolPlace
    activities: tuple[ActivityWindow, ...]
    selfie_in: int | None  # shot ids
    selfie_out: int | None
    expected: frozenset[Code]


# --- the corpus: distinct tiles of real pictures ----------------------------------------------


@dataclass(frozen=True)
class Tile:
    """A distinct 4:3 cut of a picture, saved as the master its photos are made from."""

    name: str
    path: Path
    hashes: PerceptualHashes


def cut_tiles(picture: Picture, out_dir: Path, ninths_min_width: int) -> list[Tile]:
    """The whole picture, its quadrants and, for pictures at least that wide, its ninths."""
    image = load_source(picture)
    width, height = image.size
    boxes = [(0, 0, width, height)]
    grids = [2, 3] if width >= ninths_min_width else [2]
    for n in grids:
        boxes += [
            (i * width // n, j * height // n, (i + 1) * width // n, (j + 1) * height // n)
            for j in range(n)
            for i in range(n)
        ]
    tiles = []
    for number, box in enumerate(boxes):
        tile = _fill_43(image.crop(box))
        path = out_dir / f"{picture.name.replace('/', '_')}-{number}.jpg"
        tile.save(path, "JPEG", quality=95)  # the "sensor" image every copy starts from
        tiles.append(Tile(f"{picture.name}#{number}", path, perceptual_hashes(tile)))
    return tiles


def _fill_43(image: Image.Image) -> Image.Image:
    """Centre-crop to 4:3 and scale to the photo size."""
    width, height = image.size
    if width * 3 > height * 4:
        keep = round(height * 4 / 3)
        image = image.crop(((width - keep) // 2, 0, (width - keep) // 2 + keep, height))
    else:
        keep = round(width * 3 / 4)
        image = image.crop((0, (height - keep) // 2, width, (height - keep) // 2 + keep))
    return image.resize(PHOTO_SIZE, Image.Resampling.LANCZOS)


def distinct_tiles(tiles: Iterable[Tile]) -> tuple[list[Tile], int, int]:
    """Tiles no two of which look alike; with the counts of look-alikes and blanks dropped.

    The margin (pHash 24 and summed 52, where the policy matches at 18 and 40) keeps pairs
    that a JPEG re-encode could push under the policy out of the set as well.
    """
    kept: list[Tile] = []
    alike = blank = 0
    for tile in tiles:
        if tile.hashes.is_blank:
            blank += 1
            continue
        views = (tile.hashes.fingerprint, tile.hashes.mirrored_fingerprint)
        if any(
            likeness.phash_distance <= 24 and likeness.distance <= 52
            for other in kept
            for likeness in (compare(view, other.hashes.fingerprint) for view in views)
        ):
            alike += 1
            continue
        kept.append(tile)
    return kept, alike, blank


# --- writing and reading photo files (in worker processes) ------------------------------------


@lru_cache(maxsize=48)
def _master(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("x")
    return int(width), int(height)


def picture_of(recipe: Recipe) -> tuple[Image.Image, Image.Image | bool]:
    """The photo's upright pixels and what PhotoFactory should embed as its thumbnail."""
    tile = _master(recipe.tile).copy()
    name, _, arg = recipe.op.partition(":")
    image = tile
    if name == "tall":
        width, height = _size(arg)
        keep = round(tile.height * width / height)
        left = (tile.width - keep) // 2
        image = tile.crop((left, 0, left + keep, tile.height)).resize(
            (width, height), Image.Resampling.LANCZOS
        )
    elif name == "wide":
        keep = round(tile.width * 9 / 16)
        top = (tile.height - keep) // 2
        image = tile.crop((0, top, tile.width, top + keep))
    elif name == "crop":
        share = float(arg)
        dx, dy = round(tile.width * share / 2), round(tile.height * share / 2)
        image = tile.crop((dx, dy, tile.width - dx, tile.height - dy))
    elif name == "paste":
        assert recipe.other is not None
        # A box a tenth of the picture's area (0.316 of each side), off-centre: a replaced
        # whiteboard or face, the kind of local retouch that keeps the rest of the photo.
        box_w, box_h = round(tile.width * 0.316), round(tile.height * 0.316)
        patch = _master(recipe.other).resize((box_w, box_h), Image.Resampling.LANCZOS)
        image = tile.copy()  # the tile stays as it was: it is the kept camera thumbnail
        image.paste(patch, (round(tile.width * 0.55), round(tile.height * 0.15)))
    elif name == "resize":
        share = float(arg)
        size = (round(tile.width * share), round(tile.height * share))
        image = tile.resize(size, Image.Resampling.LANCZOS)
    elif name == "mirror":
        image = ImageOps.mirror(tile)
    elif name == "bright":
        image = ImageEnhance.Brightness(tile).enhance(float(arg))
    elif name == "screen":
        image = screenshot_viewer(tile).resize(_size(arg), Image.Resampling.LANCZOS)
    elif name == "chat":
        image = screenshot_chat(tile)
    elif name != "plain":
        raise ValueError(f"unknown recipe {recipe.op!r}")
    thumbnail: Image.Image | bool
    if recipe.thumbnail == "self":
        thumbnail = True
    elif recipe.thumbnail == "none":
        thumbnail = False
    elif recipe.thumbnail == "original":
        thumbnail = tile
    elif recipe.thumbnail == "other":
        assert recipe.other is not None
        thumbnail = _master(recipe.other)
    else:
        thumbnail = _letterboxed_43(image)
    return image, thumbnail


def _letterboxed_43(image: Image.Image) -> Image.Image:
    width = image.width
    height = round(width * 3 / 4)
    canvas = Image.new("RGB", (width, height), "black")
    canvas.paste(image, (0, (height - image.height) // 2))
    return canvas


def write_photo(job: PhotoJob) -> None:
    """Write the job's file with PhotoFactory (tests/fixtures/photos.py)."""
    assert job.recipe is not None
    image, thumbnail = picture_of(job.recipe)
    factory = PhotoFactory(job.path.parent)
    spec = job.exif
    if spec is None:
        factory(job.path.name, image=image, format=job.fmt, quality=job.quality)
        return
    exif_ifd: dict[int, object] = {**_CAMERA_TAGS} if spec.camera_tags else {}
    exif_ifd.update(dict(spec.raw_exif_ifd))
    factory(
        job.path.name,
        image=image,
        format=job.fmt,
        quality=job.quality,
        captured=spec.captured,
        offset=spec.offset,
        gps=spec.gps,
        gps_time_utc=spec.gps_time_utc,
        make=spec.make,
        model=spec.model,
        software=spec.software,
        modified=spec.modified,
        orientation=spec.orientation,
        thumbnail=thumbnail,
        creator_tool=spec.creator_tool,
        exif_ifd=exif_ifd,
        gps_ifd=dict.fromkeys(spec.dropped_gps_tags),
    )


@dataclass(frozen=True)
class Observed:
    """What the pipeline's extract and hash steps read from one file."""

    facts: CaptureFacts
    hashes: PhotoHashes


def observe(job: PhotoJob) -> Observed:
    """Write the file (unless it is another's bytes) and read it back as the pipeline does."""
    if job.same_file_as is not None:
        path = job.same_file_as
    else:
        write_photo(job)
        path = job.path
    return Observed(extract_photo_facts(path), hash_photo(path))


# --- building a set: the school day, places, the builder --------------------------------------


def slot_at(clock_time: str) -> str:
    """The first TRK slot of the day that holds a WIB wall-clock time."""
    moment = wib(date(2025, 1, 1), clock_time).time()
    return next(name for name, (start, end, _) in SLOTS.items() if start <= moment < end)


def wib(day: date, clock_time: str) -> datetime:
    """An aware instant from a WIB wall-clock time such as "07:40" or "07:40:12"."""
    hour, minute, second = (int(part) for part in f"{clock_time}:00".split(":")[:3])
    return datetime.combine(day, time(hour, minute, second), tzinfo=WIB)


def point_at(lat: float, lon: float, distance: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``distance`` metres from (lat, lon) on a bearing, on the rules' sphere."""
    angle, bearing = distance / EARTH_RADIUS_M, radians(bearing_deg)
    phi1, lambda1 = radians(lat), radians(lon)
    phi2 = asin(sin(phi1) * cos(angle) + cos(phi1) * sin(angle) * cos(bearing))
    lambda2 = lambda1 + atan2(
        sin(bearing) * sin(angle) * cos(phi1), cos(angle) - sin(phi1) * sin(phi2)
    )
    return degrees(phi2), degrees(lambda2)


def whole_seconds(lat: float, lon: float) -> tuple[float, float]:
    """The point rounded to whole arc-seconds, as some budget phones write every fix."""

    def rounded(value: float) -> float:
        sign = -1 if value < 0 else 1
        return sign * round(abs(value) * 3600) / 3600

    return rounded(lat), rounded(lon)


_Case = TypeVar("_Case")


class DevSet:
    """Builds the scenarios' shots: teachers, records, photo jobs and expected flags."""

    def __init__(
        self,
        tiles: Sequence[Tile],
        workdir: Path,
        quick: bool,
        seed: int,
        school: SchoolPlace | None = None,
        destination: Place | None = None,
    ) -> None:
        self.school = school or SCHOOL
        self.destination = destination or DL_DESTINATION
        self.days: list[DayCase] = []
        # K-Mob's typed times: the development set types 06:45 and 15:35 on every WFO day
        self.typed_checks = True
        self.quick = quick
        self.workdir = workdir
        self.rng = random.Random(seed)
        shuffled = list(tiles)
        self.rng.shuffle(shuffled)
        self._unused = iter(shuffled)
        self._all_tiles = list(tiles)
        self.shots: list[Shot] = []
        self._teachers = 0
        self._activities: dict[tuple[int, date, str], ActivityWindow] = {}
        self._attendance: dict[tuple[int, date], AttendanceDay] = {}
        self.monday = date(2025, 10, 13)
        self.tiles_used = 0

    # records ---------------------------------------------------------------------------------

    def teacher(self) -> Teacher:
        """A new teacher, living 2-6 km from the school."""
        self._teachers += 1
        lat, lon = point_at(
            self.school.lat, self.school.lon, self.rng.uniform(2000, 6000), self.rng.uniform(0, 360)
        )
        return Teacher(self._teachers, TeacherHome(lat, lon))

    def day(self, offset: int) -> date:
        """The date ``offset`` days after this repeat's Monday."""
        return self.monday + timedelta(days=offset)

    def attend(
        self,
        teacher: Teacher,
        day: date,
        status: AttendanceStatus = AttendanceStatus.WFO,
        record: AttendanceDay | None = None,
    ) -> AttendanceDay:
        """The teacher's attendance on a day (WFO checked in 06:45, out 15:35 unless set)."""
        key = (teacher.id, day)
        if record is not None:
            self._attendance[key] = record
        if key not in self._attendance:
            destination = self.destination if status is AttendanceStatus.DL else None
            absent = status.is_absence
            typed = self.typed_checks and not absent
            self._attendance[key] = AttendanceDay(
                day,
                status,
                check_in=CHECK_IN if typed else None,
                check_out=CHECK_OUT if typed else None,
                destination=destination,
            )
        return self._attendance[key]

    def activity(self, teacher: Teacher, day: date, slot: str) -> ActivityWindow:
        """The teacher's TRK activity in a slot of the day."""
        key = (teacher.id, day, slot)
        if key not in self._activities:
            start, end, title = SLOTS[slot]
            self._activities[key] = ActivityWindow(
                len(self._activities) + 1, day, start, end, title
            )
        return self._activities[key]

    def custom_activity(
        self, teacher: Teacher, day: date, start: time, end: time, title: str
    ) -> ActivityWindow:
        """An activity outside the day's usual slots."""
        key = (teacher.id, day, title)
        if key not in self._activities:
            self._activities[key] = ActivityWindow(
                len(self._activities) + 1, day, start, end, title
            )
        return self._activities[key]

    def tile(self) -> Path:
        """A picture no other shot has used."""
        try:
            tile = next(self._unused)
        except StopIteration:
            raise RuntimeError("out of distinct pictures: fewer repeats or more tiles") from None
        self.tiles_used += 1
        return tile.path

    def any_tile(self) -> Path:
        """Some picture, maybe used elsewhere (for an embedded thumbnail: never hashed)."""
        return self.rng.choice(self._all_tiles).path

    def near(self, place: tuple[float, float], within_m: float = 40.0) -> tuple[float, float]:
        """A fix a few metres from a place, as real fixes wander."""
        return point_at(*place, self.rng.uniform(0, within_m), self.rng.uniform(0, 360))

    def away(self, place: tuple[float, float], distance: float) -> tuple[float, float]:
        """A point exactly ``distance`` metres from a place, on a random bearing."""
        return point_at(*place, distance, self.rng.uniform(0, 360))

    def phone(self) -> Phone:
        """A phone from the teachers' mix."""
        return self.rng.choice(PHONES)

    # shots -----------------------------------------------------------------------------------

    def shoot(
        self,
        scenario: str,
        teacher: Teacher,
        at: datetime,
        *,
        expect: Iterable[Code] = (),
        slot: str | None = None,
        day: date | None = None,
        check: Literal["in", "out"] | None = None,
        status: AttendanceStatus = AttendanceStatus.WFO,
        where: tuple[float, float] | None = None,
        gps: bool = True,
        accuracy_m: float | None = None,
        gps_age: timedelta | None = None,
        offset: str | None = None,
        phone: Phone | None = None,
        software: str | None = None,
        modified_after: timedelta = timedelta(0),
        creator_tool: str | None = None,
        make_model: bool = True,
        orientation: int | None = None,
        raw_exif_ifd: tuple[tuple[int, str], ...] = (),
        dropped_gps_tags: tuple[int, ...] = (),
        recipe: Recipe | None = None,
        stripped: bool = False,
        fmt: Literal["jpeg", "png"] = "jpeg",
        quality: int = 90,
        filename: str | None = None,
        received: datetime | None = None,
        client: tuple[float, float] | None = None,
        same_file_as: Shot | None = None,
        exif_of: Shot | None = None,
        record: AttendanceDay | None = None,
        period: str | None = None,
        video_utc_label: bool = False,
        thumbnail_only: bool = False,
        zone: tzinfo = WIB,
        activity: ActivityWindow | None = None,
    ) -> Shot:
        """Add one upload; the keyword arguments say how it departs from a clean camera photo.

        ``at`` is the instant the camera's clock wrote; ``day`` (default: its date) and
        ``slot`` name the activity it proves, or ``check`` the attendance check. ``where`` is
        the GPS fix (default: within 40 m of the place the day's status expects). ``gps_age``
        is how old the GPS fix was at ``at`` (negative: a fix after it). ``exif_of`` copies
        another shot's EXIF (a photo passed on with its metadata). ``record`` sets the day's
        attendance; ``period`` makes it a monthly video of that month (no activity);
        ``video_utc_label`` reads it as a video whose UTC creation_time holds the wall clock;
        ``zone`` is the zone the day is lived in (a DL destination's).
        """
        phone = phone or self.phone()
        the_day = day or at.astimezone(zone).date()
        attendance = self.attend(teacher, the_day, status, record)
        if activity is None and slot is not None and check is None and period is None:
            activity = self.activity(teacher, the_day, slot)
        number = len(self.shots) + 1
        if same_file_as is not None:
            job = PhotoJob(
                self.workdir / f"{number:04d}.dup", None, None, same_file_as=same_file_as.job.path
            )
        else:
            exif = None
            if exif_of is not None:
                exif = exif_of.job.exif
            elif not stripped:
                exif = self._exif(
                    at,
                    teacher,
                    attendance,
                    phone,
                    zone,
                    where=where,
                    gps=gps,
                    accuracy_m=accuracy_m,
                    gps_age=gps_age,
                    offset=offset,
                    software=software,
                    modified_after=modified_after,
                    creator_tool=creator_tool,
                    make_model=make_model,
                    orientation=orientation,
                    raw_exif_ifd=raw_exif_ifd,
                    dropped_gps_tags=dropped_gps_tags,
                )
            recipe = recipe or Recipe(self.tile())
            suffix = "png" if fmt == "png" else "jpg"
            job = PhotoJob(self.workdir / f"{number:04d}.{suffix}", recipe, exif, fmt, quality)
        if received is None:
            # Teachers upload in the evening, after the activity and after the photo.
            end = at
            if activity is not None:
                end = max(at, datetime.combine(activity.date, activity.end, tzinfo=zone))
            received = end + timedelta(minutes=self.rng.uniform(60, 360))
        context = ("activity", activity.id) if activity and activity.id else ("item", number)
        shot = Shot(
            id=number,
            scenario=scenario,
            teacher=teacher,
            job=job,
            filename=filename or phone.filename(at, number),
            activity=activity,
            attendance=attendance,
            received_at_utc=received.astimezone(UTC),
            client_location=Location(*client, accuracy_m=12.0) if client else None,
            context=context,
            expected=frozenset(expect),
            school=self.school,
            check=check,
            period=period,
            video_utc_label=video_utc_label,
            thumbnail_only=thumbnail_only,
        )
        self.shots.append(shot)
        return shot

    def record_day(
        self,
        scenario: str,
        teacher: Teacher,
        day: date,
        *,
        expect: Iterable[Code] = (),
        slots: Sequence[str] = (),
        selfie_in: Shot | None = None,
        selfie_out: Shot | None = None,
        extra: Sequence[ActivityWindow] = (),
    ) -> DayCase:
        """A day to score the record rules on (late/early, plausible minutes, the target)."""
        case = DayCase(
            scenario,
            teacher,
            self._attendance[(teacher.id, day)],
            self.school,
            (*(self.activity(teacher, day, slot) for slot in slots), *extra),
            selfie_in.id if selfie_in else None,
            selfie_out.id if selfie_out else None,
            frozenset(expect),
        )
        self.days.append(case)
        return case

    def _exif(
        self,
        at: datetime,
        teacher: Teacher,
        attendance: AttendanceDay,
        phone: Phone,
        day_zone: tzinfo,
        *,
        where: tuple[float, float] | None,
        gps: bool,
        accuracy_m: float | None,
        gps_age: timedelta | None,
        offset: str | None,
        software: str | None,
        modified_after: timedelta,
        creator_tool: str | None,
        make_model: bool,
        orientation: int | None,
        raw_exif_ifd: tuple[tuple[int, str], ...],
        dropped_gps_tags: tuple[int, ...],
    ) -> ExifSpec:
        """What the phone writes for a photo at ``at``, with the scenario's departures.

        The wall clock is the one where the teacher is (``day_zone``: WITA in Bali).
        """
        if offset is None and phone.writes_offset:
            minutes = int(
                (at.astimezone(day_zone).utcoffset() or timedelta(0)).total_seconds() // 60
            )
            offset = f"+{minutes // 60:02d}:{minutes % 60:02d}"
        zone: tzinfo = day_zone
        if offset is not None:
            sign = -1 if offset.startswith("-") else 1
            hours, minutes = offset[1:].split(":")
            zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
        wall = at.astimezone(zone).replace(tzinfo=None)
        fix = None
        if gps:
            if where is None:
                where = self.near(self._expected_place(teacher, attendance))
            if accuracy_m is None and phone.writes_accuracy:
                accuracy_m = round(self.rng.uniform(3, 16), 1)
            fix = GpsFix(*where, accuracy_m=accuracy_m, altitude_m=self.rng.uniform(420, 520))
        if gps_age is None and phone.writes_gps_time and gps:
            gps_age = timedelta(seconds=self.rng.uniform(1, 40))  # a fresh fix
        gps_time = (at - gps_age).astimezone(UTC).replace(tzinfo=None) if gps_age else None
        return ExifSpec(
            captured=wall,
            offset=offset,
            gps=fix,
            gps_time_utc=gps_time,
            make=phone.make if make_model else None,
            model=phone.model if make_model else None,
            software=software or phone.firmware,
            modified=wall + modified_after,
            orientation=orientation,
            creator_tool=creator_tool,
            raw_exif_ifd=raw_exif_ifd,
            dropped_gps_tags=dropped_gps_tags,
        )

    def _expected_place(self, teacher: Teacher, attendance: AttendanceDay) -> tuple[float, float]:
        if attendance.status is AttendanceStatus.WFH:
            return teacher.home.lat, teacher.home.lon
        if attendance.status is AttendanceStatus.DL and attendance.destination is not None:
            return attendance.destination.lat, attendance.destination.lon
        return self.school.lat, self.school.lon

    def solo(
        self, scenario: str, *, at: datetime | None = None, slot: str = "ajar2", **options: Any
    ) -> Shot:
        """One photo of a teacher of its own; by default 40 min into Tuesday's activity."""
        if at is None:
            at = datetime.combine(self.day(1), SLOTS[slot][0], tzinfo=WIB) + timedelta(minutes=40)
        return self.shoot(scenario, self.teacher(), at, slot=slot, **options)

    def pick(self, full: Sequence[_Case], quick: Sequence[_Case]) -> Sequence[_Case]:
        """The cases of a scenario to play: all of them, or the quick set's few."""
        return quick if self.quick else full

"""Capture-time resolution: written offset, else the zone at the GPS point, else assumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evidence.facts import CaptureFacts, Location, Sourced
from evidence.timeresolve import (
    ResolvedTime,
    offset_name,
    resolve_capture_time,
    zone_abbreviation,
)

CIANJUR = Location(-6.82, 107.14, accuracy_m=10.0)
MAKASSAR = Location(-5.14, 119.42)


class FakeZones:
    """A zone lookup that answers from a table and records what it was asked."""

    def __init__(self, zones: dict[tuple[float, float], str | None]) -> None:
        self.zones = zones
        self.asked: list[tuple[float, float]] = []

    def __call__(self, lat: float, lon: float) -> str | None:
        self.asked.append((lat, lon))
        return self.zones.get((lat, lon))


ZONES = FakeZones({(-6.82, 107.14): "Asia/Jakarta", (-5.14, 119.42): "Asia/Makassar"})


def photo(
    *,
    taken: datetime | None = datetime(2026, 10, 13, 7, 15, 2),
    offset_min: int | None = None,
    location: Location | None = None,
) -> CaptureFacts:
    return CaptureFacts(
        width=4000,
        height=3000,
        format="image/jpeg",
        captured_local=Sourced(taken, "exif:DateTimeOriginal") if taken else None,
        utc_offset_min=Sourced(offset_min, "exif:OffsetTimeOriginal")
        if offset_min is not None
        else None,
        location=Sourced(location, "exif:GPS") if location else None,
    )


def resolve(facts: CaptureFacts, **kwargs: object) -> ResolvedTime | None:
    options: dict[str, object] = {"school_zone": "Asia/Jakarta", "zone_at": ZONES, **kwargs}
    return resolve_capture_time(facts, **options)  # type: ignore[arg-type]


def test_written_offset_makes_the_instant() -> None:
    resolved = resolve(photo(offset_min=420))
    assert resolved is not None
    assert resolved.at == datetime(2026, 10, 13, 7, 15, 2, tzinfo=timezone(timedelta(hours=7)))
    assert resolved.utc == datetime(2026, 10, 13, 0, 15, 2, tzinfo=UTC)
    assert resolved.source == "exif:DateTimeOriginal+exif:OffsetTimeOriginal"
    assert resolved.zone == "UTC+07:00"
    assert not resolved.is_zone_assumed


def test_written_offset_wins_over_the_gps_zone() -> None:
    zones = FakeZones({(-5.14, 119.42): "Asia/Makassar"})
    resolved = resolve(photo(offset_min=420, location=MAKASSAR), zone_at=zones)
    assert resolved is not None
    assert resolved.utc == datetime(2026, 10, 13, 0, 15, 2, tzinfo=UTC)
    assert zones.asked == []


def test_zone_at_the_gps_point_when_no_offset_was_written() -> None:
    resolved = resolve(photo(location=MAKASSAR))
    assert resolved is not None
    assert resolved.zone == "Asia/Makassar"
    assert resolved.utc == datetime(2026, 10, 12, 23, 15, 2, tzinfo=UTC)  # WITA is UTC+8
    assert resolved.source == "exif:DateTimeOriginal+zone_at_gps"
    assert not resolved.is_zone_assumed


def test_given_location_is_looked_up_instead_of_the_photos() -> None:
    resolved = resolve(photo(), location=MAKASSAR)
    assert resolved is not None
    assert resolved.zone == "Asia/Makassar"


def test_school_zone_is_assumed_without_offset_or_position() -> None:
    zones = FakeZones({})
    resolved = resolve(photo(), zone_at=zones, school_zone="Asia/Jayapura")
    assert resolved is not None
    assert resolved.zone == "Asia/Jayapura"
    assert resolved.utc == datetime(2026, 10, 12, 22, 15, 2, tzinfo=UTC)  # WIT is UTC+9
    assert resolved.source == "exif:DateTimeOriginal+assumed:school_zone"
    assert resolved.is_zone_assumed
    assert zones.asked == []


@pytest.mark.parametrize("answer", [None, "", "Not/AZone", "../../etc/passwd"])
def test_school_zone_is_assumed_when_the_gps_lookup_has_no_usable_answer(
    answer: str | None,
) -> None:
    zones = FakeZones({(-5.14, 119.42): answer})
    resolved = resolve(photo(location=MAKASSAR), zone_at=zones)
    assert resolved is not None
    assert resolved.is_zone_assumed
    assert resolved.zone == "Asia/Jakarta"


def test_school_zone_is_assumed_without_a_lookup() -> None:
    resolved = resolve(photo(location=CIANJUR), zone_at=None)
    assert resolved is not None
    assert resolved.is_zone_assumed


def test_no_capture_time_resolves_to_none() -> None:
    assert resolve(photo(taken=None, offset_min=420, location=CIANJUR)) is None


def test_a_stray_tzinfo_on_the_wall_time_is_replaced() -> None:
    taken = datetime(2026, 10, 13, 7, 15, tzinfo=UTC)  # facts are naive; be strict anyway
    resolved = resolve(photo(taken=taken, offset_min=420))
    assert resolved is not None
    assert resolved.utc == datetime(2026, 10, 13, 0, 15, tzinfo=UTC)


def test_subseconds_survive_resolution() -> None:
    resolved = resolve(photo(taken=datetime(2026, 10, 13, 7, 15, 2, 120_000), offset_min=420))
    assert resolved is not None
    assert resolved.at.microsecond == 120_000


@pytest.mark.parametrize(
    ("minutes", "name"),
    [
        (420, "UTC+07:00"),
        (480, "UTC+08:00"),
        (0, "UTC+00:00"),
        (-210, "UTC-03:30"),
        (345, "UTC+05:45"),
    ],
)
def test_offset_names(minutes: int, name: str) -> None:
    assert offset_name(minutes) == name


@pytest.mark.parametrize(
    ("zone", "abbreviation"),
    [
        ("Asia/Jakarta", "WIB"),
        ("Asia/Pontianak", "WIB"),
        ("Asia/Makassar", "WITA"),
        ("Asia/Jayapura", "WIT"),
        ("UTC", "UTC"),
        ("Not/AZone", "Not/AZone"),
    ],
)
def test_zone_abbreviations(zone: str, abbreviation: str) -> None:
    assert zone_abbreviation(zone) == abbreviation


def test_abbreviation_of_other_zones_follows_the_season() -> None:
    assert zone_abbreviation("Europe/Amsterdam", datetime(2026, 1, 10)) == "CET"
    assert zone_abbreviation("Europe/Amsterdam", datetime(2026, 7, 10)) == "CEST"

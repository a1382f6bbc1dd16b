"""Reading phones' video tags: times with and without offsets, ISO 6709 places, and the photo shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evidence.facts import Location, Sourced
from evidence.video_facts import (
    VideoFacts,
    capture_facts,
    parse_creation_time,
    parse_iso6709,
    parse_local_creation_time,
)

WIB = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T00:12:33.000000Z", datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC)),
        ("2024-03-05T00:12:33Z", datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC)),
        ("2024-03-05T00:12:33", datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC)),  # UTC by definition
        ("2024-03-05T07:12:33+07:00", datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC)),
    ],
)
def test_reads_creation_time_as_utc(text: str, expected: datetime) -> None:
    assert parse_creation_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1904-01-01T00:00:00.000000Z",  # zero in the QuickTime epoch
        "1970-01-01T00:00:00.000000Z",  # zero in the Unix epoch
        "1970-01-01T07:00:00+07:00",
        "0000-00-00T00:00:00Z",
        "1980-06-01T00:00:00Z",  # a reset camera clock, long before any phone video
        "",
        "yesterday",
    ],
)
def test_placeholder_and_malformed_creation_times_count_as_missing(text: str) -> None:
    assert parse_creation_time(text) is None


def test_reads_apples_local_creation_date_with_its_offset() -> None:
    moment = parse_local_creation_time("2024-03-05T07:12:33+0700")
    assert moment == datetime(2024, 3, 5, 7, 12, 33, tzinfo=WIB)
    assert moment is not None and moment.utcoffset() == timedelta(hours=7)


def test_a_local_creation_date_without_offset_is_unusable() -> None:
    assert parse_local_creation_time("2024-03-05T07:12:33") is None
    assert parse_local_creation_time("1904-01-01T00:00:00+0000") is None


@pytest.mark.parametrize(
    ("text", "lat", "lon", "alt"),
    [
        ("-06.9147+107.6098+768.000/", -6.9147, 107.6098, 768.0),  # iPhone, with altitude
        ("-06.9147+107.6098/", -6.9147, 107.6098, None),  # Android's ©xyz
        ("+37.7858-122.4064+012.345/", 37.7858, -122.4064, 12.345),
        ("-0654.882+10736.588/", -(6 + 54.882 / 60), 107 + 36.588 / 60, None),  # DDMM.MMM
        ("-065452.9+1073635.3/", -(6 + 54 / 60 + 52.9 / 3600), 107 + 36 / 60 + 35.3 / 3600, None),
        ("-06.9147+107.6098+768.000CRSWGS_84/", -6.9147, 107.6098, 768.0),
    ],
)
def test_reads_iso6709_positions(text: str, lat: float, lon: float, alt: float | None) -> None:
    found = parse_iso6709(text, accuracy_m=4.7)
    assert found is not None
    assert found.lat == pytest.approx(lat)
    assert found.lon == pytest.approx(lon)
    assert found.altitude_m == alt
    assert found.accuracy_m == 4.7


@pytest.mark.parametrize(
    "text", ["", "Bandung", "+91.0000+107.0000/", "-06.9+190.0/", "+00.0000+000.0000/", "6.9 107.6"]
)
def test_refuses_malformed_or_impossible_positions(text: str) -> None:
    assert parse_iso6709(text) is None


def iphone_facts(**changes: object) -> VideoFacts:
    facts = VideoFacts(
        container="mov",
        video_codec="hevc",
        duration_s=12.5,
        size_bytes=25_000_000,
        width=1920,
        height=1080,
        rotation_deg=90,
        creation_time_utc=Sourced(datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC), "mvhd"),
        local_creation_time=Sourced(datetime(2024, 3, 5, 7, 12, 33, tzinfo=WIB), "apple"),
        location=Sourced(Location(-6.9147, 107.6098, 768.0, 4.7), "apple-loc"),
        make=Sourced("Apple", "apple-make"),
        model=Sourced("iPhone 13", "apple-model"),
        software=Sourced("17.3.1", "apple-software"),
    )
    return VideoFacts(**(facts.__dict__ | changes))


def test_prefers_the_local_time_with_its_offset() -> None:
    facts = capture_facts(iphone_facts())
    assert facts.captured_local == Sourced(datetime(2024, 3, 5, 7, 12, 33), "apple")
    assert facts.utc_offset_min == Sourced(420, "apple")
    assert facts.extra["creation_time_utc"] == "2024-03-05T00:12:33+00:00"


def test_falls_back_to_creation_time_as_utc() -> None:
    facts = capture_facts(iphone_facts(local_creation_time=None))
    assert facts.captured_local == Sourced(datetime(2024, 3, 5, 0, 12, 33), "mvhd")
    assert facts.utc_offset_min == Sourced(0, "mvhd")


def test_no_time_at_all_leaves_the_capture_time_missing() -> None:
    facts = capture_facts(iphone_facts(local_creation_time=None, creation_time_utc=None))
    assert facts.captured_local is None and facts.utc_offset_min is None


def test_photo_shape_has_the_display_size_and_the_camera() -> None:
    facts = capture_facts(iphone_facts())
    assert (facts.width, facts.height, facts.format) == (1080, 1920, "mov")
    assert facts.has_camera_tags
    assert facts.location is not None and facts.location.value.accuracy_m == 4.7
    assert facts.extra["duration_s"] == 12.5


def test_an_encoder_tag_plays_the_part_of_creator_tool() -> None:
    facts = capture_facts(iphone_facts(encoder=Sourced("Lavf60.3.100", "container:encoder")))
    assert facts.creator_tool == Sourced("Lavf60.3.100", "container:encoder")


def test_video_facts_round_trip_through_json() -> None:
    facts = iphone_facts(encoder=Sourced("Lavf60.3.100", "container:encoder"), extra={"a": 1})
    data = facts.to_json()
    assert data["local_creation_time"] == {
        "value": "2024-03-05T07:12:33+07:00",
        "source": "apple",
    }
    assert VideoFacts.from_json(data) == facts


def test_display_size_swaps_for_quarter_turns_only() -> None:
    assert (iphone_facts().display_width, iphone_facts().display_height) == (1080, 1920)
    upside_down = iphone_facts(rotation_deg=180)
    assert (upside_down.display_width, upside_down.display_height) == (1920, 1080)

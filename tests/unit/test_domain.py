"""Flags, statuses and facts: the public vocabulary and its JSON shape."""

from __future__ import annotations

from datetime import datetime

from evidence.facts import CaptureFacts, Location, Sourced
from evidence.flags import SEVERITY, Code, Flag, Severity, needs_review
from evidence.status import Status

# SPEC.md's flag table, copied: these codes and severities are the public contract
SPEC_FLAGS = {
    "time_zone_assumed": "info",
    "no_capture_time": "medium",
    "time_outside_activity": "high",
    "wrong_day": "high",
    "time_in_future": "high",
    "gps_time_mismatch": "low",
    "no_location": "medium",
    "outside_geofence": "high",
    "low_gps_accuracy": "low",
    "edited": "medium",
    "forwarded_or_screenshot": "medium",
    "exact_duplicate": "high",
    "near_duplicate": "high",
    "repeated_location": "medium",
    "impossible_travel": "medium",
    "video_too_short": "medium",
    "youtube_unavailable": "high",
    "youtube_wrong_channel": "high",
    "youtube_outside_period": "high",
    "youtube_reused": "high",
    "missing_monthly_video": "medium",
    "trk_under_target": "medium",
    "activity_overlap": "medium",
    "late_check_in": "medium",
    "early_check_out": "medium",
}
# Codes that extend SPEC's table (issue 9), in its style; the README's flag table lists them
EXTENDED_FLAGS = {
    "check_time_mismatch": "medium",
    "time_zone_mismatch": "low",
    "evidence_on_leave_day": "medium",
    "video_outside_period": "high",
    "trk_implausible_time": "medium",
}


def test_every_flag_code_has_a_severity() -> None:
    assert set(SEVERITY) == set(Code)


#: codes Bukti adds to SPEC's table (documented in docs/vocabulary.md)
ADDED_FLAGS = {"trailing_data": "medium"}


def test_flag_codes_and_severities_match_the_spec_table() -> None:
    ours = {code.value: severity.value for code, severity in SEVERITY.items()}
    assert ours == {**SPEC_FLAGS, **ADDED_FLAGS, **EXTENDED_FLAGS}


def test_medium_and_high_flags_need_a_reviewer() -> None:
    assert needs_review([Flag.raise_(Code.NO_LOCATION, "x")])
    assert needs_review([Flag.raise_(Code.EXACT_DUPLICATE, "x", 3)])
    assert not needs_review(
        [Flag.raise_(Code.TIME_ZONE_ASSUMED, "x"), Flag.raise_(Code.LOW_GPS_ACCURACY, "y")]
    )
    assert not needs_review([])


def test_flag_json_is_the_public_shape() -> None:
    flag = Flag.raise_(Code.NEAR_DUPLICATE, "looks like #3", 3)
    assert flag.to_json() == {
        "code": "near_duplicate",
        "severity": "high",
        "detail": "looks like #3",
        "related_evidence_id": 3,
    }
    assert flag.severity is Severity.HIGH


def test_terminal_statuses() -> None:
    assert {s for s in Status if s.is_terminal} == {
        Status.ACCEPTED,
        Status.FLAGGED,
        Status.REJECTED,
        Status.FAILED,
    }


def test_facts_round_trip_through_json_with_their_sources() -> None:
    facts = CaptureFacts(
        width=4000,
        height=3000,
        format="JPEG",
        captured_local=Sourced(datetime(2026, 10, 13, 7, 15, 2), "exif:DateTimeOriginal"),
        utc_offset_min=Sourced(420, "exif:OffsetTimeOriginal"),
        location=Sourced(Location(-6.8168, 107.1425, 312.0, 12.0), "exif:GPS"),
        make=Sourced("samsung", "exif:Make"),
    )
    data = facts.to_json()
    assert data["captured_local"] == {
        "value": "2026-10-13T07:15:02",
        "source": "exif:DateTimeOriginal",
    }
    assert data["location"]["value"]["accuracy_m"] == 12.0
    assert CaptureFacts.from_json(data) == facts

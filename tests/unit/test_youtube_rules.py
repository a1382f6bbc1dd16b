"""SPEC.md's YouTube flags, applied to info dicts recorded in yt-dlp's shape."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from evidence.flags import Code, Severity
from evidence.youtube import (
    UNAVAILABLE_REASON,
    Requirement,
    Submission,
    is_same_channel,
    unavailable_reason,
    youtube_flags,
)

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "youtube"
TEACHER = 7
CHANNEL = "UCq8XkbJ2Yx7Ttd0V3wQkz1A"


@cache
def _load(name: str) -> str:
    return (RECORDINGS / name).read_text()


def recorded(name: str) -> dict[str, Any]:
    """A recorded info dict (a fresh copy each time, so tests may change it)."""
    data: dict[str, Any] = json.loads(_load(name))
    return data


def flags_for(
    info: dict[str, Any],
    *,
    month: str = "2024-03",
    requirement: str = "learning",
    channel: str | None = CHANNEL,
    others: list[Submission] | None = None,
    teacher_id: int = TEACHER,
    video_id: str | None = None,
) -> dict[Code, str]:
    flags = youtube_flags(
        info,
        video_id=video_id or info["id"],
        teacher_id=teacher_id,
        teacher_channel_id=channel,
        month=month,
        requirement=requirement,
        other_submissions=others or [],
    )
    assert len({flag.code for flag in flags}) == len(flags), "one flag per code"
    return {flag.code: flag.detail for flag in flags}


def test_a_public_video_on_the_teachers_channel_in_the_month_raises_nothing() -> None:
    assert flags_for(recorded("learning_march.json")) == {}


def test_flags_are_raised_at_spec_severity() -> None:
    flags = youtube_flags(
        recorded("other_channel.json"),
        video_id="Pn4mV7cX2zQ",
        teacher_id=TEACHER,
        teacher_channel_id=CHANNEL,
        month="2024-04",
        requirement=Requirement.LEARNING,
        other_submissions=[],
    )
    assert {(f.code, f.severity) for f in flags} == {
        (Code.YOUTUBE_WRONG_CHANNEL, Severity.HIGH),
        (Code.YOUTUBE_OUTSIDE_PERIOD, Severity.HIGH),
    }


# --- youtube_unavailable -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "says"),
    [
        ("private.json", "private"),
        ("members_only.json", "members only"),
        ("age_restricted.json", "signed in"),
        ("upcoming_live.json", "has not started"),
        ("playlist.json", "not a single video"),
    ],
)
def test_flags_a_video_a_reviewer_cannot_watch(recording: str, says: str) -> None:
    info = recorded(recording)
    flags = flags_for(info, video_id="Pv2tE3nQx8r" if recording == "private.json" else None)
    assert says in flags[Code.YOUTUBE_UNAVAILABLE]


def test_an_unavailable_video_with_no_metadata_gets_no_guesses_about_it() -> None:
    flags = flags_for(recorded("private.json"))
    assert set(flags) == {Code.YOUTUBE_UNAVAILABLE}


@pytest.mark.parametrize("changes", [{"_type": "playlist"}, {"id": "Zr0T5vBn8cE"}])
def test_a_playlist_or_another_video_is_not_checked_as_the_linked_video(
    changes: dict[str, Any],
) -> None:
    info = recorded("learning_march.json") | changes
    assert set(flags_for(info, video_id="k3Jd8sL2mQA", month="2025-01")) == {
        Code.YOUTUBE_UNAVAILABLE
    }


def test_a_gated_video_whose_metadata_came_through_is_still_checked() -> None:
    flags = flags_for(recorded("members_only.json"), month="2024-05")
    assert set(flags) == {Code.YOUTUBE_UNAVAILABLE, Code.YOUTUBE_OUTSIDE_PERIOD}


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"live_status": "is_live"}, "in progress"),
        ({"live_status": "post_live"}, "still processing"),
        ({"availability": "premium_only"}, "Premium"),
        ({"age_limit": 18, "availability": None}, "age-restricted"),
        ({"_type": "url"}, "not a single video"),
        ({"id": "Zr0T5vBn8cE"}, "not the linked video"),
        ({UNAVAILABLE_REASON: "removed by the uploader"}, "removed by the uploader"),
    ],
)
def test_flags_unfinished_gated_or_mismatched_results(changes: dict[str, Any], says: str) -> None:
    info = recorded("learning_march.json") | changes
    assert says in flags_for(info, video_id="k3Jd8sL2mQA")[Code.YOUTUBE_UNAVAILABLE]


@pytest.mark.parametrize(
    "changes",
    [
        {"availability": "unlisted"},  # watchable by anyone with the link
        {"live_status": "was_live", "was_live": True},  # a finished stream's recording
        {"availability": None},  # yt-dlp could not tell; not a refusal
    ],
)
def test_accepts_unlisted_videos_and_finished_streams(changes: dict[str, Any]) -> None:
    assert unavailable_reason(recorded("learning_march.json") | changes, "k3Jd8sL2mQA") is None


# --- youtube_wrong_channel -----------------------------------------------------------------


def test_flags_a_video_on_another_channel() -> None:
    detail = flags_for(recorded("other_channel.json"))[Code.YOUTUBE_WRONG_CHANNEL]
    assert "Guru Matematika Kreatif" in detail
    assert CHANNEL in detail


def test_accepts_the_channel_registered_as_a_handle_in_any_case() -> None:
    info = recorded("learning_march.json")
    assert is_same_channel(info, "@Bu.Siti.Rahmawati")
    assert flags_for(info, channel="@bu.siti.rahmawati") == {}
    assert Code.YOUTUBE_WRONG_CHANNEL in flags_for(info, channel="@gurumatematikakreatif")


def test_flags_when_the_teacher_has_no_registered_channel() -> None:
    detail = flags_for(recorded("learning_march.json"), channel=None)[Code.YOUTUBE_WRONG_CHANNEL]
    assert "no registered YouTube channel" in detail


def test_a_missing_channel_id_is_never_the_teachers() -> None:
    info = recorded("learning_march.json") | {"channel_id": None}
    assert Code.YOUTUBE_WRONG_CHANNEL in flags_for(info)


# --- youtube_outside_period ----------------------------------------------------------------


def test_flags_a_video_uploaded_in_another_month() -> None:
    detail = flags_for(recorded("learning_march.json"), month="2024-04")[
        Code.YOUTUBE_OUTSIDE_PERIOD
    ]
    assert "2024-03-12 10:05 WIB" in detail
    assert "2024-04" in detail


def test_takes_the_month_in_wib_not_utc() -> None:
    # Uploaded 2024-03-31 18:30 UTC, which is 1 April 01:30 in Bandung.
    info = recorded("uploaded_after_midnight_wib.json")
    assert info["upload_date"] == "20240331"
    assert Code.YOUTUBE_OUTSIDE_PERIOD not in flags_for(info, month="2024-04")
    detail = flags_for(info, month="2024-03")[Code.YOUTUBE_OUTSIDE_PERIOD]
    assert "2024-04-01 01:30 WIB" in detail


def test_without_a_timestamp_a_utc_upload_date_counts_for_its_day_and_the_next() -> None:
    # 29 February in UTC may already be 1 March in WIB: neither month is flagged.
    info = recorded("date_only.json")
    assert "timestamp" not in info
    assert Code.YOUTUBE_OUTSIDE_PERIOD not in flags_for(info, month="2024-02")
    assert Code.YOUTUBE_OUTSIDE_PERIOD not in flags_for(info, month="2024-03")
    detail = flags_for(info, month="2024-04")[Code.YOUTUBE_OUTSIDE_PERIOD]
    assert "UTC date" in detail


def test_flags_a_video_with_no_upload_time_at_all() -> None:
    info = recorded("date_only.json") | {"upload_date": None}
    assert "no upload time" in flags_for(info)[Code.YOUTUBE_OUTSIDE_PERIOD]


def test_refuses_a_malformed_month() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        flags_for(recorded("learning_march.json"), month="03-2024")


# --- video_too_short -----------------------------------------------------------------------


def test_flags_a_video_shorter_than_a_minute_with_specs_code() -> None:
    detail = flags_for(recorded("short.json"))[Code.VIDEO_TOO_SHORT]
    assert "0:45" in detail and "1:00" in detail


def test_a_video_of_exactly_a_minute_is_long_enough() -> None:
    assert flags_for(recorded("short.json") | {"duration": 60}) == {}


def test_the_minimum_duration_is_a_setting() -> None:
    flags = youtube_flags(
        recorded("learning_march.json"),
        video_id="k3Jd8sL2mQA",
        teacher_id=TEACHER,
        teacher_channel_id=CHANNEL,
        month="2024-03",
        requirement="learning",
        other_submissions=[],
        min_duration_s=900,
    )
    assert [flag.code for flag in flags] == [Code.VIDEO_TOO_SHORT]


# --- youtube_reused ------------------------------------------------------------------------


VIDEO = "k3Jd8sL2mQA"


@pytest.mark.parametrize(
    ("earlier", "says"),
    [
        (Submission(VIDEO, TEACHER, "2024-02", Requirement.LEARNING, 41), "for 2024-02"),
        (Submission(VIDEO, TEACHER, "2024-03", Requirement.PROBLEM_SOLVING, 42), "problem_solving"),
        (Submission(VIDEO, 8, "2024-03", Requirement.LEARNING, 43), "another teacher"),
    ],
)
def test_flags_a_video_already_submitted_elsewhere(earlier: Submission, says: str) -> None:
    flags = youtube_flags(
        recorded("learning_march.json"),
        video_id=VIDEO,
        teacher_id=TEACHER,
        teacher_channel_id=CHANNEL,
        month="2024-03",
        requirement="learning",
        other_submissions=[earlier],
    )
    assert [flag.code for flag in flags] == [Code.YOUTUBE_REUSED]
    assert says in flags[0].detail
    assert flags[0].related_evidence_id == earlier.evidence_id


def test_the_same_link_sent_again_for_the_same_requirement_is_no_reuse() -> None:
    again = Submission(VIDEO, str(TEACHER), "2024-03", Requirement.LEARNING, 40)
    assert flags_for(recorded("learning_march.json"), others=[again]) == {}


def test_other_videos_in_the_submissions_are_ignored() -> None:
    other = Submission("Zr0T5vBn8cE", 8, "2024-02", Requirement.LEARNING, 44)
    assert flags_for(recorded("learning_march.json"), others=[other]) == {}


def test_reuse_is_flagged_even_when_the_video_is_gone_now() -> None:
    earlier = Submission("Pv2tE3nQx8r", 8, "2024-03", Requirement.LEARNING, 45)
    flags = flags_for(recorded("private.json"), others=[earlier])
    assert set(flags) == {Code.YOUTUBE_UNAVAILABLE, Code.YOUTUBE_REUSED}


def test_every_recorded_info_dict_is_in_yt_dlps_shape() -> None:
    for path in RECORDINGS.glob("*.json"):
        if path.name == "download_errors.json":
            continue
        info = json.loads(path.read_text())
        assert isinstance(info.get("id"), str), path.name
        if UNAVAILABLE_REASON not in info and info.get("_type") == "video":
            assert len(info["id"]) == 11
            assert info["channel_id"].startswith("UC") and len(info["channel_id"]) == 24
            assert {"duration", "availability", "live_status", "age_limit"} <= set(info)

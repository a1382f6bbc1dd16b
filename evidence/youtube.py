"""YouTube links for the monthly teaching videos: which links are one video, and their flags.

:func:`parse_youtube_url` turns every form a teacher pastes (watch, youtu.be, shorts, live,
embed) into the one 11-character video id and refuses what is not a single video.
:func:`youtube_flags` applies SPEC.md's rules to the metadata extracted for that id, an info
dict shaped like yt-dlp's (``id``, ``channel_id``, ``duration``, ``timestamp``,
``upload_date``, ``availability``, ``live_status``, ``age_limit``, ...). An extraction that
found the video unavailable says so in :data:`UNAVAILABLE_REASON` instead of the metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, NewType
from urllib.parse import parse_qs, urlsplit

from evidence.flags import Code, Flag, Phrase

VideoId = NewType("VideoId", str)
"""An 11-character YouTube video id."""

UNAVAILABLE_REASON = "unavailable_reason"
"""Info-dict key set by an extraction that found no video to check, with the reason."""

WIB = timezone(timedelta(hours=7), "WIB")
"""Western Indonesia Time: West Java's zone, UTC+7 all year (Indonesia has no summer time)."""

_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_WATCH_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com"}
_SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
_NOCOOKIE_HOSTS = {"youtube-nocookie.com", "www.youtube-nocookie.com"}
# Path prefixes followed by the video id on the YouTube hosts; /v/ is the old Flash embed.
_ID_IN_PATH = {"shorts", "live", "embed", "v"}
_CHANNEL_PREFIXES = {"channel", "c", "user"}
# yt-dlp's availability values that keep a reviewer from watching the video.
_GATED = {
    "private": "private",
    "premium_only": "for YouTube Premium members only",
    "subscriber_only": "for the channel's members only",
    "needs_auth": "visible only when signed in (age-restricted)",
}
_ADULT_AGE = 18


class InvalidYouTubeUrlError(ValueError):
    """Raised when a link is not a link to a single YouTube video; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Requirement(StrEnum):
    """The two videos a teacher owes each month."""

    LEARNING = "learning"
    PROBLEM_SOLVING = "problem_solving"


@dataclass(frozen=True)
class Submission:
    """A YouTube video already submitted for a monthly requirement (plain data from storage)."""

    video_id: str
    teacher_id: int | str
    month: str
    requirement: Requirement
    evidence_id: int | None = None


def parse_youtube_url(url: str) -> VideoId:
    """The video id a link points to; raises InvalidYouTubeUrlError for anything but one video."""
    text = url.strip()
    if "://" not in text and re.match(r"^[\w.-]+(/|$)", text):
        # Typed on a phone without the scheme: "youtu.be/abc..." is still the link they mean.
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidYouTubeUrlError("not a web link: only http(s) YouTube links are accepted")
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        raise InvalidYouTubeUrlError("not a YouTube link: the port is malformed") from None
    if parts.username is not None or port not in (None, 80, 443):
        raise InvalidYouTubeUrlError(f"not a YouTube link: {parts.netloc} is not youtube.com")
    segments = [segment for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query)
    if host in _SHORT_HOSTS:
        return _video_id(segments[0] if segments else "")
    if host in _NOCOOKIE_HOSTS:
        if len(segments) >= 2 and segments[0] == "embed":
            return _embedded(segments[1], query)
        raise InvalidYouTubeUrlError("not a single video: only embed links are videos there")
    if host not in _WATCH_HOSTS:
        raise InvalidYouTubeUrlError(
            f"not a YouTube link: {host or 'no host'} is not youtube.com or youtu.be"
        )
    return _from_watch_host(segments, query)


def _from_watch_host(segments: list[str], query: dict[str, list[str]]) -> VideoId:
    first = segments[0] if segments else ""
    if first == "watch":
        ids = set(query.get("v", []))
        if not ids:
            if "list" in query:
                raise InvalidYouTubeUrlError("a playlist, not a single video")
            raise InvalidYouTubeUrlError("no video in the link: the watch link has no v=")
        if len(ids) > 1:
            raise InvalidYouTubeUrlError("two different videos in one link")
        # A "list=" beside "v=" is the playlist the video was opened from; the video is meant.
        return _video_id(ids.pop())
    if first == "playlist":
        raise InvalidYouTubeUrlError("a playlist, not a single video")
    if first.startswith("@") or first in _CHANNEL_PREFIXES:
        raise InvalidYouTubeUrlError("a channel, not a single video")
    if first == "embed" and len(segments) >= 2:
        return _embedded(segments[1], query)
    if first in _ID_IN_PATH and len(segments) >= 2:
        return _video_id(segments[1])
    raise InvalidYouTubeUrlError("not a link to a single YouTube video")


def _embedded(segment: str, query: dict[str, list[str]]) -> VideoId:
    if segment == "videoseries" or (segment == "" and "list" in query):
        raise InvalidYouTubeUrlError("a playlist, not a single video")
    return _video_id(segment)


def _video_id(candidate: str) -> VideoId:
    if not _VIDEO_ID.match(candidate):
        raise InvalidYouTubeUrlError(
            "malformed video id: a YouTube video id is 11 letters, digits, '-' or '_'"
        )
    return VideoId(candidate)


def watch_url(video_id: VideoId) -> str:
    """The canonical watch link of a video id."""
    return f"https://www.youtube.com/watch?v={video_id}"


def youtube_flags(
    info: Mapping[str, Any],
    *,
    video_id: str,
    teacher_id: int | str,
    teacher_channel_id: str | None,
    month: str,
    requirement: Requirement | str,
    other_submissions: Iterable[Submission],
    min_duration_s: float = 60,
) -> list[Flag]:
    """SPEC.md's YouTube flags for one submitted link, given its extracted info dict.

    ``month`` is the reporting month ``"YYYY-MM"``; ``other_submissions`` are the earlier
    submissions of the same video id (any teacher), excluding this one.
    """
    reporting_month = _parse_month(month)
    requirement = Requirement(requirement)
    unavailable = unavailable_reason(info, video_id)
    flags: list[Flag] = []
    if unavailable is not None:
        flags.append(
            Flag.raise_(
                Code.YOUTUBE_UNAVAILABLE,
                f"the video is {unavailable}",
                phrases=(Phrase("youtube_unavailable", {"reason_word": unavailable}),),
            )
        )
    flags.extend(
        _reuse_flags(video_id, teacher_id, month, requirement, other_submissions),
    )
    if unavailable is not None and not _describes_the_video(info, video_id):
        # Nothing is known about the linked video itself: other rules would only guess.
        return flags
    channel = _channel_flag(info, teacher_channel_id)
    if channel is not None:
        flags.append(channel)
    period = _period_flag(info, reporting_month)
    if period is not None:
        flags.append(period)
    duration = info.get("duration")
    if isinstance(duration, int | float) and duration < min_duration_s:
        flags.append(
            Flag.raise_(
                Code.VIDEO_TOO_SHORT,
                f"the video lasts {_mmss(duration)}, less than the {_mmss(min_duration_s)} "
                "a monthly teaching video must last",
                phrases=(
                    Phrase(
                        "video_too_short",
                        {"duration_s": round(duration), "minimum_s": round(min_duration_s)},
                    ),
                ),
            )
        )
    return flags


def unavailable_reason(info: Mapping[str, Any], video_id: str) -> str | None:
    """Why a reviewer cannot watch this as one finished YouTube video, or None when they can."""
    reason = info.get(UNAVAILABLE_REASON)
    if reason:
        return str(reason)
    kind = info.get("_type", "video")
    if kind != "video" or "entries" in info:
        return "not a single video (a playlist or a channel)"
    if info.get("id") != video_id:
        return f"not the linked video (the link led to {info.get('id')!r})"
    availability = info.get("availability")
    if availability in _GATED:
        return _GATED[availability]
    age_limit = info.get("age_limit")
    if isinstance(age_limit, int) and age_limit >= _ADULT_AGE:
        return "age-restricted: visible only when signed in"
    live_status = info.get("live_status")
    if live_status == "is_upcoming":
        return "a scheduled live stream or premiere that has not started"
    if live_status == "is_live":
        return "a live stream still in progress"
    if live_status == "post_live":
        return "a finished live stream that YouTube is still processing"
    return None


def _describes_the_video(info: Mapping[str, Any], video_id: str) -> bool:
    """True when the info dict holds the linked single video's own metadata."""
    return (
        info.get("_type", "video") == "video"
        and "entries" not in info
        and info.get("id") == video_id
        and bool(info.get("channel_id"))
    )


def _reuse_flags(
    video_id: str,
    teacher_id: int | str,
    month: str,
    requirement: Requirement,
    others: Iterable[Submission],
) -> list[Flag]:
    flags: list[Flag] = []
    for other in others:
        if other.video_id != video_id:
            continue
        if str(other.teacher_id) != str(teacher_id):
            where = "by another teacher"
            phrase = Phrase("youtube_reused.another_teacher")
        elif other.month != month:
            where = f"for {other.month}"
            phrase = Phrase("youtube_reused.another_month", {"other_month": other.month})
        elif Requirement(other.requirement) != requirement:
            where = f"as the {Requirement(other.requirement).value} video"
            phrase = Phrase(f"youtube_reused.as_{Requirement(other.requirement).value}")
        else:
            continue  # the same link sent again for the same requirement is no reuse
        flags.append(
            Flag.raise_(
                Code.YOUTUBE_REUSED,
                f"the same video was already submitted {where}",
                related_evidence_id=other.evidence_id,
                phrases=(phrase,),
            )
        )
    return flags


def _channel_flag(info: Mapping[str, Any], teacher_channel_id: str | None) -> Flag | None:
    channel_id = info.get("channel_id")
    name = info.get("channel") or info.get("uploader") or channel_id or "an unknown channel"
    if teacher_channel_id is None or not teacher_channel_id.strip():
        return Flag.raise_(
            Code.YOUTUBE_WRONG_CHANNEL,
            f"the teacher has no registered YouTube channel to compare with; "
            f"the video is on {name} ({channel_id})",
            phrases=(
                Phrase(
                    "youtube_wrong_channel.none_registered",
                    {"channel": str(name), "channel_id": str(channel_id)},
                ),
            ),
        )
    if is_same_channel(info, teacher_channel_id):
        return None
    return Flag.raise_(
        Code.YOUTUBE_WRONG_CHANNEL,
        f"the video is on {name} ({channel_id}), "
        f"not on the teacher's registered channel {teacher_channel_id.strip()}",
        phrases=(
            Phrase(
                "youtube_wrong_channel",
                {
                    "channel": str(name),
                    "channel_id": str(channel_id),
                    "registered": teacher_channel_id.strip(),
                },
            ),
        ),
    )


def is_same_channel(info: Mapping[str, Any], registered: str) -> bool:
    """True when the video's channel is the registered one, given as a UC... id or an @handle."""
    registered = registered.strip()
    if registered.startswith("@"):
        # Handles are case-insensitive on YouTube; yt-dlp puts the handle in uploader_id.
        handle = info.get("uploader_id") or ""
        return isinstance(handle, str) and handle.lower() == registered.lower()
    return bool(info.get("channel_id")) and info.get("channel_id") == registered


def _period_flag(info: Mapping[str, Any], month: date) -> Flag | None:
    timestamp = info.get("timestamp")
    wanted = f"{month:%Y-%m}"
    if isinstance(timestamp, int | float):
        uploaded = datetime.fromtimestamp(timestamp, UTC).astimezone(WIB)
        if (uploaded.year, uploaded.month) == (month.year, month.month):
            return None
        return Flag.raise_(
            Code.YOUTUBE_OUTSIDE_PERIOD,
            f"uploaded {uploaded:%Y-%m-%d %H:%M} WIB, outside the reporting month {wanted}",
            phrases=(
                Phrase(
                    "youtube_outside_period",
                    {
                        "uploaded_at": uploaded.isoformat(),
                        "period_month": wanted,
                        "zone": "Asia/Jakarta",
                    },
                ),
            ),
        )
    upload_date = _parse_upload_date(info.get("upload_date"))
    if upload_date is None:
        return Flag.raise_(
            Code.YOUTUBE_OUTSIDE_PERIOD,
            f"YouTube gives no upload time, so it cannot be placed in {wanted}",
            phrases=(Phrase("youtube_outside_period.no_time", {"period_month": wanted}),),
        )
    # upload_date is a UTC date: in WIB the upload fell on that day or, after 17:00 UTC, the
    # next. Only when neither day is in the month is the video certainly outside it.
    candidates = {upload_date, upload_date + timedelta(days=1)}
    if any((day.year, day.month) == (month.year, month.month) for day in candidates):
        return None
    return Flag.raise_(
        Code.YOUTUBE_OUTSIDE_PERIOD,
        f"uploaded on {upload_date:%Y-%m-%d} (UTC date; no exact time given), "
        f"outside the reporting month {wanted}",
        phrases=(
            Phrase(
                "youtube_outside_period.upload_day",
                {"uploaded_day": upload_date.isoformat(), "period_month": wanted},
            ),
        ),
    )


def _parse_upload_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{8}", value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _parse_month(month: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    return date(int(month[:4]), int(month[5:]), 1)


def _mmss(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"

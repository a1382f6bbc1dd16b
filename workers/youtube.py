"""Metadata of a YouTube video, behind an interface: yt-dlp in production, recordings in tests.

:class:`YtDlpSource` asks yt-dlp for the info dict without downloading anything. A video that
YouTube will not show (private, removed, age- or member-gated, not yet live) is an answer, not a
failure: it comes back as ``{"id": ..., "unavailable_reason": ...}`` for the rules in
:mod:`evidence.youtube` to flag. What says nothing about the video (a network error, a bot
check, rate limiting) raises :class:`~bukti.errors.DependencyError`, so the work is retried.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import DownloadError, ExtractorError

from bukti.errors import DependencyError, RejectedError
from evidence.youtube import UNAVAILABLE_REASON

# The fields the rules and the reviewer's page use; the full info dict (hundreds of formats,
# thumbnails, captions) would be tens of kilobytes per link for nothing.
RECORDED_FIELDS = (
    "_type",
    "id",
    "title",
    "channel",
    "channel_id",
    "channel_url",
    "uploader",
    "uploader_id",
    "uploader_url",
    "duration",
    "timestamp",
    "release_timestamp",
    "upload_date",
    "availability",
    "live_status",
    "is_live",
    "was_live",
    "age_limit",
    "media_type",
    "webpage_url",
    "thumbnail",
    "extractor_key",
)

# Messages (lower-cased fragments) that mean "YouTube has this id but will not show it to us",
# as yt-dlp relays them from YouTube's player response.
_UNAVAILABLE_MESSAGES = (
    ("private video", "private"),
    ("video is private", "private"),
    ("members-only", "for the channel's members only"),
    ("join this channel", "for the channel's members only"),
    ("confirm your age", "age-restricted: visible only when signed in"),
    ("age-restricted", "age-restricted: visible only when signed in"),
    ("inappropriate for some users", "age-restricted: visible only when signed in"),
    ("removed by the uploader", "removed by the uploader"),
    ("account associated with this video has been terminated", "removed with its channel"),
    ("copyright claim", "removed after a copyright claim"),
    ("violating youtube", "removed for violating YouTube's policies"),
    ("not made this video available in your country", "blocked in Indonesia"),
    ("geo restriction", "blocked in Indonesia"),
    ("live event will begin", "a scheduled live stream that has not started"),
    ("premieres in", "a premiere that has not started"),
    ("requires payment", "paid content"),
    ("video unavailable", "unavailable (removed or never published)"),
    ("this video is unavailable", "unavailable (removed or never published)"),
    ("this video is not available", "unavailable (removed or never published)"),
    ("http error 404", "not found"),
    ("http error 410", "not found"),
)
# Messages that say YouTube is refusing *us* (bot checks, rate limits), not the video.
_TRANSIENT_MESSAGES = (
    "not a bot",
    "rate-limited",
    "rate limit",
    "try again later",
    "captcha",
    "http error 429",
)


class VideoInfoSource(abc.ABC):
    """Where the metadata of a YouTube video id comes from."""

    @abc.abstractmethod
    def extract(self, video_id: str) -> dict[str, Any]:
        """The info dict of a video, or ``{"id", "unavailable_reason"}`` when it cannot be seen.

        Raises DependencyError when the source could not answer (network, rate limits).
        """

    def download(self, video_id: str, directory: Path, max_bytes: int) -> Path:
        """Download the video into ``directory`` for the archive; not every source can."""
        raise RejectedError("this metadata source cannot download videos")


class RecordedSource(VideoInfoSource):
    """Info dicts recorded earlier, by id; an unknown id is a removed video (for tests)."""

    def __init__(self, recorded: Mapping[str, Mapping[str, Any]]) -> None:
        self.recorded = dict(recorded)
        self.requests: list[str] = []

    def extract(self, video_id: str) -> dict[str, Any]:
        """The recorded info dict of ``video_id``."""
        self.requests.append(video_id)
        if video_id not in self.recorded:
            return {"id": video_id, UNAVAILABLE_REASON: "unavailable (removed or never published)"}
        return dict(self.recorded[video_id])


@dataclass
class _Collector:
    """A yt-dlp logger that keeps warnings and errors instead of printing them."""

    warnings: list[str] = field(default_factory=list)

    def debug(self, message: str) -> None:
        """Ignore yt-dlp's chatter."""

    def info(self, message: str) -> None:
        """Ignore yt-dlp's chatter."""

    def warning(self, message: str) -> None:
        """Keep warnings: with ignore_no_formats_error, YouTube's refusals arrive as these."""
        self.warnings.append(message)

    def error(self, message: str) -> None:
        """Errors also arrive as DownloadError; nothing to keep."""


class YtDlpSource(VideoInfoSource):
    """yt-dlp's ``extract_info(download=False)``, restricted to what reading metadata needs.

    ``allowed_extractors`` is ``["youtube"]`` in production (a regex list matched against
    yt-dlp's extractor names); tests allow ``["generic"]`` and point ``url_template`` at a
    server on 127.0.0.1. ``proxy`` None follows the environment; "" connects directly.
    """

    def __init__(
        self,
        *,
        allowed_extractors: tuple[str, ...] = ("youtube",),
        url_template: str = "https://www.youtube.com/watch?v={video_id}",
        socket_timeout_s: float = 15.0,
        retries: int = 2,
        proxy: str | None = None,
    ) -> None:
        self.allowed_extractors = allowed_extractors
        self.url_template = url_template
        self.socket_timeout_s = socket_timeout_s
        self.retries = retries
        self.proxy = proxy

    def options(self, logger: Any) -> dict[str, Any]:
        """The YoutubeDL parameters used for one extraction."""
        options: dict[str, Any] = {
            "skip_download": True,
            "noplaylist": True,  # watch?v=X&list=Y is the video X, never the playlist
            "allowed_extractors": list(self.allowed_extractors),
            "socket_timeout": self.socket_timeout_s,
            "retries": self.retries,
            "extractor_retries": self.retries,
            # Without it, yt-dlp fails on a video whose formats it cannot list (no JavaScript
            # runtime for YouTube's player, a gated video) even though the metadata is there.
            "ignore_no_formats_error": True,
            "quiet": True,
            "no_warnings": False,  # warnings go to the logger, which the refusals need
            "noprogress": True,
            "logger": logger,
            # No cookies, no cache on disk, no config: YoutubeDL (unlike the yt-dlp command)
            # never reads configuration files, and cookies would make a private video look
            # public to us but not to the reviewer.
            "cookiefile": None,
            "cookiesfrombrowser": None,
            "cachedir": False,
            "check_formats": False,
        }
        if self.proxy is not None:
            options["proxy"] = self.proxy
        return options

    def extract(self, video_id: str) -> dict[str, Any]:
        """The recorded fields of the video's info dict, or why it is unavailable."""
        collector = _Collector()
        url = self.url_template.format(video_id=video_id)
        try:
            with yt_dlp.YoutubeDL(self.options(collector)) as ydl:
                info = ydl.extract_info(url, download=False)
        except DownloadError as exc:
            reason = unavailable_reason_of(exc)
            if reason is None:
                raise DependencyError(
                    f"YouTube metadata for {video_id} unreachable: {exc}"
                ) from exc
            return {"id": video_id, UNAVAILABLE_REASON: reason}
        if not isinstance(info, dict):
            raise DependencyError(f"yt-dlp returned no info dict for {video_id}")
        return _recorded(info, collector.warnings)

    def download(self, video_id: str, directory: Path, max_bytes: int) -> Path:
        """Download the video for the archive (one file, MP4 preferred, at most ``max_bytes``).

        Only the allowed extractors run, as for metadata; the file lands in ``directory``
        under a fixed name, whatever the video's title.
        """
        collector = _Collector()
        options = self.options(collector)
        options.update(
            skip_download=False,
            ignore_no_formats_error=False,
            # one progressive file: no merging step (ffmpeg stays out of yt-dlp's hands)
            format="best[ext=mp4]/best",
            max_filesize=max_bytes,
            outtmpl={"default": str(directory / "download.%(ext)s")},
            paths={"home": str(directory), "temp": str(directory)},
            overwrites=True,
            restrictfilenames=True,
            writethumbnail=False,
            writesubtitles=False,
            writeinfojson=False,
        )
        url = self.url_template.format(video_id=video_id)
        try:
            with yt_dlp.YoutubeDL(options) as ydl:
                ydl.extract_info(url, download=True)
        except DownloadError as exc:
            raise DependencyError(f"archival download of {video_id} failed: {exc}") from exc
        files = [f for f in directory.glob("download.*") if not f.name.endswith(".part")]
        if not files:
            # yt-dlp skips a file over max_filesize without an error
            raise RejectedError(f"the video is larger than {max_bytes // 2**20} MB or has no file")
        return files[0]


def _recorded(info: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The fields kept from an info dict, with a refusal found among the warnings."""
    recorded = {key: info[key] for key in RECORDED_FIELDS if info.get(key) is not None}
    recorded.setdefault("_type", "video")
    if info.get("entries") is not None:
        recorded["entries"] = "omitted"  # the rules only need to know it is a playlist
    if not info.get("formats"):
        # With ignore_no_formats_error YouTube's refusal ("Private video", "Sign in to confirm
        # your age") is a warning and the info dict comes back without formats.
        for warning in warnings:
            kind, reason = classify_message(warning)
            if kind == "transient":
                raise DependencyError(f"YouTube refused the request: {warning}")
            if kind == "unavailable":
                recorded[UNAVAILABLE_REASON] = reason
                break
    return recorded


def classify_message(message: str) -> tuple[str, str]:
    """("unavailable", reason), ("transient", "") or ("unknown", "") for a yt-dlp message."""
    lowered = message.lower()
    if any(marker in lowered for marker in _TRANSIENT_MESSAGES):
        return "transient", ""
    for marker, reason in _UNAVAILABLE_MESSAGES:
        if marker in lowered:
            return "unavailable", reason
    return "unknown", ""


def unavailable_reason_of(error: DownloadError) -> str | None:
    """Why the video is unavailable, from yt-dlp's error; None when the error is not about it."""
    cause = error.exc_info[1] if error.exc_info else None
    if isinstance(cause, ExtractorError) and cause.exc_info:
        # The network error underneath an ExtractorError ("Unable to download webpage").
        network = cause.exc_info[1]
        if isinstance(network, HTTPError) and network.status in (404, 410):
            return "not found"
        if isinstance(network, TransportError | HTTPError):
            return None
    kind, reason = classify_message(str(error))
    return reason if kind == "unavailable" else None

"""YouTube links through the pipeline: metadata from an info source, then the YouTube rules.

Production reads metadata with yt-dlp (no download). ``BUKTI_YOUTUBE_SOURCE=recorded:<dir>``
serves recorded info dicts (JSON files, keyed by their ``id``) instead: for tests and offline demos, since
no test may touch YouTube.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.errors import DependencyError, RejectedError
from evidence.flags import Flag
from evidence.sniff import HEAD_BYTES, sniff
from evidence.status import Kind
from evidence.youtube import Requirement, Submission, youtube_flags
from storage.integrity import sha256_file
from storage.models import Evidence
from workers.lifecycle import staged_path, work_dir
from workers.media import media_for
from workers.youtube import RecordedSource, VideoInfoSource, YtDlpSource

#: the fields of yt-dlp's info dict the rules and reviewers use; the rest is not kept
KEPT_FIELDS = (
    "id",
    "title",
    "channel_id",
    "channel",
    "channel_url",
    "uploader_id",
    "duration",
    "timestamp",
    "upload_date",
    "availability",
    "live_status",
    "was_live",
    "age_limit",
    "webpage_url",
    "_type",
    "unavailable_reason",
)


def info_source(services: Services) -> VideoInfoSource:
    """The configured source of video metadata."""
    setting = services.settings.youtube_source
    if setting.startswith("recorded:"):
        directory = Path(setting.removeprefix("recorded:"))
        recorded = {}
        for path in sorted(directory.glob("*.json")):
            info = json.loads(path.read_text())
            if isinstance(info, dict) and "id" in info:
                recorded[str(info["id"])] = info
        return RecordedSource(recorded)
    timeout = services.settings.youtube_socket_timeout_s
    if setting.startswith("generic:"):
        return YtDlpSource(
            allowed_extractors=("generic",),
            url_template=setting.removeprefix("generic:"),
            socket_timeout_s=timeout,
            proxy="",
        )
    return YtDlpSource(socket_timeout_s=timeout)


def validate(item: Evidence) -> str:
    """A link item was parsed at the API; here it only has to still name a video."""
    if not item.video_id:
        raise RejectedError("the link does not name a single YouTube video")
    return item.video_id


def extract(services: Services, item: Evidence) -> dict[str, Any]:
    """The video's metadata, as far as YouTube tells it (a private video tells little).

    With ``youtube_archive`` on, an available video is also downloaded to the item's staged
    path; the transcode job and the archive then treat it as an uploaded video.
    """
    assert item.video_id is not None
    source = info_source(services)
    info = source.extract(item.video_id)
    facts: dict[str, Any] = {"youtube": {k: info[k] for k in KEPT_FIELDS if k in info}}
    if services.settings.youtube_archive and not info.get("unavailable_reason"):
        try:
            facts.update(_download(services, source, item))
        except (DependencyError, RejectedError) as exc:
            # the link is still checked; only its archived copy is missing, and says why
            staged_path(services, item.id).unlink(missing_ok=True)
            facts["archive_download"] = {"error": str(exc)}
    return facts


def _download(services: Services, source: VideoInfoSource, item: Evidence) -> dict[str, Any]:
    """Fetch the video into the staged path and read it as an uploaded video is read."""
    assert item.video_id is not None
    scratch = work_dir(services, item.id) / "download"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    fetched = source.download(item.video_id, scratch, services.settings.max_video_bytes)
    with fetched.open("rb") as fh:
        sniffed = sniff(fh.read(HEAD_BYTES))
    if sniffed is None or sniffed.kind != Kind.VIDEO:
        raise RejectedError("the linked video's file is not a video Bukti reads")
    facts = media_for(Kind.VIDEO).examine(fetched, services.settings).facts
    staged = staged_path(services, item.id)
    fetched.replace(staged)
    shutil.rmtree(scratch, ignore_errors=True)
    # from here on the item is the file: the archive is keyed, and the receipt made, by it
    item.mime = sniffed.mime
    item.original_bytes = staged.stat().st_size
    item.sha256 = sha256_file(staged)
    return facts


def has_download(services: Services, item: Evidence) -> bool:
    """True when a link item's video was downloaded for the archive."""
    return item.kind == Kind.YOUTUBE and staged_path(services, item.id).exists()


def verify(services: Services, session: Session, item: Evidence) -> list[Flag]:
    """The YouTube rules against the teacher's channel, the month and earlier submissions."""
    assert item.video_id is not None and item.month and item.requirement
    others = session.scalars(
        select(Evidence).where(
            Evidence.video_id == item.video_id,
            Evidence.id != item.id,
            Evidence.status.not_in(["rejected", "failed"]),
        )
    ).all()
    info = (item.facts or {}).get("youtube", {})
    return youtube_flags(
        info,
        video_id=item.video_id,
        teacher_id=item.teacher_id,
        teacher_channel_id=item.teacher.youtube_channel_id,
        month=item.month,
        requirement=item.requirement,
        other_submissions=[
            Submission(
                o.video_id or "", o.teacher_id, o.month or "", Requirement(o.requirement), o.id
            )
            for o in others
            if o.requirement
        ],
        min_duration_s=services.settings.min_video_duration_s,
    )

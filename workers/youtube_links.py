"""YouTube links through the pipeline: metadata from an info source, then the YouTube rules.

Production reads metadata with yt-dlp (no download). ``BUKTI_YOUTUBE_SOURCE=recorded:<dir>``
serves recorded info dicts (JSON files, keyed by their ``id``) instead: for tests and offline demos, since
no test may touch YouTube.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from bukti.errors import RejectedError
from evidence.flags import Flag
from evidence.youtube import Requirement, Submission, youtube_flags
from storage.models import Evidence
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
    return YtDlpSource(socket_timeout_s=services.settings.youtube_socket_timeout_s)


def validate(item: Evidence) -> str:
    """A link item was parsed at the API; here it only has to still name a video."""
    if not item.video_id:
        raise RejectedError("the link does not name a single YouTube video")
    return item.video_id


def extract(services: Services, item: Evidence) -> dict[str, Any]:
    """The video's metadata, as far as YouTube tells it (a private video tells little)."""
    assert item.video_id is not None
    info = info_source(services).extract(item.video_id)
    return {"youtube": {k: info[k] for k in KEPT_FIELDS if k in info}}


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

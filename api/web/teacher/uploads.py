"""A day's photos and documents in one batch, and the monthly videos: resumable uploads.

The pages only lay out the forms: the files go from the browser to ``/api/v1/uploads``
(tus, through the vendored tus-js-client) and links to ``POST /api/v1/evidence``, the
same intake as every other client, with the session's CSRF token in a header.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbDep, ServicesDep
from api.flag_views import render_flags
from api.web.render import translator
from api.web.teacher.context import TeacherDep, TeacherView, render_page, teacher_view
from evidence.months import REQUIREMENTS, month_bounds
from storage.models import Evidence, MonthlyFlag
from storage.repositories import activities_of_day

router = APIRouter()

#: what the batch picker offers: photos and the document formats Bukti takes
ACCEPT = (
    "image/*,application/pdf,.pdf,.docx,.xlsx,.pptx,.odt,.ods,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
    "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet"
)
#: how far back a batch may be sent for: TRK is filled in within the month
_MAX_DAYS_BACK = 62


def batch_day(view: TeacherView, asked: date | None) -> date:
    """The day a batch is for: the one asked, within the last two months, else today."""
    today = view.today()
    if asked is None or asked > today or asked < today - timedelta(days=_MAX_DAYS_BACK):
        return today
    return asked


@router.get("/upload")
def upload_page(
    request: Request,
    db: DbDep,
    services: ServicesDep,
    session: TeacherDep,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> Response:
    """Pick a day's photos and documents at once; each goes up resumable, with progress.

    Files shared from the phone's gallery (kept by the service worker, see
    api.web.teacher.share) are offered here too, for one of the day's activities.
    """
    view = teacher_view(db, session)
    chosen = batch_day(view, day)
    settings = services.settings
    return render_page(
        request,
        "teacher/upload.html",
        session,
        tab="upload",
        view=view,
        day=chosen,
        earliest=view.today() - timedelta(days=_MAX_DAYS_BACK),
        accept=ACCEPT,
        activities=activities_of_day(db, view.teacher.id, chosen),
        max_photo_bytes=settings.max_photo_bytes,
        max_document_bytes=settings.max_document_bytes,
    )


def month_of(view: TeacherView, asked: str | None) -> str:
    """A reporting month ``YYYY-MM``: the one asked, else the current one."""
    if asked and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", asked):
        return asked
    return view.today().strftime("%Y-%m")


def latest_video(db: Session, view: TeacherView, month: str, requirement: str) -> Evidence | None:
    """The last item sent for a monthly requirement: the one that counts."""
    return db.scalar(
        select(Evidence)
        .where(
            Evidence.teacher_id == view.teacher.id,
            Evidence.month == month,
            Evidence.requirement == requirement,
        )
        .order_by(Evidence.id.desc())
        .limit(1)
    )


@router.get("/videos")
def videos_page(
    request: Request,
    db: DbDep,
    services: ServicesDep,
    session: TeacherDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """The month's learning and problem-solving videos: a file or a YouTube link each."""
    view = teacher_view(db, session)
    chosen = month_of(view, month)
    first = month_bounds(chosen)[0]
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    following = (first + timedelta(days=31)).strftime("%Y-%m")
    videos = {r: latest_video(db, view, chosen, r) for r in REQUIREMENTS}
    t = translator(request)
    missing = db.scalars(
        select(MonthlyFlag).where(
            MonthlyFlag.teacher_id == view.teacher.id, MonthlyFlag.month == chosen
        )
    ).all()
    return render_page(
        request,
        "teacher/videos.html",
        session,
        tab="videos",
        view=view,
        month=chosen,
        first_day=first,
        previous=previous,
        following=following if following <= view.today().strftime("%Y-%m") else None,
        videos=videos,
        video_flags={
            r: render_flags(db, item.flags, session.principal, t) if item else []
            for r, item in videos.items()
        },
        missing={flag.requirement for flag in missing},
        max_video_bytes=services.settings.max_video_bytes,
    )

"""One way to show a flag to a reader, for the API and the pages alike.

A flag may point at another item (a duplicate), and that item may be another teacher's, or
another school's. A reader is told only what they may see: a teacher learns that "a photo
already submitted by another teacher on 13 Okt" exists, never whose; a reviewer of another
school learns that it is "a photo of another school, uploaded 13 Okt 2026"; the reviewers
of its school and admins get the full link (owner, NIP, activity, the item's id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.schemas import FlagOut
from api.web.i18n import N_, Translator
from evidence.flags import Code
from evidence.review import DUPLICATE_CODES
from evidence.status import Kind
from evidence.timeresolve import in_zone
from storage.models import Activity, Evidence, EvidenceFlag, School, Teacher

#: each flag code's name as reviewers and teachers read it
FLAG_TITLES: dict[str, str] = {
    Code.TIME_ZONE_ASSUMED: N_("Time zone assumed"),
    Code.NO_CAPTURE_TIME: N_("No capture time"),
    Code.TIME_OUTSIDE_ACTIVITY: N_("Taken outside the activity's time"),
    Code.WRONG_DAY: N_("Taken on another day"),
    Code.TIME_IN_FUTURE: N_("Capture time in the future"),
    Code.GPS_TIME_MISMATCH: N_("GPS time differs"),
    Code.NO_LOCATION: N_("No location"),
    Code.OUTSIDE_GEOFENCE: N_("Outside the area"),
    Code.LOW_GPS_ACCURACY: N_("Rough GPS position"),
    Code.EDITED: N_("Edited"),
    Code.FORWARDED_OR_SCREENSHOT: N_("Forwarded or screenshot"),
    Code.EXACT_DUPLICATE: N_("Same file submitted before"),
    Code.NEAR_DUPLICATE: N_("Looks like an earlier photo"),
    Code.REPEATED_LOCATION: N_("Same coordinates on many days"),
    Code.IMPOSSIBLE_TRAVEL: N_("Impossible travel"),
    Code.VIDEO_TOO_SHORT: N_("Video too short"),
    Code.YOUTUBE_UNAVAILABLE: N_("YouTube video unavailable"),
    Code.YOUTUBE_WRONG_CHANNEL: N_("Another YouTube channel"),
    Code.YOUTUBE_OUTSIDE_PERIOD: N_("Uploaded outside the month"),
    Code.YOUTUBE_REUSED: N_("Video submitted before"),
    Code.MISSING_MONTHLY_VIDEO: N_("Monthly video missing"),
    Code.TRK_UNDER_TARGET: N_("Under 450 minutes"),
    Code.ACTIVITY_OVERLAP: N_("Activities overlap"),
    Code.LATE_CHECK_IN: N_("Late check-in"),
    Code.EARLY_CHECK_OUT: N_("Early check-out"),
}

_BY_ANOTHER_TEACHER = {
    Kind.PHOTO: N_("a photo already submitted by another teacher on %(day)s"),
    Kind.VIDEO: N_("a video already submitted by another teacher on %(day)s"),
    Kind.DOCUMENT: N_("a document already submitted by another teacher on %(day)s"),
    Kind.YOUTUBE: N_("a link already submitted by another teacher on %(day)s"),
}
_OF_ANOTHER_SCHOOL = {
    Kind.PHOTO: N_("a photo of another school, uploaded %(day)s"),
    Kind.VIDEO: N_("a video of another school, uploaded %(day)s"),
    Kind.DOCUMENT: N_("a document of another school, uploaded %(day)s"),
    Kind.YOUTUBE: N_("a link of another school, uploaded %(day)s"),
}


@dataclass(frozen=True)
class RelatedItem:
    """The other item a flag points at, with what may be said of it to those allowed."""

    id: int
    kind: str
    teacher_id: int
    school_id: int
    teacher_name: str
    nip: str
    received_at: datetime
    timezone: str
    activity_title: str | None
    activity_date: date | None


def related_items(db: Session, flags: Iterable[EvidenceFlag]) -> dict[int, RelatedItem]:
    """The items that ``flags`` point at, by id, loaded at once."""
    ids = {f.related_evidence_id for f in flags if f.related_evidence_id is not None}
    if not ids:
        return {}
    rows = db.execute(
        select(Evidence, Teacher, School, Activity)
        .join(Teacher, Teacher.id == Evidence.teacher_id)
        .join(School, School.id == Teacher.school_id)
        .outerjoin(Activity, Activity.id == Evidence.activity_id)
        .where(Evidence.id.in_(ids))
    ).all()
    return {
        item.id: RelatedItem(
            id=item.id,
            kind=item.kind,
            teacher_id=teacher.id,
            school_id=school.id,
            teacher_name=teacher.name,
            nip=teacher.nip,
            received_at=item.received_at,
            timezone=school.timezone,
            activity_title=activity.title if activity else None,
            activity_date=activity.date if activity else None,
        )
        for item, teacher, school, activity in rows
    }


def may_see(reader: Principal | None, related: RelatedItem) -> bool:
    """True when ``reader`` may see the other item itself (and so whose it is)."""
    return reader is not None and reader.can_see_teacher(related.teacher_id, related.school_id)


def flag_title(code: str, t: Translator) -> str:
    """The flag's name in the reader's language (its code when it has none)."""
    title = FLAG_TITLES.get(code)
    return t.gettext(title) if title else code


def render_flag(
    flag: EvidenceFlag,
    reader: Principal | None,
    related: RelatedItem | None,
    t: Translator,
) -> FlagOut:
    """The flag as ``reader`` may read it; None as reader means the least they may see."""
    visible = related is not None and may_see(reader, related)
    related_id = flag.related_evidence_id if visible else None
    if flag.code not in DUPLICATE_CODES or flag.related_evidence_id is None:
        detail = flag.detail
    elif related is None:
        # the other item is gone: nothing of it is left to tell
        detail = t.gettext("an item submitted earlier")
    elif visible:
        detail = _full_link(flag.code, related, t)
    else:
        kind = Kind(related.kind) if related.kind in Kind.__members__.values() else Kind.PHOTO
        if reader is not None and reader.teacher_id is not None:
            detail = t.gettext(
                _BY_ANOTHER_TEACHER[kind], day=t.short_day(related.received_at, related.timezone)
            )
        else:
            local = in_zone(related.received_at, related.timezone).date()
            detail = t.gettext(_OF_ANOTHER_SCHOOL[kind], day=t.day(local, "d MMM y"))
    return FlagOut(
        code=flag.code, severity=flag.severity, detail=detail, related_evidence_id=related_id
    )


def _full_link(code: str, related: RelatedItem, t: Translator) -> str:
    values = {
        "id": related.id,
        "name": related.teacher_name,
        "nip": related.nip,
        "day": t.moment(related.received_at, related.timezone),
    }
    if code == Code.EXACT_DUPLICATE:
        text = t.gettext(
            "the same file was already submitted as item #%(id)s by %(name)s "
            "(NIP %(nip)s), uploaded %(day)s",
            **values,
        )
    else:
        text = t.gettext(
            "looks like item #%(id)s by %(name)s (NIP %(nip)s), uploaded %(day)s", **values
        )
    if related.activity_title is not None and related.activity_date is not None:
        text += t.gettext(
            ", for the activity '%(title)s' of %(day)s",
            title=related.activity_title,
            day=t.day(related.activity_date),
        )
    return text


def render_flags(
    db: Session, flags: list[EvidenceFlag], reader: Principal | None, t: Translator
) -> list[FlagOut]:
    """Every flag of an item as ``reader`` may read it."""
    related = related_items(db, flags)
    return [
        render_flag(
            f, reader, related.get(f.related_evidence_id) if f.related_evidence_id else None, t
        )
        for f in flags
    ]

"""One item's page: the evidence beside the records it claims to prove, its flags, facts,
distance diagram, duplicates side by side, decisions and history; and the decision form.

Every role opens the same page, scoped like the API (404 for what the caller may not see);
reviewers and admins decide on it, the teacher who owns it answers an "ask again".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import DbDep
from api.flag_views import FLAG_TITLES, flag_title, related_items, render_flag
from api.review import DECIDABLE, decide, decisions_of, next_in_queue, reviewer_names
from api.routes.media import Copy, copy_url
from api.routes.review import QueueParams
from api.scoping import visible_record
from api.web.account import see_other
from api.web.deps import FormDep, SignedInDep
from api.web.diagram import fence_diagram
from api.web.i18n import N_, Translator
from api.web.render import render, translator
from api.web.sessions import SignedIn
from bukti.errors import BuktiError, InvalidRequestError
from evidence.review import DUPLICATE_CODES, Decision, ReasonCode
from evidence.status import Kind, Role
from storage.models import Activity, Attendance, AuditEntry, Evidence, School, Teacher
from storage.objects import is_released

router = APIRouter(include_in_schema=False)

#: the short list of reasons, as a reviewer picks from it and a teacher reads it
REASONS: dict[str, str] = {
    ReasonCode.WRONG_TIME: N_("Taken at another time than the activity"),
    ReasonCode.WRONG_PLACE: N_("Taken somewhere else than the workplace"),
    ReasonCode.REUSED: N_("Already used as evidence before"),
    ReasonCode.EDITED: N_("Edited, forwarded or a screenshot"),
    ReasonCode.NOT_THE_ACTIVITY: N_("Does not show the activity"),
    ReasonCode.UNREADABLE: N_("Cannot be seen or read"),
    ReasonCode.OTHER: N_("Another reason (say which)"),
}

#: the facts' names as people read them (others show their key)
FACT_LABELS: dict[str, str] = {
    "captured_local": N_("Capture time (camera clock)"),
    "utc_offset_min": N_("Time zone offset (minutes)"),
    "modified_local": N_("Last saved"),
    "gps_time_utc": N_("GPS fix time (UTC)"),
    "location": N_("GPS position"),
    "make": N_("Device make"),
    "model": N_("Device model"),
    "software": N_("Software"),
    "creator_tool": N_("Editing tool"),
    "orientation": N_("Orientation"),
    "width": N_("Width (px)"),
    "height": N_("Height (px)"),
    "format": N_("Format"),
    "c2pa": N_("Content credentials (C2PA)"),
    "duration_s": N_("Duration (s)"),
    "has_exif_thumbnail": N_("Embedded thumbnail"),
}


@dataclass(frozen=True)
class Picture:
    """An item as shown beside another: where its picture is and what it is of."""

    evidence_id: int
    kind: str
    src: str | None
    owner: str
    nip: str
    uploaded: str
    activity: str | None
    status: str


def picture_src(item: Evidence) -> str | None:
    """The URL of what a person looks at: the rendition of a photo, the preview (poster
    frame, first page) of a video or document; None for a link."""
    if item.kind == Kind.PHOTO and item.rendition_key:
        return copy_url(item.id, Copy.RENDITION, item.rendition_key)
    if item.preview_key:
        return copy_url(item.id, Copy.PREVIEW, item.preview_key)
    return None


@dataclass(frozen=True)
class Thumbnail:
    """A small picture of an item in a list: its URL and what it shows, in words."""

    src: str
    alt: str


#: what a list's small picture of an item shows, by kind
_THUMBNAIL_ALTS: dict[Kind, str] = {
    Kind.PHOTO: N_("Photo #%(id)s"),
    Kind.VIDEO: N_("Frame of video #%(id)s"),
    Kind.YOUTUBE: N_("Frame of video #%(id)s"),
    Kind.DOCUMENT: N_("First page of document #%(id)s"),
}


def thumbnail(item: Evidence, t: Translator) -> Thumbnail | None:
    """The smallest picture of an item there is, for the pages' lists: its preview (a photo's
    thumbnail, a video's poster frame, a document's first page), else a photo's rendition (a
    photo processed before thumbnails were made); None for a link."""
    if item.preview_key:
        src = copy_url(item.id, Copy.PREVIEW, item.preview_key)
    elif item.kind == Kind.PHOTO and item.rendition_key:
        src = copy_url(item.id, Copy.RENDITION, item.rendition_key)
    else:
        return None
    return Thumbnail(src, t.gettext(_THUMBNAIL_ALTS[Kind(item.kind)], id=item.id))


def _picture(db: Session, item: Evidence, t: Translator) -> Picture:
    teacher = db.get(Teacher, item.teacher_id)
    assert teacher is not None
    school = db.get(School, teacher.school_id)
    zone = school.timezone if school else "Asia/Jakarta"
    activity = db.get(Activity, item.activity_id) if item.activity_id else None
    return Picture(
        evidence_id=item.id,
        kind=item.kind,
        src=picture_src(item),
        owner=teacher.name,
        nip=teacher.nip,
        uploaded=t.moment(item.received_at, zone),
        activity=f"{activity.title} · {t.day(activity.date)}" if activity else None,
        status=item.status,
    )


def fact_rows(facts: dict[str, Any] | None, t: Translator) -> list[tuple[str, str, str | None]]:
    """The item's facts as (label, value, where it came from) rows."""
    rows: list[tuple[str, str, str | None]] = []
    for key, raw in (facts or {}).items():
        label = t.gettext(FACT_LABELS[key]) if key in FACT_LABELS else key.replace("_", " ")
        source = None
        value = raw
        if isinstance(raw, dict) and set(raw) == {"value", "source"}:
            value, source = raw["value"], raw["source"]
        if value in (None, "", {}, []):
            continue
        if key in _WALL_CLOCK_FACTS and isinstance(value, str):
            text = _wall_clock(value, t)
        elif key == "location" and isinstance(value, dict):
            text = f"{value.get('lat'):.6f}, {value.get('lon'):.6f}"
            if value.get("accuracy_m") is not None:
                text += " ± " + t.distance(value["accuracy_m"])
        elif isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, [], {}))
        elif isinstance(value, bool):
            text = t.gettext("yes") if value else t.gettext("no")
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        else:
            text = str(value)
        if isinstance(raw, dict) and "source" in raw and source is None:
            source = str(raw.get("source"))
        rows.append((label, text, source))
    return rows


_WALL_CLOCK_FACTS = frozenset({"captured_local", "modified_local", "gps_time_utc"})


def _wall_clock(value: str, t: Translator) -> str:
    try:
        return t.wall_clock(datetime.fromisoformat(value))
    except ValueError:
        return value


def _history(db: Session, evidence_id: int, t: Translator, zone: str) -> list[dict[str, str]]:
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.evidence_id == evidence_id).order_by(AuditEntry.seq)
    )
    history = []
    previous: str | None = None
    for entry in entries:
        new = (entry.data or {}).get("new")
        old = (entry.data or {}).get("old")
        if entry.action.startswith("review.") and isinstance(new, dict) and "decision" in new:
            what = t.gettext(decision_label(new["decision"]))
            if previous is not None:
                what = t.gettext(
                    "%(new)s (was: %(old)s)", new=what, old=t.gettext(decision_label(previous))
                )
            previous = new["decision"]
            why = reason_text(new.get("reason_code"), new.get("reason"), t)
            text = what + (f" — {why}" if why else "")
        elif entry.action == "evidence.status":
            text = t.gettext("status %(old)s → %(new)s", old=str(old), new=str(new))
        else:
            text = entry.action
        history.append(
            {
                "at": t.moment(entry.at, zone),
                "who": entry.actor_name,
                "what": text,
                "seq": str(entry.seq),
            }
        )
    return history


_DECISION_LABELS: dict[str, str] = {
    Decision.APPROVED: N_("Approved"),
    Decision.REJECTED: N_("Rejected"),
    Decision.ASK_AGAIN: N_("Another proof asked for"),
}


def decision_label(decision: str) -> str:
    """A decision's name, untranslated (callers translate)."""
    return _DECISION_LABELS.get(decision, decision)


def reason_text(reason_code: str | None, reason: str | None, t: Translator) -> str:
    """A decision's reason as the teacher reads it: the listed reason, then the words."""
    parts = []
    if reason_code in REASONS:
        parts.append(t.gettext(REASONS[reason_code]))
    if reason:
        parts.append(reason)
    return ": ".join(parts)


def item_context(db: Session, who: Principal, item: Evidence, t: Translator) -> dict[str, Any]:
    """Everything an item's page shows, for ``who``."""
    teacher = db.get(Teacher, item.teacher_id)
    assert teacher is not None
    school = db.get(School, teacher.school_id)
    assert school is not None
    activity = db.get(Activity, item.activity_id) if item.activity_id else None
    attendance = db.get(Attendance, item.attendance_id) if item.attendance_id else None
    related = related_items(db, item.flags)
    flags = []
    duplicates = []
    for flag in item.flags:
        other = related.get(flag.related_evidence_id) if flag.related_evidence_id else None
        shown = render_flag(flag, who, other, t)
        flags.append({"title": flag_title(flag.code, t), "flag": shown})
        if flag.code in DUPLICATE_CODES and flag.related_evidence_id is not None:
            other_item = db.get(Evidence, flag.related_evidence_id)
            duplicates.append(
                {
                    "title": flag_title(flag.code, t),
                    "other": _picture(db, other_item, t)
                    if other_item is not None and shown.related_evidence_id is not None
                    else None,
                    "detail": shown.detail,
                }
            )
    diagram = None
    if item.lat is not None and item.lon is not None:
        diagram = fence_diagram(
            school.lat, school.lon, school.radius_m, item.lat, item.lon, item.accuracy_m, 100.0
        )
    reviews = decisions_of(db, item.id)
    names = reviewer_names(db, reviews)
    return {
        "item": item,
        "teacher": teacher,
        "school": school,
        "activity": activity,
        "attendance": attendance,
        "flags": flags,
        "duplicates": duplicates,
        "this_picture": _picture(db, item, t),
        "facts": fact_rows(item.facts, t),
        "diagram": diagram,
        "reviews": [
            {
                "review": r,
                "label": t.gettext(decision_label(r.decision)),
                "reason": reason_text(r.reason_code, r.reason, t),
                "by": names.get(r.reviewer_id, ""),
                "at": t.moment(r.at, school.timezone),
            }
            for r in reviews
        ],
        "decision": reviews[-1] if reviews else None,
        "history": _history(db, item.id, t, school.timezone),
        "zone": school.timezone,
        "may_decide": who.role is not Role.TEACHER and item.status in DECIDABLE,
        "may_answer": who.teacher_id == item.teacher_id
        and bool(reviews)
        and reviews[-1].decision == Decision.ASK_AGAIN,
        "answered_by": db.scalars(
            select(Evidence.id).where(Evidence.answers_evidence_id == item.id)
        ).all(),
        "reasons": [(code, t.gettext(text)) for code, text in REASONS.items()],
        "flag_titles": FLAG_TITLES,
    }


def render_item(
    request: Request,
    db: Session,
    session: SignedIn,
    evidence_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The item's page for the signed-in person (404 page when not theirs to see)."""
    t = translator(request)
    item = visible_record(db, session.principal, Evidence, evidence_id, "evidence")
    context = item_context(db, session.principal, item, t)
    return render(
        request,
        "item.html",
        session,
        status=status,
        error=error,
        form=form or {},
        queue=QueueParams.from_query_string(request.query_params.get("queue", "")).query_string(),
        original_removed=item.original_key is not None
        and is_released(db, item.id, item.original_key),
        **context,
    )


@router.get("/items/{evidence_id}")
def item_page(evidence_id: int, request: Request, db: DbDep, session: SignedInDep) -> Response:
    """One item's page."""
    return render_item(request, db, session, evidence_id)


@router.post("/items/{evidence_id}/decision")
def decide_on_item(
    evidence_id: int,
    request: Request,
    db: DbDep,
    session: FormDep,
    decision: Annotated[str, Form(max_length=20)],
    reason_code: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    queue: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a reviewer's decision, then go on to the next item of their queue."""
    who = session.principal
    item = visible_record(db, who, Evidence, evidence_id, "evidence")
    if who.role is Role.TEACHER:
        return render_item(request, db, session, evidence_id, status=403)
    try:
        chosen = Decision(decision)
        decide(db, who, item, chosen, reason_code or None, reason)
    except (ValueError, BuktiError) as exc:
        t = translator(request)
        message = str(exc) if isinstance(exc, InvalidRequestError) else ""
        error = t.gettext("The decision was not saved: %(why)s", why=t.gettext(_why(message)))
        form = {"reason_code": reason_code, "reason": reason}
        return render_item(request, db, session, evidence_id, status=422, error=error, form=form)
    params = QueueParams.from_query_string(queue)
    carried = params.query_string()
    db.flush()
    following = next_in_queue(db, who, params.to_filter(), evidence_id)
    if following is None:
        return see_other(
            "/review?" + urlencode([("done", "1")]) + (f"&{carried}" if carried else "")
        )
    return see_other(f"/items/{following}?" + urlencode([("queue", carried)]))


def _why(message: str) -> str:
    if "needs a reason" in message:
        return N_("choose a reason or write one")
    if "other reason" in message:
        return N_("say what the other reason is")
    return N_("the item cannot be decided on now")

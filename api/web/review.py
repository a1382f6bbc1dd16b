"""The reviewer's queue page and bulk approval of a filtered set (with a confirmation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbDep
from api.flag_views import FLAG_TITLES, flag_title
from api.review import Queue, approve_all, load_queue, queue_query
from api.routes.review import QueueParams
from api.web.account import see_other
from api.web.deps import needs_role, signed_in_form
from api.web.items import decision_label, reason_text, thumbnail
from api.web.render import render, translator
from api.web.sessions import SignedIn
from api.web.words import KINDS, SEVERITIES
from bukti.errors import BuktiError
from evidence.flags import Code
from evidence.status import Role
from storage.models import School, Teacher

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
ReviewerDep = Annotated[SignedIn, needs_role(Role.REVIEWER, Role.ADMIN)]


def queue_params(request: Request) -> QueueParams:
    """The page's filters; what does not parse is left at its default, never an error."""
    return QueueParams.from_query_string(request.url.query)


def _choices(db: Session, session: SignedIn) -> dict[str, Any]:
    who = session.principal
    schools = db.scalars(select(School).order_by(School.name)).all() if who.is_admin else []
    teachers = select(Teacher).order_by(Teacher.name)
    if who.role is Role.REVIEWER:
        teachers = teachers.where(Teacher.school_id == who.school_id)
    return {"schools": schools, "teachers": db.scalars(teachers.limit(500)).all()}


def _rows(db: Session, queue: Queue, request: Request, session: SignedIn) -> list[dict[str, Any]]:
    t = translator(request)
    ids = {row.teacher.id for row in queue.rows}
    zone_of = {
        teacher_id: zone
        for teacher_id, zone in db.execute(
            select(Teacher.id, School.timezone).join(School).where(Teacher.id.in_(ids))
        )
    }
    rows = []
    for row in queue.rows:
        zone = zone_of.get(row.teacher.id, "Asia/Jakarta")
        rows.append(
            {
                "item": row.item,
                "teacher": row.teacher,
                "day": t.day(row.day) if row.day else "",
                "received": t.moment(row.item.received_at, zone),
                "severity": row.top_severity.value if row.top_severity else "none",
                "severity_label": t.gettext(SEVERITIES[row.top_severity])
                if row.top_severity
                else "",
                "flags": sorted({flag_title(f.code, t) for f in row.item.flags}),
                "kind": t.gettext(KINDS.get(row.item.kind, row.item.kind)),
                "thumbnail": thumbnail(row.item, t),
                "decision": t.gettext(decision_label(row.decision.decision))
                if row.decision
                else None,
                "decision_code": row.decision.decision if row.decision else None,
                "reason": reason_text(row.decision.reason_code, row.decision.reason, t)
                if row.decision
                else "",
            }
        )
    return rows


@router.get("/review")
def queue_page(
    request: Request,
    db: DbDep,
    session: ReviewerDep,
    params: Annotated[QueueParams, Depends(queue_params)],
    page: int = 1,
) -> Response:
    """The queue: filters, counts per flag, worst and oldest first, a page at a time."""
    t = translator(request)
    page = max(1, page)
    queue = load_queue(db, session.principal, params.to_filter(), PAGE_SIZE, (page - 1) * PAGE_SIZE)
    carried = params.query_string()
    counts = [
        {
            "code": code,
            "title": flag_title(code, t),
            "count": count,
            "href": "/review?" + params.model_copy(update={"flag": Code(code)}).query_string(),
            "current": params.flag is not None and params.flag.value == code,
        }
        for code, count in queue.counts.items()
    ]
    return render(
        request,
        "queue.html",
        session,
        params=params,
        carried=carried,
        rows=_rows(db, queue, request, session),
        total=queue.total,
        counts=counts,
        page=page,
        pages=max(1, -(-queue.total // PAGE_SIZE)),
        flag_choices=[(code, t.gettext(title)) for code, title in FLAG_TITLES.items()],
        kind_choices=[(k, t.gettext(v)) for k, v in KINDS.items()],
        severity_choices=[(s, t.gettext(v)) for s, v in SEVERITIES.items()],
        done=request.query_params.get("done") == "1",
        approved=request.query_params.get("approved"),
        **_choices(db, session),
    )


@router.get("/review/approve")
def approve_confirmation(
    request: Request,
    db: DbDep,
    session: ReviewerDep,
    params: Annotated[QueueParams, Depends(queue_params)],
) -> Response:
    """Ask before approving every undecided item of the filtered set."""
    undecided = params.model_copy(update={"decided": "no"})
    query = queue_query(session.principal, undecided.to_filter()).order_by(None)
    count = len(db.execute(query.with_only_columns(query.selected_columns[0])).all())
    return render(
        request,
        "approve.html",
        session,
        params=undecided,
        carried=undecided.query_string(),
        count=count,
    )


@router.post("/review/approve")
async def approve_submit(
    request: Request,
    db: DbDep,
    session: Annotated[SignedIn, Depends(signed_in_form)],
    expected: Annotated[int, Form(ge=0)],
    queue: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve the confirmed set; if it changed meanwhile nothing is approved."""
    if session.principal.role is Role.TEACHER:
        return render(request, "error.html", None, status=404, status_code=404, detail="")
    params = QueueParams.from_query_string(queue)
    try:
        approved = approve_all(db, session.principal, params.to_filter(), expected)
    except BuktiError:
        t = translator(request)
        return render(
            request,
            "approve.html",
            session,
            status=409,
            params=params,
            carried=params.query_string(),
            count=None,
            error=t.gettext("The list changed meanwhile: nothing was approved. Look again."),
        )
    return see_other(f"/review?{params.query_string()}&approved={approved}")

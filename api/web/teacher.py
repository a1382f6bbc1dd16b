"""A teacher's minimal view of their own items: status, flags in plain words, decisions
with their reasons, and which ones a reviewer asked to replace (the teacher's full page,
for the day's evidence and receipts, builds on this one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from api.deps import DbDep
from api.flag_views import flag_title, related_items, render_flag
from api.review import decisions_of
from api.web.deps import needs_role
from api.web.items import decision_label, picture_src, reason_text
from api.web.render import render, translator
from api.web.sessions import SignedIn
from evidence.review import Decision
from evidence.status import Role
from storage.models import Evidence, School, Teacher

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
TeacherDep = Annotated[SignedIn, needs_role(Role.TEACHER)]


@router.get("/my")
def my_items(request: Request, db: DbDep, session: TeacherDep, page: int = 1) -> Response:
    """The teacher's items, newest first, each with its flags and the decision that stands."""
    t = translator(request)
    who = session.principal
    page = max(1, page)
    mine = select(Evidence).where(Evidence.teacher_id == who.teacher_id)
    total = db.scalar(select(func.count()).select_from(mine.subquery())) or 0
    items = db.scalars(
        mine.order_by(Evidence.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    zone = (
        db.scalar(select(School.timezone).join(Teacher).where(Teacher.id == who.teacher_id))
        or "Asia/Jakarta"
    )
    rows = []
    for item in items:
        related = related_items(db, item.flags)
        reviews = decisions_of(db, item.id)
        latest = reviews[-1] if reviews else None
        rows.append(
            {
                "item": item,
                "src": picture_src(item),
                "received": t.moment(item.received_at, zone),
                "flags": [
                    (
                        flag_title(f.code, t),
                        render_flag(
                            f,
                            who,
                            related.get(f.related_evidence_id) if f.related_evidence_id else None,
                            t,
                        ),
                    )
                    for f in item.flags
                ],
                "decision": t.gettext(decision_label(latest.decision)) if latest else None,
                "decision_code": latest.decision if latest else None,
                "reason": reason_text(latest.reason_code, latest.reason, t) if latest else "",
                "asked_again": latest is not None and latest.decision == Decision.ASK_AGAIN,
            }
        )
    return render(
        request,
        "my.html",
        session,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )

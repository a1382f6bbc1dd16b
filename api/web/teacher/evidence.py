"""The teacher's items: status, flags in plain words, the decision that stands with its
reason, and which ones a reviewer asked to replace (answered from the item's page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from api.deps import DbDep
from api.flag_views import flag_title, related_items, render_flag
from api.review import decisions_of
from api.web.items import decision_label, reason_text, thumbnail
from api.web.render import translator
from api.web.teacher.context import TeacherDep, render_page, teacher_view
from evidence.review import Decision
from storage.models import Evidence

router = APIRouter()

PAGE_SIZE = 20


@router.get("/evidence")
def my_items(request: Request, db: DbDep, session: TeacherDep, page: int = 1) -> Response:
    """The teacher's items, newest first, each with its flags and the decision that stands."""
    t = translator(request)
    who = session.principal
    view = teacher_view(db, session)
    page = max(1, page)
    mine = select(Evidence).where(Evidence.teacher_id == view.teacher.id)
    total = db.scalar(select(func.count()).select_from(mine.subquery())) or 0
    items = db.scalars(
        mine.order_by(Evidence.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    rows = []
    for item in items:
        related = related_items(db, item.flags)
        reviews = decisions_of(db, item.id)
        latest = reviews[-1] if reviews else None
        rows.append(
            {
                "item": item,
                "thumbnail": thumbnail(item, t),
                "received": t.moment(item.received_at, view.zone),
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
    return render_page(
        request,
        "teacher/evidence.html",
        session,
        tab="evidence",
        view=view,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )

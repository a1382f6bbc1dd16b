"""Who the teacher's pages are for: the signed-in teacher, their school and its today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.flag_views import flag_title
from api.web.csrf import check_form
from api.web.deps import needs_role
from api.web.render import render, translator
from api.web.sessions import SignedIn
from api.web.teacher.words import Words
from evidence.status import Role
from storage.models import Evidence, Review, School, Teacher, User

TeacherDep = Annotated[SignedIn, needs_role(Role.TEACHER)]


async def teacher_form(request: Request, session: TeacherDep) -> SignedIn:
    """A signed-in teacher posting a form that carries their session's CSRF token."""
    await check_form(request, session.csrf_token)
    return session


TeacherFormDep = Annotated[SignedIn, Depends(teacher_form)]


@dataclass(frozen=True)
class TeacherView:
    """The signed-in teacher's records that every page of theirs shows."""

    principal: Principal
    teacher: Teacher
    school: School

    @property
    def zone(self) -> str:
        """The school's time zone: the teacher's day is the school's day."""
        return self.school.timezone

    def now(self) -> datetime:
        """Now, in the school's zone."""
        return datetime.now(ZoneInfo(self.zone))

    def today(self) -> date:
        """Today's date at the school."""
        return self.now().date()


def teacher_view(db: Session, session: SignedIn) -> TeacherView:
    """The records of the signed-in teacher."""
    principal = session.principal
    assert principal.teacher_id is not None, "a teacher user always names their teacher"
    teacher = db.get(Teacher, principal.teacher_id)
    assert teacher is not None
    school = db.get(School, teacher.school_id)
    assert school is not None
    return TeacherView(principal, teacher, school)


def own_item(db: Session, view: TeacherView, evidence_id: int) -> Evidence | None:
    """One of the teacher's own items; None for anyone else's (the page answers 404)."""
    item = db.get(Evidence, evidence_id)
    if item is None or item.teacher_id != view.teacher.id:
        return None
    return item


def reviewer_names(db: Session, reviews: list[Review]) -> dict[int, str]:
    """The names of the people who decided, by user id."""
    ids = {review.reviewer_id for review in reviews}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.name).where(User.id.in_(ids))).all()
    return {user_id: name for user_id, name in rows}


def render_page(
    request: Request, template: str, session: SignedIn, *, status: int = 200, **values: Any
) -> HTMLResponse:
    """Render one of the teacher's templates, with ``words`` and ``flag_title``."""
    t = translator(request)
    return render(
        request,
        template,
        session,
        status=status,
        words=Words(t),
        flag_title=lambda code: flag_title(code, t),
        **values,
    )

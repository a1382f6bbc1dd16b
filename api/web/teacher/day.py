"""The TRK day drafted from its photos: proposed blocks to name, adjust and confirm at once.

The proposal and the confirmation are the API's own (``POST /teachers/{id}/days/{date}/
draft``, called in-process): the page turns the form into the API's body and shows what
it answers, errors included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.auth import Principal
from api.deps import DbDep, ServicesDep
from api.routes.days import DraftConfirmation, DraftProposal, draft_day, get_day
from api.schemas import Category
from api.web.i18n import Translator
from api.web.items import thumbnail
from api.web.render import translator
from api.web.teacher.context import (
    TeacherDep,
    TeacherFormDep,
    TeacherView,
    render_page,
    teacher_view,
)
from bukti.bootstrap import Services
from bukti.errors import InvalidRequestError
from evidence.status import Status
from storage.db import transaction
from storage.models import Evidence

router = APIRouter()

#: empty blocks offered beside the proposed ones, for an activity the photos do not show
SPARE_BLOCKS = 1


class DraftFormError(InvalidRequestError):
    """Raised when the draft's form cannot become the API's body; the text is translated."""


@dataclass
class BlockForm:
    """One activity of the draft as the form shows it."""

    title: str = ""
    start: str = ""
    end: str = ""
    category: str = ""

    @property
    def minutes(self) -> int:
        """Its length, when both times read as HH:MM and the end follows the start."""
        try:
            start = datetime.strptime(self.start, "%H:%M")
            end = datetime.strptime(self.end, "%H:%M")
        except ValueError:
            return 0
        return max(0, int((end - start).total_seconds() // 60))


@dataclass
class DraftForm:
    """The whole draft: its blocks and which block each of the day's items goes to."""

    blocks: list[BlockForm] = field(default_factory=list)
    #: evidence id -> index of its block; items not in the map stay unattached
    assigned: dict[int, int] = field(default_factory=dict)

    @property
    def minutes(self) -> int:
        """The draft's minutes, blocks as typed (overlaps are refused on confirming)."""
        return sum(block.minutes for block in self.blocks)

    @classmethod
    def from_proposal(cls, proposal: DraftProposal) -> DraftForm:
        """The form as the photos propose it."""
        blocks = [
            BlockForm(start=f"{b.start:%H:%M}", end=f"{b.end:%H:%M}") for b in proposal.blocks
        ]
        assigned = {eid: k for k, b in enumerate(proposal.blocks) for eid in b.evidence_ids}
        return cls([*blocks, *(BlockForm() for _ in range(SPARE_BLOCKS))], assigned)

    @classmethod
    def from_form(cls, form: FormData, item_ids: list[int]) -> DraftForm:
        """The form as the teacher sent it."""
        blocks = []
        k = 0
        while f"title_{k}" in form and k < 40:
            title, start, end, category = (
                str(form.get(f"{name}_{k}", "")).strip()
                for name in ("title", "start", "end", "category")
            )
            blocks.append(BlockForm(title, start, end, category))
            k += 1
        assigned = {}
        for evidence_id in item_ids:
            chosen = str(form.get(f"item_{evidence_id}", ""))
            if chosen.isdigit() and int(chosen) < len(blocks):
                assigned[evidence_id] = int(chosen)
        return cls(blocks, assigned)

    def confirmation(self, t: Translator) -> DraftConfirmation:
        """The API's body for this form; DraftFormError says what to fix."""
        chosen = []
        for k, block in enumerate(self.blocks):
            items = sorted(eid for eid, index in self.assigned.items() if index == k)
            if not block.title and not items:
                continue
            if not block.title:
                raise DraftFormError(t.gettext("Give activity %(number)s a title.", number=k + 1))
            chosen.append(
                {
                    "title": block.title,
                    "start": block.start,
                    "end": block.end,
                    "category": block.category or None,
                    "evidence_ids": items,
                }
            )
        if not chosen:
            raise DraftFormError(t.gettext("Name at least one activity to confirm."))
        try:
            return DraftConfirmation.model_validate({"blocks": chosen})
        except ValidationError:
            raise DraftFormError(
                t.gettext("Check the times: each is written HH:MM, for example 07:30.")
            ) from None


def day_items(db: Session, view: TeacherView, ids: list[int]) -> list[Evidence]:
    """The teacher's items with these ids, in the order they were taken."""
    if not ids:
        return []
    items = db.scalars(
        select(Evidence).where(Evidence.id.in_(ids), Evidence.teacher_id == view.teacher.id)
    ).all()
    return sorted(items, key=lambda i: (i.captured_at is None, i.captured_at or 0, i.id))


def _still_checked(db: Session, view: TeacherView, day: date) -> int:
    """The day's items still on their way through the checks (not in the draft yet)."""
    return len(
        db.scalars(
            select(Evidence.id).where(
                Evidence.teacher_id == view.teacher.id,
                Evidence.claimed_date == day,
                Evidence.status.in_([Status.RECEIVED.value, Status.PROCESSING.value]),
            )
        ).all()
    )


def _page(
    request: Request,
    db: Session,
    session: TeacherDep,
    day: date,
    form: DraftForm | None = None,
    error: str | None = None,
    confirmed: int | None = None,
) -> Response:
    view = teacher_view(db, session)
    who = session.principal
    summary = get_day(view.teacher.id, day, request, db, who)
    proposal = draft_day(view.teacher.id, day, request, Response(), db, who, None)
    assert isinstance(proposal, DraftProposal)
    ids = [eid for b in proposal.blocks for eid in b.evidence_ids]
    items = day_items(db, view, [*ids, *proposal.evidence_without_time])
    return render_page(
        request,
        "teacher/day.html",
        session,
        tab="day",
        status=422 if error else 200,
        view=view,
        day=day,
        summary=summary,
        items=items,
        pictures={item.id: thumbnail(item, translator(request)) for item in items},
        form=form or DraftForm.from_proposal(proposal),
        categories=list(Category),
        still_checked=_still_checked(db, view, day),
        error=error,
        confirmed=confirmed,
    )


@router.get("/days/{day}")
def day_page(
    day: date,
    request: Request,
    db: DbDep,
    session: TeacherDep,
    confirmed: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> Response:
    """The day: minutes against the target, its activities, and the draft from its photos."""
    return _page(request, db, session, day, confirmed=confirmed)


@router.post("/days/{day}/draft")
async def confirm_draft(
    day: date, request: Request, services: ServicesDep, session: TeacherFormDep
) -> Response:
    """Create the named activities with their photos, in one action."""
    form = await request.form()
    t = translator(request)
    try:
        created = await run_in_threadpool(
            _confirm, services, request, session.principal, day, form, t
        )
    except InvalidRequestError as exc:
        error = str(exc)
        if not isinstance(exc, DraftFormError):
            error = t.gettext("The day was not confirmed: %(reason)s", reason=error)
        with services.sessions() as db:
            submitted = DraftForm.from_form(form, _item_ids(form))
            return _page(request, db, session, day, submitted, error)
    return RedirectResponse(f"/my/days/{day.isoformat()}?confirmed={created}", status_code=303)


def _confirm(
    services: Services,
    request: Request,
    who: Principal,
    day: date,
    form: FormData,
    t: Translator,
) -> int:
    with transaction(services.sessions) as db:
        assert who.teacher_id is not None
        confirmation = DraftForm.from_form(form, _item_ids(form)).confirmation(t)
        created = draft_day(who.teacher_id, day, request, Response(), db, who, confirmation)
        return len(getattr(created, "activities", []))


def _item_ids(form: FormData) -> list[int]:
    """The items the form assigns (``item_<id>`` fields)."""
    return [int(key[5:]) for key in form if key.startswith("item_") and key[5:].isdigit()]

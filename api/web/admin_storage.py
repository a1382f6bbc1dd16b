"""The storage admin's pages: usage and savings, the retention policy, runs (a dry run, then
its confirmation, then its progress), legal holds, and what the last scrub found."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbDep, ServicesDep
from api.web.account import see_other
from api.web.deps import WrongRoleError, needs_role, signed_in_form
from api.web.i18n import N_
from api.web.render import render, translator
from api.web.sessions import SignedIn
from api.web.words import KINDS as KIND_WORDS
from api.web.words import word
from bukti.errors import BuktiError
from evidence.retention import HoldScope, Outcome, Rule
from evidence.status import Role
from storage import holds, policies, retention
from storage.audit import Actor
from storage.db import transaction
from storage.models import LegalHold, RetentionRemoval, RetentionRun
from storage.scrub import damaged
from storage.usage import DIMENSIONS, Dimension, usage
from workers.broker import RETENTION_APPLY, SCRUB

router = APIRouter(include_in_schema=False)

AdminPageDep = Annotated[SignedIn, needs_role(Role.ADMIN)]
FormDep = Annotated[SignedIn, Depends(signed_in_form)]

KINDS = ("photo", "video", "document", "youtube")
DIMENSION_NAMES = {
    "school": N_("School"),
    "teacher": N_("Teacher"),
    "kind": N_("Kind"),
    "month": N_("Month"),
    "class": N_("Copy"),
}
CLASS_NAMES = {
    "original": N_("original"),
    "rendition": N_("rendition"),
    "sanitised": N_("sanitised copy"),
    "preview": N_("preview"),
    "poster": N_("poster frame"),
}
RUN_STATUSES = {
    "planned": N_("dry run, not applied"),
    "applying": N_("being applied"),
    "applied": N_("applied"),
    "cancelled": N_("cancelled"),
}


def _actor(session: SignedIn) -> Actor:
    return Actor(session.principal.user_id, session.principal.name)


def _admin(session: SignedIn) -> None:
    # a form posted by someone else answers like a page they may not see
    if session.principal.role is not Role.ADMIN:
        raise WrongRoleError


@router.get("/admin/storage")
def storage_page(
    request: Request, db: DbDep, session: AdminPageDep, by: str = "school"
) -> Response:
    """Usage and savings, the policy, the runs, the holds and the damaged objects."""
    t = translator(request)
    dimension: Dimension = next((d for d in DIMENSIONS if d == by), "school")
    rows, total = usage(db, dimension)
    version, rules = policies.active_policy(db)
    runs = db.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(10)).all()
    in_force = db.scalars(
        select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.id.desc())
    ).all()
    names = {"class": CLASS_NAMES, "kind": KIND_WORDS}.get(dimension)
    label = (lambda g: word(names, g, t)) if names else str
    return render(
        request,
        "admin_storage.html",
        session,
        by=dimension,
        dimensions=[(d, t.gettext(DIMENSION_NAMES[d])) for d in DIMENSIONS],
        rows=[{**row.to_json(), "label": label(row.label)} for row in rows],
        total=total.to_json(),
        version=version,
        policy=[
            {
                "kind": kind,
                "original": rules[(kind, Outcome.ACCEPTED)].keep_original_days
                if (kind, Outcome.ACCEPTED) in rules
                else None,
                "copies": rules[(kind, Outcome.ACCEPTED)].keep_copies_years
                if (kind, Outcome.ACCEPTED) in rules
                else None,
                "has_rule": (kind, Outcome.ACCEPTED) in rules,
            }
            for kind in KINDS
        ],
        runs=[_run_view(db, run, t.gettext) for run in runs],
        holds=in_force,
        damaged=damaged(db),
        today=date.today().isoformat(),
        kind_name=lambda k: word(KIND_WORDS, k, t),
        notice=request.query_params.get("notice", ""),
    )


def _run_view(db: Session, run: RetentionRun, gettext: Any) -> dict[str, Any]:
    progress = retention.run_progress(db, run.id)
    return {
        "run": run,
        "status": gettext(RUN_STATUSES.get(run.status, run.status)),
        "progress": progress,
        "percent": 100 * progress["done"] // progress["planned"] if progress["planned"] else 100,
    }


def _days(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    number = int(value)
    if not 0 <= number <= 36_500:
        raise ValueError(value)
    return number


@router.post("/admin/storage/policy")
async def policy_submit(request: Request, db: DbDep, session: FormDep) -> Response:
    """A new version of the policy from the form: accepted items' rules per kind; the rules
    for other outcomes stay as they are."""
    _admin(session)
    form = await request.form()
    _, current = policies.active_policy(db)
    rules = [rule for key, rule in current.items() if key[1] is not Outcome.ACCEPTED]
    try:
        for kind in KINDS:
            if form.get(f"{kind}-keep") != "on":
                continue
            rules.append(
                Rule(
                    kind,
                    Outcome.ACCEPTED,
                    _days(str(form.get(f"{kind}-original", ""))),
                    _days(str(form.get(f"{kind}-copies", ""))),
                )
            )
    except ValueError:
        return see_other("/admin/storage?notice=bad-number")
    policies.set_policy(db, rules, _actor(session))
    return see_other("/admin/storage?notice=policy")


@router.post("/admin/storage/runs")
def plan_submit(db: DbDep, session: FormDep, as_of: Annotated[date, Form()]) -> Response:
    """A dry run; its report is shown with a button to apply it."""
    _admin(session)
    run = retention.plan_run(db, as_of, _actor(session))
    return see_other(f"/admin/storage/runs/{run.id}")


@router.get("/admin/storage/runs/{run_id}")
def run_page(request: Request, db: DbDep, session: AdminPageDep, run_id: int) -> Response:
    """A run's report (what, bytes, why) and, until it is applied, its confirmation; while
    it is applied, its progress (the page reloads itself)."""
    t = translator(request)
    run = db.get(RetentionRun, run_id)
    if run is None:
        return render(request, "error.html", session, status=404, status_code=404, detail="")
    removals = db.scalars(
        select(RetentionRemoval)
        .where(RetentionRemoval.run_id == run_id)
        .order_by(RetentionRemoval.id)
        .limit(500)
    ).all()
    return render(
        request,
        "admin_run.html",
        session,
        view=_run_view(db, run, t.gettext),
        removals=removals,
        class_name=lambda k: word(CLASS_NAMES, k, t),
    )


@router.post("/admin/storage/runs/{run_id}/confirm")
def confirm_submit(
    request: Request, services: ServicesDep, session: FormDep, run_id: int
) -> Response:
    """Apply a dry run: the workers do it, the page shows how far they are."""
    _admin(session)
    # committed before the job is queued: the worker must find the run confirmed
    with transaction(services.sessions) as db:
        retention.confirm_run(db, run_id, _actor(session))
    request.app.state.enqueue.job(RETENTION_APPLY, run_id)
    return see_other(f"/admin/storage/runs/{run_id}")


@router.post("/admin/storage/holds")
def hold_submit(
    db: DbDep,
    services: ServicesDep,
    session: FormDep,
    scope: Annotated[HoldScope, Form()],
    reason: Annotated[str, Form(max_length=2000)],
    target: Annotated[str, Form(max_length=20)] = "",
    date_from: Annotated[str, Form(max_length=10)] = "",
    date_to: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Place a legal hold."""
    _admin(session)
    try:
        number = int(target) if target.strip() else None
        choices: dict[HoldScope, dict[str, Any]] = {
            HoldScope.EVIDENCE: {"evidence_id": number},
            HoldScope.TEACHER: {"teacher_id": number},
            HoldScope.SCHOOL: {"school_id": number},
            HoldScope.DATES: {
                "school_id": number,
                "date_from": date.fromisoformat(date_from) if date_from else None,
                "date_to": date.fromisoformat(date_to) if date_to else None,
            },
        }
        fields = choices[scope]
        holds.place_hold(
            db, holds.HoldRequest(scope, reason, **fields), _actor(session), services.store
        )
    except (ValueError, BuktiError):
        return see_other("/admin/storage?notice=bad-hold#holds")
    return see_other("/admin/storage?notice=hold#holds")


@router.post("/admin/storage/holds/{hold_id}/release")
def release_submit(
    db: DbDep,
    services: ServicesDep,
    session: FormDep,
    hold_id: int,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    """Release a legal hold."""
    _admin(session)
    holds.release_hold(db, hold_id, reason, _actor(session), services.store)
    return see_other("/admin/storage?notice=released#holds")


@router.post("/admin/storage/restore")
def restore_submit(
    services: ServicesDep,
    session: FormDep,
    evidence_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
) -> Response:
    """Bring back an item's copies removed by retention, while the trash holds them."""
    _admin(session)
    try:
        with transaction(services.sessions) as db:
            retention.restore_item(db, services.store, evidence_id, _actor(session))
    except BuktiError:
        return see_other("/admin/storage?notice=not-restored#runs")
    return see_other("/admin/storage?notice=restored#runs")


@router.post("/admin/storage/scrub")
def scrub_submit(
    request: Request, session: FormDep, sample: Annotated[int, Form(ge=0, le=10_000_000)] = 0
) -> Response:
    """Queue a scrub of a sample (0: everything)."""
    _admin(session)
    request.app.state.enqueue.job(SCRUB, sample)
    return see_other("/admin/storage?notice=scrub#integrity")

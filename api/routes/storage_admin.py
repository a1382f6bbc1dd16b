"""The storage admin's API: usage and savings, retention policies and runs, legal holds,
restores and scrubs. Every route needs the admin role."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import AdminDep, DbDep, ServicesDep
from api.schemas import RecordId, Text
from bukti.errors import NotFoundError
from evidence.retention import HoldScope, Outcome, Rule
from storage import holds, policies, retention
from storage.audit import Actor
from storage.db import transaction
from storage.models import (
    Evidence,
    EvidenceObject,
    LegalHold,
    RetentionRemoval,
    RetentionRun,
    School,
    Teacher,
)
from storage.scrub import damaged
from storage.usage import DIMENSIONS, Dimension, usage
from workers.broker import RETENTION_APPLY, SCRUB

router = APIRouter(prefix="/api/v1/storage", tags=["storage"])

Reason = Annotated[Text, Field(min_length=1, max_length=2000)]


def _actor(who: Principal) -> Actor:
    return Actor(who.user_id, who.name)


class UsageRowOut(BaseModel):
    """One group's figures (see storage.usage): ``group`` is its id or name."""

    group: str
    label: str
    items: int
    received_bytes: int
    held_bytes: int
    referenced_bytes: int
    saved_by_dedup_bytes: int
    saved_by_renditions_bytes: int
    removed_bytes: int


class UsageOut(BaseModel):
    """Usage and savings by one dimension, with the total over every item."""

    by: str
    rows: list[UsageRowOut]
    total: UsageRowOut


@router.get("/usage", response_model=UsageOut)
def get_usage(
    db: DbDep,
    who: AdminDep,
    by: Annotated[Dimension, Query(description=f"one of {', '.join(DIMENSIONS)}")] = "school",
) -> UsageOut:
    """Bytes received, held, saved by deduplication and by renditions, and removed, per
    school, teacher, kind, month or object class."""
    rows, total = usage(db, by)
    return UsageOut(
        by=by,
        rows=[UsageRowOut(**row.to_json()) for row in rows],
        total=UsageRowOut(**total.to_json()),
    )


# --- policy ---------------------------------------------------------------------------------


class RuleIO(BaseModel):
    """How long one kind's items of one outcome keep their copies (null: for ever)."""

    kind: Annotated[str, Field(pattern="^(photo|video|document|youtube)$")]
    outcome: Outcome
    keep_original_days: Annotated[int | None, Field(ge=0, le=36_500)] = None
    keep_copies_years: Annotated[int | None, Field(ge=0, le=100)] = None


class PolicyOut(BaseModel):
    """The policy in force: its version and rules. Kinds and outcomes without a rule keep
    everything."""

    version: int
    rules: list[RuleIO]


class PolicyIn(BaseModel):
    """A whole new policy: it becomes the next version."""

    rules: list[RuleIO] = Field(max_length=50)


def _policy_out(db: DbDep) -> PolicyOut:
    version, rules = policies.active_policy(db)
    return PolicyOut(
        version=version,
        rules=[
            RuleIO(
                kind=r.kind,
                outcome=r.outcome,
                keep_original_days=r.keep_original_days,
                keep_copies_years=r.keep_copies_years,
            )
            for r in sorted(rules.values(), key=lambda r: (r.kind, r.outcome))
        ],
    )


@router.get("/retention/policy", response_model=PolicyOut)
def get_policy(db: DbDep, who: AdminDep) -> PolicyOut:
    """The retention policy in force."""
    return _policy_out(db)


@router.put("/retention/policy", response_model=PolicyOut)
def put_policy(body: PolicyIn, db: DbDep, who: AdminDep) -> PolicyOut:
    """Replace the policy: a new version, the old ones kept on record; an audit event."""
    rules = [Rule(r.kind, r.outcome, r.keep_original_days, r.keep_copies_years) for r in body.rules]
    policies.set_policy(db, rules, _actor(who))
    return _policy_out(db)


# --- runs -----------------------------------------------------------------------------------


class RunIn(BaseModel):
    """A dry run as of a day (today when not given)."""

    as_of: date | None = None


class RunOut(BaseModel):
    """A retention run and how far it is."""

    id: int
    status: str
    as_of: date
    policy_version: int
    planned_by: str
    planned_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any]
    progress: dict[str, int]


class RemovalOut(BaseModel):
    """One line of a run's report."""

    evidence_id: int
    klass: str = Field(serialization_alias="class")
    size_bytes: int
    reason: str
    outcome: str | None
    done_at: datetime | None


def _run_out(db: Session, run: RetentionRun) -> RunOut:
    return RunOut(
        id=run.id,
        status=run.status,
        as_of=run.as_of,
        policy_version=run.policy_version,
        planned_by=run.planned_by,
        planned_at=run.planned_at,
        confirmed_by=run.confirmed_by,
        confirmed_at=run.confirmed_at,
        finished_at=run.finished_at,
        summary=run.summary,
        progress=retention.run_progress(db, run.id),
    )


def _run(db: Session, run_id: int) -> RetentionRun:
    run = db.get(RetentionRun, run_id)
    if run is None:
        raise NotFoundError(f"retention run {run_id} not found")
    return run


@router.post("/retention/runs", status_code=201, response_model=RunOut)
def plan_run(body: RunIn, db: DbDep, who: AdminDep) -> RunOut:
    """A dry run: what the policy lets go, how many bytes, and why; nothing is removed."""
    run = retention.plan_run(db, body.as_of or date.today(), _actor(who))
    return _run_out(db, run)


@router.get("/retention/runs", response_model=list[RunOut])
def list_runs(db: DbDep, who: AdminDep) -> list[RunOut]:
    """The runs, newest first (the last 50)."""
    runs = db.scalars(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(50))
    return [_run_out(db, run) for run in runs]


@router.get("/retention/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RecordId, db: DbDep, who: AdminDep) -> RunOut:
    """One run, with its progress."""
    return _run_out(db, _run(db, run_id))


@router.get("/retention/runs/{run_id}/removals", response_model=list[RemovalOut])
def list_removals(
    run_id: RecordId,
    db: DbDep,
    who: AdminDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RemovalOut]:
    """The run's report: each copy it lets go, its bytes and why, and what became of it."""
    _run(db, run_id)
    rows = db.scalars(
        select(RetentionRemoval)
        .where(RetentionRemoval.run_id == run_id)
        .order_by(RetentionRemoval.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        RemovalOut(
            evidence_id=r.evidence_id,
            klass=r.klass,
            size_bytes=r.size_bytes,
            reason=r.reason,
            outcome=r.outcome,
            done_at=r.done_at,
        )
        for r in rows
    ]


@router.post("/retention/runs/{run_id}/confirm", status_code=202, response_model=RunOut)
def confirm_run(run_id: RecordId, request: Request, who: AdminDep, services: ServicesDep) -> RunOut:
    """Confirm a dry run: the workers apply it (resumable; see its progress)."""
    # committed before the job is queued: the worker must find the run confirmed
    with transaction(services.sessions) as db:
        retention.confirm_run(db, run_id, _actor(who))
    request.app.state.enqueue.job(RETENTION_APPLY, run_id)
    with services.sessions() as db:
        return _run_out(db, _run(db, run_id))


# --- holds ----------------------------------------------------------------------------------


class HoldIn(BaseModel):
    """A legal hold: on an item, a teacher, a school, or the items of a range of days
    (optionally of one school)."""

    scope: HoldScope
    reason: Reason
    evidence_id: RecordId | None = None
    teacher_id: RecordId | None = None
    school_id: RecordId | None = None
    date_from: date | None = None
    date_to: date | None = None


class HoldOut(HoldIn):
    """A hold, who placed it and when, and its release if released."""

    id: int
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None


class ReleaseIn(BaseModel):
    """Why a hold ends."""

    reason: Reason


def _hold_out(hold: LegalHold) -> HoldOut:
    return HoldOut(
        id=hold.id,
        scope=HoldScope(hold.scope),
        reason=hold.reason,
        evidence_id=hold.evidence_id,
        teacher_id=hold.teacher_id,
        school_id=hold.school_id,
        date_from=hold.date_from,
        date_to=hold.date_to,
        placed_by=hold.placed_by,
        placed_at=hold.placed_at,
        released_by=hold.released_by,
        released_at=hold.released_at,
        release_reason=hold.release_reason,
    )


@router.post("/holds", status_code=201, response_model=HoldOut)
def place_hold(body: HoldIn, db: DbDep, who: AdminDep, services: ServicesDep) -> HoldOut:
    """Place a legal hold: no retention run removes what it covers until it is released."""
    request = holds.HoldRequest(**body.model_dump())
    _check_targets(db, request)
    hold = holds.place_hold(db, request, _actor(who), services.store)
    return _hold_out(hold)


def _check_targets(db: DbDep, request: holds.HoldRequest) -> None:
    for model, value, name in (
        (Evidence, request.evidence_id, "evidence"),
        (Teacher, request.teacher_id, "teacher"),
        (School, request.school_id, "school"),
    ):
        if value is not None and db.get(model, value) is None:
            raise NotFoundError(f"{name} {value} not found")


@router.get("/holds", response_model=list[HoldOut])
def list_holds(
    db: DbDep, who: AdminDep, released: Annotated[bool, Query()] = False
) -> list[HoldOut]:
    """Holds in force (or, with ``released=true``, every hold), newest first."""
    query = select(LegalHold).order_by(LegalHold.id.desc())
    if not released:
        query = query.where(LegalHold.released_at.is_(None))
    return [_hold_out(hold) for hold in db.scalars(query)]


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(
    hold_id: RecordId, body: ReleaseIn, db: DbDep, who: AdminDep, services: ServicesDep
) -> HoldOut:
    """Release a hold, saying why; an audit event."""
    released = holds.release_hold(db, hold_id, body.reason, _actor(who), services.store)
    return _hold_out(released)


# --- restore --------------------------------------------------------------------------------


class RestoredOut(BaseModel):
    """The copies brought back."""

    evidence_id: int
    restored: list[dict[str, Any]]
    stored_bytes: int | None


@router.post("/evidence/{evidence_id}/restore", response_model=RestoredOut)
def restore(evidence_id: RecordId, db: DbDep, who: AdminDep, services: ServicesDep) -> RestoredOut:
    """Bring back an item's copies that retention removed, while the trash holds them."""
    copies = retention.restore_item(db, services.store, evidence_id, _actor(who))
    item = db.get_one(Evidence, evidence_id)
    return RestoredOut(
        evidence_id=evidence_id,
        restored=[{"class": c.klass, "key": c.key, "size_bytes": c.size_bytes} for c in copies],
        stored_bytes=item.stored_bytes,
    )


# --- integrity ------------------------------------------------------------------------------


class ScrubIn(BaseModel):
    """How many objects to verify, least recently verified first (0: all)."""

    sample: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class DamagedOut(BaseModel):
    """An archived object the last scrub found missing or altered."""

    key: str
    klass: str = Field(serialization_alias="class")
    size_bytes: int
    damage: str
    evidence_ids: list[int]


@router.post("/scrub", status_code=202)
def start_scrub(body: ScrubIn, request: Request, who: AdminDep) -> dict[str, int]:
    """Queue a scrub: the workers read objects back and compare them with their SHA-256."""
    request.app.state.enqueue.job(SCRUB, body.sample)
    return {"sample": body.sample}


@router.get("/damaged", response_model=list[DamagedOut])
def list_damaged(db: DbDep, who: AdminDep) -> list[DamagedOut]:
    """Objects found missing or altered, with the items that use them."""
    found = []
    for held in damaged(db):
        users = db.scalars(
            select(EvidenceObject.evidence_id).where(
                EvidenceObject.object_id == held.id, EvidenceObject.released_at.is_(None)
            )
        )
        found.append(
            DamagedOut(
                key=held.key,
                klass=held.klass,
                size_bytes=held.size_bytes,
                damage=held.damage or "",
                evidence_ids=list(users),
            )
        )
    return found

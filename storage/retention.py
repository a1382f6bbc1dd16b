"""Retention as the storage admin runs it: policies as versioned data, runs, restores.

A run is planned first (:func:`plan_run`, the dry run): its removals are the report of what
would go, how many bytes, and why. Nothing is removed until it is confirmed
(:func:`confirm_run`) and applied (:func:`apply_run`), one item per transaction: a run that
stops is applied again from where it stopped, and applying it twice removes nothing twice.
Holds are read again for each item as it is applied, so a hold placed after the dry run
still wins. The rules themselves are pure, in :mod:`evidence.retention`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bukti.errors import ConflictError, NotFoundError
from evidence.retention import (
    expired_copies,
    holds_covering,
)
from storage import objects
from storage.audit import Actor, Entry, append, append_many
from storage.backend import ObjectStore
from storage.db import transaction
from storage.holds import holds_in_force, is_item_held
from storage.models import (
    ArchiveObject,
    Evidence,
    EvidenceObject,
    RetentionRemoval,
    RetentionRun,
    Teacher,
    utcnow,
)
from storage.policies import active_policy
from storage.retained import retained_items

PLANNED = "planned"
APPLYING = "applying"
APPLIED = "applied"
CANCELLED = "cancelled"

Progress = Callable[[int, int], None]


# --- runs -----------------------------------------------------------------------------------


def plan_run(session: Session, as_of: date, actor: Actor) -> RetentionRun:
    """The dry run: record what the policy in force lets go on ``as_of``, and why; nothing is
    removed. Held items are left out and counted."""
    version, rules = active_policy(session)
    holds = holds_in_force(session)
    run = RetentionRun(
        status=PLANNED,
        as_of=as_of,
        policy_version=version,
        planned_by=actor.name,
        planned_at=utcnow(),
        summary={},
    )
    session.add(run)
    session.flush()
    held_items = held_bytes = 0
    planned_by_object: dict[int, int] = defaultdict(int)
    sizes: dict[int, int] = {}
    for item in retained_items(session):
        expired = expired_copies(item, rules, as_of, version)
        if not expired:
            continue
        if holds_covering(item, holds):
            held_items += 1
            held_bytes += sum(e.copy.size_bytes for e in expired)
            continue
        for expiry in expired:
            planned_by_object[expiry.copy.object_id] += 1
            sizes[expiry.copy.object_id] = expiry.copy.size_bytes
            session.add(
                RetentionRemoval(
                    run_id=run.id,
                    evidence_id=item.evidence_id,
                    object_id=expiry.copy.object_id,
                    klass=expiry.copy.klass,
                    size_bytes=expiry.copy.size_bytes,
                    reason=expiry.reason,
                )
            )
    session.flush()
    # bytes actually freed: objects whose every user is in this run
    freed = sum(
        sizes[object_id]
        for object_id, count in planned_by_object.items()
        if objects.users_of(session, object_id) <= count
    )
    run.summary = {"held_items": held_items, "held_bytes": held_bytes, "freed_bytes": freed}
    append(
        session,
        actor,
        "retention.planned",
        f"retention_run:{run.id}",
        data={"as_of": as_of, "policy_version": version, **run.summary},
    )
    return run


SCHEDULE = Actor.system("schedule")


def plan_scheduled_run(session: Session, today: date) -> RetentionRun | None:
    """The day's scheduled dry run, once a day (None when it is planned already); an admin
    reviews and confirms it like any other."""
    planned = session.scalar(
        select(RetentionRun.id).where(
            RetentionRun.as_of == today, RetentionRun.planned_by == SCHEDULE.name
        )
    )
    if planned is not None:
        return None
    return plan_run(session, today, SCHEDULE)


def confirm_run(session: Session, run_id: int, actor: Actor) -> RetentionRun:
    """Confirm a planned run: from now on it may be applied."""
    run = session.get(RetentionRun, run_id, with_for_update=True)
    if run is None:
        raise NotFoundError(f"retention run {run_id} not found")
    if run.status == APPLIED or run.status == CANCELLED:
        raise ConflictError(f"retention run {run_id} is {run.status}")
    if run.status == PLANNED:
        run.status = APPLYING
        run.confirmed_by = actor.name
        run.confirmed_at = utcnow()
        append(session, actor, "retention.confirmed", f"retention_run:{run.id}")
    return run


def apply_run(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    run_id: int,
    trash_days: int,
    actor: Actor,
    progress: Progress | None = None,
) -> RetentionRun:
    """Apply a confirmed run, one item per transaction; resumes where it stopped."""
    with sessions() as session:
        run = session.get(RetentionRun, run_id)
        if run is None:
            raise NotFoundError(f"retention run {run_id} not found")
        if run.status not in (APPLYING, APPLIED):
            raise ConflictError(f"retention run {run_id} is {run.status}: confirm it first")
        pending = list(
            session.scalars(
                select(RetentionRemoval.evidence_id)
                .where(RetentionRemoval.run_id == run_id, RetentionRemoval.done_at.is_(None))
                .distinct()
                .order_by(RetentionRemoval.evidence_id)
            )
        )
        total_items = _count_items(session, run_id)
    done_items = total_items - len(pending)
    if progress:
        progress(done_items, total_items)
    for evidence_id in pending:
        with transaction(sessions) as session:
            _apply_item(session, store, run_id, evidence_id, trash_days, actor)
        done_items += 1
        if progress:
            progress(done_items, total_items)
    with transaction(sessions) as session:
        run = session.get_one(RetentionRun, run_id, with_for_update=True)
        if run.status != APPLIED:
            run.status = APPLIED
            run.finished_at = utcnow()
            purged = objects.purge_trash(session, store, utcnow())
            append(
                session,
                actor,
                "retention.applied",
                f"retention_run:{run.id}",
                data={**run_progress(session, run_id), "trash_purged": [o.key for o in purged]},
            )
        session.flush()
        session.expunge(run)
    return run


def _count_items(session: Session, run_id: int) -> int:
    count = session.scalar(
        select(func.count(func.distinct(RetentionRemoval.evidence_id))).where(
            RetentionRemoval.run_id == run_id
        )
    )
    return int(count or 0)


def _apply_item(
    session: Session,
    store: ObjectStore,
    run_id: int,
    evidence_id: int,
    trash_days: int,
    actor: Actor,
) -> None:
    item = session.get_one(Evidence, evidence_id, with_for_update=True)
    removals = session.scalars(
        select(RetentionRemoval).where(
            RetentionRemoval.run_id == run_id,
            RetentionRemoval.evidence_id == evidence_id,
            RetentionRemoval.done_at.is_(None),
        )
    ).all()
    now = utcnow()
    held = is_item_held(session, evidence_id)
    entries: list[Entry] = []
    school_id = session.scalar(select(Teacher.school_id).where(Teacher.id == item.teacher_id))
    for removal in removals:
        removal.done_at = now
        if held:
            removal.outcome = "held"
            continue
        link = session.scalars(
            select(EvidenceObject).where(
                EvidenceObject.evidence_id == evidence_id,
                EvidenceObject.object_id == removal.object_id,
                EvidenceObject.released_at.is_(None),
            )
        ).one_or_none()
        if link is None:
            removal.outcome = "gone"
            continue
        freed = objects.release(session, store, link, now, trash_days, run_id)
        removal.outcome = "removed" if freed else "shared"
        key = session.get_one(ArchiveObject, removal.object_id).key
        entries.append(
            Entry(
                actor,
                "retention.removed",
                f"evidence:{evidence_id}",
                evidence_id,
                school_id,
                {
                    "run": run_id,
                    "key": key,
                    "class": removal.klass,
                    "bytes": removal.size_bytes,
                    "reason": removal.reason,
                    "object_removed": freed,
                },
            )
        )
    objects.refresh_stored_bytes(session, item)
    append_many(session, entries)


def run_progress(session: Session, run_id: int) -> dict[str, int]:
    """How far a run is: removals planned and done, bytes planned and removed, by outcome."""
    rows = session.execute(
        select(
            RetentionRemoval.outcome,
            func.count(RetentionRemoval.id),
            func.coalesce(func.sum(RetentionRemoval.size_bytes), 0),
        )
        .where(RetentionRemoval.run_id == run_id)
        .group_by(RetentionRemoval.outcome)
    ).all()
    figures = {"planned": 0, "planned_bytes": 0, "done": 0}
    for outcome, count, size_bytes in rows:
        figures["planned"] += count
        figures["planned_bytes"] += int(size_bytes)
        if outcome is not None:
            figures["done"] += count
            figures[str(outcome)] = count
            figures[f"{outcome}_bytes"] = int(size_bytes)
    figures["items"] = _count_items(session, run_id)
    return figures


def restore_item(
    session: Session, store: ObjectStore, evidence_id: int, actor: Actor
) -> list[objects.Copy]:
    """Bring back an item's copies released by retention, while the trash still has them."""
    item = session.get(Evidence, evidence_id, with_for_update=True)
    if item is None:
        raise NotFoundError(f"evidence {evidence_id} not found")
    restored = objects.restore(session, store, evidence_id, utcnow())
    if not restored:
        raise ConflictError(
            f"evidence {evidence_id} has no released copy left to restore "
            "(none was removed, or the trash was emptied)"
        )
    school_id = session.scalar(select(Teacher.school_id).where(Teacher.id == item.teacher_id))
    append(
        session,
        actor,
        "retention.restored",
        f"evidence:{evidence_id}",
        evidence_id=evidence_id,
        school_id=school_id,
        data={
            "copies": [{"class": c.klass, "key": c.key, "bytes": c.size_bytes} for c in restored]
        },
    )
    return restored

"""Legal holds: placed and released with a reason and who, each an audit event; while one
is in force nothing it covers is removed. On a store with S3 Object Lock the objects' legal
hold flags follow the holds (:func:`mirror_legal_holds`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bukti.errors import ConflictError, InvalidRequestError, NotFoundError
from evidence.retention import Hold, HoldScope, holds_covering, is_covered
from storage.audit import Actor, append
from storage.backend import ObjectStore
from storage.models import (
    ArchiveObject,
    EvidenceObject,
    LegalHold,
    utcnow,
)
from storage.retained import retained_items


@dataclass(frozen=True)
class HoldRequest:
    """What a new hold covers: exactly the fields its scope needs."""

    scope: HoldScope
    reason: str
    evidence_id: int | None = None
    teacher_id: int | None = None
    school_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def place_hold(
    session: Session, request: HoldRequest, actor: Actor, store: ObjectStore | None = None
) -> LegalHold:
    """Place a legal hold; an audit event says who, what and why. With ``store``, the
    legal hold flag is mirrored onto the objects it covers (S3 Object Lock)."""
    _check_hold(request)
    hold = LegalHold(
        scope=request.scope.value,
        evidence_id=request.evidence_id,
        teacher_id=request.teacher_id,
        school_id=request.school_id,
        date_from=request.date_from,
        date_to=request.date_to,
        reason=request.reason,
        placed_by=actor.name,
        placed_at=utcnow(),
    )
    session.add(hold)
    session.flush()
    mirrored = mirror_legal_holds(session, store, items_covered(session, hold)) if store else 0
    append(
        session,
        actor,
        "hold.placed",
        f"legal_hold:{hold.id}",
        evidence_id=request.evidence_id,
        school_id=request.school_id,
        data={**_hold_json(hold), "objects_flagged": mirrored},
    )
    return hold


def _check_hold(request: HoldRequest) -> None:
    if not request.reason.strip():
        raise InvalidRequestError("a hold needs a reason")
    needs = {
        HoldScope.EVIDENCE: ("evidence_id", request.evidence_id),
        HoldScope.TEACHER: ("teacher_id", request.teacher_id),
        HoldScope.SCHOOL: ("school_id", request.school_id),
    }
    if request.scope in needs:
        name, value = needs[request.scope]
        if value is None:
            raise InvalidRequestError(f"a hold on a {request.scope.value} needs {name}")
        return
    if request.date_from is None and request.date_to is None:
        raise InvalidRequestError("a hold on dates needs date_from, date_to or both")
    if request.date_from and request.date_to and request.date_from > request.date_to:
        raise InvalidRequestError("date_from is after date_to")


def release_hold(
    session: Session,
    hold_id: int,
    reason: str,
    actor: Actor,
    store: ObjectStore | None = None,
) -> LegalHold:
    """Release a hold: what it covered may be removed again by the next run."""
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFoundError(f"legal hold {hold_id} not found")
    if hold.released_at is not None:
        raise ConflictError(f"legal hold {hold_id} was released already")
    if not reason.strip():
        raise InvalidRequestError("releasing a hold needs a reason")
    hold.released_at = utcnow()
    hold.released_by = actor.name
    hold.release_reason = reason
    session.flush()
    mirrored = mirror_legal_holds(session, store, items_covered(session, hold)) if store else 0
    append(
        session,
        actor,
        "hold.released",
        f"legal_hold:{hold.id}",
        evidence_id=hold.evidence_id,
        school_id=hold.school_id,
        data={**_hold_json(hold), "release_reason": reason, "objects_unflagged": mirrored},
    )
    return hold


def _hold_json(hold: LegalHold) -> dict[str, object]:
    return {
        "scope": hold.scope,
        "evidence_id": hold.evidence_id,
        "teacher_id": hold.teacher_id,
        "school_id": hold.school_id,
        "date_from": hold.date_from,
        "date_to": hold.date_to,
        "reason": hold.reason,
    }


def holds_in_force(session: Session) -> list[Hold]:
    """Every hold not released."""
    rows = session.scalars(select(LegalHold).where(LegalHold.released_at.is_(None)))
    return [
        Hold(
            row.id,
            HoldScope(row.scope),
            row.evidence_id,
            row.teacher_id,
            row.school_id,
            row.date_from,
            row.date_to,
        )
        for row in rows
    ]


def is_item_held(session: Session, evidence_id: int) -> bool:
    """True when a hold in force covers the item."""
    found = retained_items(session, [evidence_id], with_copies=False)
    return bool(found) and bool(holds_covering(found[0], holds_in_force(session)))


def mirror_legal_holds(session: Session, store: ObjectStore, evidence_ids: list[int]) -> int:
    """Set the legal hold flag of these items' objects to whether any hold in force covers
    any item that uses them; returns how many flags changed."""
    if not store.has_object_lock or not evidence_ids:
        return 0
    holds = holds_in_force(session)
    held_objects = session.scalars(
        select(ArchiveObject)
        .join(EvidenceObject, EvidenceObject.object_id == ArchiveObject.id)
        .where(
            EvidenceObject.evidence_id.in_(evidence_ids),
            EvidenceObject.released_at.is_(None),
            ArchiveObject.removed_at.is_(None),
        )
        .distinct()
    ).all()
    changed = 0
    for held in held_objects:
        users = list(
            session.scalars(
                select(EvidenceObject.evidence_id).where(
                    EvidenceObject.object_id == held.id, EvidenceObject.released_at.is_(None)
                )
            )
        )
        should_hold = any(
            holds_covering(user, holds)
            for user in retained_items(session, users, with_copies=False)
        )
        if should_hold != held.legal_hold:
            store.set_legal_hold(held.key, should_hold)
            held.legal_hold = should_hold
            changed += 1
    return changed


def items_covered(session: Session, hold: LegalHold) -> list[int]:
    """The items a hold covers."""
    rule = Hold(
        hold.id,
        HoldScope(hold.scope),
        hold.evidence_id,
        hold.teacher_id,
        hold.school_id,
        hold.date_from,
        hold.date_to,
    )
    if rule.scope is HoldScope.EVIDENCE and rule.evidence_id is not None:
        return [rule.evidence_id]
    return [
        i.evidence_id for i in retained_items(session, with_copies=False) if is_covered(i, rule)
    ]

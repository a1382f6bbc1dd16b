"""An evidence item's lifecycle outside its job: where its files are, its event log,
and the three ways it can end early or start again (rejected, failed, requeued).

The API and the command line reach it through :mod:`bukti.operations`, so it imports no
media libraries.
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bukti.bootstrap import Services
from evidence.status import Kind, Status
from storage.db import transaction
from storage.models import Evidence, utcnow
from storage.repositories import add_event

log = logging.getLogger(__name__)


def staged_path(services: Services, evidence_id: int) -> Path:
    """Where the API left the upload for the workers."""
    return services.settings.incoming_dir / str(evidence_id)


def work_dir(services: Services, evidence_id: int) -> Path:
    """Scratch directory of one item."""
    return services.settings.work_dir / str(evidence_id)


def reject(services: Services, evidence_id: int, step: str, reason: str) -> None:
    """End an item as `rejected` with a reason, leaving nothing of it in storage."""
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update=True)
        if item is None or Status(item.status).is_terminal:
            return
        item.status = Status.REJECTED
        item.reason = reason
        item.processed_at = utcnow()
        item.lease_owner = item.lease_until = item.next_attempt_at = None
        add_event(session, evidence_id, step, "rejected", reason)
        keys = _unshared_keys(session, item)
        item.original_key = item.rendition_key = None
    _delete_objects(services, keys)
    staged_path(services, evidence_id).unlink(missing_ok=True)
    shutil.rmtree(work_dir(services, evidence_id), ignore_errors=True)


def fail(
    services: Services,
    evidence_id: int,
    reason: str,
    failure_reason: str,
    retry_at: datetime | None,
    owner: str | None = None,
) -> bool:
    """End an item as `failed` with a sentence a teacher reads; the upload is kept for a retry.

    ``failure_reason`` is the class (storage, database, ...); ``retry_at`` when the sweep
    retries it by itself. With ``owner``, only while that job still holds the item.
    """
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update=True)
        if item is None or Status(item.status).is_terminal:
            return False
        if owner is not None and item.lease_owner != owner:
            return False
        item.status = Status.FAILED
        item.reason = reason
        item.failure_reason = failure_reason
        item.processed_at = utcnow()
        item.lease_owner = item.lease_until = None
        item.next_attempt_at = retry_at
        add_event(session, evidence_id, "pipeline", "failed", f"{failure_reason}: {reason}")
        keys = _unshared_keys(session, item)
        item.original_key = item.rendition_key = None
    # archived copies go (nothing partial stays in storage); the staged upload stays for a retry
    _delete_objects(services, keys)
    shutil.rmtree(work_dir(services, evidence_id), ignore_errors=True)
    return True


def can_restart(services: Services, item: Evidence) -> bool:
    """True when the item can go through the pipeline again: its upload is still staged
    (a link without an archived download needs none)."""
    if item.kind == Kind.YOUTUBE and item.original_key is None:
        return True
    return staged_path(services, item.id).exists()


def requeue(services: Services, evidence_id: int, reason: str, *, automatic: bool = False) -> bool:
    """Put a failed or stranded item back at the start of a new round; False if it cannot be.

    ``automatic`` counts the retry as the sweep's own (its backoff grows with each).
    """
    with transaction(services.sessions) as session:
        item = session.get(Evidence, evidence_id, with_for_update=True)
        if item is None or item.status in (Status.ACCEPTED, Status.FLAGGED, Status.REJECTED):
            return False
        if not can_restart(services, item):
            return False
        if automatic:
            item.auto_retries += 1
        else:
            item.auto_retries = 0
        item.status = Status.RECEIVED
        item.reason = None
        item.failure_reason = None
        item.processed_at = None
        item.attempts = 0
        item.lease_owner = item.lease_until = None
        item.next_attempt_at = utcnow()
        add_event(session, evidence_id, "pipeline", "requeued", reason)
    return True


def _unshared_keys(session: Session, item: Evidence) -> list[str]:
    """Archive keys of ``item`` that no other live item points at (keys are content-addressed)."""
    keys = []
    for key in {item.original_key, item.rendition_key} - {None}:
        assert key is not None
        shared = session.scalar(
            select(func.count(Evidence.id)).where(
                Evidence.id != item.id,
                (Evidence.original_key == key) | (Evidence.rendition_key == key),
            )
        )
        if not shared:
            keys.append(key)
    return keys


def _delete_objects(services: Services, keys: list[str]) -> None:
    for key in keys:
        try:
            services.store.delete(key)
        except Exception:  # a leftover object is garbage, not a reason to fail the outcome
            log.exception("could not delete %s", key)

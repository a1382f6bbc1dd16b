"""Finds uploads that were stored but never reached the broker, and queues them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import exists, select

from bukti.bootstrap import Services
from evidence.status import Status
from storage.db import transaction
from storage.models import Evidence, EvidenceEvent, utcnow
from workers.lifecycle import add_event

log = logging.getLogger(__name__)


def mark_queued(services: Services, evidence_id: int) -> None:
    """Note in the item's log that its first step reached the broker."""
    with transaction(services.sessions) as session:
        add_event(session, evidence_id, "upload", "queued")


def requeue_unqueued(
    services: Services, enqueue: Callable[[int], None], older_than_s: int = 60
) -> int:
    """Queue every `received` item older than ``older_than_s`` with no `queued` event."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    queued = exists().where(
        EvidenceEvent.evidence_id == Evidence.id, EvidenceEvent.outcome == "queued"
    )
    with services.sessions() as session:
        ids = session.scalars(
            select(Evidence.id).where(
                Evidence.status == Status.RECEIVED.value,
                Evidence.received_at < cutoff,
                ~queued,
            )
        ).all()
    count = 0
    for evidence_id in ids:
        try:
            enqueue(evidence_id)
        except Exception:
            log.exception("evidence %s still cannot be queued", evidence_id)
            break
        mark_queued(services, evidence_id)
        count += 1
    return count

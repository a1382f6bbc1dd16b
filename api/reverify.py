"""Queueing re-verification when a record that evidence is checked against changes.

Which items a change affects is decided in ``storage.repositories`` (``items_of_day``,
``items_of_activity``, ``items_placed_at_school``, ...): exactly those whose verification
reads what changed. Routes and the command line hand those ids here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from fastapi import Request
from sqlalchemy.orm import Session

from workers.lifecycle import add_event

log = logging.getLogger(__name__)

REVERIFY_STEP = "reverify"

Enqueue = Callable[[int, str], None]


def queue_reverification(request: Request, db: Session, evidence_ids: Iterable[int]) -> None:
    """Queue a re-verification of each item through the app's broker (see :func:`queue_items`)."""
    queue_items(request.app.state.enqueue, db, evidence_ids)


def queue_items(enqueue: Enqueue, db: Session, evidence_ids: Iterable[int]) -> list[int]:
    """Queue a re-verification of each item once; a broker outage is logged on the item.

    The record's change is already saved; an item whose job could not be queued keeps its
    flags until the next change (the event says so). Returns the ids queued.
    """
    queued: list[int] = []
    for evidence_id in dict.fromkeys(evidence_ids):
        try:
            enqueue(evidence_id, REVERIFY_STEP)
            queued.append(evidence_id)
        except Exception:
            log.exception("could not queue re-verification of evidence %s", evidence_id)
            add_event(db, evidence_id, "verify", "not-queued", "the broker was unavailable")
    return queued

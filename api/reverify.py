"""Queueing re-verification when a record that evidence is checked against changes."""

from __future__ import annotations

import logging

from fastapi import Request
from sqlalchemy.orm import Session

from workers.lifecycle import add_event

log = logging.getLogger(__name__)

REVERIFY_STEP = "reverify"


def queue_reverification(request: Request, db: Session, evidence_ids: list[int]) -> None:
    """Queue a re-verification of each item; a broker outage is logged on the item, not fatal.

    The record's change is already saved; an item whose job could not be queued keeps its
    flags until the next change or `bukti reverify` (the event says so).
    """
    for evidence_id in evidence_ids:
        try:
            request.app.state.enqueue(evidence_id, REVERIFY_STEP)
        except Exception:
            log.exception("could not queue re-verification of evidence %s", evidence_id)
            add_event(db, evidence_id, "verify", "not-queued", "the broker was unavailable")

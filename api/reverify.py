"""Queueing re-verification when a record that evidence is checked against changes.

Which items a change affects is decided in ``storage.repositories`` (``items_of_day``,
``items_of_activity``, ``items_placed_at_school``, ...): exactly those whose verification
reads what changed. Routes and the command line hand those ids here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from fastapi import Request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from storage.repositories import add_event

log = logging.getLogger(__name__)

REVERIFY_STEP = "reverify"

Enqueue = Callable[[int, str], None]


def queue_reverification(request: Request, db: Session, evidence_ids: Iterable[int]) -> None:
    """Queue a re-verification of each item through the app's broker (see :func:`queue_items`)."""
    queue_items(request.app.state.enqueue, db, evidence_ids)


def queue_items(enqueue: Enqueue, db: Session, evidence_ids: Iterable[int]) -> list[int]:
    """Queue a re-verification of each item once, when ``db``'s transaction has committed.

    A worker quick to take the job before the commit would verify the item against the
    record as it was; a change rolled back queues nothing. An item whose job could not be
    queued (a broker outage) keeps its flags until the next change, and an event says so.
    Returns the ids to be queued.
    """
    ids = list(dict.fromkeys(evidence_ids))
    if ids:
        bind = db.get_bind()
        event.listen(db, "after_commit", lambda _: _send(enqueue, bind, ids), once=True)
    return ids


def _send(enqueue: Enqueue, bind: Engine | Connection, evidence_ids: list[int]) -> None:
    unqueued: list[int] = []
    for evidence_id in evidence_ids:
        try:
            enqueue(evidence_id, REVERIFY_STEP)
        except Exception:
            log.exception("could not queue re-verification of evidence %s", evidence_id)
            unqueued.append(evidence_id)
    if not unqueued:
        return
    # the change is committed and answered for: a failure to note it is logged, not raised
    try:
        with Session(bind) as session, session.begin():
            for evidence_id in unqueued:
                add_event(
                    session, evidence_id, "verify", "not-queued", "the broker was unavailable"
                )
    except Exception:
        log.exception("could not note the unqueued re-verification of %s", unqueued)

"""What the API and the command line ask of the workers' side, outside any job.

The API imports no worker module but :mod:`workers.broker`, which sends jobs by name. The rest
it needs of an item's lifecycle comes from here: where an upload waits for its job, noting
that the job was queued, retrying failed items, queueing stranded ones again, the sweep the
API runs while it serves, and which workers are alive. ``bukti retry``, ``bukti requeue`` and
``bukti worker --check`` call the same functions.
"""

from __future__ import annotations

import threading
from pathlib import Path

import redis

from bukti.bootstrap import Services
from bukti.settings import Settings
from storage.db import transaction
from storage.repositories import add_event
from workers import lifecycle, liveness, sweeper
from workers.liveness import Beat
from workers.sweeper import Chore, Enqueue
from workers.sweeper import Filters as Filters


def staged_path(services: Services, evidence_id: int) -> Path:
    """Where an upload waits for its job: the API moves it there, the workers read it."""
    return lifecycle.staged_path(services, evidence_id)


def mark_queued(services: Services, evidence_id: int) -> None:
    """Note in the item's log that its job reached the broker."""
    with transaction(services.sessions) as session:
        add_event(session, evidence_id, "upload", "queued")


def retry(services: Services, evidence_id: int, who: str) -> bool:
    """Put one failed item back at the start of the pipeline, its job for the caller to
    queue; False when it cannot go again (its upload is no longer kept)."""
    return lifecycle.requeue(services, evidence_id, f"retry requested by {who}")


def retry_failed(services: Services, enqueue: Enqueue, filters: Filters, who: str) -> list[int]:
    """Send every `failed` item matching ``filters`` through the pipeline again; the ids
    queued, in order of receipt."""
    return sweeper.retry_failed(services, enqueue, filters, who)


def requeue_stranded(
    services: Services, enqueue: Enqueue, older_than_s: float, filters: Filters
) -> tuple[int, int]:
    """Queue again the unfinished items no live job holds, due at least ``older_than_s``
    ago; (queued, failed because their worker died on every attempt)."""
    return sweeper.wake_stranded(services, enqueue, grace_s=older_than_s, filters=filters)


def start_sweeps(
    settings: Settings, enqueue: Enqueue, also: Chore | None = None
) -> threading.Event | None:
    """Run the sweep in a thread of this process until the event is set, and ``also`` after
    each sweep; None when sweeping is switched off."""
    return sweeper.start_sweeps(settings, enqueue, also)


def live_workers(client: redis.Redis, host: str | None = None) -> list[Beat]:
    """The worker processes whose heartbeat has not expired (on ``host`` only, when given)."""
    return liveness.live_workers(client, host)

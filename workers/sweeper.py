"""The sweep: finds stranded items in the database and queues them again.

The queue only wakes workers up; what is due is in the database (see workers.leases). So
every worker process and the API run this sweep every ``sweep_interval_s``: whatever Redis
lost (a flush, a restart with an empty queue, a crash), an item held by no live job and not
picked up within ``pickup_grace_s`` of being due is queued again, in order of receipt. An
item `failed` because a dependency was down (storage, database, network) is retried by
itself once its retry is due (backoff grows with each automatic retry) and the dependency
answers again: the store is probed once a sweep, whatever the number of items waiting. Several sweeps at once only queue
an item twice, which its claim makes harmless.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dramatiq import Broker, Middleware, Worker
from sqlalchemy import select, update

from bukti.bootstrap import Services
from bukti.settings import Settings
from evidence.failures import DEPENDENCY_REASONS, FailureReason, sentence
from evidence.status import Kind, Status
from storage.db import transaction
from storage.models import Evidence, utcnow
from storage.repositories import add_event
from workers import leases, lifecycle

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]
#: more work a process's sweep thread does after each sweep
Chore = Callable[[], object]


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: items queued again, failed items retried, failed items waiting."""

    queued: int = 0
    retried: int = 0
    waiting: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Filters:
    """Which items a sweep, ``bukti requeue`` or ``bukti retry`` looks at (None: any)."""

    teacher_id: int | None = None
    kind: Kind | None = None
    failure_reason: FailureReason | None = None

    def apply(self, query: Any) -> Any:
        """``query`` narrowed by these filters."""
        if self.teacher_id is not None:
            query = query.where(Evidence.teacher_id == self.teacher_id)
        if self.kind is not None:
            query = query.where(Evidence.kind == self.kind.value)
        if self.failure_reason is not None:
            query = query.where(Evidence.failure_reason == self.failure_reason.value)
        return query


def sweep(services: Services, enqueue: Enqueue, grace_s: float | None = None) -> SweepReport:
    """Queue stranded items again and retry items failed by an outage that is over."""
    woken, failed = wake_stranded(services, enqueue, grace_s)
    retried, waiting = retry_after_outages(services, enqueue)
    if woken or retried or failed:
        log.info(
            "sweep: %d stranded item(s) queued again, %d failed item(s) retried, "
            "%d failed after their worker died each time",
            woken,
            retried,
            failed,
        )
    return SweepReport(woken, retried, waiting, failed)


def wake_stranded(
    services: Services,
    enqueue: Enqueue,
    grace_s: float | None = None,
    filters: Filters = Filters(),
) -> tuple[int, int]:
    """Queue again every unfinished item held by no live job and not picked up in time.

    ``grace_s`` 0 wakes every unfinished item not held by a live job (``bukti requeue``).
    An item whose worker died on it on every attempt of its round is failed instead (a file
    that kills its worker must not loop forever). Returns (queued, failed).
    """
    settings = services.settings
    grace = settings.pickup_grace_s if grace_s is None else grace_s
    now = utcnow()
    with services.sessions() as session:
        rows = session.execute(
            filters.apply(
                select(
                    Evidence.id,
                    Evidence.status,
                    Evidence.lease_until,
                    Evidence.next_attempt_at,
                    Evidence.received_at,
                    Evidence.attempts,
                )
                .where(Evidence.status.in_([Status.RECEIVED.value, Status.PROCESSING.value]))
                .order_by(Evidence.id)
            )
        ).all()
    stranded = [
        row
        for row in rows
        if leases.stranded(
            row.status, row.lease_until, row.next_attempt_at, row.received_at, now, grace
        )
    ]
    woken: list[int] = []
    failed = 0
    for row in stranded:
        died = row.lease_until is not None
        if died and row.attempts > settings.max_retries:
            detail = f"its worker stopped on it {row.attempts} times"
            reason = FailureReason.INTERNAL
            if lifecycle.fail(services, row.id, sentence(reason), reason.value, None):
                _log(services, row.id, "stranded", detail)
                failed += 1
            continue
        if _free(services, row.id, "its lease expired: the worker died" if died else ""):
            woken.append(row.id)
    return _send(enqueue, woken), failed


def _free(services: Services, evidence_id: int, why: str) -> bool:
    """Clear an expired lease and make the item due now; False when a job holds it again."""
    now = utcnow()
    with transaction(services.sessions) as session:
        freed = session.scalar(
            update(Evidence)
            .where(Evidence.id == evidence_id, leases.unheld(now))
            .values(lease_owner=None, lease_until=None, next_attempt_at=now)
            .returning(Evidence.id)
            .execution_options(synchronize_session=False)
        )
        if freed is not None and why:
            add_event(session, evidence_id, "pipeline", "stranded", why)
        return freed is not None


def _log(services: Services, evidence_id: int, outcome: str, detail: str) -> None:
    with transaction(services.sessions) as session:
        add_event(session, evidence_id, "pipeline", outcome, detail)


def _send(enqueue: Enqueue, ids: Sequence[int]) -> int:
    """Queue ``ids`` in order; stop at the first broker error (the next sweep goes on)."""
    sent = 0
    for evidence_id in ids:
        try:
            enqueue(evidence_id)
        except Exception as exc:
            log.warning("the broker does not take evidence %s (%s); next sweep", evidence_id, exc)
            break
        sent += 1
    return sent


def retry_after_outages(services: Services, enqueue: Enqueue) -> tuple[int, int]:
    """Retry items failed by an outage whose retry is due, if their dependency answers now.

    Returns (retried, still waiting).
    """
    now = utcnow()
    with services.sessions() as session:
        rows = session.execute(
            select(Evidence.id, Evidence.status, Evidence.failure_reason, Evidence.next_attempt_at)
            .where(
                Evidence.status == Status.FAILED.value,
                Evidence.failure_reason.in_([r.value for r in DEPENDENCY_REASONS]),
                Evidence.next_attempt_at.is_not(None),
            )
            .order_by(Evidence.id)
        ).all()
    due = [
        r for r in rows if leases.auto_retry_due(r.status, r.failure_reason, r.next_attempt_at, now)
    ]
    answers: dict[str, bool] = {}
    retried: list[int] = []
    waiting = 0
    for row in due:
        reason = FailureReason(row.failure_reason)
        if reason not in answers:
            answers[reason] = _answers(services, reason)
        if answers[reason]:
            why = f"automatic retry: the {reason.value} answers again"
            if lifecycle.requeue(services, row.id, why, automatic=True):
                retried.append(row.id)
        else:
            # still down: the item stays due, and the next sweep probes again (one request
            # for all of them), so that it goes as soon as the dependency is back
            waiting += 1
    return _send(enqueue, retried), waiting


def _answers(services: Services, reason: FailureReason) -> bool:
    """True when the dependency behind ``reason`` answers now (the database does: we read it)."""
    if reason is FailureReason.STORAGE:
        try:
            services.store.check()
        except Exception as exc:
            log.info("storage still down (%s): failed items wait", exc)
            return False
    # the network (YouTube) has no cheap probe: the retry itself is the probe, with backoff
    return True


def retry_failed(
    services: Services,
    enqueue: Enqueue,
    filters: Filters,
    who: str,
) -> list[int]:
    """Send every `failed` item matching ``filters`` through the pipeline again (an admin's
    bulk retry); returns the ids queued, in order of receipt."""
    with services.sessions() as session:
        ids = session.scalars(
            filters.apply(
                select(Evidence.id)
                .where(Evidence.status == Status.FAILED.value)
                .order_by(Evidence.id)
            )
        ).all()
    requeued = [i for i in ids if lifecycle.requeue(services, i, f"retry requested by {who}")]
    sent = _send(enqueue, requeued)
    return requeued[:sent]


def run_sweeps(
    settings: Settings, enqueue: Enqueue, stop: threading.Event, also: Chore | None = None
) -> None:
    """Sweep every ``sweep_interval_s`` until ``stop`` is set (a thread of a worker or the API);
    ``also`` runs after each sweep (the API's clean-up of what uploads left on disk)."""
    interval = settings.sweep_interval_s
    services = Services(settings)
    try:
        # processes started together should not all sweep at the same moment
        if stop.wait(random.uniform(0, interval)):  # noqa: S311 - not for secrets
            return
        while True:
            try:
                sweep(services, enqueue)
            except Exception as exc:
                log.warning("sweep failed (%s: %s); trying again", type(exc).__name__, exc)
            if also is not None:
                try:
                    also()
                except Exception as exc:
                    log.warning(
                        "the work after the sweep failed (%s: %s); trying again",
                        type(exc).__name__,
                        exc,
                    )
            if stop.wait(interval):
                return
    finally:
        services.close()


def start_sweeps(
    settings: Settings, enqueue: Enqueue, also: Chore | None = None
) -> threading.Event | None:
    """Start the sweep thread (``also`` runs after each sweep); the event stops it. None when
    sweeping is switched off."""
    if settings.sweep_interval_s <= 0:
        return None
    stop = threading.Event()
    threading.Thread(
        target=run_sweeps, args=(settings, enqueue, stop, also), name="sweep", daemon=True
    ).start()
    return stop


class SweepInWorkers(Middleware):
    """Runs the sweep in each worker process, so that workers alone recover stranded items."""

    def __init__(self, settings: Settings, enqueuer: Callable[[Broker], Enqueue]) -> None:
        self.settings = settings
        self.enqueuer = enqueuer  # what queues jobs on the worker's broker
        self.stop: threading.Event | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        """Start sweeping once the worker runs."""
        self.stop = start_sweeps(self.settings, self.enqueuer(broker))

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Stop sweeping when the worker stops."""
        if self.stop is not None:
            self.stop.set()

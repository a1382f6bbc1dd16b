"""The Dramatiq broker over Redis, and the one place job and queue names are defined.

The queue only wakes workers up: the database says what is due (see workers.leases), and
every worker process sweeps for stranded items (workers.sweeper) whatever Redis lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.broker import Consumer
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from bukti.metrics import add_worker_observability
from bukti.settings import Settings
from workers.liveness import Heartbeat, StopWithParent
from workers.sweeper import SweepInWorkers


class PromptRedisBroker(RedisBroker):
    """A Redis broker whose idle consumer of uploads looks at its queue every ``poll_ms``.

    A consumer that finds its queue empty backs off exponentially up to the worker's timeout
    (1 s in Dramatiq, and its command line cannot change it): an upload to idle workers then
    waited half a second on average before anyone looked at the queue. Only the queue that
    uploads arrive on (:data:`QUEUE`) is polled that often: every poll costs the worker CPU,
    and the other queues (delayed retries, transcodes handed over, the storage admin's jobs)
    lose nothing by a second's wait.
    """

    def __init__(self, *, poll_ms: int, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.poll_ms = poll_ms

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name == QUEUE:
            timeout = min(timeout, self.poll_ms)
        return super().consume(queue_name, prefetch, timeout)


def build_broker(settings: Settings) -> RedisBroker:
    """A Redis broker whose heartbeat and maintenance settle a killed worker quickly.

    Dramatiq's defaults (60 s heartbeat timeout, maintenance on 1 in 1000 fetches) can
    leave a dead worker's message unacknowledged for many minutes; SPEC wants < 30 s.
    """
    broker = PromptRedisBroker(
        poll_ms=settings.worker_poll_ms,
        url=settings.redis_url,
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
        dead_message_ttl=7 * 24 * 3600 * 1000,
    )
    broker.add_middleware(CurrentMessage())
    # only worker processes fire these hooks; the API's broker carries them idle
    broker.add_middleware(StopWithParent())
    broker.add_middleware(Heartbeat(settings.redis_url, settings.heartbeat_timeout_ms))
    broker.add_middleware(SweepInWorkers(settings, Enqueuer))
    return broker


def install_broker(settings: Settings, broker: dramatiq.Broker | None = None) -> dramatiq.Broker:
    """Make a broker Dramatiq's global one (actors bind to it when declared).

    By default the Redis broker of ``settings``; a test passes an in-memory one (Dramatiq's
    ``StubBroker``), which gets the same message middleware.
    """
    if broker is None:
        broker = build_broker(settings)
    else:
        broker.add_middleware(CurrentMessage())
    add_worker_observability(broker, settings)
    dramatiq.set_broker(broker)
    return broker


#: the queue of items' jobs and re-verifications
QUEUE = "evidence"
#: videos' transcode jobs: long, so they never hold up the photos behind them
VIDEO_QUEUE = "evidence_video"
#: the storage admin's jobs, on a queue of their own so a long run never delays uploads
STORAGE_QUEUE = "storage"
RETENTION_APPLY = "storage_retention_apply"
SCRUB = "storage_scrub"

#: job names, as the API, the command line and the sweep name them
PROCESS = "process"
TRANSCODE = "transcode"
REVERIFY = "reverify"


@dataclass(frozen=True)
class Job:
    """A job's Dramatiq actor and queue."""

    actor_name: str
    queue_name: str


JOBS: dict[str, Job] = {
    PROCESS: Job("process_evidence", QUEUE),
    TRANSCODE: Job("transcode_evidence", VIDEO_QUEUE),
    REVERIFY: Job("reverify_evidence", QUEUE),
}


class Enqueuer:
    """Sends jobs by name, so the API needs no actor imports (nor their settings)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def __call__(self, evidence_id: int, job: str = PROCESS, delay_s: float | None = None) -> None:
        """Queue ``job`` of one item, to run no earlier than ``delay_s`` from now."""
        spec = JOBS[job]
        self.broker.enqueue(
            dramatiq.Message(
                queue_name=spec.queue_name,
                actor_name=spec.actor_name,
                args=(evidence_id,),
                kwargs={},
                options={},
            ),
            delay=int(delay_s * 1000) if delay_s and delay_s > 0 else None,
        )

    def job(self, actor_name: str, *args: int) -> None:
        """Queue one of the storage admin's jobs (``RETENTION_APPLY``, ``SCRUB``)."""
        self.broker.enqueue(
            dramatiq.Message(
                queue_name=STORAGE_QUEUE,
                actor_name=actor_name,
                args=args,
                kwargs={},
                options={},
            )
        )

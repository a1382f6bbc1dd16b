"""Dramatiq actors: an item's job, a video's transcode job, and re-verification.

Run the workers with ``dramatiq workers.actors`` (``bukti serve`` does it for you). Each actor
takes an evidence id; what is due, and who holds an item, is in the database (workers.leases),
so Dramatiq's own retries only cover a job that could not even claim its item (the database
was down); the sweep (workers.sweeper) covers everything the queue loses.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from bukti.bootstrap import Services
from bukti.settings import get_settings
from storage.audit import Actor as AuditActor
from storage.models import utcnow
from workers import pipeline
from workers.broker import (
    JOBS,
    PROCESS,
    RETENTION_APPLY,
    REVERIFY,
    SCRUB,
    STORAGE_QUEUE,
    TRANSCODE,
    install_broker,
)

log = logging.getLogger(__name__)

settings = get_settings()
broker = install_broker(settings)
_services: Services | None = None


def services() -> Services:
    """This process's services, built on first use (after Dramatiq forked the workers)."""
    global _services
    if _services is None:
        _services = Services(settings)
        _services.prepare_dirs()
    return _services


def use_services(given: Services | None) -> None:
    """Run the actors on ``given`` (an in-process worker's, in tests); None: build on first use."""
    global _services
    _services = given


def _follow(evidence_id: int, ran: pipeline.Ran) -> None:
    """Queue what the job said comes next; a broker error is left to the sweep."""
    if ran.next_job is None:
        return
    delay_ms = None
    if ran.retry_at is not None:
        delay_ms = max(int((ran.retry_at - utcnow()).total_seconds() * 1000), 0)
    try:
        # through the actor, so that the message goes to whichever broker it is bound to
        ACTORS[ran.next_job].send_with_options(args=(evidence_id,), delay=delay_ms)
    except Exception as exc:
        log.warning(
            "could not queue %s of evidence %s (%s); the sweep will", ran.next_job, evidence_id, exc
        )


_RETRIES: dict[str, Any] = {
    "max_retries": settings.max_retries,
    "min_backoff": settings.retry_min_backoff_ms,
    "max_backoff": settings.retry_max_backoff_ms,
}


@dramatiq.actor(
    actor_name=JOBS[PROCESS].actor_name,
    queue_name=JOBS[PROCESS].queue_name,
    time_limit=settings.step_time_limit_ms,
    **_RETRIES,
)
def process_evidence(evidence_id: int) -> None:
    """One item's job: every phase of a photo, document or link; a video's examination."""
    _follow(evidence_id, pipeline.process_evidence(services(), evidence_id))


@dramatiq.actor(
    actor_name=JOBS[TRANSCODE].actor_name,
    queue_name=JOBS[TRANSCODE].queue_name,
    time_limit=settings.video_time_limit_ms,
    **_RETRIES,
)
def transcode_evidence(evidence_id: int) -> None:
    """A video's rendition, poster and frame hashes, archive and outcome."""
    _follow(evidence_id, pipeline.transcode_evidence(services(), evidence_id))


@dramatiq.actor(
    actor_name=JOBS[REVERIFY].actor_name,
    queue_name=JOBS[REVERIFY].queue_name,
    time_limit=settings.step_time_limit_ms,
    **_RETRIES,
)
def reverify_evidence(evidence_id: int) -> None:
    """Verify a finished item again after its activity or attendance record changed."""
    pipeline.reverify(services(), evidence_id)


ACTORS: dict[str, dramatiq.Actor[[int], None]] = {
    PROCESS: process_evidence,
    TRANSCODE: transcode_evidence,
    REVERIFY: reverify_evidence,
}


# resumable and idempotent: a retry continues where the last attempt stopped
@dramatiq.actor(
    actor_name=RETENTION_APPLY,
    queue_name=STORAGE_QUEUE,
    max_retries=settings.max_retries,
    min_backoff=settings.retry_min_backoff_ms,
    max_backoff=settings.retry_max_backoff_ms,
    time_limit=24 * 3600 * 1000,
)
def storage_retention_apply(run_id: int) -> None:
    """Apply a confirmed retention run."""
    from storage.retention import apply_run

    built = services()
    apply_run(
        built.sessions, built.store, run_id, settings.trash_days, AuditActor.system("retention")
    )


@dramatiq.actor(actor_name=SCRUB, queue_name=STORAGE_QUEUE, time_limit=24 * 3600 * 1000)
def storage_scrub(sample: int) -> None:
    """Verify ``sample`` archived objects (0: all of them), least recently verified first."""
    from storage.scrub import scrub

    built = services()
    scrub(built.sessions, built.store, AuditActor.system("scrub"), sample or None)

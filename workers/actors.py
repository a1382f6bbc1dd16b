"""Dramatiq actors: one per pipeline step, each taking an evidence id and calling one service.

Run the workers with ``dramatiq workers.actors`` (``bukti serve`` does it for you).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq import Actor

from bukti.bootstrap import Services
from bukti.errors import RejectedError
from bukti.settings import get_settings
from storage.audit import Actor as AuditActor
from storage.db import transaction
from workers import lifecycle, pipeline
from workers.broker import (
    QUEUE,
    RETENTION_APPLY,
    SCRUB,
    STORAGE_QUEUE,
    install_broker,
    step_actor_name,
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


# retried like any step (it is idempotent): an item must never stay `processing` for good
@dramatiq.actor(queue_name=QUEUE, max_retries=20, min_backoff=1_000, max_backoff=300_000)
def mark_failed(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Called when a step outlived its retries: the item becomes `failed`, with the error."""
    evidence_id = int(message["args"][0])
    traceback = str(message.get("options", {}).get("traceback", "")).strip().splitlines()
    last_line = traceback[-1] if traceback else "unknown error"
    error = (
        f"step {message['actor_name'].removeprefix('evidence_')} failed after "
        f"{retry_info.get('retries', '?')} retries: {last_line}"
    )
    lifecycle.fail(services(), evidence_id, error)


def _make_step_actor(step: str) -> Actor[[int], None]:
    def run(evidence_id: int) -> None:
        try:
            following = pipeline.run_step(services(), evidence_id, step)
        except Exception as exc:
            _log_attempt(evidence_id, step, exc)
            raise
        if following is not None:
            enqueue(evidence_id, following)

    run.__name__ = run.__qualname__ = step_actor_name(step)
    run.__doc__ = f"Pipeline step '{step}' of one evidence item."
    decorate = dramatiq.actor(
        actor_name=step_actor_name(step),
        queue_name=QUEUE,
        max_retries=settings.max_retries,
        min_backoff=settings.retry_min_backoff_ms,
        max_backoff=settings.retry_max_backoff_ms,
        time_limit=settings.step_time_limit_ms,
        throws=(RejectedError,),
        on_retry_exhausted=mark_failed.actor_name,
    )
    return decorate(run)


def _log_attempt(evidence_id: int, step: str, exc: Exception) -> None:
    """Write a failed attempt to the item's event log; never mask the original error."""
    try:
        with transaction(services().sessions) as session:
            lifecycle.add_event(session, evidence_id, step, "error", f"{type(exc).__name__}: {exc}")
    except Exception:
        log.exception("could not log the failed attempt of %s on evidence %s", step, evidence_id)


@dramatiq.actor(
    actor_name=step_actor_name("reverify"),
    queue_name=QUEUE,
    max_retries=settings.max_retries,
    min_backoff=settings.retry_min_backoff_ms,
    max_backoff=settings.retry_max_backoff_ms,
    time_limit=settings.step_time_limit_ms,
)
def evidence_reverify(evidence_id: int) -> None:
    """Verify a finished item again after its activity or attendance record changed."""
    pipeline.reverify(services(), evidence_id)


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


STEP_ACTORS: dict[str, Actor[[int], None]] = {
    step: _make_step_actor(step) for step in pipeline.STEPS
}


def enqueue(evidence_id: int, step: str = pipeline.STEPS[0]) -> None:
    """Queue ``step`` of an item (the first step by default)."""
    STEP_ACTORS[step].send(evidence_id)

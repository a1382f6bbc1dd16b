"""Who processes an item and until when, when it is due again, and what its last failure was.

The database is the truth; the queue only wakes workers up. A job *claims* an item with one
conditional UPDATE (free lease, status not terminal, due now), so two workers never process
one item; it renews the lease while it works and clears it when it ends. An item whose lease
expired (its worker died) or that nobody picked up in time is *stranded*: the sweep
(:mod:`workers.sweeper`) queues it again, whatever happened to the queue.

The decisions (what a failure is, when to try again, what is stranded) are pure functions
here, beside the few statements that apply them; the failure classes and what a teacher reads
about each are vocabulary the API shares (:mod:`evidence.failures`).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
import sqlalchemy.exc
from dramatiq.middleware.time_limit import TimeLimitExceeded
from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, or_, update
from sqlalchemy.orm import Session, sessionmaker

from bukti.errors import DependencyError
from evidence.failures import DEPENDENCY_REASONS
from evidence.failures import FailureReason as FailureReason
from evidence.failures import sentence as sentence
from evidence.status import Status
from storage.backend import StorageError
from storage.models import Evidence, table_of, utcnow
from storage.repositories import add_events

log = logging.getLogger(__name__)

#: how early a delayed wake-up may arrive and still claim its item (clocks, rounding)
EARLY_TOLERANCE = timedelta(seconds=1)


def classify(exc: BaseException) -> FailureReason:
    """The class of an exception raised while processing an item."""
    if isinstance(exc, StorageError):
        return FailureReason.STORAGE
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return FailureReason.DATABASE
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # the connection pool waited in vain
        return FailureReason.DATABASE
    if isinstance(exc, DependencyError | redis.RedisError | ConnectionError | socket.timeout):
        return FailureReason.NETWORK
    if isinstance(exc, subprocess.TimeoutExpired | TimeLimitExceeded | MemoryError):
        return FailureReason.MEDIA
    return FailureReason.INTERNAL


def backoff(attempt: int, min_s: float, max_s: float) -> timedelta:
    """Exponential backoff: ``min_s`` after the first attempt, doubling, at most ``max_s``."""
    return timedelta(seconds=min(max_s, min_s * 2 ** min(max(attempt - 1, 0), 30)))


@dataclass(frozen=True)
class Backoff:
    """Retry timing: within a job's round, and of failed items once their dependency is back."""

    max_attempts: int
    retry_min_s: float
    retry_max_s: float
    auto_min_s: float
    auto_max_s: float


@dataclass(frozen=True)
class AfterFailure:
    """What a failed attempt leads to: another attempt at ``retry_at``, or `failed`
    (with an automatic retry at ``retry_at`` when a dependency was down, else none)."""

    fails: bool
    retry_at: datetime | None


def after_failure(
    attempts: int, auto_retries: int, reason: FailureReason, now: datetime, timing: Backoff
) -> AfterFailure:
    """Decide what the ``attempts``-th failed attempt of this round leads to."""
    if attempts < timing.max_attempts:
        return AfterFailure(False, now + backoff(attempts, timing.retry_min_s, timing.retry_max_s))
    if reason in DEPENDENCY_REASONS:
        wait = backoff(auto_retries + 1, timing.auto_min_s, timing.auto_max_s)
        return AfterFailure(True, now + wait)
    return AfterFailure(True, None)


def stranded(
    status: str,
    lease_until: datetime | None,
    next_attempt_at: datetime | None,
    received_at: datetime,
    now: datetime,
    grace_s: float,
) -> bool:
    """True when an unfinished item is held by no live job and nobody picked it up in time.

    An expired lease means its worker died: stranded at once. A free item is stranded once
    it has been due (since its upload, requeue or backoff) for longer than ``grace_s``.
    """
    if Status(status) not in (Status.RECEIVED, Status.PROCESSING):
        return False
    if lease_until is not None:
        return lease_until < now
    due = next_attempt_at or received_at
    return due <= now - timedelta(seconds=grace_s)


def auto_retry_due(
    status: str, failure_reason: str | None, next_attempt_at: datetime | None, now: datetime
) -> bool:
    """True when a `failed` item's dependency outage is worth probing again now."""
    return (
        status == Status.FAILED
        and failure_reason in DEPENDENCY_REASONS
        and next_attempt_at is not None
        and next_attempt_at <= now
    )


def new_owner() -> str:
    """A lease owner's name: this host and process, and a token of its own."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


_EVIDENCE = table_of(Evidence)


def unheld(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """SQL: the item is unfinished and no live job holds it."""
    columns = _EVIDENCE.c
    return and_(
        columns.status.in_([Status.RECEIVED.value, Status.PROCESSING.value]),
        or_(columns.lease_until.is_(None), columns.lease_until < now),
    )


def _moment(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=_EVIDENCE.c.lease_until.type)


#: the claim: built once and run with the values as parameters; Core, as the session holds
#: no object of the item to bring up to date
_CLAIM = (
    update(_EVIDENCE)
    .where(
        _EVIDENCE.c.id == bindparam("evidence_id"),
        unheld(_moment("now")),
        or_(_EVIDENCE.c.next_attempt_at.is_(None), _EVIDENCE.c.next_attempt_at <= _moment("due")),
    )
    .values(
        status=Status.PROCESSING.value,
        lease_owner=bindparam("owner"),
        lease_until=_moment("until"),
        attempts=_EVIDENCE.c.attempts + 1,
    )
    .returning(_EVIDENCE.c.attempts)
)


def claim(sessions: sessionmaker[Session], evidence_id: int, owner: str, lease_s: float) -> int:
    """Take the item for ``lease_s`` if no live job holds it and it is due; its attempt number
    in this round, or 0 when it was not taken (held, terminal, not due, gone)."""
    now = utcnow()
    values = {
        "evidence_id": evidence_id,
        "now": now,
        "due": now + EARLY_TOLERANCE,
        "owner": owner,
        "until": now + timedelta(seconds=lease_s),
    }
    with sessions() as session, session.begin():
        attempt = session.connection().execute(_CLAIM, values).scalar()
        if attempt is None:
            return 0
        add_events(session, evidence_id, [("pipeline", "started", f"attempt {attempt} by {owner}")])
        return int(attempt)


def renew(sessions: sessionmaker[Session], evidence_id: int, owner: str, lease_s: float) -> bool:
    """Extend our lease; False when it is no longer ours."""
    with sessions() as session, session.begin():
        renewed = session.scalar(
            update(Evidence)
            .where(Evidence.id == evidence_id, Evidence.lease_owner == owner)
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
            .returning(Evidence.id)
            .execution_options(synchronize_session=False)
        )
        return renewed is not None


def holds(item: Evidence, owner: str) -> bool:
    """True when ``owner`` still holds the item's lease (read it locked, in the transaction)."""
    return item.lease_owner == owner and item.status == Status.PROCESSING


def clear(item: Evidence, next_attempt_at: datetime | None = None) -> None:
    """Let go of the item (in the caller's transaction)."""
    item.lease_owner = None
    item.lease_until = None
    item.next_attempt_at = next_attempt_at


class LeaseLostError(Exception):
    """Raised when a job finds that its lease was taken over: it must write nothing."""


@contextmanager
def kept(
    sessions: sessionmaker[Session], evidence_id: int, owner: str, lease_s: float
) -> Iterator[None]:
    """Renew the lease every third of ``lease_s`` while the block runs (a long transcode)."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(lease_s / 3):
            try:
                if not renew(sessions, evidence_id, owner, lease_s):
                    log.warning("lease of evidence %s was taken over", evidence_id)
                    return
            except Exception as exc:  # the database is down: the lease may lapse, that is all
                log.warning("could not renew the lease of evidence %s: %s", evidence_id, exc)

    thread = threading.Thread(target=keep, name=f"lease-{evidence_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

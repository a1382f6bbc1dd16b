"""The pipeline's decisions: what a failure is, when to try again, what is stranded."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy.exc
from dramatiq.middleware.time_limit import TimeLimitExceeded

from bukti.errors import DependencyError
from evidence.failures import FailureReason, sentence
from storage.backend import StorageError
from workers.leases import (
    AfterFailure,
    Backoff,
    after_failure,
    auto_retry_due,
    backoff,
    classify,
    stranded,
)

NOW = datetime(2026, 10, 13, 7, 0, tzinfo=UTC)
TIMING = Backoff(max_attempts=3, retry_min_s=1, retry_max_s=60, auto_min_s=30, auto_max_s=1800)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (StorageError("S3 put failed"), FailureReason.STORAGE),
        (
            sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")),
            FailureReason.DATABASE,
        ),
        (sqlalchemy.exc.TimeoutError("pool"), FailureReason.DATABASE),
        (DependencyError("yt-dlp: no network"), FailureReason.NETWORK),
        (redis.ConnectionError("refused"), FailureReason.NETWORK),
        (ConnectionResetError(), FailureReason.NETWORK),
        (TimeoutError(), FailureReason.NETWORK),
        (subprocess.TimeoutExpired("ffmpeg", 60), FailureReason.MEDIA),
        (TimeLimitExceeded(), FailureReason.MEDIA),
        (KeyError("facts"), FailureReason.INTERNAL),
        (FileNotFoundError("staged upload missing"), FailureReason.INTERNAL),
    ],
)
def test_failures_are_classed_by_what_was_down(exc: BaseException, reason: FailureReason) -> None:
    assert classify(exc) is reason


def test_every_class_has_a_sentence_without_technical_words() -> None:
    for reason in FailureReason:
        text = sentence(reason)
        assert text[0].isupper() and text.endswith(".")
        assert "Error" not in text and "Traceback" not in text


def test_backoff_doubles_from_the_minimum_up_to_the_maximum() -> None:
    assert [backoff(n, 1, 10).total_seconds() for n in (1, 2, 3, 4, 5, 99)] == [1, 2, 4, 8, 10, 10]
    assert backoff(0, 5, 10) == timedelta(seconds=5)


def test_an_attempt_within_the_round_is_retried_with_backoff() -> None:
    assert after_failure(1, 0, FailureReason.STORAGE, NOW, TIMING) == AfterFailure(
        False, NOW + timedelta(seconds=1)
    )
    assert after_failure(2, 0, FailureReason.INTERNAL, NOW, TIMING) == AfterFailure(
        False, NOW + timedelta(seconds=2)
    )


def test_the_last_attempt_fails_the_item_with_an_automatic_retry_only_for_outages() -> None:
    for reason in (FailureReason.STORAGE, FailureReason.DATABASE, FailureReason.NETWORK):
        decision = after_failure(3, 0, reason, NOW, TIMING)
        assert decision == AfterFailure(True, NOW + timedelta(seconds=30))
    # the automatic retries back off too
    assert after_failure(3, 2, FailureReason.STORAGE, NOW, TIMING).retry_at == NOW + timedelta(
        seconds=120
    )
    for reason in (FailureReason.MEDIA, FailureReason.INTERNAL):
        assert after_failure(3, 0, reason, NOW, TIMING) == AfterFailure(True, None)


def test_an_expired_lease_is_stranded_at_once_a_live_one_never() -> None:
    long_ago = NOW - timedelta(hours=1)
    assert stranded("processing", NOW - timedelta(seconds=1), None, long_ago, NOW, 60)
    assert not stranded("processing", NOW + timedelta(seconds=1), None, long_ago, NOW, 60)


def test_a_free_item_is_stranded_once_due_for_longer_than_the_grace() -> None:
    assert not stranded("received", None, None, NOW - timedelta(seconds=59), NOW, 60)
    assert stranded("received", None, None, NOW - timedelta(seconds=60), NOW, 60)
    # a retry waiting for its backoff is not stranded until it is due, plus the grace
    due_later = NOW + timedelta(seconds=5)
    assert not stranded("processing", None, due_later, NOW - timedelta(hours=1), NOW, 60)
    assert stranded("processing", None, NOW - timedelta(seconds=61), NOW, NOW, 60)


@pytest.mark.parametrize("status", ["accepted", "flagged", "rejected", "failed"])
def test_finished_items_are_never_stranded(status: str) -> None:
    assert not stranded(status, NOW - timedelta(hours=1), None, NOW - timedelta(days=1), NOW, 0)


def test_only_outage_failures_are_retried_automatically_and_only_when_due() -> None:
    past, future = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    assert auto_retry_due("failed", "storage", past, NOW)
    assert auto_retry_due("failed", "network", NOW, NOW)
    assert not auto_retry_due("failed", "storage", future, NOW)
    assert not auto_retry_due("failed", "media", past, NOW)
    assert not auto_retry_due("failed", None, past, NOW)
    assert not auto_retry_due("processing", "storage", past, NOW)

"""Every operation of the OpenAPI document, fuzzed in-process with schemathesis.

Bounded examples per operation, as an admin (who may reach every branch) on SQLite and
PostgreSQL: no input may meet a server error, and every answer must match what the document
says of it (status code, media type, schema), so the document stays true.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bukti.settings import Settings
from tests.fixtures.app import ADMIN_TOKEN, World
from workers.liveness import Beat, publish

pytestmark = [pytest.mark.integration, pytest.mark.both_databases]

#: per operation: bounded, so the whole document is fuzzed within a minute per database
EXAMPLES = 25

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def live_worker(settings: Settings) -> Iterator[None]:
    """A worker's heartbeat, so that /readyz answers as a ready service's does (not 503)."""
    beat = Beat(host="fuzz", pid=1, started_at=0.0, threads=1)
    with redis.Redis.from_url(settings.redis_url) as client:
        publish(client, beat, timeout_ms=600_000)
        yield
        client.delete(beat.key)


def test_no_input_meets_a_server_error_and_every_answer_is_documented(
    client: TestClient, world: World, live_worker: None
) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            fuzz()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # each operation's first failure, all reported at the end
            failures[operation.label] = str(exc)[:1500]
    assert len(operations) > 20
    assert failures == {}

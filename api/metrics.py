"""Prometheus metrics of the API, at ``GET /metrics`` for an admin's bearer token.

Requests are counted by route template (``/api/v1/evidence/{evidence_id}``, never the raw
path, so ids do not explode the series) and status; their latencies go to a histogram;
uploads add their bytes by kind. At each scrape the queue's depth is read from Redis and
the items by status from the database. The workers' own metrics (messages, failures,
durations) are served by each worker host on its own port (see bukti.metrics).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import AdminDep, ServicesDep
from bukti.bootstrap import Services
from storage.models import Evidence
from workers.broker import QUEUE

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "bukti_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "bukti_http_request_duration_seconds",
    "Time from a request's start to its response's last byte.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
UPLOAD_BYTES = Counter(
    "bukti_upload_bytes_total", "Bytes of evidence files received and stored.", ["kind"]
)
QUEUE_MESSAGES = Gauge(
    "bukti_queue_messages",
    "Messages waiting in the broker: ready, delayed (retries), dead-lettered.",
    ["queue", "state"],
)
ITEMS = Gauge("bukti_evidence_items", "Evidence items by status.", ["status"])
SCRAPE_ERRORS = Counter(
    "bukti_metrics_scrape_errors_total", "Scrapes that could not read a source.", ["source"]
)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template and status (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    # unmatched paths are one series: a scanner's guesses must not create thousands
    return str(path) if path else "unmatched"


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(services: ServicesDep, _: AdminDep) -> Response:
    """Prometheus text format: requests, latencies, upload bytes, queue depth, items (admin)."""
    await run_in_threadpool(_read_gauges, services)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _read_gauges(services: Services) -> None:
    try:
        client = redis.Redis.from_url(services.settings.redis_url, socket_timeout=2)
        try:
            QUEUE_MESSAGES.labels(QUEUE, "ready").set(client.llen(f"dramatiq:{QUEUE}"))
            QUEUE_MESSAGES.labels(QUEUE, "delayed").set(client.llen(f"dramatiq:{QUEUE}.DQ"))
            QUEUE_MESSAGES.labels(QUEUE, "dead").set(client.zcard(f"dramatiq:{QUEUE}.XQ"))
        finally:
            client.close()
    except redis.RedisError as exc:
        SCRAPE_ERRORS.labels("broker").inc()
        log.warning("metrics: the broker did not answer: %s", exc)
    try:
        with services.sessions() as session:
            counts = dict(
                session.execute(
                    select(Evidence.status, func.count(Evidence.id)).group_by(Evidence.status)
                ).all()
            )
        for status in ("received", "processing", "accepted", "flagged", "rejected", "failed"):
            ITEMS.labels(status).set(counts.get(status, 0))
    except Exception as exc:
        SCRAPE_ERRORS.labels("database").inc()
        log.warning("metrics: the database did not answer: %s", exc)

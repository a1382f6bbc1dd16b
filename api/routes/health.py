"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ServicesDep
from api.problems import problem
from bukti.operations import live_workers

router = APIRouter(tags=["health"])

#: seconds a client (or a load balancer) should wait before asking again
RETRY_AFTER_S = 5


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (liveness only: says nothing of its dependencies)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(services: ServicesDep) -> dict[str, Any] | JSONResponse:
    """The database, the broker and the object store answer, and a worker is alive.

    503 with ``Retry-After`` names what is missing: an upload accepted now would wait.
    """
    checks: dict[str, str] = {}
    missing: list[str] = []
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
        missing.append("database")
    live = 0
    try:
        with redis.Redis.from_url(
            services.settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        ) as client:
            client.ping()
            checks["broker"] = "ok"
            live = len(live_workers(client))
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
        checks["workers"] = "unknown: the broker does not answer"
        missing.append("broker")
    else:
        if live:
            checks["workers"] = f"{live} live"
        else:
            timeout_s = services.settings.heartbeat_timeout_ms / 1000
            checks["workers"] = f"none seen in the last {timeout_s:g} s"
            missing.append("no live worker")
    try:
        services.store.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
        missing.append("storage")
    if not missing:
        return {"status": "ok", "checks": checks, "live_workers": live}
    response = problem(
        503,
        f"not ready: {', '.join(missing)}",
        checks=checks,
        live_workers=live,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response

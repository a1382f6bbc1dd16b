"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ServicesDep
from api.problems import problem

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(services: ServicesDep) -> dict[str, Any] | JSONResponse:
    """The database, the broker and the object store all answer."""
    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(services.settings.redis_url, socket_timeout=2)
        client.ping()
        client.close()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"error: {type(exc).__name__}"
    try:
        services.store.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return {"status": "ok", "checks": checks}
    failing = ", ".join(name for name, value in checks.items() if value != "ok")
    return problem(503, f"not ready: {failing}", checks=checks)

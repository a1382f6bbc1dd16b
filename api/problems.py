"""RFC 9457 problem details for every error the API returns; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bukti.errors import (
    BuktiError,
    ConflictError,
    DependencyError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    RejectedError,
    UnsupportedMediaError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_STATUS_OF: dict[type[BuktiError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    InvalidRequestError: 422,
    PayloadTooLargeError: 413,
    UnsupportedMediaError: 415,
    RejectedError: 422,
    DependencyError: 503,
}


#: RFC 9110's names, which older Pythons' HTTPStatus phrases predate
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can meet to a problem-details response."""

    @app.exception_handler(BuktiError)
    async def _bukti_error(request: Request, exc: BuktiError) -> JSONResponse:
        status = next((s for cls, s in _STATUS_OF.items() if isinstance(exc, cls)), 400)
        return problem(status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, f"invalid request: {summary}", errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "an internal error occurred; it has been logged")

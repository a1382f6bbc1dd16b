"""RFC 9457 problem details for every error the API returns; never a traceback.

Besides Bukti's own errors, the handlers below map what a client's input or a failing
dependency can raise from deep inside a route — a number too large for a column, a value
PostgreSQL cannot store, a database that went away mid-request — so no input ever meets a
500. Every 503 says when to come back (``Retry-After``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bukti.errors import (
    BuktiError,
    ConflictError,
    CorruptObjectError,
    DependencyError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    RejectedError,
    UnsupportedMediaError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: seconds a client waits before retrying a 503: long enough for a database failover
RETRY_AFTER_S = 5

_STATUS_OF: dict[type[BuktiError], int] = {
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 409,
    InvalidRequestError: 422,
    PayloadTooLargeError: 413,
    UnsupportedMediaError: 415,
    RejectedError: 422,
    DependencyError: 503,
    # the archive answered, with the wrong bytes: its fault, not the caller's, and not transient
    CorruptObjectError: 502,
}

#: RFC 9110's names, which older Pythons' HTTPStatus phrases predate
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}

#: what each problem status means on this API, for the OpenAPI document
PROBLEM_MEANINGS = {
    400: "The request is malformed",
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "No such record, or not one the caller may see",
    409: "The request conflicts with what is stored",
    413: "The upload is over its size limit (it is cut off there)",
    415: "The file is not a photo, video or document Bukti accepts",
    422: "A field is invalid",
    423: "The upload's last bytes are being checked; ask again after Retry-After seconds",
    503: "The database, broker or storage is unavailable; retry after Retry-After seconds",
}


class ProblemError(BaseModel):
    """One invalid field of a 422."""

    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem detail: what went wrong, in words a person can act on."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="always about:blank: the status says it all")
    title: str = Field(description="the status's name, e.g. Not Found")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, for a person to read")
    errors: list[ProblemError] | None = Field(None, description="422 only: each invalid field")


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _is_unavailable(exc: Exception) -> bool:
    """True for a database that cannot be reached or went away (as opposed to bad input)."""
    return isinstance(
        exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
    ) or (isinstance(exc, StatementError) and isinstance(exc.orig, ConnectionError))


def _is_out_of_range(exc: Exception) -> bool:
    """True for a value the database cannot hold: a number too large, a NUL in text."""
    if isinstance(exc, OverflowError | DataError):
        return True
    return isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError | ValueError)


#: renders an error as a page for a browser (installed by api.web); None answers JSON
ErrorPage = Callable[[Request, int, str], Response | None]


def _answer(request: Request, status: int, detail: str) -> Response:
    """A problem, or the error page when the request was for one of the people's pages."""
    error_page: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if error_page is not None:
        page = error_page(request, status, detail)
        if page is not None:
            return page
    return problem(status, detail)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can meet to a problem-details response (or an error page)."""

    @app.exception_handler(BuktiError)
    async def _bukti_error(request: Request, exc: BuktiError) -> Response:
        status = next((s for cls, s in _STATUS_OF.items() if isinstance(exc, cls)), 400)
        return _answer(request, status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = _answer(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def _validation_error(
        request: Request, exc: RequestValidationError | ValidationError
    ) -> JSONResponse:
        # a route validating a merged record (a PATCH over stored values) raises pydantic's own
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

    async def _storage_error(request: Request, exc: Exception) -> JSONResponse:
        # registered per class (not on Exception) so Starlette answers without re-raising
        if _is_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
            return problem(503, "the database is unavailable; try again shortly")
        if _is_out_of_range(exc):
            log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
            return problem(422, "a value is out of range or holds characters that cannot be stored")
        return await _unexpected(request, exc)

    for cls in _STORAGE_ERRORS:
        app.add_exception_handler(cls, _storage_error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "an internal error occurred; it has been logged")


_STORAGE_ERRORS: tuple[type[Exception], ...] = (
    OverflowError,
    StatementError,
    DisconnectionError,
    PoolTimeoutError,
)

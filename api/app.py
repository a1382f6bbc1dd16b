"""The FastAPI application factory."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.auth import RevokedAdminTokenError, ensure_admin
from api.openapi import document_problems
from api.problems import install_problem_handlers
from api.routes import (
    activities,
    attendance,
    checks,
    days,
    directory,
    evidence,
    health,
    media,
    receipts,
    review,
    storage_admin,
    tokens,
)
from api.routes.resumable import mount_resumable_uploads
from api.upload_cleanup import periodic_cleanup
from api.web.site import install_pages
from bukti import __version__, logs, operations
from bukti.bootstrap import Services
from bukti.errors import InvalidRequestError
from bukti.settings import Settings, get_settings
from storage.audit import Actor
from storage.audit_hook import acting_as
from storage.db import transaction
from workers.broker import Enqueuer, build_broker

log = logging.getLogger(__name__)

DESCRIPTION = """
Bukti takes teachers' attendance and TRK evidence (photos, videos, documents and YouTube
links), checks it against their records and archives it. Authenticate with
`Authorization: Bearer <token>`; errors are RFC 9457 problem details.
"""


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    enqueue: Callable[[int], None] | None = None,
    sweep: bool | None = None,
) -> FastAPI:
    """Build the app; tests pass their own services or enqueue function.

    ``sweep`` (by default: when the app queues to the real broker) runs the sweep that queues
    stranded items again (:func:`bukti.operations.start_sweeps`) while the app runs, and with
    it, every ``CLEAN_EVERY``, the clean-up of abandoned uploads (:mod:`api.upload_cleanup`):
    only the API writes them, so it runs wherever the API does, however it is started.
    """
    settings = settings or get_settings()
    services = services or Services(settings)
    sweeping = enqueue is None if sweep is None else sweep

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.prepare_dirs()
        if settings.admin_token is not None:
            _ensure_admin(services, settings.admin_token.get_secret_value())
        stop_sweeps = (
            operations.start_sweeps(settings, app.state.enqueue, periodic_cleanup(settings))
            if sweeping
            else None
        )
        yield
        if stop_sweeps is not None:
            stop_sweeps.set()
        services.close()

    app = FastAPI(
        title="Bukti",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is served by api.web from vendored Swagger UI files: no CDN
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(_request_context)],
        openapi_url="/openapi.json" if settings.public_docs else None,
    )
    app.state.services = services
    app.state.enqueue = enqueue or Enqueuer(build_broker(settings))
    install_problem_handlers(app)
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(directory.router)
    app.include_router(tokens.router)
    app.include_router(activities.router)
    app.include_router(attendance.router)
    app.include_router(checks.router)
    app.include_router(days.router)
    app.include_router(evidence.router)
    app.include_router(receipts.router)
    app.include_router(media.router)
    app.include_router(review.router)
    app.include_router(storage_admin.router)
    mount_resumable_uploads(app, services)
    install_pages(app, settings.public_docs)
    document_problems(app)
    return app


def _ensure_admin(services: Services, token: str) -> None:
    acting_as.set(Actor.system("start-up"))
    try:
        with transaction(services.sessions) as session:
            ensure_admin(session, token)
    except RevokedAdminTokenError as exc:
        # the service still starts: the other admins' tokens work, this one must not
        log.error("%s", exc)
    finally:
        acting_as.set(None)


async def _request_context(request: Request) -> None:
    """Note the item a request is about for the logs; refuse NUL characters in the query.

    Async, so the context variable lands in the request's own context.
    """
    item = request.path_params.get("evidence_id")
    if isinstance(item, str) and item.isdigit() and len(item) < 11:
        logs.evidence_id.set(int(item))
    if any("\x00" in key or "\x00" in value for key, value in request.query_params.multi_items()):
        raise InvalidRequestError("the query string may not contain NUL (%00) characters")


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Gives each request an id (the client's ``X-Request-ID`` when sane), for every log line
    written while serving it and in the response's ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        token = logs.request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.request_id.reset(token)

"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.auth import ensure_admin
from api.problems import install_problem_handlers
from api.routes import activities, attendance, days, directory, evidence, health
from api.routes.resumable import mount_resumable_uploads
from bukti import __version__
from bukti.bootstrap import Services
from bukti.settings import Settings, get_settings
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
) -> FastAPI:
    """Build the app; tests pass their own services or enqueue function."""
    settings = settings or get_settings()
    services = services or Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.prepare_dirs()
        if settings.admin_token is not None:
            with transaction(services.sessions) as session:
                ensure_admin(session, settings.admin_token.get_secret_value())
        yield
        services.close()

    app = FastAPI(
        title="Bukti",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if settings.public_docs else None,
        redoc_url=None,
    )
    app.state.services = services
    app.state.enqueue = enqueue or Enqueuer(build_broker(settings))
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(directory.router)
    app.include_router(activities.router)
    app.include_router(attendance.router)
    app.include_router(days.router)
    app.include_router(evidence.router)
    mount_resumable_uploads(app, services)
    return app

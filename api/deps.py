"""FastAPI dependencies: services, a database session per request, the calling principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from api.auth import Principal, find_principal
from api.web.csrf import check_header
from api.web.sessions import SESSION_COOKIE, SignedIn, find_session
from bukti import logs
from bukti.bootstrap import Services
from bukti.errors import ConflictError, DependencyError
from evidence.status import Role
from storage.audit import Actor
from storage.audit_hook import acting_as
from storage.db import transaction
from storage.models import utcnow

_bearer = HTTPBearer(auto_error=False, description="A token from `bukti user add` or POST /users")


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_db(services: ServicesDep) -> Iterator[Session]:
    """A session committed when the route returns, rolled back when it raises."""
    try:
        with services.sessions() as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as exc:
        raise DependencyError("the database is unavailable; try again shortly") from exc
    except IntegrityError as exc:
        # two requests raced for the same unique record; the routes check first otherwise
        raise ConflictError("a record saved at the same moment conflicts; retry") from exc


# "function": the transaction commits before the answer is sent. FastAPI's default ends a
# dependency after the response left, so a client going on at once (a check-in, then its
# selfie) could meet a record not committed yet, and a failed commit followed a 201.
DbDep = Annotated[Session, Depends(get_db, scope="function")]


def _authenticate(services: Services, token: str) -> Principal | None:
    # a short transaction of its own: an upload must not hold one open while it streams
    try:
        with transaction(services.sessions) as session:
            return find_principal(session, token)
    except (OperationalError, InterfaceError) as exc:
        raise DependencyError("the database is unavailable; try again shortly") from exc


async def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the bearer token or a signed-in browser's session cookie; 401
    without either. An unsafe request made with the cookie must carry its CSRF token.

    Async on purpose: the context variables it sets (who acts, for the audit trail and the
    logs) must be set in the request's own context, which a thread-pool dependency is not.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if credentials is None and cookie:
        signed_in = await run_in_threadpool(signed_in_session, services, cookie)
        if signed_in is None:
            raise HTTPException(401, "the session has ended; sign in again")
        check_header(request, signed_in.csrf_token)
        return acting(signed_in.principal)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required")
    principal = await run_in_threadpool(_authenticate, services, credentials.credentials)
    if principal is None:
        raise HTTPException(401, "the bearer token is not valid")
    return acting(principal)


def acting(principal: Principal) -> Principal:
    """Note who acts in this request, for the audit trail and the logs; returns them."""
    acting_as.set(Actor(principal.user_id, principal.name))
    logs.user_id.set(principal.user_id)
    return principal


def signed_in_session(services: Services, cookie: str) -> SignedIn | None:
    """The live session of a session cookie, read in a short session of its own."""
    try:
        with services.sessions() as session:
            return find_session(session, cookie, utcnow())
    except OperationalError as exc:
        raise DependencyError("the database is unavailable; try again shortly") from exc


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class RoleCheck:
    """A dependency admitting only its roles; others get 403."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def __call__(self, principal: PrincipalDep) -> Principal:
        if principal.role not in self.roles:
            allowed = " or ".join(role.value for role in self.roles)
            raise HTTPException(403, f"this needs the {allowed} role")
        return principal


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles``; others get 403."""
    return RoleCheck(*roles)


AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]

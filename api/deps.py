"""FastAPI dependencies: services, a database session per request, the calling principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.auth import Principal, find_principal
from bukti.bootstrap import Services
from bukti.errors import ConflictError, DependencyError
from evidence.status import Role

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
    except OperationalError as exc:
        raise DependencyError("the database is unavailable; try again shortly") from exc
    except IntegrityError as exc:
        # two requests raced for the same unique record; the routes check first otherwise
        raise ConflictError("a record saved at the same moment conflicts; retry") from exc


DbDep = Annotated[Session, Depends(get_db)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the bearer token; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required")
    # a short session of its own: an upload must not hold a transaction open while it streams
    try:
        with services.sessions() as session:
            principal = find_principal(session, credentials.credentials)
    except OperationalError as exc:
        raise DependencyError("the database is unavailable; try again shortly") from exc
    if principal is None:
        raise HTTPException(401, "the bearer token is not valid")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles``; others get 403."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise HTTPException(403, f"this needs the {allowed} role")
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]

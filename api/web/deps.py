"""Dependencies of the pages: who is signed in, and forms that prove where they came from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import ServicesDep, acting, signed_in_session
from api.web.csrf import check_form
from api.web.sessions import SESSION_COOKIE, SignedIn
from evidence.status import Role


class SignInRequiredError(Exception):
    """Raised when a page needs a signed-in person and the browser has no live session."""


class WrongRoleError(Exception):
    """Raised when the signed-in person's role has no business on a page."""


async def optional_session(request: Request, services: ServicesDep) -> SignedIn | None:
    """The browser's live session, if any; its person is who acts in this request.

    Async, so that who acts (for the audit trail and the logs) is set in the request's own
    context, as the API's authentication does.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = await run_in_threadpool(signed_in_session, services, cookie)
    if session is not None:
        acting(session.principal)
    return session


OptionalSessionDep = Annotated[SignedIn | None, Depends(optional_session)]


def signed_in(session: OptionalSessionDep) -> SignedIn:
    """The signed-in person; others are sent to the sign-in page."""
    if session is None:
        raise SignInRequiredError
    return session


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


async def signed_in_form(request: Request, session: SignedInDep) -> SignedIn:
    """The signed-in person posting a form that carries their session's CSRF token."""
    await check_form(request, session.csrf_token)
    return session


FormDep = Annotated[SignedIn, Depends(signed_in_form)]


def needs_role(*roles: Role) -> object:
    """A dependency admitting only signed-in people of ``roles``."""

    def check(session: SignedInDep) -> SignedIn:
        if session.principal.role not in roles:
            raise WrongRoleError
        return session

    return Depends(check)


ReviewerDep = Annotated[SignedIn, needs_role(Role.REVIEWER, Role.ADMIN)]

"""The landing page, sign-in and sign-out, the language switch and a person's password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.auth import (
    MIN_PASSWORD_LENGTH,
    LoginPolicy,
    SignInOutcome,
    password_problem,
    sign_in,
    verify_password,
)
from api.deps import ServicesDep
from api.routes.directory import set_password
from api.web.csrf import PRE_SESSION_COOKIE, CsrfError, pre_session_token, tokens_match
from api.web.deps import FormDep, OptionalSessionDep, SignedInDep
from api.web.i18n import LANGUAGE_COOKIE, LOCALES
from api.web.render import render, translator
from api.web.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    end_other_sessions,
    end_session,
    set_session_cookie,
    start_session,
)
from bukti.bootstrap import Services
from evidence.status import Role
from storage.audit import Actor
from storage.audit_hook import acting_as
from storage.db import transaction
from storage.models import User, WebSession, utcnow

router = APIRouter(include_in_schema=False)

#: where each role lands after signing in (a role's own pages put theirs here)
HOMES = {Role.TEACHER: "/my", Role.REVIEWER: "/review", Role.ADMIN: "/review"}


def safe_next(target: str | None) -> str:
    """A local path to go on to after signing in; anything else goes home."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def see_other(url: str) -> RedirectResponse:
    """The answer to a form that worked: go (and reload) there."""
    return RedirectResponse(url, status_code=303)


@router.get("/")
def landing(session: OptionalSessionDep) -> RedirectResponse:
    """Signed in: the role's home; otherwise the sign-in page."""
    if session is None:
        return see_other("/sign-in")
    return see_other(HOMES[session.principal.role])


@router.get("/sign-in")
def sign_in_page(request: Request, session: OptionalSessionDep, next: str = "/") -> Response:
    """The sign-in form: a NIP or user name, and a password."""
    if session is not None:
        return see_other(safe_next(next))
    token = pre_session_token(request)
    return render(request, "sign_in.html", None, csrf_token=token, next=safe_next(next))


@router.post("/sign-in")
async def sign_in_submit(
    request: Request,
    services: ServicesDep,
    login: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success start a session and go on."""
    if not tokens_match(request.cookies.get(PRE_SESSION_COOKIE), csrf_token):
        raise CsrfError
    settings = services.settings
    policy = LoginPolicy(
        settings.login_max_failures, settings.login_lockout_s, settings.login_lockout_max_s
    )
    max_age = timedelta(hours=settings.session_max_age_h)
    # argon2 takes ~50 ms of CPU: off the event loop
    outcome, cookie, wait = await run_in_threadpool(
        _check_password, services, login, password, policy, max_age
    )
    t = translator(request)
    if cookie is None:
        if outcome is SignInOutcome.SLOWED and wait is not None:
            minutes = max(1, -(-int(wait.total_seconds()) // 60))
            error = t.ngettext(
                "Too many wrong passwords. Try again in %(count)s minute.",
                "Too many wrong passwords. Try again in %(count)s minutes.",
                minutes,
            )
            status, headers = 429, {"Retry-After": str(int(wait.total_seconds()) + 1)}
        else:
            error = t.gettext("The NIP or user name and password do not match.")
            status, headers = 401, {}
        response = render(
            request,
            "sign_in.html",
            None,
            status=status,
            csrf_token=csrf_token,
            next=safe_next(next),
            error=error,
            login=login,
        )
        response.headers.update(headers)
        return response
    redirect = see_other(safe_next(next))
    set_session_cookie(redirect, request, cookie, max_age)
    redirect.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return redirect


def _check_password(
    services: Services, login: str, password: str, policy: LoginPolicy, max_age: timedelta
) -> tuple[SignInOutcome, str | None, timedelta | None]:
    # a count of wrong passwords changes the user: the trail names the sign-in as its author
    acting_as.set(Actor.system("sign-in"))
    now = utcnow()
    with transaction(services.sessions) as db:
        attempt = sign_in(db, login, password, policy, now)
        if attempt.user is None:
            return attempt.outcome, None, attempt.wait
        cookie, _ = start_session(db, attempt.user, now, max_age)
        return attempt.outcome, cookie, None


@router.post("/sign-out")
def sign_out(request: Request, services: ServicesDep, _: FormDep) -> Response:
    """End the session."""
    with transaction(services.sessions) as db:
        end_session(db, request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/sign-in")
    clear_session_cookie(response, request)
    return response


@router.get("/language")
def switch_language(to: str, next: str = "/") -> Response:
    """Remember the language chosen with the switch (a year), and go back."""
    response = see_other(safe_next(next))
    if to in LOCALES:
        response.set_cookie(LANGUAGE_COOKIE, to, max_age=365 * 86_400, samesite="lax", path="/")
    return response


@router.get("/account/password")
def password_page(request: Request, session: SignedInDep) -> Response:
    """The form to change one's own password."""
    return render(request, "password.html", session)


@router.post("/account/password")
async def password_submit(
    request: Request,
    services: ServicesDep,
    session: FormDep,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    repeat: Annotated[str, Form(max_length=256)],
) -> Response:
    """Change one's password after proving the current one; other sessions end."""
    t = translator(request)
    error = None
    if new != repeat:
        error = t.gettext("The two new passwords differ.")
    elif password_problem(new) is not None:
        error = t.gettext(
            "A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH
        )
    elif not await run_in_threadpool(_change_password, services, session.session_id, current, new):
        error = t.gettext("The current password is wrong.")
    if error is not None:
        return render(request, "password.html", session, status=422, error=error)
    return render(request, "password.html", session, done=True)


def _change_password(services: Services, session_id: int, current: str, new: str) -> bool:
    with transaction(services.sessions) as db:
        web_session = db.get(WebSession, session_id)
        user = db.get(User, web_session.user_id) if web_session else None
        if user is None or not verify_password(current, user.password_hash):
            return False
        set_password(db, user, new)
        # the audit hook records the change (the hash itself never goes to the trail)
        end_other_sessions(db, user.id, session_id)
    return True

"""Cross-site request forgery: every unsafe request made with a browser's cookie proves it
came from one of our pages.

- Signed in: the session's synchroniser token, in the form field ``csrf_token`` or the
  ``X-CSRF-Token`` header (htmx and fetch send the header).
- Before sign-in (the sign-in form itself): a double-submit token, a random cookie that
  the form echoes, so that another site cannot sign a browser into an account of its own.

Bearer-token requests carry no cookie and need no token: a browser never adds that header
by itself.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Response

from api.web.sessions import is_https

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PRE_SESSION_COOKIE = "bukti_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(HTTPException):
    """Raised when an unsafe request lacks the token its session or form must carry."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "this form has expired or did not come from Bukti's pages; reload it and try again",
        )


def tokens_match(expected: str | None, given: str | None) -> bool:
    """A constant-time comparison that refuses a missing token on either side."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def check_header(request: Request, expected: str) -> None:
    """Refuse an unsafe request whose ``X-CSRF-Token`` header does not match the session."""
    if request.method not in SAFE_METHODS and not tokens_match(
        expected, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfError


async def check_form(request: Request, expected: str | None) -> None:
    """Refuse a form whose ``csrf_token`` field (or header) does not match ``expected``."""
    if tokens_match(expected, request.headers.get(CSRF_HEADER)):
        return
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not tokens_match(expected, given if isinstance(given, str) else None):
        raise CsrfError


def pre_session_token(request: Request) -> str:
    """The double-submit token of a browser not yet signed in; a new one is remembered on
    ``request.state`` for :func:`set_pre_session_cookie` to hand out with the page."""
    token = request.cookies.get(PRE_SESSION_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
        request.state.new_pre_session_token = token
    return token


def set_pre_session_cookie(request: Request, response: Response) -> None:
    """Set the cookie of a double-submit token made while answering ``request``."""
    token = getattr(request.state, "new_pre_session_token", None)
    if token is not None:
        response.set_cookie(
            PRE_SESSION_COOKIE,
            token,
            httponly=True,
            secure=is_https(request),
            samesite="lax",
            path="/",
        )

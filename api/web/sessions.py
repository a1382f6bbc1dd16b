"""People's sessions: a random cookie, only its hash stored, and the session's CSRF token.

The cookie is HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS.
Each session carries a synchroniser token that every form (``csrf_token`` field) and every
unsafe request made with the cookie (``X-CSRF-Token`` header) must echo: see api.web.csrf.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.auth import Principal, principal_of, token_digest
from storage.models import User, WebSession

SESSION_COOKIE = "bukti_session"


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, and the CSRF token their forms carry."""

    principal: Principal
    csrf_token: str
    session_id: int


def start_session(db: Session, user: User, now: datetime, max_age: timedelta) -> tuple[str, str]:
    """A new session for ``user``; returns the cookie value and the session's CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            token_sha256=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + max_age,
        )
    )
    # expired sessions of anyone are swept on each sign-in: no table grows without bound
    db.execute(delete(WebSession).where(WebSession.expires_at < now))
    db.flush()
    return token, csrf


def find_session(db: Session, token: str, now: datetime) -> SignedIn | None:
    """The live session whose cookie is ``token``, if its user is still active."""
    row = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.token_sha256 == token_digest(token),
            WebSession.expires_at > now,
            User.is_active.is_(True),
        )
    ).one_or_none()
    if row is None:
        return None
    web_session, user = row
    return SignedIn(principal_of(user), web_session.csrf_token, web_session.id)


def end_session(db: Session, token: str) -> None:
    """Sign out: the session is gone."""
    db.execute(delete(WebSession).where(WebSession.token_sha256 == token_digest(token)))


def end_other_sessions(db: Session, user_id: int, keep_session_id: int | None) -> None:
    """End every session of a user but one (after a password change)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_session_id is not None:
        query = query.where(WebSession.id != keep_session_id)
    db.execute(query)


def is_https(request: Request) -> bool:
    """True when the browser reached us over HTTPS (uvicorn applies trusted proxy headers)."""
    return request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, token: str, max_age: timedelta
) -> None:
    """Hand the browser its session cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(max_age.total_seconds()),
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Make the browser forget its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, secure=is_https(request), samesite="lax", path="/"
    )

"""Who calls: bearer tokens (stored hashed, several per user) for machines, passwords
(argon2id) for people; roles and the scope each role may see."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bukti.errors import ForbiddenError, InvalidRequestError
from evidence.status import Role
from storage.models import ApiToken, User, utcnow

log = logging.getLogger(__name__)

#: argon2id with argon2-cffi's defaults (RFC 9106's second recommended set: 64 MiB, t=3)
_PASSWORDS = PasswordHash((Argon2Hasher(),))
#: verified against when no account matches, so that a wrong name costs what a wrong password does
_DUMMY_HASH = _PASSWORDS.hash("no account has this password")
MIN_PASSWORD_LENGTH = 10

TOKEN_PREFIX = "bkt_"  # noqa: S105 (a prefix that marks Bukti tokens, not a secret)

#: the label of the token that BUKTI_ADMIN_TOKEN holds; start-up looks for it to rotate it
ENV_TOKEN_LABEL = "BUKTI_ADMIN_TOKEN"  # noqa: S105 (a label, not a secret)
ENV_ADMIN_NAME = "admin (BUKTI_ADMIN_TOKEN)"

#: a token's last use is written at most this often: not a database write per request
LAST_USE_RESOLUTION_S = 60


def new_token() -> str:
    """A fresh random bearer token (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a token: tokens are 256 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller of a request: who, in which role, scoped to which teacher or school."""

    user_id: int
    name: str
    role: Role
    teacher_id: int | None = None
    school_id: int | None = None
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role is Role.ADMIN

    def can_see_teacher(self, teacher_id: int, school_id: int) -> bool:
        """True when the caller may read this teacher's records."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.REVIEWER:
            return self.school_id == school_id
        return self.teacher_id == teacher_id

    def can_write_teacher(self, teacher_id: int) -> bool:
        """True when the caller may create records for this teacher (their own, or an admin)."""
        return self.role is Role.ADMIN or (
            self.role is Role.TEACHER and self.teacher_id == teacher_id
        )

    def acting_for(self, teacher_id: int | None) -> int:
        """The teacher a write is for: a teacher's own (naming another is refused), or the
        one an admin names (an admin must name one)."""
        if self.role is Role.TEACHER:
            assert self.teacher_id is not None
            if teacher_id is not None and teacher_id != self.teacher_id:
                raise ForbiddenError(
                    f"a teacher acts only for themselves: teacher_id {teacher_id} is not yours "
                    "(leave it out)"
                )
            return self.teacher_id
        if teacher_id is None:
            raise InvalidRequestError("name the teacher_id this is for")
        return teacher_id


class _LastUse:
    """When this process last wrote each token's ``last_used_at`` (a cheap local check)."""

    def __init__(self) -> None:
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_due(self, digest: str) -> bool:
        """True when this process has not written the token's last use within the resolution.

        Keyed by digest, not id: ids repeat across databases, digests do not.
        """
        now = time.monotonic()
        with self._lock:
            if now - self._written.get(digest, -LAST_USE_RESOLUTION_S) < LAST_USE_RESOLUTION_S:
                return False
            if len(self._written) > 100_000:  # bounded: forget everything once in a while
                self._written.clear()
            self._written[digest] = now
            return True


_last_use = _LastUse()


def find_principal(session: Session, token: str) -> Principal | None:
    """The active user holding ``token`` (not revoked), if any; notes the token's use."""
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_sha256 == token_digest(token),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    _record_use(session, row)
    return Principal(
        user.id, user.name, Role(user.role), user.teacher_id, user.school_id, token_id=row.id
    )


def _record_use(session: Session, token: ApiToken) -> None:
    now = utcnow()
    window = timedelta(seconds=LAST_USE_RESOLUTION_S)
    if token.last_used_at is not None and now - token.last_used_at < window:
        return
    if not _last_use.is_due(token.token_sha256):
        return
    # conditional, so several API processes write it once a minute between them
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - window),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def issue_token(session: Session, user: User, label: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the secret (its only time in clear)."""
    secret = new_token()
    row = ApiToken(user_id=user.id, label=label, token_sha256=token_digest(secret))
    session.add(row)
    session.flush()
    return row, secret


def revoke_token(token: ApiToken) -> None:
    """Revoke ``token`` for good (idempotent): it answers 401 from now on."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def rotate_token(session: Session, token: ApiToken) -> tuple[ApiToken, str]:
    """Revoke ``token`` and issue its successor under the same label."""
    user = session.get(User, token.user_id)
    assert user is not None
    revoke_token(token)
    return issue_token(session, user, token.label)


class RevokedAdminTokenError(Exception):
    """Raised when BUKTI_ADMIN_TOKEN holds a token that was revoked: it is never honoured."""


def ensure_admin(session: Session, token: str) -> User:
    """Make sure an admin holding ``token`` exists (``BUKTI_ADMIN_TOKEN``).

    A new value rotates the variable's token: the previous one is revoked and the new one
    goes to the same admin. A value that was revoked is refused, so revoking a leaked admin
    token holds even when the variable was not changed.
    """
    digest = token_digest(token)
    held = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest))
    if held is not None:
        if held.revoked_at is not None:
            raise RevokedAdminTokenError(
                "BUKTI_ADMIN_TOKEN holds a revoked token: set a new value to rotate it"
            )
        user = session.get(User, held.user_id)
        assert user is not None
    else:
        previous = session.scalars(
            select(ApiToken).where(ApiToken.label == ENV_TOKEN_LABEL).order_by(ApiToken.id)
        ).all()
        for old in previous:
            revoke_token(old)
        user = session.get(User, previous[-1].user_id) if previous else None
        if user is None:
            user = User(name=ENV_ADMIN_NAME, role=Role.ADMIN.value)
            session.add(user)
            session.flush()
        session.add(ApiToken(user_id=user.id, label=ENV_TOKEN_LABEL, token_sha256=digest))
        if previous:
            log.info("BUKTI_ADMIN_TOKEN changed: its previous token is revoked")
    user.role = Role.ADMIN.value
    user.is_active = True
    session.flush()
    return user


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string) of ``password``."""
    return _PASSWORDS.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches ``password_hash`` (False when there is none)."""
    if password_hash is None:
        _PASSWORDS.verify(password, _DUMMY_HASH)
        return False
    return _PASSWORDS.verify(password, password_hash)


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable as a new password, or None when it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "a password has at most 256 characters"
    return None


def normalise_login(login: str) -> str:
    """What a person typed to sign in, as stored: trimmed, lower case."""
    return login.strip().lower()


@dataclass(frozen=True)
class LoginPolicy:
    """How wrong passwords slow an account down (from the settings)."""

    max_failures: int = 5
    lockout_s: float = 30
    lockout_max_s: float = 900

    def wait_after(self, failures: int) -> timedelta | None:
        """How long the account waits after ``failures`` wrong passwords in a row."""
        if failures < self.max_failures:
            return None
        doubling = min(failures - self.max_failures, 20)
        return timedelta(seconds=min(self.lockout_s * 2**doubling, self.lockout_max_s))


class SignInOutcome(StrEnum):
    """How a sign-in attempt ended."""

    SIGNED_IN = "signed_in"
    WRONG = "wrong"  # no such account, or the wrong password: the two look the same
    SLOWED = "slowed"  # too many wrong passwords: wait, whatever the password


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt, with the user or how long to wait."""

    outcome: SignInOutcome
    user: User | None = None
    wait: timedelta | None = None


def sign_in(
    session: Session, login: str, password: str, policy: LoginPolicy, now: datetime
) -> SignIn:
    """Check a person's password; count failures and slow the account down after too many.

    The caller commits even a failed attempt, so that the count survives.
    """
    user = session.scalar(
        select(User).where(func.lower(User.login) == normalise_login(login)).with_for_update()
    )
    if user is None or not user.is_active or user.password_hash is None:
        _PASSWORDS.verify(password, _DUMMY_HASH)
        return SignIn(SignInOutcome.WRONG)
    if user.locked_until is not None and now < user.locked_until:
        # not even checked: guessing goes no faster by trying while slowed down
        return SignIn(SignInOutcome.SLOWED, wait=user.locked_until - now)
    valid, new_hash = _PASSWORDS.verify_and_update(password, user.password_hash)
    if not valid:
        user.failed_logins += 1
        wait = policy.wait_after(user.failed_logins)
        if wait is None:
            return SignIn(SignInOutcome.WRONG)
        user.locked_until = now + wait
        return SignIn(SignInOutcome.SLOWED, wait=wait)
    user.failed_logins = 0
    user.locked_until = None
    if new_hash is not None:  # the parameters were raised since it was hashed
        user.password_hash = new_hash
    return SignIn(SignInOutcome.SIGNED_IN, user=user)


def principal_of(user: User) -> Principal:
    """The principal a user acts as."""
    return Principal(user.id, user.name, Role(user.role), user.teacher_id, user.school_id)

"""Bearer tokens (stored hashed), roles and the scope each role may see."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.status import Role
from storage.models import User

TOKEN_PREFIX = "bkt_"  # noqa: S105 (a prefix that marks Bukti tokens, not a secret)


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


def find_principal(session: Session, token: str) -> Principal | None:
    """The active user holding ``token``, if any."""
    user = session.scalar(
        select(User).where(User.token_sha256 == token_digest(token), User.is_active.is_(True))
    )
    if user is None:
        return None
    return Principal(user.id, user.name, Role(user.role), user.teacher_id, user.school_id)


def ensure_admin(session: Session, token: str) -> User:
    """Make sure an admin holding ``token`` exists (``BUKTI_ADMIN_TOKEN``)."""
    digest = token_digest(token)
    user = session.scalar(select(User).where(User.token_sha256 == digest))
    if user is None:
        user = User(name="admin (BUKTI_ADMIN_TOKEN)", role=Role.ADMIN.value, token_sha256=digest)
        session.add(user)
    else:
        user.role = Role.ADMIN.value
        user.is_active = True
    session.flush()
    return user

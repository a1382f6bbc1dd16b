"""Bearer tokens: listed without their secret, issued, revoked and rotated.

An admin manages anyone's; every user manages their own (a teacher whose phone was lost
revokes its token from a school PC). Another user's tokens answer 404.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, issue_token, revoke_token, rotate_token
from api.deps import DbDep, PrincipalDep
from api.schemas import Name, RecordId, TokenCreated, TokenOut
from bukti.errors import ConflictError, NotFoundError
from storage.models import ApiToken, User

router = APIRouter(prefix="/api/v1", tags=["tokens"])


class TokenIn(BaseModel):
    """A new token's label: what it is for (a phone, a script)."""

    label: Name = Field("token", examples=["HP Android"])


def _owned_user(db: Session, who: Principal, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or not (who.is_admin or who.user_id == user.id):
        raise NotFoundError(f"user {user_id} not found")
    return user


def _owned_token(db: Session, who: Principal, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id, with_for_update=True)
    if token is None or not (who.is_admin or who.user_id == token.user_id):
        raise NotFoundError(f"token {token_id} not found")
    return token


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut])
def list_tokens(user_id: RecordId, db: DbDep, who: PrincipalDep) -> list[TokenOut]:
    """A user's tokens, newest first, without their secrets (admin, or the user)."""
    user = _owned_user(db, who, user_id)
    rows = db.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return [TokenOut.model_validate(row) for row in rows]


@router.post("/users/{user_id}/tokens", status_code=201, response_model=TokenCreated)
def create_token(user_id: RecordId, body: TokenIn, db: DbDep, who: PrincipalDep) -> TokenCreated:
    """Issue another token for a user; its secret is shown this once (admin, or the user)."""
    user = _owned_user(db, who, user_id)
    row, secret = issue_token(db, user, body.label)
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=secret)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke(token_id: RecordId, db: DbDep, who: PrincipalDep) -> TokenOut:
    """Revoke a token for good; revoking it again changes nothing (admin, or its user)."""
    token = _owned_token(db, who, token_id)
    revoke_token(token)
    db.flush()
    return TokenOut.model_validate(token)


@router.post("/tokens/{token_id}/rotate", status_code=201, response_model=TokenCreated)
def rotate(token_id: RecordId, db: DbDep, who: PrincipalDep) -> TokenCreated:
    """Revoke a token and issue its successor under the same label (admin, or its user)."""
    token = _owned_token(db, who, token_id)
    if token.revoked_at is not None:
        raise ConflictError(f"token {token_id} is revoked: issue a new one instead")
    row, secret = rotate_token(db, token)
    return TokenCreated(**TokenOut.model_validate(row).model_dump(), token=secret)

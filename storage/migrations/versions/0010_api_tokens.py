"""api tokens: several per user, listed, revoked and rotated; last use recorded

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-06

Reviewed by hand. Tokens move from a column of `users` to a table of their own so that a
user can hold several (a phone and a script), and a token can be revoked or rotated without
touching the user. Each user's existing token becomes their first row, so nobody is signed
out by the upgrade; the admin created from BUKTI_ADMIN_TOKEN keeps its token under the label
that start-up looks for when the variable changes. Revoked rows are kept (a revoked token
must never come back); the digest stays unique across all of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None

ENV_LABEL = "BUKTI_ADMIN_TOKEN"
ENV_ADMIN_NAME = "admin (BUKTI_ADMIN_TOKEN)"


def upgrade() -> None:
    tokens = op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    users = sa.table(
        "users",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("token_sha256", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(users.c.id, users.c.name, users.c.token_sha256, users.c.created_at)
    )
    op.bulk_insert(
        tokens,
        [
            {
                "user_id": user_id,
                "label": ENV_LABEL if name == ENV_ADMIN_NAME else "first token",
                "token_sha256": digest,
                "created_at": created_at,
            }
            for user_id, name, digest, created_at in rows
        ],
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_sha256")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_sha256", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE users SET token_sha256 = (SELECT t.token_sha256 FROM api_tokens t "
        "WHERE t.user_id = users.id AND t.revoked_at IS NULL ORDER BY t.id LIMIT 1)"
    )
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")

"""people sign in; reviewers ask again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

Reviewed by hand. People sign in on the pages with a password:
- users: ``login`` (a teacher's NIP, a reviewer's or admin's user name; unique, empty for
  machine users), ``password_hash`` (argon2id), ``failed_logins`` and ``locked_until`` (five
  wrong passwords in a row slow the account down);
- web_sessions: one row per signed-in browser, holding a hash of the cookie and the
  session's CSRF token.
Reviewers may ask a teacher for another proof:
- reviews: the decision may also be ``ask_again``, and carries a ``reason_code`` from a
  short list beside the free-text reason (existing rows keep theirs: NULL code);
- evidence: ``answers_evidence_id`` links a new item to the one it replaces.
SQLite rebuilds the altered tables (batch mode); PostgreSQL alters them in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("login", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_users_login", ["login"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256", name="uq_web_sessions_token_sha256"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("reason_code", sa.String(length=32), nullable=True))
        batch.drop_constraint("ck_reviews_decision", type_="check")
        batch.create_check_constraint(
            "ck_reviews_decision", "decision in ('approved', 'rejected', 'ask_again')"
        )
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("answers_evidence_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_evidence_answers_evidence_id", "evidence", ["answers_evidence_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_constraint("fk_evidence_answers_evidence_id", type_="foreignkey")
        batch.drop_column("answers_evidence_id")
    op.execute("DELETE FROM reviews WHERE decision = 'ask_again'")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint("ck_reviews_decision", type_="check")
        batch.create_check_constraint("ck_reviews_decision", "decision in ('approved', 'rejected')")
        batch.drop_column("reason_code")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_login", type_="unique")
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
        batch.drop_column("password_hash")
        batch.drop_column("login")

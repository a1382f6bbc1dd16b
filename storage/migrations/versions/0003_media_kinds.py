"""media kinds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Reviewed by hand: new nullable columns only, so existing items need no default; month
flags are unique per teacher, month, code and requirement so the closing job can rerun.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("requirement", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teachers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("teacher_id", "month", "code", "requirement", name="uq_monthly_flag"),
    )
    with op.batch_alter_table("monthly_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_monthly_flags_teacher_id"), ["teacher_id"], unique=False
        )

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preview_key", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("month", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("requirement", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("video_id", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("source_url", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_evidence_video_id"), ["video_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_video_id"))
        batch_op.drop_column("source_url")
        batch_op.drop_column("video_id")
        batch_op.drop_column("requirement")
        batch_op.drop_column("month")
        batch_op.drop_column("preview_key")

    with op.batch_alter_table("monthly_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monthly_flags_teacher_id"))

    op.drop_table("monthly_flags")

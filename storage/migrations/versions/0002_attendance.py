"""attendance, working hours, resolved capture facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Reviewed by hand: existing schools get K-Mob's default hours (07:00 / 15:30) and an
empty calendar through server defaults; the foreign key is named so downgrade works.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("check_in", sa.Time(), nullable=True),
        sa.Column("check_out", sa.Time(), nullable=True),
        sa.Column("destination_name", sa.String(length=200), nullable=True),
        sa.Column("destination_lat", sa.Float(), nullable=True),
        sa.Column("destination_lon", sa.Float(), nullable=True),
        sa.Column("destination_radius_m", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('WFO', 'WFH', 'DL', 'CUTI', 'SAKIT', 'IZIN')", name="ck_attendance_status"
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teachers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("teacher_id", "date", name="uq_attendance_teacher_date"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendance_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("check", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("claimed_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("client_lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("client_lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("client_accuracy_m", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("local_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("accuracy_m", sa.Float(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_evidence_attendance_id"), ["attendance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_captured_at"), ["captured_at"], unique=False)
        batch_op.create_foreign_key(
            "fk_evidence_attendance_id", "attendance", ["attendance_id"], ["id"]
        )

    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("check_in_by", sa.Time(), nullable=False, server_default="07:00:00")
        )
        batch_op.add_column(
            sa.Column("check_out_from", sa.Time(), nullable=False, server_default="15:30:00")
        )
        batch_op.add_column(sa.Column("calendar", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("calendar")
        batch_op.drop_column("check_out_from")
        batch_op.drop_column("check_in_by")

    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_constraint("fk_evidence_attendance_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_evidence_captured_at"))
        batch_op.drop_index(batch_op.f("ix_evidence_attendance_id"))
        batch_op.drop_column("accuracy_m")
        batch_op.drop_column("lon")
        batch_op.drop_column("lat")
        batch_op.drop_column("local_date")
        batch_op.drop_column("captured_at")
        batch_op.drop_column("client_accuracy_m")
        batch_op.drop_column("client_lon")
        batch_op.drop_column("client_lat")
        batch_op.drop_column("claimed_date")
        batch_op.drop_column("check")
        batch_op.drop_column("attendance_id")

    op.drop_table("attendance")

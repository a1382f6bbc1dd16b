"""flag detail phrases: a flag's detail as message ids and values, for the reader's language

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

Reviewed by hand. ``evidence_flags.detail_phrases`` (JSON, nullable) holds the flag's detail
as a list of ``{"message": id, "values": {...}}``, which the pages word in Indonesian or
English; ``detail`` keeps the English sentence the API gives. Rows written before this
revision keep NULL and are shown with their stored detail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("evidence_flags", sa.Column("detail_phrases", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_flags") as batch:
        batch.drop_column("detail_phrases")

"""finished uploads: a resumable upload remembers the item it became

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-05

Reviewed by hand. ``finished_uploads`` maps a tus upload id to the evidence item its last
bytes made, with the upload's length and when the record expires (as long as an unfinished
upload is kept). A client that never got the answer to its last PATCH asks HEAD again and
is told the upload is complete and which item it is, instead of sending the file as a new
item. The row is written in the transaction that inserts the item, and goes with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finished_uploads",
        sa.Column("upload_id", sa.String(length=100), primary_key=True),
        sa.Column(
            "evidence_id",
            sa.Integer(),
            sa.ForeignKey("evidence.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("upload_length", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_finished_uploads_evidence_id", "finished_uploads", ["evidence_id"])
    op.create_index("ix_finished_uploads_expires_at", "finished_uploads", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_finished_uploads_expires_at", table_name="finished_uploads")
    op.drop_index("ix_finished_uploads_evidence_id", table_name="finished_uploads")
    op.drop_table("finished_uploads")

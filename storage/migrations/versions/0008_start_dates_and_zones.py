"""start dates, deactivation, and a DL destination's zone

Revision ID: 0008
Revises: 0010
Create Date: 2026-12-05

Reviewed by hand: three nullable columns, nothing rewritten. ``teachers.start_date`` and
``schools.start_date`` are the first day Bukti counts for them (month summaries, targets and
closing a month); NULL counts from always, as every existing row did. ``attendance.
destination_timezone`` is the IANA zone of a DL destination, in which the day's typed times
are read (a destination in Bali keeps WITA); NULL reads them in the school's zone.
``is_active`` on schools and teachers deactivates instead of deleting, since records hang on
them: an inactive teacher (or a teacher of an inactive school) owes no monthly videos.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("teachers", "schools"):
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("start_date", sa.Date(), nullable=True))
            table.add_column(
                sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true())
            )
    with op.batch_alter_table("attendance") as table:
        table.add_column(sa.Column("destination_timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attendance") as table:
        table.drop_column("destination_timezone")
    for name in ("schools", "teachers"):
        with op.batch_alter_table(name) as table:
            table.drop_column("is_active")
            table.drop_column("start_date")

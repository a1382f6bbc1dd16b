"""evidence leases: the database says who processes an item and when it is due again

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-05

Reviewed by hand. The queue only wakes workers; the item's row says what is going on:
- ``lease_until`` and ``lease_owner``: a job claims an item with a conditional UPDATE and
  renews the lease while it works; an expired lease means its worker died;
- ``attempts``: attempts in the current round (a retry starts a new round);
- ``next_attempt_at``: when the item is due again (backoff after a transient fault, or the
  automatic retry of an item failed because a dependency was down);
- ``failure_reason``: the class of the last failure (storage, database, network, media,
  internal); ``auto_retries``: automatic retries of a failed item so far.
Existing rows get no lease, no attempts and no failure class (their ``reason`` stays).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failure_reason", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column("auto_retries", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("auto_retries")
        batch.drop_column("failure_reason")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("lease_owner")
        batch.drop_column("lease_until")

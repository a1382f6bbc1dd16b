"""teacher history indexes: a photo's time neighbours and same spot without reading the rest

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

Reviewed by hand. Verification reads, of the teacher's other items, the nearest in time before
and after the photo and those at its coordinates (``storage.repositories.teacher_history``):
``(teacher_id, captured_at)`` and ``(teacher_id, lat)`` make each a short index range. Without
them SQLite sorts all of the teacher's items for each neighbour and PostgreSQL filters them
all for the same spot, a cost that grows with the history (about 2,000 items a year). The
verify step of a photo (``bench/history_lookup.py``, median), without and with them: 2.2-2.7
and 1.1 ms on SQLite, 3.1 and 2.4-2.9 ms on PostgreSQL at 5,000 items a teacher; 8.2 and
1.3 ms, 10.7 and 2.7 ms at 20,000.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_evidence_teacher_captured", "evidence", ["teacher_id", "captured_at"])
    op.create_index("ix_evidence_teacher_lat", "evidence", ["teacher_id", "lat"])


def downgrade() -> None:
    op.drop_index("ix_evidence_teacher_lat", table_name="evidence")
    op.drop_index("ix_evidence_teacher_captured", table_name="evidence")

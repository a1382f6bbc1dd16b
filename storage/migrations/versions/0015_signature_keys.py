"""near-duplicate documents and videos through an index of their signatures' keys

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-05

Reviewed by hand. Documents and videos were compared with every live item of their kind,
read whole, under one advisory lock per kind. ``signature_keys`` holds a few 64-bit keys per
document (its text's MinHash bands, or a scan's first-page bands) and per video (a sketch of
its frames' hash halves), the key first in the primary key, the item in an index of its own
(storage/signature_index.py says which keys and why). The table is filled from
``evidence.perceptual`` of every document and video, by the module's own
``signature_of``: its keys are the product's, and a change of them needs a migration of its
own that refills the table. The downgrade drops the table: the scan needs nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.signature_index import signature_of

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5000


def _signatures() -> Iterator[tuple[int, frozenset[int]]]:
    """(evidence id, stored keys) of every document and video that has a signature."""
    evidence = sa.table(
        "evidence",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("perceptual", sa.JSON()),
    )
    rows = op.get_bind().execute(
        sa.select(evidence.c.id, evidence.c.kind, evidence.c.perceptual)
        .where(evidence.c.kind.in_(("document", "video")), evidence.c.perceptual.is_not(None))
        .order_by(evidence.c.id)
    )
    for evidence_id, kind, perceptual in rows:
        data: Any = json.loads(perceptual) if isinstance(perceptual, str) else perceptual
        signature = signature_of(kind, data) if isinstance(data, dict) else None
        if signature is not None:
            yield evidence_id, signature.stored


def upgrade() -> None:
    table = op.create_table(
        "signature_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("evidence_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint("key", "evidence_id"),
    )
    batch: list[dict[str, int]] = []
    for evidence_id, keys in _signatures():
        batch += [{"key": key, "evidence_id": evidence_id} for key in sorted(keys)]
        if len(batch) >= _BATCH:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)
    op.create_index("ix_signature_keys_evidence_id", "signature_keys", ["evidence_id"])


def downgrade() -> None:
    op.drop_index("ix_signature_keys_evidence_id", table_name="signature_keys")
    op.drop_table("signature_keys")

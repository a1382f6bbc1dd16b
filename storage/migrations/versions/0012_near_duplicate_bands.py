"""near-duplicate lookup in the database: hashes cut into indexed bands

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-05

Reviewed by hand. ``perceptual_hashes`` fed an in-memory index that every worker process
loaded whole (a JSON document per photo, read in ``seq`` order). It becomes the index itself:
one row per non-blank photo, keyed by the item, with its pHash, row dHash and column dHash as
signed BIGINTs and those 192 bits cut into nine bands of 21, 21 and 22 bits, each an INTEGER
with a B-tree index (storage/near_index.py probes them). The table is rebuilt from
``evidence.perceptual``, which holds every photo's hashes; the downgrade rebuilds the old
table from the same source.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None

BAND_WIDTHS = (21, 21, 22)  # per hash; storage/near_index.py, frozen here
BANDS = 9
_BATCH = 5000


def _evidence() -> sa.TableClause:
    return sa.table(
        "evidence",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("perceptual", sa.JSON()),
    )


def _photo_hashes() -> Any:
    """(evidence id, perceptual hashes as a dict) of every photo that has them."""
    evidence = _evidence()
    rows = op.get_bind().execute(
        sa.select(evidence.c.id, evidence.c.perceptual)
        .where(evidence.c.kind == "photo", evidence.c.perceptual.is_not(None))
        .order_by(evidence.c.id)
    )
    for evidence_id, perceptual in rows:
        data = json.loads(perceptual) if isinstance(perceptual, str) else perceptual
        if isinstance(data, dict) and "phash" in data:
            yield evidence_id, data


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _bands(value: int) -> list[int]:
    out, shift = [], 64
    for width in BAND_WIDTHS:
        shift -= width
        out.append((value >> shift) & ((1 << width) - 1))
    return out


def _row(evidence_id: int, data: dict[str, Any]) -> dict[str, int]:
    hashes = [int(data[name], 16) for name in ("phash", "dhash", "dhash_vertical")]
    row = {"evidence_id": evidence_id}
    row.update(zip(("phash", "dhash", "dhash_vertical"), map(_signed, hashes), strict=True))
    bands = [band for value in hashes for band in _bands(value)]
    row.update({f"band_{i}": band for i, band in enumerate(bands)})
    return row


def upgrade() -> None:
    op.drop_table("perceptual_hashes")
    table = op.create_table(
        "perceptual_hashes",
        sa.Column("evidence_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.Column("dhash", sa.BigInteger(), nullable=False),
        sa.Column("dhash_vertical", sa.BigInteger(), nullable=False),
        *(sa.Column(f"band_{i}", sa.Integer(), nullable=False) for i in range(BANDS)),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint("evidence_id"),
    )
    batch: list[dict[str, int]] = []
    for evidence_id, data in _photo_hashes():
        if not data.get("is_blank"):
            batch.append(_row(evidence_id, data))
        if len(batch) >= _BATCH:
            op.bulk_insert(table, batch)
            batch = []
    if batch:
        op.bulk_insert(table, batch)
    # indexes after the rows: one sorted build each instead of row-by-row inserts
    for i in range(BANDS):
        op.create_index(f"ix_perceptual_hashes_band_{i}", "perceptual_hashes", [f"band_{i}"])


def downgrade() -> None:
    for i in range(BANDS):
        op.drop_index(f"ix_perceptual_hashes_band_{i}", table_name="perceptual_hashes")
    op.drop_table("perceptual_hashes")
    table = op.create_table(
        "perceptual_hashes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("evidence_id"),
    )
    rows = [{"evidence_id": i, "hashes": data} for i, data in _photo_hashes()]
    if rows:
        op.bulk_insert(table, rows)

"""near-duplicate bands: each band's index holds the hashes, for index-only lookups

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-05

Reviewed by hand. On PostgreSQL each of the nine band indexes of ``perceptual_hashes`` is
rebuilt with ``INCLUDE (evidence_id, phash, dhash, dhash_vertical)``: a lookup then reads the
rows sharing a band value side by side in the index's leaves and filters them there, instead
of fetching each from a random page of the table (storage/near_index.py). The indexes are
about three times larger (~500 MB each at 10 M photos instead of ~150 MB). Each is built in
one sorted pass while the table is locked against writes: ~10 s a band at 10 M rows.

An index-only scan skips the table only for rows on pages the visibility map marks
all-visible, which a VACUUM does. Autovacuum visits an insert-mostly table after 20 % of its
rows were added by default (2 M rows at 10 M photos, each checked in the table by the lookups
meanwhile); here after every 10,000, a vacuum that reads only the pages added since.

SQLite ignores ``INCLUDE`` and has no autovacuum of this kind: its plain band indexes stay as
they are. The downgrade rebuilds the plain indexes and resets the table's settings.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None

BANDS = 9
INCLUDED = ["evidence_id", "phash", "dhash", "dhash_vertical"]
VACUUM_SETTINGS = "autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor"


def _rebuild(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for band in range(BANDS):
        name = f"ix_perceptual_hashes_band_{band}"
        op.drop_index(name, table_name="perceptual_hashes")
        op.create_index(name, "perceptual_hashes", [f"band_{band}"], postgresql_include=include)


def upgrade() -> None:
    _rebuild(INCLUDED)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE perceptual_hashes SET (autovacuum_vacuum_insert_threshold = 10000, "
            "autovacuum_vacuum_insert_scale_factor = 0)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE perceptual_hashes RESET ({VACUUM_SETTINGS})")
    _rebuild([])

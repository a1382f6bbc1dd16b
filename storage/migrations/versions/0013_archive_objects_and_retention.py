"""archive objects, retention policies, legal holds, retention runs

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-05

Reviewed by hand. The storage admin's records:
- archive_objects: every object the archive holds or held (key, class, bytes, SHA-256,
  verification, removal and trash, S3 Object Lock state); evidence_objects links items to
  them, so identical bytes are one object and purging one item never removes bytes another
  still uses;
- retention_policies: versioned rules (kind, outcome, how long originals and copies are kept);
  empty until an admin sets one, the defaults of evidence.retention (version 0) apply;
- legal_holds, retention_runs, retention_removals.
Backfill: every archived item gets its objects from its keys (original: the item's SHA-256
and bytes; rendition: the digest in its key and ``rendition_bytes``; preview: the digest in
its key and 0 bytes, measured by the first ``bukti scrub``), and ``stored_bytes`` becomes the
sum of what it holds, which until now counted the rendition only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

_DIGEST = re.compile(r"/([0-9a-f]{64})\.[a-z0-9]+$")


def upgrade() -> None:
    op.create_table(
        "archive_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("klass", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("damage", sa.String(length=200), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trash_key", sa.String(length=512), nullable=True),
        sa.Column("trash_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_mode", sa.String(length=16), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default="0"),
        sa.CheckConstraint(
            "klass in ('original', 'rendition', 'sanitised', 'preview', 'poster')",
            name="ck_archive_objects_klass",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_archive_objects_key"),
    )
    op.create_index("ix_archive_objects_klass", "archive_objects", ["klass"])
    op.create_index("ix_archive_objects_sha256", "archive_objects", ["sha256"])
    op.create_index("ix_archive_objects_removed_at", "archive_objects", ["removed_at"])
    op.create_table(
        "evidence_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.ForeignKeyConstraint(["object_id"], ["archive_objects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("evidence_id", "object_id", name="uq_evidence_objects"),
    )
    op.create_index("ix_evidence_objects_evidence_id", "evidence_objects", ["evidence_id"])
    op.create_index("ix_evidence_objects_object", "evidence_objects", ["object_id", "released_at"])
    op.create_table(
        "retention_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("keep_original_days", sa.Integer(), nullable=True),
        sa.Column("keep_copies_years", sa.Integer(), nullable=True),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version", "kind", "outcome", name="uq_retention_policy_rule"),
    )
    op.create_index("ix_retention_policies_version", "retention_policies", ["version"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("teacher_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "scope in ('evidence', 'teacher', 'school', 'dates')", name="ck_legal_holds_scope"
        ),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.ForeignKeyConstraint(["teacher_id"], ["teachers.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_holds_released_at", "legal_holds", ["released_at"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("planned_by", sa.String(length=200), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_runs_status", "retention_runs", ["status"])
    op.create_table(
        "retention_removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("klass", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["retention_runs.id"]),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.ForeignKeyConstraint(["object_id"], ["archive_objects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retention_removals_run", "retention_removals", ["run_id", "done_at"])
    now = datetime.now(UTC)
    _backfill_objects(now)


def _backfill_objects(now: datetime) -> None:
    conn = op.get_bind()
    items = conn.execute(
        sa.text(
            "SELECT id, kind, sha256, original_bytes, original_key, rendition_key, "
            "rendition_bytes, preview_key FROM evidence WHERE original_key IS NOT NULL "
            "ORDER BY id"
        )
    ).all()
    object_ids: dict[str, int] = {}
    objects = sa.table(
        "archive_objects",
        sa.column("id", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("klass", sa.String()),
        sa.column("size_bytes", sa.BigInteger()),
        sa.column("sha256", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("legal_hold", sa.Boolean()),
    )
    links = sa.table(
        "evidence_objects",
        sa.column("evidence_id", sa.Integer()),
        sa.column("object_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    for item in items:
        held: list[tuple[str, str, int, str]] = [
            (item.original_key, "original", item.original_bytes, item.sha256)
        ]
        if item.rendition_key and item.rendition_key != item.original_key:
            klass = "sanitised" if item.kind == "document" else "rendition"
            held.append(
                (item.rendition_key, klass, item.rendition_bytes or 0, _digest(item.rendition_key))
            )
        if item.preview_key:
            klass = "poster" if item.kind in ("video", "youtube") else "preview"
            held.append((item.preview_key, klass, 0, _digest(item.preview_key)))
        total = 0
        for key, klass, size_bytes, sha256 in held:
            if key not in object_ids:
                values: dict[str, Any] = {
                    "key": key,
                    "klass": klass,
                    "size_bytes": size_bytes,
                    "sha256": sha256,
                    "created_at": now,
                    "legal_hold": False,
                }
                conn.execute(objects.insert().values(values))
                object_ids[key] = conn.execute(
                    sa.select(objects.c.id).where(objects.c.key == key)
                ).scalar_one()
            conn.execute(
                links.insert().values(
                    evidence_id=item.id, object_id=object_ids[key], created_at=now
                )
            )
            total += size_bytes
        conn.execute(
            sa.text("UPDATE evidence SET stored_bytes = :total WHERE id = :id"),
            {"total": total, "id": item.id},
        )


def _digest(key: str) -> str:
    found = _DIGEST.search(key)
    return found.group(1) if found else "0" * 64


def downgrade() -> None:
    op.execute("UPDATE evidence SET stored_bytes = rendition_bytes WHERE original_key IS NOT NULL")
    op.drop_index("ix_retention_removals_run", table_name="retention_removals")
    op.drop_table("retention_removals")
    op.drop_index("ix_retention_runs_status", table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_legal_holds_released_at", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_index("ix_retention_policies_version", table_name="retention_policies")
    op.drop_table("retention_policies")
    op.drop_index("ix_evidence_objects_object", table_name="evidence_objects")
    op.drop_index("ix_evidence_objects_evidence_id", table_name="evidence_objects")
    op.drop_table("evidence_objects")
    op.drop_index("ix_archive_objects_removed_at", table_name="archive_objects")
    op.drop_index("ix_archive_objects_sha256", table_name="archive_objects")
    op.drop_index("ix_archive_objects_klass", table_name="archive_objects")
    op.drop_table("archive_objects")

"""Usage and savings as the storage admin reads them: API, command line, roles."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bukti.bootstrap import Services
from storage import objects
from storage.db import transaction
from storage.models import ArchiveObject, Evidence, EvidenceObject, utcnow
from tests.fixtures.app import OperatorCli, World, assert_problem, make_world
from tests.fixtures.web import archive_item

pytestmark = pytest.mark.integration

PHOTO = b"p" * 3000
SMALL = b"r" * 400
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


def _month_of_evidence(client: TestClient, services: Services) -> tuple[World, list[int]]:
    """Two teachers; the same photo sent by both (stored once), and a document."""
    world = make_world(client)
    ids = [
        archive_item(services, world.teacher["id"], PHOTO, rendition=SMALL, status="accepted"),
        archive_item(services, world.other_teacher["id"], PHOTO, rendition=SMALL),
        archive_item(
            services,
            world.teacher["id"],
            b"%PDF" + b"d" * 996,
            mime="application/pdf",
            kind="document",
            rendition=b"%PDF" + b"s" * 496,
            preview=b"v" * 100,
        ),
    ]
    return world, ids


def test_usage_counts_what_is_held_once_and_what_dedup_saves(
    client: TestClient, services: Services
) -> None:
    world, _ = _month_of_evidence(client, services)
    response = client.get("/api/v1/storage/usage?by=teacher", headers=world.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    total = body["total"]
    assert total["items"] == 3
    assert total["received_bytes"] == 3000 * 2 + 1000
    assert total["held_bytes"] == 3000 + 400 + 1000 + 500 + 100
    assert total["referenced_bytes"] == 2 * (3000 + 400) + 1000 + 500 + 100
    assert total["saved_by_dedup_bytes"] == 3000 + 400
    erni = next(r for r in body["rows"] if r["label"] == "Erni Wardhani")
    assert erni["items"] == 2 and erni["held_bytes"] == 3400 + 1600
    assert erni["saved_by_dedup_bytes"] == 0
    by_class = client.get("/api/v1/storage/usage?by=class", headers=world.admin).json()
    classes = {r["group"]: r for r in by_class["rows"]}
    assert set(classes) == {"original", "rendition", "sanitised", "preview"}
    assert classes["original"]["held_bytes"] == 4000
    assert classes["original"]["received_bytes"] == 7000


def test_usage_after_retention_shows_the_saving_of_renditions(
    client: TestClient, services: Services
) -> None:
    world, ids = _month_of_evidence(client, services)
    with transaction(services.sessions) as db:
        for evidence_id in ids[:2]:
            link = db.scalars(
                select(EvidenceObject)
                .join(ArchiveObject)
                .where(EvidenceObject.evidence_id == evidence_id, ArchiveObject.klass == "original")
            ).one()
            objects.release(db, services.store, link, utcnow(), trash_days=30)
            objects.refresh_stored_bytes(db, db.get_one(Evidence, evidence_id))
    body = client.get("/api/v1/storage/usage?by=kind", headers=world.admin).json()
    photo = next(r for r in body["rows"] if r["group"] == "photo")
    assert photo["held_bytes"] == 400
    assert photo["removed_bytes"] == 6000
    assert photo["saved_by_renditions_bytes"] == 2 * (3000 - 400)
    original_key = f"originals/{PHOTO_SHA[:2]}/{PHOTO_SHA}.jpg"
    assert not services.store.exists(original_key)
    assert services.store.exists(objects.TRASH_PREFIX + original_key)


@pytest.mark.parametrize("who", ["teacher_auth", "reviewer_auth"])
def test_usage_is_for_admins_only(client: TestClient, who: str) -> None:
    world = make_world(client)
    assert_problem(client.get("/api/v1/storage/usage", headers=getattr(world, who)), 403)


def test_bukti_usage_prints_a_table_and_json(
    client: TestClient, services: Services, operator_cli: OperatorCli
) -> None:
    _month_of_evidence(client, services)
    code, table, _ = operator_cli("usage", "--by", "school")
    assert code == 0
    code, report, _ = operator_cli("usage", "--by", "month", "--json")
    assert code == 0
    assert "SMKN 1 Cianjur" in table and "total" in table
    assert "0.0 MB" in table
    assert '"by": "month"' in report

"""`bukti scrub` and the scrub job: every held object read back against its SHA-256; a
missing or altered one reported, marked on its items and in the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bukti.bootstrap import Services
from storage.audit import Actor
from storage.backends.local import LocalStore
from storage.models import ArchiveObject, AuditEntry, Evidence, EvidenceEvent
from storage.scrub import scrub
from tests.fixtures.app import OperatorCli, RecordingEnqueue, make_world
from tests.fixtures.s3 import S3Endpoint, unique_bucket_name
from tests.fixtures.web import archive_item

pytestmark = pytest.mark.integration

SYSTEM = Actor.system("scrub (test)")


def _object_path(services: Services, key: str) -> Path:
    store = services.store
    assert isinstance(store, LocalStore)
    return store.root / key


def test_scrub_finds_a_missing_and_an_altered_object_and_marks_their_items(
    client: TestClient, services: Services, operator_cli: OperatorCli
) -> None:
    world = make_world(client)
    intact = archive_item(services, world.teacher["id"], b"intact" * 50, rendition=b"i")
    lost = archive_item(services, world.teacher["id"], b"lost" * 50, rendition=b"l")
    altered = archive_item(services, world.other_teacher["id"], b"altered" * 50, rendition=b"a")
    with services.sessions() as db:
        keys = {i: db.get_one(Evidence, i).original_key for i in (intact, lost, altered)}
    _object_path(services, str(keys[lost])).unlink()
    _object_path(services, str(keys[altered])).write_bytes(b"altered" * 49 + b"ALTERED")

    code, out, _ = operator_cli("scrub")
    assert code == 1
    assert f"missing: original {keys[lost]} (evidence {lost})" in out
    assert "altered: reads as" in out and str(keys[altered]) in out
    assert "checked 6 objects" in out and "2 missing or altered" in out

    with services.sessions() as db:
        events = db.scalars(
            select(EvidenceEvent).where(EvidenceEvent.step == "scrub").order_by(EvidenceEvent.id)
        ).all()
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "archive.damaged")).all()
    assert sorted(e.evidence_id for e in events) == sorted([lost, altered])
    assert len(audit) == 2
    damaged = client.get("/api/v1/storage/damaged", headers=world.admin).json()
    assert {d["damage"].split(":")[0] for d in damaged} == {"missing", "altered"}

    # scrubbing again reports them again, but marks nothing twice
    assert operator_cli("scrub")[0] == 1
    with services.sessions() as db:
        again = db.scalars(select(EvidenceEvent).where(EvidenceEvent.step == "scrub")).all()
    assert len(again) == 2


def test_a_sample_reads_the_least_recently_verified_first(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    for n in range(3):
        archive_item(services, world.teacher["id"], f"photo {n}".encode() * 40)
    with services.sessions() as db:
        # recorded at the write: make them all "long ago" but one, which is older still
        for held in db.scalars(select(ArchiveObject)):
            held.verified_at = None
        db.commit()
    first = scrub(services.sessions, services.store, SYSTEM, sample=2)
    with services.sessions() as db:
        unread = db.scalars(select(ArchiveObject.id).where(ArchiveObject.verified_at.is_(None)))
        [left_out] = list(unread)
    second = scrub(services.sessions, services.store, SYSTEM, sample=1)
    with services.sessions() as db:
        assert db.get_one(ArchiveObject, left_out).verified_at is not None
    assert first.checked == 2 and second.checked == 1
    assert first.findings == second.findings == []


def test_the_api_queues_a_scrub_for_the_workers(
    client: TestClient, queued: RecordingEnqueue
) -> None:
    world = make_world(client)
    response = client.post("/api/v1/storage/scrub", json={"sample": 100}, headers=world.admin)
    assert response.status_code == 202
    assert queued.jobs == [("storage_scrub", (100,))]


def test_with_s3_versioning_a_damaged_object_is_put_right_from_an_earlier_version(
    client: TestClient, services: Services, seaweedfs_s3_endpoint: S3Endpoint
) -> None:
    # a bucket of its own, left with the test server: its old versions keep it from deletion
    store = seaweedfs_s3_endpoint.make_store(unique_bucket_name(), create_bucket=True)
    store.check()
    s3 = seaweedfs_s3_endpoint.client()
    s3.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    services.__dict__["store"] = store
    world = make_world(client)
    altered = archive_item(services, world.teacher["id"], b"altered" * 50, rendition=b"a")
    lost = archive_item(services, world.teacher["id"], b"lost" * 50, rendition=b"l")
    with services.sessions() as db:
        altered_key = str(db.get_one(Evidence, altered).original_key)
        lost_key = str(db.get_one(Evidence, lost).original_key)
    s3.put_object(Bucket=store.bucket, Key=altered_key, Body=b"overwritten by mistake")
    s3.delete_object(Bucket=store.bucket, Key=lost_key)

    report = scrub(services.sessions, store, SYSTEM)
    assert report.findings == []
    assert sorted(report.repaired) == sorted([altered_key, lost_key])
    with store.open(altered_key) as fh:
        assert fh.read() == b"altered" * 50
    with store.open(lost_key) as fh:
        assert fh.read() == b"lost" * 50
    with services.sessions() as db:
        repaired = db.scalars(select(AuditEntry).where(AuditEntry.action == "archive.repaired"))
        assert len(list(repaired)) == 2

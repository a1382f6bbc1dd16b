"""S3 Object Lock on a real S3-compatible server (SeaweedFS): archived originals locked for
their retention window, legal holds mirrored onto the objects, and a bucket without object
lock refused at start-up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bukti.bootstrap import Services
from evidence.retention import month_closed_on
from storage.backend import StorageError
from storage.backends.s3 import S3Store
from storage.models import Evidence, utcnow
from tests.fixtures.app import make_world
from tests.fixtures.s3 import S3Endpoint, unique_bucket_name
from tests.fixtures.web import archive_item

pytestmark = pytest.mark.integration


def _locked_store(
    endpoint: S3Endpoint, mode: str = "GOVERNANCE", bucket: str | None = None
) -> S3Store:
    # not from s3_store_factory: locked objects cannot be deleted, so neither can the
    # bucket; it goes with the test server's temporary directory
    store = endpoint.make_store(
        bucket or unique_bucket_name(), create_bucket=True, object_lock=mode
    )
    store.check()
    return store


def _keys(services: Services, evidence_id: int) -> tuple[str, str]:
    with services.sessions() as db:
        item = db.get_one(Evidence, evidence_id)
        assert item.original_key and item.rendition_key
        return item.original_key, item.rendition_key


def test_an_archived_original_is_locked_until_the_policy_could_let_it_go(
    client: TestClient, services: Services, seaweedfs_s3_endpoint: S3Endpoint
) -> None:
    store = _locked_store(seaweedfs_s3_endpoint)
    services.__dict__["store"] = store
    world = make_world(client)
    evidence_id = archive_item(
        services, world.teacher["id"], b"original" * 100, rendition=b"small", status="accepted"
    )
    original, rendition = _keys(services, evidence_id)
    s3 = seaweedfs_s3_endpoint.client()
    retention = s3.get_object_retention(Bucket=store.bucket, Key=original)["Retention"]
    due = month_closed_on(utcnow().date()) + timedelta(days=90)  # the default policy
    assert retention["Mode"] == "GOVERNANCE"
    assert retention["RetainUntilDate"].date() == due
    # the rendition is not locked: it is what the archive keeps after the original
    assert "ObjectLockMode" not in s3.head_object(Bucket=store.bucket, Key=rendition)
    [version] = s3.list_object_versions(Bucket=store.bucket, Prefix=original)["Versions"]
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=store.bucket, Key=original, VersionId=version["VersionId"])


def test_legal_holds_are_mirrored_onto_the_objects_they_cover(
    client: TestClient, services: Services, seaweedfs_s3_endpoint: S3Endpoint
) -> None:
    store = _locked_store(seaweedfs_s3_endpoint)
    services.__dict__["store"] = store
    world = make_world(client)
    mine = archive_item(services, world.teacher["id"], b"mine" * 100, rendition=b"m")
    theirs = archive_item(services, world.other_teacher["id"], b"theirs" * 100, rendition=b"t")
    s3 = seaweedfs_s3_endpoint.client()

    def flag(key: str) -> str:
        answer: dict[str, Any] = s3.get_object_legal_hold(Bucket=store.bucket, Key=key)
        return str(answer["LegalHold"]["Status"])

    placed = client.post(
        "/api/v1/storage/holds",
        json={"scope": "teacher", "teacher_id": world.teacher["id"], "reason": "pemeriksaan"},
        headers=world.admin,
    )
    assert placed.status_code == 201, placed.text
    assert [flag(k) for k in _keys(services, mine)] == ["ON", "ON"]
    assert (
        s3.head_object(Bucket=store.bucket, Key=_keys(services, theirs)[0]).get(
            "ObjectLockLegalHoldStatus", "OFF"
        )
        == "OFF"
    )
    released = client.post(
        f"/api/v1/storage/holds/{placed.json()['id']}/release",
        json={"reason": "selesai"},
        headers=world.admin,
    )
    assert released.status_code == 200, released.text
    assert [flag(k) for k in _keys(services, mine)] == ["OFF", "OFF"]


def test_compliance_mode_is_an_option(
    services: Services, seaweedfs_s3_endpoint: S3Endpoint, client: TestClient
) -> None:
    store = _locked_store(seaweedfs_s3_endpoint, "COMPLIANCE")
    services.__dict__["store"] = store
    world = make_world(client)
    evidence_id = archive_item(services, world.teacher["id"], b"c" * 500, rendition=b"c")
    original, _ = _keys(services, evidence_id)
    answer = seaweedfs_s3_endpoint.client().get_object_retention(Bucket=store.bucket, Key=original)
    assert answer["Retention"]["Mode"] == "COMPLIANCE"


def test_a_bucket_without_object_lock_is_refused_when_lock_is_asked_for(
    seaweedfs_s3_endpoint: S3Endpoint, s3_store_factory: Callable[..., S3Store]
) -> None:
    plain = s3_store_factory(seaweedfs_s3_endpoint)
    asking = seaweedfs_s3_endpoint.make_store(plain.bucket, plain.prefix, object_lock="GOVERNANCE")
    with pytest.raises(StorageError, match="has no object lock"):
        asking.check()


def test_renditions_move_to_a_colder_class_by_a_lifecycle_rule_where_the_server_has_them(
    moto_s3_endpoint: S3Endpoint, seaweedfs_s3_endpoint: S3Endpoint
) -> None:
    store = moto_s3_endpoint.make_store(
        unique_bucket_name(), "bukti", create_bucket=True, cold_storage_class="STANDARD_IA",
        cold_after_days=60,
    )  # fmt: skip
    s3 = moto_s3_endpoint.client()
    s3.create_bucket(Bucket=store.bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=store.bucket,
        LifecycleConfiguration={"Rules": [{"ID": "theirs", "Status": "Enabled",
                                           "Filter": {"Prefix": "other/"},
                                           "Expiration": {"Days": 7}}]},
    )  # fmt: skip
    store.check()
    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    }
    assert set(rules) == {"theirs", "bukti-cold-bukti-renditions", "bukti-cold-bukti-previews"}
    # moto keeps the rules' prefixes but not their size condition (see the unit test)
    assert rules["bukti-cold-bukti-renditions"]["Filter"]["And"]["Prefix"] == "bukti/renditions/"
    assert rules["bukti-cold-bukti-previews"]["Filter"]["And"]["Prefix"] == "bukti/previews/"
    assert rules["bukti-cold-bukti-renditions"]["Transitions"] == [
        {"Days": 60, "StorageClass": "STANDARD_IA"}
    ]
    # SeaweedFS's gateway answers NotImplemented to lifecycle transitions: said at start-up
    weed = seaweedfs_s3_endpoint.make_store(
        unique_bucket_name(), create_bucket=True, cold_storage_class="STANDARD_IA"
    )
    with pytest.raises(StorageError, match="no lifecycle transitions"):
        weed.check()

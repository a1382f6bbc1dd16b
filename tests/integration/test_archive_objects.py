"""The archive's objects on record: honest stored bytes, identical bytes stored once, verified
writes, release to the trash and restore, on every store Bukti runs on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from bukti.bootstrap import Services
from storage import objects
from storage.backend import ObjectStore, StorageError, StoredObject
from storage.backends.local import LocalStore
from storage.backends.memory import MemoryStore
from storage.db import alembic_config, transaction, upgrade
from storage.models import ArchiveObject, Evidence, EvidenceObject, utcnow
from tests.fixtures.app import make_world
from tests.fixtures.photos import jpeg_bytes
from tests.fixtures.s3 import S3Endpoint
from tests.fixtures.web import archive_item

pytestmark = pytest.mark.integration


def test_an_archived_photo_counts_its_original_rendition_and_thumbnail_and_lists_them(
    live_client: TestClient, services: Services
) -> None:
    from workers import pipeline

    world = make_world(live_client)
    live_client.app.state.enqueue = lambda *_: None  # type: ignore[attr-defined]
    # big enough that the pipeline makes a smaller rendition of it
    content = jpeg_bytes("astronaut", 95, (2400, 1800))
    mine = world.upload(content, name="IMG_20261013_071502.jpg", activity_id=world.activity()["id"])
    pipeline.process_evidence(services, mine)
    item = live_client.get(f"/api/v1/evidence/{mine}", headers=world.teacher_auth).json()
    sizes, copies = item["sizes"], item["archive"]["copies"]
    assert [c["class"] for c in copies] == ["original", "rendition", "preview"]
    assert all(c["held"] for c in copies)
    assert copies[0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert copies[0]["size_bytes"] == len(content)
    thumbnail_bytes = copies[2]["size_bytes"]
    assert sizes["stored_bytes"] == len(content) + sizes["rendition_bytes"] + thumbnail_bytes
    on_disk = sum(
        services.store.stat(key).size_bytes
        for area in ("originals/", "renditions/", "previews/")
        for key in services.store.iter_keys(area)
    )
    assert sizes["stored_bytes"] == on_disk


def test_identical_bytes_are_one_object_used_by_two_items(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    first = archive_item(services, world.teacher["id"], b"same bytes", rendition=b"small")
    second = archive_item(services, world.other_teacher["id"], b"same bytes", rendition=b"small")
    with services.sessions() as db:
        assert db.scalar(select(text("count(*)")).select_from(ArchiveObject)) == 2
        held = db.scalars(select(ArchiveObject).where(ArchiveObject.klass == "original")).one()
        assert objects.users_of(db, held.id) == 2
        for evidence_id in (first, second):
            assert db.get_one(Evidence, evidence_id).stored_bytes == len(b"same bytes") + 5


def test_releasing_one_user_keeps_the_bytes_the_other_still_uses(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    first = archive_item(services, world.teacher["id"], b"shared original", rendition=b"r1")
    second = archive_item(services, world.other_teacher["id"], b"shared original", rendition=b"r2")
    key = _original_key(services, first)
    now = utcnow()
    with transaction(services.sessions) as db:
        removed = objects.release(db, services.store, _link(db, first, key), now, trash_days=30)
        objects.refresh_stored_bytes(db, db.get_one(Evidence, first))
    assert removed is False
    assert services.store.exists(key)
    with transaction(services.sessions) as db:
        assert db.get_one(Evidence, first).stored_bytes == 2
        removed = objects.release(db, services.store, _link(db, second, key), now, trash_days=30)
    assert removed is True
    assert not services.store.exists(key)
    assert services.store.exists(objects.TRASH_PREFIX + key)


@pytest.fixture(params=["memory", "local", "seaweedfs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """Each store Bukti archives to: in memory, local disk, and a real S3 server."""
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "local":
        yield LocalStore(tmp_path / "archive")
    else:
        endpoint: S3Endpoint = request.getfixturevalue("seaweedfs_s3_endpoint")
        make: Callable[..., ObjectStore] = request.getfixturevalue("s3_store_factory")
        yield make(endpoint)


def test_a_removed_copy_waits_in_the_trash_and_comes_back(
    client: TestClient, services: Services, store: ObjectStore
) -> None:
    world = make_world(client)
    services.__dict__["store"] = store  # the item's objects go to the store under test
    evidence_id = archive_item(services, world.teacher["id"], b"a teacher's photo", rendition=b"r")
    key = _original_key(services, evidence_id)
    released_at = utcnow()
    with transaction(services.sessions) as db:
        objects.release(db, store, _link(db, evidence_id, key), released_at, trash_days=30)
        objects.refresh_stored_bytes(db, db.get_one(Evidence, evidence_id))
    with services.sessions() as db:
        copies = objects.copies_of(db, evidence_id)
        assert [(c.klass, c.held) for c in copies] == [("original", False), ("rendition", True)]
        assert copies[0].restorable_until == released_at + timedelta(days=30)
        assert db.get_one(Evidence, evidence_id).stored_bytes == 1
    assert not store.exists(key)
    with transaction(services.sessions) as db:
        restored = objects.restore(db, store, evidence_id, released_at + timedelta(days=29))
    assert [c.klass for c in restored] == ["original"]
    with store.open(key) as fh:
        assert fh.read() == b"a teacher's photo"
    assert not store.exists(objects.TRASH_PREFIX + key)
    with services.sessions() as db:
        assert db.get_one(Evidence, evidence_id).stored_bytes == len(b"a teacher's photo") + 1


def test_the_trash_is_emptied_after_its_grace_period_and_then_nothing_comes_back(
    client: TestClient, services: Services
) -> None:
    world = make_world(client)
    evidence_id = archive_item(services, world.teacher["id"], b"photo", rendition=b"r")
    key = _original_key(services, evidence_id)
    now = utcnow()
    with transaction(services.sessions) as db:
        objects.release(db, services.store, _link(db, evidence_id, key), now, trash_days=30)
    with transaction(services.sessions) as db:
        assert objects.purge_trash(db, services.store, now + timedelta(days=29)) == []
        assert len(objects.purge_trash(db, services.store, now + timedelta(days=30))) == 1
    assert not services.store.exists(objects.TRASH_PREFIX + key)
    with transaction(services.sessions) as db:
        assert objects.restore(db, services.store, evidence_id, now + timedelta(days=31)) == []


class _DamagingStore(MemoryStore):
    """A store that drops the last byte of what it is given: a write that lies."""

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        damaged = path.with_suffix(".damaged")
        damaged.write_bytes(path.read_bytes()[:-1])
        return super().put_file(key, damaged, content_type)


def test_a_write_the_store_does_not_hold_as_written_is_refused(tmp_path: Path) -> None:
    store = _DamagingStore()
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"a photo's bytes")
    store.put_file("originals/ab/x.jpg", source, "image/jpeg")
    digest = hashlib.sha256(b"a photo's bytes").hexdigest()
    with pytest.raises(StorageError, match="holds 14 bytes, 15 were written"):
        objects.verify_write(store, "originals/ab/x.jpg", 15, digest)
    with pytest.raises(StorageError, match="reads back as"):
        objects.verify_write(store, "originals/ab/x.jpg", 14, digest)


def test_a_copy_the_store_did_not_vouch_for_is_read_back_before_it_goes_on_record(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    world = make_world(client)
    evidence_id = archive_item(services, world.teacher["id"], b"first bytes")
    store = _DamagingStore()
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"a photo's bytes")
    digest = hashlib.sha256(b"a photo's bytes").hexdigest()
    stored = store.adopt_file("originals/ab/x.jpg", source, "image/jpeg", digest)
    assert stored.sha256 is None  # a copy: only reading it back can tell
    written = objects.Written("originals/ab/x.jpg", "original", 15, digest)
    with services.sessions() as db:
        item = db.get_one(Evidence, evidence_id)
        with pytest.raises(StorageError, match="holds 14 bytes, 15 were written"):
            objects.record(db, store, item, [written])


def test_a_file_the_local_store_adopted_goes_on_record_without_a_second_read(
    client: TestClient, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(client)
    evidence_id = archive_item(services, world.teacher["id"], b"first bytes")
    store = LocalStore(tmp_path / "objects")
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"a photo's bytes")
    digest = hashlib.sha256(b"a photo's bytes").hexdigest()
    stored = store.adopt_file("originals/ab/x.jpg", source, "image/jpeg", digest)
    assert stored.sha256 == digest
    written = objects.Written("originals/ab/x.jpg", "original", 15, digest, verified=True)

    def no_read_back(*_: object) -> None:
        raise AssertionError("read back")

    monkeypatch.setattr(objects, "verify_write", no_read_back)
    with transaction(services.sessions) as db:
        item = db.get_one(Evidence, evidence_id)
        [held] = objects.record(db, store, item, [written])
        assert held.verified_at is not None
        assert item.stored_bytes == len(b"first bytes") + 15


@pytest.mark.both_databases
def test_the_migration_records_the_objects_of_items_archived_before_it(
    database_url: str, tmp_path: Path
) -> None:
    url = database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        # start again from 0009 on a database of this test's own
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    command.upgrade(alembic_config(url), "0009")
    digest = "ab" * 32
    rendition = "cd" * 32
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO schools (id, name, lat, lon, radius_m, timezone, check_in_by, "
                "check_out_from, calendar, is_active, created_at) VALUES (1, 'S', 0, 0, 150, "
                "'Asia/Jakarta', '07:00', '15:30', '[]', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO teachers (id, nip, name, school_id, is_active, created_at) "
                "VALUES (1, '1', 'T', 1, true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, teacher_id, is_active, created_at, "
                "failed_logins) VALUES (1, 'T', 'teacher', 1, true, CURRENT_TIMESTAMP, 0)"
            )
        )
        for evidence_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO evidence (id, teacher_id, uploaded_by, kind, mime, status, "
                    "received_at, sha256, original_bytes, stored_bytes, original_key, "
                    "rendition_key, rendition_bytes, archived_at) VALUES (:id, 1, 1, 'photo', "
                    "'image/jpeg', 'accepted', CURRENT_TIMESTAMP, :sha, 3000, 400, :okey, "
                    ":rkey, 400, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": evidence_id,
                    "sha": digest,
                    "okey": f"originals/ab/{digest}.jpg",
                    "rkey": f"renditions/cd/{rendition}.jpg",
                },
            )
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        held = conn.execute(
            text("SELECT klass, size_bytes, sha256 FROM archive_objects ORDER BY id")
        ).all()
        links = conn.execute(text("SELECT count(*) FROM evidence_objects")).scalar_one()
        stored = conn.execute(text("SELECT stored_bytes FROM evidence ORDER BY id")).scalars()
        assert [tuple(row) for row in held] == [
            ("original", 3000, digest),
            ("rendition", 400, rendition),
        ]
        assert links == 4
        assert list(stored) == [3400, 3400]
    engine.dispose()


def _original_key(services: Services, evidence_id: int) -> str:
    with services.sessions() as db:
        key = db.get_one(Evidence, evidence_id).original_key
    assert key is not None
    return key


def _link(db: object, evidence_id: int, key: str) -> EvidenceObject:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    return db.scalars(
        select(EvidenceObject)
        .join(ArchiveObject)
        .where(EvidenceObject.evidence_id == evidence_id, ArchiveObject.key == key)
    ).one()


@pytest.mark.both_databases
def test_the_same_bytes_archived_at_once_by_two_items_are_one_object_used_twice(
    client: TestClient, services: Services
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    world = make_world(client)
    teachers = [world.teacher["id"], world.other_teacher["id"]] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(
            pool.map(lambda t: archive_item(services, t, b"one photo", rendition=b"r"), teachers)
        )
    with services.sessions() as db:
        held = db.scalars(select(ArchiveObject).order_by(ArchiveObject.klass)).all()
        assert [(o.klass, objects.users_of(db, o.id)) for o in held] == [
            ("original", 6),
            ("rendition", 6),
        ]
        assert {db.get_one(Evidence, i).stored_bytes for i in ids} == {len(b"one photo") + 1}

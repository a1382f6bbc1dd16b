"""The object store contract: every backend keeps the same promises."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.backend import InvalidKeyError, ObjectStore, StorageError
from storage.backends.local import LocalStore
from storage.backends.memory import MemoryStore
from storage.backends.s3 import S3Store
from tests.fixtures.s3 import S3Endpoint

pytestmark = pytest.mark.integration

_MIB = 1024 * 1024
# past the 8 MiB multipart threshold twice over, with a tail that is not a whole part
LARGE_FILE_BYTES = 17 * _MIB + 7
INVALID_KEYS = ["../x", "/abs", "a/../b", "A B", ""]
S3_FLAVOURS = ["moto", "seaweedfs"]


@pytest.fixture(params=["local", "memory", *S3_FLAVOURS])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each backend, empty; S3 ones under a fresh prefix, which keys come back without."""
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    if request.param == "memory":
        return MemoryStore()
    endpoint = request.getfixturevalue(f"{request.param}_s3_endpoint")
    make = request.getfixturevalue("s3_store_factory")
    store: ObjectStore = make(endpoint)
    return store


@pytest.fixture(params=S3_FLAVOURS)
def s3_endpoint(request: pytest.FixtureRequest) -> S3Endpoint:
    """Each S3-compatible server."""
    endpoint: S3Endpoint = request.getfixturevalue(f"{request.param}_s3_endpoint")
    return endpoint


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A random file big enough for a multipart upload, and its SHA-256."""
    path = tmp_path_factory.mktemp("large") / "large.bin"
    digest = hashlib.sha256()
    remaining = LARGE_FILE_BYTES
    with path.open("wb") as out:
        while remaining:
            chunk = os.urandom(min(_MIB, remaining))
            out.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
    return path, digest.hexdigest()


def write_file(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def sha256_of_stream(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    with store.open(key) as stream:
        while chunk := stream.read(_MIB):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_MIB):
            digest.update(chunk)
    return digest.hexdigest()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_stored_bytes_come_back_exactly(store: ObjectStore, tmp_path: Path) -> None:
    data = b"\x00\xffevidence\r\n" * 1000
    source = write_file(tmp_path, "photo.jpg", data)

    stored = store.put_file("originals/3f/3fa9e1.jpg", source, "image/jpeg")

    assert stored.key == "originals/3f/3fa9e1.jpg"
    assert stored.size_bytes == len(data)
    assert store.stat("originals/3f/3fa9e1.jpg").size_bytes == len(data)
    assert store.exists("originals/3f/3fa9e1.jpg")
    with store.open("originals/3f/3fa9e1.jpg") as stream:
        assert stream.read() == data
    copy = tmp_path / "copy.jpg"
    assert store.get_to_file("originals/3f/3fa9e1.jpg", copy) == len(data)
    assert copy.read_bytes() == data


def test_an_adopted_file_is_stored_exactly(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(70_000)
    source = write_file(tmp_path, "upload.jpg", data)
    digest = hashlib.sha256(data).hexdigest()
    stored = store.adopt_file("originals/ad/adopted.jpg", source, "image/jpeg", digest)
    source.unlink()  # the caller's file goes once the object is on record
    assert stored.size_bytes == len(data)
    assert sha256_of_stream(store, "originals/ad/adopted.jpg") == digest
    # only a store that keeps the caller's very file vouches for its SHA-256
    assert stored.sha256 == (digest if isinstance(store, LocalStore) else None)


def test_the_local_store_keeps_the_file_it_adopts_on_its_own_disk(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    source = write_file(tmp_path, "upload.jpg", b"the staged upload")
    store.adopt_file("originals/ad/a.jpg", source, "image/jpeg", "ab" * 32)
    held = store.root / "originals" / "ad" / "a.jpg"
    assert held.stat().st_ino == source.stat().st_ino  # a link, not a copy
    assert not [p for p in held.parent.iterdir() if p.name.startswith(".tmp-")]


def test_the_local_store_copies_a_file_it_cannot_link_and_does_not_vouch_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path / "objects")
    source = write_file(tmp_path, "upload.jpg", b"the staged upload")

    def other_disk(*_: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", other_disk)
    stored = store.adopt_file("originals/ad/a.jpg", source, "image/jpeg", "ab" * 32)
    held = store.root / "originals" / "ad" / "a.jpg"
    assert stored.sha256 is None
    assert held.read_bytes() == b"the staged upload"
    assert held.stat().st_ino != source.stat().st_ino


def test_empty_file_is_stored_as_an_empty_object(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("originals/00/empty.txt", write_file(tmp_path, "e", b""), "text/plain")

    assert store.stat("originals/00/empty.txt").size_bytes == 0
    with store.open("originals/00/empty.txt") as stream:
        assert stream.read() == b""


def test_large_file_round_trips_through_multipart_upload(
    store: ObjectStore, tmp_path: Path, large_file: tuple[Path, str]
) -> None:
    source, sha256 = large_file

    stored = store.put_file("originals/ab/large.mp4", source, "video/mp4")

    assert stored.size_bytes == LARGE_FILE_BYTES
    assert store.stat("originals/ab/large.mp4").size_bytes == LARGE_FILE_BYTES
    assert sha256_of_stream(store, "originals/ab/large.mp4") == sha256
    copy = tmp_path / "copy.mp4"
    assert store.get_to_file("originals/ab/large.mp4", copy) == LARGE_FILE_BYTES
    assert sha256_of_file(copy) == sha256


def test_reading_part_of_an_object_then_closing_early_is_fine(
    store: ObjectStore, large_file: tuple[Path, str]
) -> None:
    source, _ = large_file
    store.put_file("originals/ab/large.mp4", source, "video/mp4")
    with source.open("rb") as original:
        head = original.read(1000)

    with store.open("originals/ab/large.mp4") as stream:
        assert stream.read(1000) == head

    # the store still answers after a body was abandoned half-read
    assert store.stat("originals/ab/large.mp4").size_bytes == LARGE_FILE_BYTES


def test_putting_the_same_file_twice_leaves_one_identical_object(
    store: ObjectStore, tmp_path: Path
) -> None:
    source = write_file(tmp_path, "a.jpg", b"same bytes")

    first = store.put_file("originals/aa/a.jpg", source, "image/jpeg")
    second = store.put_file("originals/aa/a.jpg", source, "image/jpeg")

    assert first == second
    assert list(store.iter_keys("originals/")) == ["originals/aa/a.jpg"]
    with store.open("originals/aa/a.jpg") as stream:
        assert stream.read() == b"same bytes"


def test_putting_new_bytes_under_a_key_replaces_the_old(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("renditions/aa/a.webp", write_file(tmp_path, "1", b"old, longer"), "image/webp")

    store.put_file("renditions/aa/a.webp", write_file(tmp_path, "2", b"new"), "image/webp")

    assert store.stat("renditions/aa/a.webp").size_bytes == 3
    with store.open("renditions/aa/a.webp") as stream:
        assert stream.read() == b"new"


def test_deleted_object_is_gone(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("originals/dd/d.jpg", write_file(tmp_path, "d", b"doomed"), "image/jpeg")

    store.delete("originals/dd/d.jpg")

    assert not store.exists("originals/dd/d.jpg")
    with pytest.raises(FileNotFoundError):
        store.stat("originals/dd/d.jpg")
    assert list(store.iter_keys()) == []


def test_deleting_a_missing_key_is_not_an_error(store: ObjectStore) -> None:
    store.delete("originals/00/never-stored.jpg")

    assert not store.exists("originals/00/never-stored.jpg")


def test_missing_key_raises_file_not_found(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.open("originals/00/missing.jpg")
    with pytest.raises(FileNotFoundError):
        store.stat("originals/00/missing.jpg")
    with pytest.raises(FileNotFoundError):
        store.get_to_file("originals/00/missing.jpg", tmp_path / "out")
    assert not store.exists("originals/00/missing.jpg")


def test_iter_keys_lists_only_keys_under_the_prefix(store: ObjectStore, tmp_path: Path) -> None:
    source = write_file(tmp_path, "x", b"x")
    keys = [
        "originals/3f/a.jpg",
        "originals/3f/b.jpg",
        "originals/40/c.jpg",
        "renditions/3f/a.webp",
    ]
    for key in keys:
        store.put_file(key, source, "application/octet-stream")

    assert sorted(store.iter_keys("originals/3f/")) == ["originals/3f/a.jpg", "originals/3f/b.jpg"]
    assert sorted(store.iter_keys("originals/")) == keys[:3]
    assert sorted(store.iter_keys()) == keys
    assert list(store.iter_keys("thumbnails/")) == []


def test_check_passes_on_a_working_store(store: ObjectStore) -> None:
    store.check()

    # the readiness probe leaves nothing behind
    assert list(store.iter_keys()) == []


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
def test_invalid_key_is_refused_before_storage_is_touched(
    store: ObjectStore, tmp_path: Path, key: str
) -> None:
    source = write_file(tmp_path, "evil", b"evil")

    with pytest.raises(InvalidKeyError):
        store.put_file(key, source, "image/jpeg")
    with pytest.raises(InvalidKeyError):
        store.open(key)
    with pytest.raises(InvalidKeyError):
        store.stat(key)
    with pytest.raises(InvalidKeyError):
        store.exists(key)
    with pytest.raises(InvalidKeyError):
        store.delete(key)
    with pytest.raises(InvalidKeyError):
        store.get_to_file(key, tmp_path / "out")

    assert list(store.iter_keys()) == []
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
def test_s3_refuses_invalid_keys_without_a_request(key: str, tmp_path: Path) -> None:
    # nothing listens here: any request would end in StorageError, not InvalidKeyError
    store = S3Store("bukti", endpoint_url=f"http://127.0.0.1:{closed_port()}", max_attempts=1)
    source = write_file(tmp_path, "evil", b"evil")

    with pytest.raises(InvalidKeyError):
        store.put_file(key, source, "image/jpeg")
    with pytest.raises(InvalidKeyError):
        store.open(key)
    with pytest.raises(InvalidKeyError):
        store.stat(key)
    with pytest.raises(InvalidKeyError):
        store.delete(key)


def test_s3_check_fails_fast_when_the_server_is_unreachable(s3_endpoint: S3Endpoint) -> None:
    endpoint_url = f"http://127.0.0.1:{closed_port()}"
    store = S3Store(
        bucket="bukti",
        endpoint_url=endpoint_url,
        region=s3_endpoint.region,
        access_key_id=s3_endpoint.access_key_id,
        secret_access_key=s3_endpoint.secret_access_key,
        connect_timeout_s=1,
        read_timeout_s=1,
        max_attempts=1,
    )
    started = time.monotonic()

    with pytest.raises(StorageError) as raised:
        store.check()

    assert time.monotonic() - started < 5
    assert endpoint_url in str(raised.value)


def test_s3_check_fails_when_the_bucket_is_missing_and_may_not_be_created(
    s3_endpoint: S3Endpoint,
) -> None:
    store = s3_endpoint.make_store("bukti-never-created", create_bucket=False, max_attempts=1)

    with pytest.raises(StorageError):
        store.check()


def test_s3_check_creates_a_missing_bucket_when_allowed(s3_endpoint: S3Endpoint) -> None:
    bucket = f"bukti-created-{uuid.uuid4().hex[:12]}"
    store = s3_endpoint.make_store(bucket, create_bucket=True)
    try:
        store.check()
        store.check()  # the second time finds it there

        assert s3_endpoint.client().head_bucket(Bucket=bucket)
    finally:
        s3_endpoint.client().delete_bucket(Bucket=bucket)


def test_s3_records_the_content_type(
    s3_endpoint: S3Endpoint,
    s3_store_factory: Callable[..., S3Store],
    tmp_path: Path,
    large_file: tuple[Path, str],
) -> None:
    store = s3_store_factory(s3_endpoint)
    key_prefix = f"{store.prefix}/"
    store.put_file("originals/aa/a.heic", write_file(tmp_path, "a", b"heic"), "image/heic")
    store.put_file("originals/ab/large.mp4", large_file[0], "video/mp4")

    client = s3_endpoint.client()
    small = client.head_object(Bucket=store.bucket, Key=key_prefix + "originals/aa/a.heic")
    large = client.head_object(Bucket=store.bucket, Key=key_prefix + "originals/ab/large.mp4")
    assert small["ContentType"] == "image/heic"
    assert large["ContentType"] == "video/mp4"


def test_s3_prefixes_keep_two_stores_in_one_bucket_apart(
    s3_endpoint: S3Endpoint, s3_store_factory: Callable[..., S3Store], tmp_path: Path
) -> None:
    school_a = s3_store_factory(s3_endpoint, prefix="school-a")
    school_b = s3_endpoint.make_store(school_a.bucket, prefix="school-b/")
    source = write_file(tmp_path, "x", b"x")

    school_a.put_file("originals/aa/a.jpg", source, "image/jpeg")
    school_b.put_file("originals/bb/b.jpg", source, "image/jpeg")

    assert list(school_a.iter_keys()) == ["originals/aa/a.jpg"]
    assert list(school_b.iter_keys()) == ["originals/bb/b.jpg"]
    assert not school_b.exists("originals/aa/a.jpg")
    keys_in_bucket = s3_endpoint.client().list_objects_v2(Bucket=school_a.bucket)["Contents"]
    assert sorted(item["Key"] for item in keys_in_bucket) == [
        "school-a/originals/aa/a.jpg",
        "school-b/originals/bb/b.jpg",
    ]


def test_s3_check_fails_when_the_credentials_are_refused(
    seaweedfs_s3_endpoint: S3Endpoint, s3_store_factory: Callable[..., S3Store]
) -> None:
    # moto accepts any signature, so only the real server can refuse
    bucket = s3_store_factory(seaweedfs_s3_endpoint).bucket
    intruder = S3Store(
        bucket=bucket,
        endpoint_url=seaweedfs_s3_endpoint.endpoint_url,
        region=seaweedfs_s3_endpoint.region,
        access_key_id=seaweedfs_s3_endpoint.access_key_id,
        secret_access_key="not-the-secret",
        max_attempts=1,
    )

    with pytest.raises(StorageError):
        intruder.check()


def test_a_range_of_an_object_comes_back_exactly(
    store: ObjectStore, large_file: tuple[Path, str]
) -> None:
    source, _ = large_file
    store.put_file("originals/ab/large.mp4", source, "video/mp4")
    data = source.read_bytes()
    start = 9 * _MIB - 5  # across a multipart boundary

    with store.open_range("originals/ab/large.mp4", start, 3 * _MIB) as stream:
        middle = stream.read()
    with store.open_range("originals/ab/large.mp4", LARGE_FILE_BYTES - 10, 100) as stream:
        tail = stream.read()
    with store.open_range("originals/ab/large.mp4", 0, 0) as stream:
        nothing = stream.read()

    assert middle == data[start : start + 3 * _MIB]
    assert tail == data[-10:]  # a range past the end gives what there is
    assert nothing == b""


def test_a_range_is_read_in_chunks_without_the_rest_of_the_object(
    store: ObjectStore, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 64
    store.put_file("renditions/cc/c.mp4", write_file(tmp_path, "c", data), "video/mp4")

    with store.open_range("renditions/cc/c.mp4", 1000, 5000) as stream:
        chunks = [stream.read(1024) for _ in range(6)]

    assert b"".join(chunks) == data[1000:6000]
    assert chunks[-1] == b""


def test_a_range_of_a_missing_object_raises_file_not_found(store: ObjectStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.open_range("originals/00/missing.mp4", 0, 10)
    with pytest.raises(FileNotFoundError):
        store.open_range("originals/00/missing.mp4", 0, 0)


def test_an_objects_version_changes_with_its_bytes(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("previews/aa/p.png", write_file(tmp_path, "1", b"first"), "image/png")
    first = store.stat("previews/aa/p.png")
    time.sleep(0.01)
    store.put_file("previews/aa/p.png", write_file(tmp_path, "2", b"other"), "image/png")
    second = store.stat("previews/aa/p.png")

    assert first.version is not None and second.version is not None
    assert first.version != second.version
    assert store.stat("previews/aa/p.png").version == second.version

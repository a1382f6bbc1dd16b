"""Object keys: only the ones Bukti builds pass, and no key leads out of a local store."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.backend import InvalidKeyError, StorageError, check_key
from storage.backends.local import LocalStore

VALID_KEYS = [
    "originals/3f/3fa9c0ffee.jpg",
    "renditions/3f/3fa9c0ffee.webp",
    "thumbnails/00/a_b-c.d.jpg",
    "exports/2025-07/report.pdf",
    "a",
    "a/" + "b" * 508,  # 510 characters, under the limit
]

INVALID_KEYS = [
    "",
    "../x",
    "/abs",
    "a/../b",
    "a/..",
    "..",
    "A B",
    "Originals/x.jpg",
    "a//b",
    "a/",
    "a/./b",
    "a/.hidden",
    ".ready-probe",
    "-a/b",
    "a\\b",
    "a/b c.jpg",
    "a/b\x00.jpg",
    "originals/x.jpg\n",
    "originals/\u00e9.jpg",
    "a/b..c.jpg",
    "a/" + "b" * 511,  # 513 characters
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_keys_bukti_builds_are_accepted_unchanged(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_keys_bukti_never_builds_are_refused(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        check_key(key)


def test_invalid_key_error_is_a_value_error() -> None:
    # callers that validate input catch ValueError without knowing about storage
    with pytest.raises(ValueError, match="not a valid object key"):
        check_key("../etc/passwd")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the store's root, holding a file the store must never touch."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.jpg").write_bytes(b"not yours")
    return directory


@pytest.fixture
def store_with_planted_symlink(tmp_path: Path, outside: Path) -> LocalStore:
    """A local store whose ``originals`` directory is a symlink pointing outside the root."""
    store = LocalStore(tmp_path / "root")
    (store.root / "originals").symlink_to(outside, target_is_directory=True)
    return store


def test_local_store_does_not_write_through_a_planted_symlink(
    store_with_planted_symlink: LocalStore, outside: Path, tmp_path: Path
) -> None:
    source = tmp_path / "upload.jpg"
    source.write_bytes(b"evidence")

    with pytest.raises(StorageError):
        store_with_planted_symlink.put_file("originals/new.jpg", source, "image/jpeg")
    with pytest.raises(StorageError):
        store_with_planted_symlink.put_file("originals/secret.jpg", source, "image/jpeg")

    assert sorted(path.name for path in outside.iterdir()) == ["secret.jpg"]
    assert (outside / "secret.jpg").read_bytes() == b"not yours"


def test_local_store_does_not_delete_through_a_planted_symlink(
    store_with_planted_symlink: LocalStore, outside: Path
) -> None:
    with pytest.raises(StorageError):
        store_with_planted_symlink.delete("originals/secret.jpg")

    assert (outside / "secret.jpg").exists()


def test_local_store_does_not_read_through_a_planted_symlink(
    store_with_planted_symlink: LocalStore,
) -> None:
    with pytest.raises(StorageError):
        store_with_planted_symlink.open("originals/secret.jpg")
    with pytest.raises(StorageError):
        store_with_planted_symlink.stat("originals/secret.jpg")


def test_local_store_does_not_follow_a_symlinked_file_out_of_the_root(
    tmp_path: Path, outside: Path
) -> None:
    store = LocalStore(tmp_path / "root")
    (store.root / "originals" / "aa").mkdir(parents=True)
    (store.root / "originals" / "aa" / "x.jpg").symlink_to(outside / "secret.jpg")
    source = tmp_path / "upload.jpg"
    source.write_bytes(b"evidence")

    with pytest.raises(StorageError):
        store.put_file("originals/aa/x.jpg", source, "image/jpeg")

    assert (outside / "secret.jpg").read_bytes() == b"not yours"


def test_local_store_does_not_list_files_outside_the_root(
    store_with_planted_symlink: LocalStore,
) -> None:
    assert list(store_with_planted_symlink.iter_keys()) == []


@pytest.mark.parametrize("key", ["../escaped.jpg", "{tmp}/escaped.jpg", "a/../../escaped.jpg"])
def test_local_store_refuses_escaping_keys_before_touching_the_disk(
    tmp_path: Path, key: str
) -> None:
    key = key.format(tmp=tmp_path)  # an absolute key aimed at a place the test can watch
    store = LocalStore(tmp_path / "root")
    source = tmp_path / "upload.jpg"
    source.write_bytes(b"evidence")

    with pytest.raises(InvalidKeyError):
        store.put_file(key, source, "image/jpeg")

    assert not (tmp_path / "escaped.jpg").exists()
    assert list(store.root.iterdir()) == []

"""The object store interface that every backend implements.

Keys are built by Bukti, never taken from a user: content-addressed paths such as
``originals/3f/3fa9...e1.jpg``. :func:`check_key` refuses anything else, so no path
from a request can reach the file system or the bucket.
"""

from __future__ import annotations

import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9._-]*)*$")


class StorageError(Exception):
    """Raised when the object store cannot do what was asked (a transient fault: retry)."""


class InvalidKeyError(ValueError):
    """Raised when a key is not one Bukti builds (absolute, `..`, odd characters)."""


@dataclass(frozen=True)
class StoredObject:
    """An object as the store holds it; ``version`` changes whenever its bytes may have
    (a file's size and mtime, an S3 ETag), None when the store cannot tell."""

    key: str
    size_bytes: int
    version: str | None = None
    #: the SHA-256 of the bytes held, when the store knows them without reading them back
    #: (:meth:`ObjectStore.adopt_file` on the same disk: the very file the caller hashed)
    sha256: str | None = None


def check_key(key: str) -> str:
    """Return ``key`` when it is a safe object key, else raise :class:`InvalidKeyError`."""
    # fullmatch, not match: "$" also matches before a trailing newline
    if len(key) > 512 or not _KEY.fullmatch(key) or ".." in key:
        raise InvalidKeyError(f"not a valid object key: {key!r}")
    return key


class ObjectStore(ABC):
    """Write-once storage of archived media under content-addressed keys."""

    name: str

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        """Store the file at ``path`` under ``key``, streaming it; overwriting is idempotent."""

    def adopt_file(self, key: str, path: Path, content_type: str, sha256: str) -> StoredObject:
        """Store a file the caller has finished writing and hashed (``sha256``), and will only
        delete: a store that can keep that very file (a hard link on the same disk) does so
        instead of copying it, and returns ``sha256`` as the held bytes' own; else it stores a
        copy, like :meth:`put_file`, and returns no SHA-256 (read it back to verify it)."""
        return self.put_file(key, path, content_type)

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; :class:`FileNotFoundError` if missing."""

    @abstractmethod
    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        """A stream of at most ``length`` bytes from offset ``start`` (HTTP Range requests,
        video seeking), read lazily; :class:`FileNotFoundError` if missing."""

    def presigned_url(
        self, key: str, expires_s: int, content_type: str, disposition: str
    ) -> str | None:
        """A short-lived URL a browser may fetch the object from directly, answered with
        these headers; None when the store has no such URLs (local disk, memory)."""
        return None

    @abstractmethod
    def stat(self, key: str) -> StoredObject:
        """The object's size; :class:`FileNotFoundError` if missing."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key that starts with ``prefix``, in no particular order."""

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageError` unless the store can be written now (readiness)."""

    def exists(self, key: str) -> bool:
        """True when an object is stored under ``key``."""
        try:
            self.stat(key)
        except FileNotFoundError:
            return False
        return True

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy an object to another key (trash, restore); :class:`FileNotFoundError` if the
        source is missing. This default goes through a temporary file; backends do better."""
        with tempfile.TemporaryDirectory(prefix="bukti-copy-") as scratch:
            path = Path(scratch) / "object"
            self.get_to_file(source_key, path)
            self.put_file(target_key, path, "application/octet-stream")

    @property
    def has_object_lock(self) -> bool:
        """True when the store can lock objects against deletion (S3 Object Lock)."""
        return False

    def lock(self, key: str, until: datetime) -> str:
        """Keep the object from deletion until ``until`` (S3 Object Lock's retention);
        returns the lock's mode."""
        raise NotImplementedError(f"the {self.name} store has no object lock")

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Set or clear the object's legal hold flag (S3 Object Lock's legal hold)."""
        raise NotImplementedError(f"the {self.name} store has no object lock")

    def earlier_versions(self, key: str) -> list[str]:
        """Ids of the object's earlier versions, newest first (S3 versioning); none here."""
        return []

    def open_version(self, key: str, version: str) -> BinaryIO:
        """A readable stream of one earlier version of the object."""
        raise NotImplementedError(f"the {self.name} store keeps no versions")

    def restore_version(self, key: str, version: str) -> None:
        """Make an earlier version the object's current bytes again."""
        raise NotImplementedError(f"the {self.name} store keeps no versions")

    def get_to_file(self, key: str, path: Path, chunk_bytes: int = 1024 * 1024) -> int:
        """Copy the object into ``path``; returns the bytes written."""
        written = 0
        with self.open(key) as src, path.open("wb") as dst:
            while chunk := src.read(chunk_bytes):
                dst.write(chunk)
                written += len(chunk)
        return written

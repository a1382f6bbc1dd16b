"""Reading archived objects back against the SHA-256 on record, and hashing staged files.

Keys are content-addressed (``renditions/3f/3fa9...e1.jpg``), so every object's expected
digest is known: :func:`expected_sha256` reads it from the key. :class:`VerifiedObjects`
remembers which object versions already passed, so that a video seeked through with many
range requests is hashed once, not once per request.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from bukti.errors import CorruptObjectError
from storage.backend import ObjectStore, StoredObject

_DIGEST_IN_KEY = re.compile(r"/([0-9a-f]{64})\.[a-z0-9]+$")
_CHUNK = 1024 * 1024


def expected_sha256(key: str) -> str | None:
    """The SHA-256 a content-addressed key names, or None for a key that names none."""
    found = _DIGEST_IN_KEY.search(key)
    return found.group(1) if found else None


def object_sha256(store: ObjectStore, key: str, version: str | None = None) -> str:
    """The SHA-256 of an object's bytes (or of one earlier version), read as a stream."""
    with store.open(key) if version is None else store.open_version(key, version) as stream:
        return _stream_sha256(stream)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file (an upload the API staged, a download the workers made), read in
    1 MiB chunks so memory stays flat for any size."""
    with path.open("rb") as f:
        return _stream_sha256(f)


def _stream_sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class VerifiedObjects:
    """Objects whose bytes were found to match their digest, by version (bounded, LRU)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._passed: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def check(self, store: ObjectStore, key: str, sha256: str) -> StoredObject:
        """The object's stat once its bytes match ``sha256``; raises
        :class:`CorruptObjectError` when it is missing or they do not."""
        try:
            stored = store.stat(key)
        except FileNotFoundError:
            raise CorruptObjectError(f"the archived object {key} is missing") from None
        remembered = (key, sha256, stored.version) if stored.version is not None else None
        with self._lock:
            if remembered is not None and remembered in self._passed:
                self._passed.move_to_end(remembered)
                return stored
        try:
            actual = object_sha256(store, key)
        except FileNotFoundError:
            raise CorruptObjectError(f"the archived object {key} is missing") from None
        if actual != sha256:
            raise CorruptObjectError(
                f"the archived object {key} does not match its SHA-256 on record "
                f"(expected {sha256[:12]}…, read {actual[:12]}…)"
            )
        if remembered is not None:
            with self._lock:
                self._passed[remembered] = None
                if len(self._passed) > self._capacity:
                    self._passed.popitem(last=False)
        return stored

"""In-memory object store: fast and hermetic, for tests."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.backend import ObjectStore, StoredObject, check_key


class MemoryStore(ObjectStore):
    """Objects as bytes in a dict, shared safely between threads."""

    name = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._content_types: dict[str, str] = {}
        self._lock = threading.Lock()

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        check_key(key)
        # read outside the lock: a large file must not stall other threads
        data = path.read_bytes()
        with self._lock:
            self._objects[key] = data
            self._content_types[key] = content_type
        return StoredObject(key, len(data))

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._get(key))

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        return io.BytesIO(self._get(key)[start : start + max(length, 0)])

    def stat(self, key: str) -> StoredObject:
        data = self._get(key)
        # a new bytes object on each put: its id tells versions apart while the store holds it
        return StoredObject(key, len(data), f"{len(data)}-{id(data)}")

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._objects.pop(key, None)
            self._content_types.pop(key, None)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            # a snapshot, so callers may delete while they iterate
            keys = [key for key in self._objects if key.startswith(prefix)]
        yield from keys

    def check(self) -> None:
        """Always ready: memory needs no connection."""

    def content_type(self, key: str) -> str:
        """The content type the object was stored with (for tests' assertions)."""
        with self._lock:
            try:
                return self._content_types[check_key(key)]
            except KeyError:
                raise FileNotFoundError(f"no object {key!r}") from None

    def _get(self, key: str) -> bytes:
        check_key(key)
        with self._lock:
            try:
                return self._objects[key]
            except KeyError:
                raise FileNotFoundError(f"no object {key!r}") from None

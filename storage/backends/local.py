"""Local-disk object store: the embedded default."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.backend import ObjectStore, StorageError, StoredObject, check_key


class LocalStore(ObjectStore):
    """Objects as files under one root directory, written atomically."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # check_key already forbids escapes; this guards against symlinks planted in the root
        if not path.is_relative_to(self.root):
            raise StorageError(f"key {key!r} resolves outside the store")
        return path

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # copy to a temporary name, fsync, then rename: a crash never leaves half an object
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as dst, path.open("rb") as src:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                    dst.flush()
                    os.fsync(dst.fileno())
                Path(tmp_name).replace(target)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc
        return StoredObject(key, target.stat().st_size)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise FileNotFoundError(f"no object {key!r}") from None

    def stat(self, key: str) -> StoredObject:
        try:
            return StoredObject(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            raise FileNotFoundError(f"no object {key!r}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def check(self) -> None:
        probe = self.root / ".ready-probe"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StorageError(f"local store {self.root} is not writable: {exc}") from exc

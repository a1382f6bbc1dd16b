"""Local-disk object store: the embedded default."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from storage.backend import ObjectStore, StorageError, StoredObject, check_key

if TYPE_CHECKING:
    from typing_extensions import Buffer


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

    def adopt_file(self, key: str, path: Path, content_type: str, sha256: str) -> StoredObject:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
            os.link(path, tmp)
        except OSError:
            # another disk, or links not allowed: a copy, whose bytes are read back to verify
            return self.put_file(key, path, content_type)
        try:
            # the same bytes as the caller's file, made durable before they are on record
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write {key}: {exc}") from exc
        return StoredObject(key, target.stat().st_size, sha256=sha256)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise FileNotFoundError(f"no object {key!r}") from None

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        stream = self.open(key)
        stream.seek(start)
        return cast(BinaryIO, _Bounded(stream, length))

    def stat(self, key: str) -> StoredObject:
        try:
            info = self._path(key).stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"no object {key!r}") from None
        return StoredObject(key, info.st_size, f"{info.st_size}-{info.st_mtime_ns}")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def copy(self, source_key: str, target_key: str) -> None:
        source = self._path(source_key)
        if not source.is_file():
            raise FileNotFoundError(f"no object {source_key!r}")
        self.put_file(target_key, source, "application/octet-stream")

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


class _Bounded(io.RawIOBase):
    """A file read up to a limit: the slice of a range request."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        if want <= 0:
            return 0
        chunk = self._stream.read(want)
        view[: len(chunk)] = chunk
        self._left -= len(chunk)
        return len(chunk)

    def close(self) -> None:
        self._stream.close()
        super().close()

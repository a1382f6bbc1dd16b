"""Streaming multipart uploads: the file goes to disk in chunks, hashed and sniffed on the way.

Starlette's own form parsing spools the whole file before the route sees it; here the
route reads ``request.stream()`` itself, so a size limit stops the upload at the limit,
an unsupported type is refused after its first few KB, and memory stays bounded whatever
the file's size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from api.metrics import UPLOAD_BYTES
from bukti.errors import InvalidRequestError, PayloadTooLargeError, UnsupportedMediaError
from evidence.sniff import HEAD_BYTES, Sniffed, sniff

#: the name's start of an upload's file in incoming/ until its item is recorded, when it is
#: renamed to the item's id (a resumable upload's goes on with ``tus-`` and its upload id)
STAGING_PREFIX = ".upload-"
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 20
FILE_FIELD = "file"


@dataclass
class ReceivedUpload:
    """A file streamed to a temporary path, with what was learned on the way."""

    path: Path
    size_bytes: int
    sha256: str
    sniffed: Sniffed
    client_filename: str | None
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        """Delete the temporary file."""
        self.path.unlink(missing_ok=True)


class _Sink:
    """Receives the parser's callbacks; raises only between writes (see `feed`)."""

    def __init__(self, directory: Path, limit_for: Callable[[Sniffed], int], max_bytes: int):
        self.directory = directory
        self.limit_for = limit_for
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.error: Exception | None = None
        self.file: ReceivedUpload | None = None
        self._fh: object | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._filename: str | None = None
        self._value = bytearray()
        self._fd: int | None = None
        self._tmp: Path | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._sniffed: Sniffed | None = None
        self._limit = max_bytes

    # -- parser callbacks -------------------------------------------------------------------

    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = self._filename = None
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._name = name
        if name == FILE_FIELD:
            if self._tmp is not None:
                self._fail(InvalidRequestError("send one file per upload"))
                return
            self._filename = client_filename(filename)
            self._fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=STAGING_PREFIX)
            self._tmp = Path(tmp)
        elif len(self.fields) >= MAX_FIELDS:
            self._fail(InvalidRequestError("too many form fields"))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if self._name != FILE_FIELD:
            self._value += chunk
            if len(self._value) > MAX_FIELD_BYTES:
                self._fail(InvalidRequestError(f"form field {self._name!r} is too long"))
            return
        assert self._fd is not None
        self._size += len(chunk)
        if self._size > self._limit:
            self._fail(PayloadTooLargeError(self._too_large()))
            return
        self._digest.update(chunk)
        if self._sniffed is None:
            self._head += chunk
            if len(self._head) >= HEAD_BYTES:
                self._sniff()
        os.write(self._fd, chunk)

    def on_part_end(self) -> None:
        if self.error is not None:
            return
        if self._name == FILE_FIELD:
            if self._size == 0:
                # judged before its type: an empty file has none, and "unsupported" misleads
                self._fail(
                    InvalidRequestError("the uploaded file is empty (0 bytes): send it again")
                )
                return
            if self._sniffed is None:
                self._sniff()
            if self.error is not None:
                return
            assert self._fd is not None and self._tmp is not None and self._sniffed is not None
            os.close(self._fd)
            self._fd = None
            self.file = ReceivedUpload(
                self._tmp, self._size, self._digest.hexdigest(), self._sniffed, self._filename
            )
        elif self._name:
            value = self._value.decode("utf-8", "replace")
            if "\x00" in value or "\x00" in self._name:
                self._fail(
                    InvalidRequestError(f"form field {self._name!r} contains NUL characters")
                )
                return
            self.fields[self._name] = value

    # -- helpers ----------------------------------------------------------------------------

    def _sniff(self) -> None:
        self._sniffed = sniff(bytes(self._head[:HEAD_BYTES]))
        if self._sniffed is None:
            self._fail(
                UnsupportedMediaError(
                    "the file is not evidence Bukti accepts: photos (JPEG, PNG, WebP, HEIC, "
                    "AVIF), videos (MP4, MOV, 3GP, WebM) or documents (PDF, DOCX, XLSX, PPTX, "
                    "ODT, ODS); its type is judged from its bytes, not its name"
                )
            )
            return
        self._limit = min(self.max_bytes, self.limit_for(self._sniffed))
        if self._limit <= 0:
            self._fail(UnsupportedMediaError(f"{self._sniffed.mime} files are not accepted yet"))
        elif self._size > self._limit:
            self._fail(PayloadTooLargeError(self._too_large()))

    def _too_large(self) -> str:
        kind = self._sniffed.kind if self._sniffed else "file"
        return f"the {kind} is larger than the {describe_size(self._limit)} limit"

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error

    def cleanup(self) -> None:
        """Close and delete the temporary file, if any."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)


async def receive_upload(
    request: Request,
    directory: Path,
    limit_for: Callable[[Sniffed], int],
    max_bytes: int,
) -> ReceivedUpload:
    """Stream a multipart body's ``file`` part into ``directory``; fields come back as text."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UnsupportedMediaError("send the file as multipart/form-data in a field named 'file'")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise PayloadTooLargeError(
            f"the upload is larger than the {describe_size(max_bytes)} limit"
        )
    sink = _Sink(directory, limit_for, max_bytes)
    callbacks: Mapping[str, object] = {
        name: getattr(sink, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if sink.error is not None:
                raise sink.error
        parser.finalize()
        if sink.error is not None:
            raise sink.error
    except Exception as exc:
        sink.cleanup()
        if isinstance(exc, (InvalidRequestError, PayloadTooLargeError, UnsupportedMediaError)):
            raise
        raise InvalidRequestError(f"the multipart body could not be read: {exc}") from exc
    if sink.file is None:
        sink.cleanup()
        raise InvalidRequestError("the multipart body has no part named 'file'")
    sink.file.fields = sink.fields
    UPLOAD_BYTES.labels(sink.file.sniffed.kind.value).inc(sink.file.size_bytes)
    return sink.file


_UNITS = (
    ("GiB", 2**30),
    ("MiB", 2**20),
    ("KiB", 2**10),
    ("GB", 10**9),
    ("MB", 10**6),
    ("kB", 10**3),
)


def describe_size(size_bytes: int) -> str:
    """A size limit in the unit it was set in: 50 MiB, 2 GiB, 500 kB, or 123456 bytes.

    A limit is said exactly: "0 MB" for half a megabyte would tell a user nothing.
    """
    for unit, scale in _UNITS:
        if size_bytes >= scale and size_bytes % scale == 0:
            return f"{size_bytes // scale} {unit}"
    return f"{size_bytes} bytes"


def client_filename(raw: bytes | None) -> str | None:
    """The name a client gave its file, fit to be shown: last path component, no control
    characters (NUL included), at most 255 characters. It is never used as a path."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace").replace("\\", "/")
    name = "".join(ch for ch in Path(text).name if ch.isprintable())[:255]
    return name or None

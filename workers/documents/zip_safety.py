"""Office and ODF packages read as ZIP archives that may be bombs, under caps.

Every read of a package member goes through one reader (:class:`ZipPackage`) that inflates
in bounded chunks and stops as soon as a member passes its declared size, its share of the
total budget (:class:`ZipBudget`) or the compression ratio cap (:class:`ZipLimits`): nothing
is ever inflated first and measured afterwards, and no declared size is trusted on its own.
The package's structure is checked before any member is read: counts, declared sizes and
ratios, names given twice, overlapping members.
"""

from __future__ import annotations

import io
import itertools
import os
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from xml.etree.ElementTree import Element

from bukti.errors import RejectedError
from workers.documents.reasons import quoted
from workers.documents.safe_xml import parse_xml

MB = 1024 * 1024

ZIP_LOCAL_HEADER = b"PK\x03\x04"
ZIP_END_RECORD = b"PK\x05\x06"
OFFICE_DOCUMENT_RELATIONSHIP = "/officeDocument"  # the end of the transitional and strict rel types


@dataclass(frozen=True)
class ZipLimits:
    """How much a ZIP package may hold and inflate before it counts as a bomb.

    The ratio cap is Apache POI's default (``MIN_INFLATE_RATIO`` 0.01), which Java applications
    open real Office files with every day: honest XML compresses 5 to 30 times, zip bombs about
    a thousand times. It only
    applies once a member has inflated past ``ratio_grace_bytes``, because a small part of
    repeated markup (an empty sheet's styles) may legitimately exceed it.
    """

    max_entries: int = 5_000
    max_entry_bytes: int = 256 * MB
    max_total_bytes: int = 512 * MB
    max_ratio: float = 100.0
    ratio_grace_bytes: int = 1 * MB
    max_depth: int = 2
    """Packages inside packages (a chart's workbook inside a PPTX) are checked too, this deep."""


DEFAULT_ZIP_LIMITS = ZipLimits()


class ZipBudget:
    """Bytes inflated so far across a package and everything nested in it."""

    def __init__(self, limits: ZipLimits) -> None:
        self.limits = limits
        self.inflated = 0

    def spend(self, size: int, label: str) -> None:
        """Count ``size`` more bytes inflated; RejectedError once the total passes its cap."""
        self.inflated += size
        if self.inflated > self.limits.max_total_bytes:
            raise RejectedError(
                f"{label} inflates to more than {self.limits.max_total_bytes // MB} MB: a zip "
                "bomb, not accepted"
            )


@dataclass(frozen=True)
class ZipEntry:
    """One member of a checked package, and where its bytes start in the file."""

    name: str  # case-folded: OPC part names are case-insensitive
    info: zipfile.ZipInfo
    data_offset: int


class ZipPackage:
    """A ZIP package whose structure was checked: counts, declared sizes, ratios, overlaps."""

    def __init__(self, file: IO[bytes], limits: ZipLimits, budget: ZipBudget, label: str) -> None:
        self.file = file
        self.limits = limits
        self.budget = budget
        self.label = label
        size = file.seek(0, os.SEEK_END)
        _check_declared_entry_count(file, size, limits, label)
        try:
            archive = zipfile.ZipFile(file)
            infos = archive.infolist()
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            NotImplementedError,  # "zip file version 63.0": a newer format than stored/deflate
            ValueError,
            EOFError,
            OSError,
        ) as exc:
            raise RejectedError(f"{label} is a damaged ZIP package ({quoted(exc)})") from None
        self.entries = _checked_entries(file, size, infos, limits, label)
        self._by_name = {entry.name: entry for entry in self.entries}

    def names(self) -> list[str]:
        """The members' names, case-folded, in the order of the central directory."""
        return [entry.name for entry in self.entries]

    def has(self, name: str) -> bool:
        """Whether the package holds a member of this name (in any case)."""
        return name.casefold() in self._by_name

    @contextmanager
    def open_entry(self, entry: ZipEntry) -> Iterator[IO[bytes]]:
        """The member's bytes, inflated under every cap as they are read."""
        reader = _EntryReader(self, entry)
        with io.BufferedReader(reader, buffer_size=256 * 1024) as buffered:
            yield buffered

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes] | None]:
        """The named member's bytes, as :meth:`open_entry` gives them; None when it is missing."""
        entry = self._by_name.get(name.casefold().lstrip("/"))
        if entry is None:
            yield None
            return
        with self.open_entry(entry) as reader:
            yield reader

    def read(self, name: str, cap: int) -> bytes | None:
        """A member's bytes, or None when it is missing or larger than ``cap``."""
        with self.open(name) as reader:
            if reader is None:
                return None
            data = reader.read(cap + 1)
        return data if len(data) <= cap else None

    def parse_xml(self, name: str, cap: int) -> Element | None:
        """A small XML member parsed safely, or None when it is missing or too large."""
        data = self.read(name, cap)
        if data is None:
            return None
        return parse_xml(data, f"{name} in {self.label}")

    def relationships(self, rels_name: str) -> dict[str, tuple[str, str]]:
        """A ``.rels`` part: Id to (relationship type, target part name resolved to the root)."""
        root = self.parse_xml(rels_name, cap=4 * MB)
        if root is None:
            return {}
        base = rels_name.replace("_rels/", "").removesuffix(".rels").rsplit("/", 1)
        folder = base[0] if len(base) == 2 else ""
        out: dict[str, tuple[str, str]] = {}
        for element in root:
            if element.get("TargetMode") == "External":
                continue
            target = element.get("Target", "")
            resolved = _join_part(folder, target)
            out[element.get("Id", "")] = (element.get("Type", ""), resolved)
        return out


def _join_part(folder: str, target: str) -> str:
    if target.startswith("/"):
        parts: list[str] = []
        target = target[1:]
    else:
        parts = [p for p in folder.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _check_declared_entry_count(file: IO[bytes], size: int, limits: ZipLimits, label: str) -> None:
    """Refuse before zipfile builds one object per central-directory entry."""
    tail_size = min(size, 65_557)  # the end record (22 bytes) and its longest comment
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    end = tail.rfind(ZIP_END_RECORD)
    if end < 0 or end + 22 > len(tail):
        raise RejectedError(f"{label} is a damaged ZIP package (no end of central directory)")
    entries, directory_bytes = struct.unpack("<10xHI", tail[end : end + 16])
    # 0xFFFF entries is also the ZIP64 marker: no Office document has that many anyway.
    if entries > limits.max_entries or entries == 0xFFFF:
        raise RejectedError(
            f"{label} has more than {limits.max_entries} members: a zip bomb, not accepted"
        )
    if directory_bytes > limits.max_entries * (46 + 1024):
        raise RejectedError(f"{label} has an oversized central directory: not accepted")


def _checked_entries(
    file: IO[bytes], size: int, infos: list[zipfile.ZipInfo], limits: ZipLimits, label: str
) -> list[ZipEntry]:
    if len(infos) > limits.max_entries:
        raise RejectedError(
            f"{label} has more than {limits.max_entries} members: a zip bomb, not accepted"
        )
    names = Counter(info.filename.casefold() for info in infos)
    duplicate = next((name for name, count in names.items() if count > 1), None)
    if duplicate is not None:
        # Two members of one name: readers disagree which one counts, a smuggling trick.
        raise RejectedError(f"{label} names the member {duplicate!r} twice: not accepted")
    declared_total = sum(info.file_size for info in infos)
    if declared_total > limits.max_total_bytes:
        raise RejectedError(
            f"{label} declares {declared_total // MB} MB of content: a zip bomb, not accepted"
        )
    entries: list[ZipEntry] = []
    for info in infos:
        _check_declared_entry(info, limits, label)
        entries.append(ZipEntry(info.filename.casefold(), info, _data_offset(file, info, label)))
    # Members whose bytes overlap are how non-recursive zip bombs reuse one compressed kernel.
    spans = sorted((e.info.header_offset, e.data_offset + e.info.compress_size) for e in entries)
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        if end > next_start:
            raise RejectedError(f"{label} has overlapping members: a zip bomb, not accepted")
    if spans and spans[-1][1] > size:
        raise RejectedError(f"{label} is truncated: a member runs past the end of the file")
    return entries


def _check_declared_entry(info: zipfile.ZipInfo, limits: ZipLimits, label: str) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise RejectedError(
            f"{label} is password-protected ({name} is encrypted): upload it without a password"
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise RejectedError(
            f"{label} uses a compression method Office and LibreOffice never write "
            f"({info.compress_type} for {name}): not accepted"
        )
    if info.file_size > limits.max_entry_bytes:
        raise RejectedError(
            f"{label} declares {info.file_size // MB} MB for {name}: a zip bomb, not accepted"
        )
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise RejectedError(f"{label} is a damaged ZIP package (sizes of {name} disagree)")
    if info.file_size > limits.ratio_grace_bytes and info.file_size > limits.max_ratio * max(
        info.compress_size, 1
    ):
        raise RejectedError(
            f"{label} declares a compression ratio over {limits.max_ratio:.0f}:1 for {name}: "
            "a zip bomb, not accepted"
        )


def _data_offset(file: IO[bytes], info: zipfile.ZipInfo, label: str) -> int:
    """Where a member's bytes start, read from its local header (which may differ in length)."""
    if not 0 <= info.header_offset < file.seek(0, os.SEEK_END):
        raise RejectedError(f"{label} is a damaged ZIP package ({info.filename} is nowhere)")
    file.seek(info.header_offset)
    header = file.read(30)
    if len(header) < 30 or header[:4] != ZIP_LOCAL_HEADER:
        raise RejectedError(f"{label} is a damaged ZIP package (bad header for {info.filename})")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    name = file.read(name_length)
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    if name.decode(encoding, "replace") != info.orig_filename:
        raise RejectedError(
            f"{label} is a damaged ZIP package (the local and central names of "
            f"{info.filename} differ)"
        )
    return info.header_offset + 30 + int(name_length) + int(extra_length)


class _EntryReader(io.RawIOBase):
    """One member's bytes, inflated in bounded steps under every cap, CRC-checked at the end."""

    _INPUT_CHUNK = 64 * 1024
    _OUTPUT_CHUNK = 256 * 1024  # never more out of one inflate call, whatever the ratio

    def __init__(self, package: ZipPackage, entry: ZipEntry) -> None:
        super().__init__()
        self._package = package
        self._limits = package.limits
        self._info = entry.info
        self._label = f"{entry.info.filename} in {package.label}"
        self._position = entry.data_offset
        self._compressed_left = entry.info.compress_size
        self._inflater = (
            zlib.decompressobj(-15) if entry.info.compress_type == zipfile.ZIP_DEFLATED else None
        )
        self._consumed = 0
        self._produced = 0
        self._crc = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._done:
            chunk = self._next_chunk(len(view))
            if chunk:
                view[: len(chunk)] = chunk
                return len(chunk)
        return 0

    def _read_compressed(self, size: int) -> bytes:
        size = min(size, self._compressed_left)
        if size <= 0:
            return b""
        self._package.file.seek(self._position)
        data = self._package.file.read(size)
        if len(data) < size:
            raise RejectedError(f"{self._label} is truncated")
        self._position += size
        self._compressed_left -= size
        return data

    def _next_chunk(self, wanted: int) -> bytes:
        wanted = max(1, min(wanted, self._OUTPUT_CHUNK))
        if self._inflater is None:
            data = self._read_compressed(wanted)
            self._consumed += len(data)
        else:
            tail = self._inflater.unconsumed_tail
            data_in = tail if tail else self._read_compressed(self._INPUT_CHUNK)
            try:
                data = self._inflater.decompress(data_in, wanted)
            except zlib.error as exc:
                raise RejectedError(f"{self._label} is damaged ({exc})") from None
            self._consumed += len(data_in) - len(self._inflater.unconsumed_tail)
        if data:
            self._account(data)
            return data
        self._finish()
        return b""

    def _account(self, data: bytes) -> None:
        self._produced += len(data)
        self._crc = zlib.crc32(data, self._crc)
        if self._produced > self._info.file_size:
            raise RejectedError(
                f"{self._label} inflates beyond its declared size of {self._info.file_size} "
                "bytes: a zip bomb, not accepted"
            )
        if (
            self._produced > self._limits.ratio_grace_bytes
            and self._produced > self._limits.max_ratio * max(self._consumed, 1)
        ):
            raise RejectedError(
                f"{self._label} inflates more than {self._limits.max_ratio:.0f} times: a zip "
                "bomb, not accepted"
            )
        self._package.budget.spend(len(data), self._package.label)

    def _finish(self) -> None:
        if self._inflater is not None and not self._inflater.eof:
            if self._compressed_left > 0 or self._inflater.unconsumed_tail:
                return  # more input to feed before judging
            raise RejectedError(f"{self._label} is damaged (its compressed data ends early)")
        if self._produced != self._info.file_size or self._crc != self._info.CRC:
            raise RejectedError(f"{self._label} is damaged (size or checksum mismatch)")
        self._done = True


def related_part(rels: dict[str, tuple[str, str]], type_suffix: str, default: str) -> str:
    """The target of the first relationship whose type ends in ``type_suffix``, or ``default``."""
    return next((target for kind, target in rels.values() if kind.endswith(type_suffix)), default)

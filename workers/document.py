"""Documents as evidence: PDF, DOCX, XLSX, PPTX, ODT and ODS, told apart by their content.

The pipeline runs these in order, each reopening the file:

- :func:`identify_document` names the format or refuses the file (:class:`RejectedError`):
  password-protected, damaged, macro-enabled, legacy binary Office, or a zip bomb;
- :func:`sanitise_pdf` removes what can run or hide: JavaScript, launch and submit actions,
  automatic actions, embedded files, rich media, XFA forms;
- :func:`optimise_document` makes the stored copy smaller where it can without loss of
  legibility (:func:`optimise_pdf`, :func:`optimise_office`);
- :func:`render_preview` draws the first page for reviewers (pdfium; LibreOffice for Office
  files when it is installed), with the perceptual hashes of that picture for scans;
- :func:`document_facts` and :func:`document_text` read the metadata and the text.

Office and ODF files are ZIP packages, and ZIP packages can be bombs. Every read of a package
member here goes through one reader that inflates in bounded chunks and stops as soon as a
member passes its declared size, its share of the total budget or the compression ratio cap:
nothing is ever inflated first and measured afterwards, and no declared size is trusted on its
own. XML is parsed with defusedxml, which refuses entity expansion (billion laughs) and
external entities.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from bukti.errors import RejectedError
from evidence.document_facts import DocumentFacts, DocumentType, parse_iso_date, parse_pdf_date
from evidence.facts import Sourced
from workers.phash import PerceptualHashes, perceptual_hashes
from workers.programs import run_program

MB = 1024 * 1024

MAX_TEXT_CHARS = 200_000
"""Text kept per document for near-duplicate detection: about 60 dense pages."""

PREVIEW_MAX_SIDE_PX = 1280
"""Long side of the first-page preview: a line of 10 pt text stays readable on A4."""

LIBREOFFICE_TIMEOUT_S = 60.0
"""How long LibreOffice may take to convert one Office file for its preview."""

# The Office formats, told apart by the content type of their package's main part.
_OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        DocumentType.DOCX
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": (
        DocumentType.DOCX
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
        DocumentType.XLSX
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": (
        DocumentType.XLSX
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        DocumentType.PPTX
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": (
        DocumentType.PPTX
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": (
        DocumentType.PPTX
    ),
}
_ODF_MIME_TYPES = {
    "application/vnd.oasis.opendocument.text": DocumentType.ODT,
    "application/vnd.oasis.opendocument.text-template": DocumentType.ODT,
    "application/vnd.oasis.opendocument.spreadsheet": DocumentType.ODS,
    "application/vnd.oasis.opendocument.spreadsheet-template": DocumentType.ODS,
}
_ODF_REFUSED = {
    "application/vnd.oasis.opendocument.presentation": "ODP presentations are not accepted: "
    "export the presentation as PDF, or save it as PPTX",
    "application/epub+zip": "e-books (EPUB) are not accepted: upload a PDF",
}
_OFFICE_RELATIONSHIP = "/officeDocument"  # the end of the transitional and strict rel types
_ODF_BASIC_INDEXES = ("/", "script-lc.xml", "script-lb.xml", "dialog-lc.xml", "dialog-lb.xml")
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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


@dataclass(frozen=True)
class SanitiseReport:
    """What :func:`sanitise_pdf` removed, by kind, and the web links it kept."""

    removed: dict[str, int] = field(default_factory=dict)
    kept_links: int = 0
    decrypted: bool = False

    @property
    def changed(self) -> bool:
        """True when the sanitised file differs from the original."""
        return bool(self.removed) or self.decrypted

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "removed": dict(self.removed),
            "kept_links": self.kept_links,
            "decrypted": self.decrypted,
        }


@dataclass(frozen=True)
class OptimiseReport:
    """Sizes before and after :func:`optimise_document`; the input is kept unless smaller."""

    input_bytes: int
    output_bytes: int
    kept_input: bool
    images_recompressed: int = 0


@dataclass(frozen=True)
class Preview:
    """A first-page picture written as PNG, and its perceptual hashes (for scans)."""

    path: Path
    width_px: int
    height_px: int
    hashes: PerceptualHashes
    renderer: str


@dataclass(frozen=True)
class NoPreview:
    """Why no preview could be drawn, for the reviewer to read."""

    note: str


# ---------------------------------------------------------------------------------------------
# identify


def identify_document(path: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> DocumentType:
    """The format of the document at ``path``; raises RejectedError when it is not acceptable."""
    with path.open("rb") as file:
        head = file.read(1024)
    if b"%PDF-" in head:
        return _identify_pdf(path)
    if head.startswith((_ZIP_LOCAL_HEADER, _ZIP_EMPTY)):
        return _identify_package(path, limits)
    if head.startswith(_OLE_MAGIC):
        raise RejectedError(_ole_reason(path))
    raise RejectedError(
        "not a document Bukti accepts: upload a PDF, DOCX, XLSX, PPTX, ODT or ODS file"
    )


def _identify_pdf(path: Path) -> DocumentType:
    try:
        with pikepdf.open(path) as pdf:
            _check_pdf_structure(pdf)
    except pikepdf.PasswordError:
        raise RejectedError(
            "the PDF is protected by a password and cannot be checked: upload a copy without "
            "the password"
        ) from None
    except (pikepdf.PdfError, TypeError, ValueError) as exc:
        # TypeError and ValueError: pikepdf's answer to objects of the wrong type or names that
        # are not text, which only damaged or hand-crafted files have.
        raise RejectedError(f"the PDF is damaged and cannot be read ({_short(exc)})") from None
    return DocumentType.PDF


def _check_pdf_structure(pdf: pikepdf.Pdf) -> None:
    """Refuse a PDF whose pages are gone, as in a truncated upload.

    qpdf repairs a broken cross-reference table as every PDF reader does, so a file with wrong
    offsets or junk after its end is accepted. When it had to repair, each page must still
    have its content: a file cut in half keeps its page tree (written first) but loses the
    pages themselves, which qpdf then stands in for with empty ones.
    """
    pages = pdf.pages
    if len(pages) == 0:
        raise RejectedError("the PDF has no pages")
    if not pdf.get_warnings():
        return
    for number, page in enumerate(pages, start=1):
        contents = page.obj.get("/Contents")
        items = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        streams = [item for item in items if isinstance(item, pikepdf.Stream)]
        if contents is None or len(streams) != len(items):
            raise RejectedError(
                f"the PDF is damaged: page {number} of {len(pages)} is missing (an "
                "interrupted upload or a truncated file); upload the original again"
            )
        for stream in streams:
            try:
                stream.read_bytes()
            except pikepdf.PdfError:
                raise RejectedError(
                    f"the PDF is damaged: the content of page {number} of {len(pages)} "
                    "cannot be read; upload the original again"
                ) from None


def _identify_package(path: Path, limits: ZipLimits) -> DocumentType:
    budget = _Budget(limits)
    with path.open("rb") as file:
        package = _ZipPackage(file, limits, budget, label="the file")
        doc_type = _package_type(package)
        _refuse_active_content(package, doc_type)
        _inflate_all(package, depth=0)
    return doc_type


def _package_type(package: _ZipPackage) -> DocumentType:
    """The Office or ODF format of a package, from its content types or its mimetype member."""
    if package.has("[Content_Types].xml"):
        return _ooxml_type(package)
    mimetype = package.read("mimetype", cap=256)
    if mimetype is None and package.has("META-INF/manifest.xml"):
        mimetype = _odf_manifest_root_type(package).encode()
    if mimetype is not None:
        media_type = mimetype.decode("ascii", "replace").strip()
        if media_type in _ODF_MIME_TYPES:
            return _ODF_MIME_TYPES[media_type]
        if media_type in _ODF_REFUSED:
            raise RejectedError(_ODF_REFUSED[media_type])
        raise RejectedError(
            f"an OpenDocument file of a kind Bukti does not accept ({media_type or 'unnamed'}): "
            "upload ODT, ODS or PDF"
        )
    raise RejectedError(
        "a ZIP archive, not a DOCX, XLSX, PPTX, ODT or ODS document: upload the document itself"
    )


def _ooxml_type(package: _ZipPackage) -> DocumentType:
    types = _content_types(package)
    rels = package.relationships("_rels/.rels")
    main = next(
        (target for kind, target in rels.values() if kind.endswith(_OFFICE_RELATIONSHIP)), None
    )
    if main is None:
        raise RejectedError("the Office file is damaged: it names no main document part")
    main_type = types.get("/" + main.casefold()) or types.get(
        "." + main.rsplit(".", 1)[-1].casefold(), ""
    )
    if "sheet.binary" in main_type:
        raise RejectedError("binary Excel workbooks (XLSB) are not accepted: save as XLSX")
    if "macroenabled" in main_type.casefold():
        raise RejectedError(_macro_reason(main_type))
    if main_type in _OOXML_MAIN_TYPES:
        return _OOXML_MAIN_TYPES[main_type]
    raise RejectedError(
        f"an Office file of a kind Bukti does not accept ({main_type or 'unknown'}): upload "
        "DOCX, XLSX, PPTX or PDF"
    )


def _content_types(package: _ZipPackage) -> dict[str, str]:
    """``[Content_Types].xml`` as one map: ``/part/name`` and ``.extension`` to media type."""
    root = package.parse_xml("[Content_Types].xml", cap=4 * MB)
    if root is None:
        raise RejectedError("the Office file is damaged: its content types cannot be read")
    types: dict[str, str] = {}
    for element in root:
        name = _local(element.tag)
        if name == "Default":
            types["." + element.get("Extension", "").casefold()] = element.get("ContentType", "")
        elif name == "Override":
            types[element.get("PartName", "").casefold()] = element.get("ContentType", "")
    return types


def _macro_reason(main_type: str) -> str:
    for word, saved_as in (("word", "DOCX"), ("excel", "XLSX"), ("powerpoint", "PPTX")):
        if word in main_type.casefold():
            return (
                f"macro-enabled Office files (DOCM, XLSM, PPTM) are not accepted: save it as "
                f"{saved_as}"
            )
    return "macro-enabled Office files are not accepted: save it without macros"


def _refuse_active_content(package: _ZipPackage, doc_type: DocumentType | None) -> None:
    """Refuse macros, scripts and ActiveX controls, at any depth of nesting."""
    names = package.names()
    if any(name.rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml") for name in names):
        raise RejectedError(
            "the Office file contains VBA macros, which are not accepted: save it as DOCX, "
            "XLSX or PPTX (without macros)"
        )
    if any("/activex/" in "/" + name for name in names):
        raise RejectedError(
            "the Office file contains ActiveX controls, which are not accepted: remove them or "
            "export the document as PDF"
        )
    if package.has("[Content_Types].xml"):
        for media_type in _content_types(package).values():
            folded = media_type.casefold()
            if "macroenabled" in folded or "vbaproject" in folded or "macrosheet" in folded:
                raise RejectedError(_macro_reason(media_type))
    for name in names:
        top, _, rest = name.partition("/")
        # ODF stores Basic macros as Basic/<library>/<module>.xml beside two index files, and
        # Python, JavaScript and BeanShell scripts under Scripts/.
        if top == "basic" and rest and not rest.endswith(_ODF_BASIC_INDEXES):
            raise RejectedError(
                "the document contains LibreOffice Basic macros, which are not accepted: "
                "save a copy without macros"
            )
        if top == "scripts" and rest and not rest.endswith("/"):
            raise RejectedError(
                "the document contains embedded scripts, which are not accepted: save a copy "
                "without them"
            )
    if doc_type is not None and doc_type.is_odf and _odf_is_encrypted(package):
        raise RejectedError(
            "the document is protected by a password and cannot be checked: save a copy "
            "without the password"
        )


def _odf_is_encrypted(package: _ZipPackage) -> bool:
    root = package.parse_xml("META-INF/manifest.xml", cap=4 * MB)
    return root is not None and any(_local(e.tag) == "encryption-data" for e in root.iter())


def _odf_manifest_root_type(package: _ZipPackage) -> str:
    root = package.parse_xml("META-INF/manifest.xml", cap=4 * MB)
    for element in root.iter() if root is not None else ():
        attributes = {_local(k): v for k, v in element.attrib.items()}
        if attributes.get("full-path") == "/":
            return attributes.get("media-type", "")
    return ""


def _inflate_all(package: _ZipPackage, depth: int) -> None:
    """Inflate every member under the running caps; check packages inside packages too."""
    for entry in package.entries:
        if entry.name.endswith("/"):
            continue
        with package.open_entry(entry) as reader:
            head = reader.read(4096)
            if not head.startswith(_ZIP_LOCAL_HEADER):
                _drain(reader, head, entry, package)
                continue
            if depth + 1 > package.limits.max_depth:
                raise RejectedError(
                    f"archives nested more than {package.limits.max_depth} deep "
                    f"({entry.name}): not accepted"
                )
            with tempfile.SpooledTemporaryFile(max_size=8 * MB) as spool:
                spool.write(head)
                shutil.copyfileobj(reader, spool, 1 * MB)
                spool.seek(0)
                inner = _ZipPackage(
                    spool,
                    package.limits,
                    package.budget,
                    f"the embedded file {entry.info.filename}",
                )
                _refuse_active_content(inner, None)
                _inflate_all(inner, depth + 1)


# Office and LibreOffice never write a DTD: one is an entity bomb or an external entity aimed
# at whatever parses the file next (a converter, a viewer). Parts may be UTF-8 or UTF-16.
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)


def _drain(reader: IO[bytes], head: bytes, entry: _Entry, package: _ZipPackage) -> None:
    """Read a member to its end (so every cap and the CRC are checked); look for DTDs in XML."""
    is_xml = entry.name.endswith((".xml", ".rels"))
    overlap = b""
    chunk = head
    while chunk:
        if is_xml and any(marker in overlap + chunk for marker in _DTD_MARKERS):
            raise RejectedError(
                f"{entry.info.filename} in {package.label} declares XML entities or a DTD "
                "(an XML bomb): not accepted"
            )
        overlap = chunk[-32:]
        chunk = reader.read(1 * MB)


# --- ZIP reading under caps -------------------------------------------------------------------


class _Budget:
    """Bytes inflated so far across a package and everything nested in it."""

    def __init__(self, limits: ZipLimits) -> None:
        self.limits = limits
        self.inflated = 0

    def spend(self, size: int, label: str) -> None:
        self.inflated += size
        if self.inflated > self.limits.max_total_bytes:
            raise RejectedError(
                f"{label} inflates to more than {self.limits.max_total_bytes // MB} MB: a zip "
                "bomb, not accepted"
            )


@dataclass(frozen=True)
class _Entry:
    name: str  # case-folded: OPC part names are case-insensitive
    info: zipfile.ZipInfo
    data_offset: int


class _ZipPackage:
    """A ZIP package whose structure was checked: counts, declared sizes, ratios, overlaps."""

    def __init__(self, file: IO[bytes], limits: ZipLimits, budget: _Budget, label: str) -> None:
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
            raise RejectedError(f"{label} is a damaged ZIP package ({_short(exc)})") from None
        self.entries = _checked_entries(file, size, infos, limits, label)
        self._by_name = {entry.name: entry for entry in self.entries}

    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]

    def has(self, name: str) -> bool:
        return name.casefold() in self._by_name

    @contextmanager
    def open_entry(self, entry: _Entry) -> Iterator[IO[bytes]]:
        reader = _EntryReader(self, entry)
        with io.BufferedReader(reader, buffer_size=256 * 1024) as buffered:
            yield buffered

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes] | None]:
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
        return _parse_xml(data, f"{name} in {self.label}")

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
    end = tail.rfind(_ZIP_EMPTY)
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
) -> list[_Entry]:
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
    entries: list[_Entry] = []
    for info in infos:
        _check_declared_entry(info, limits, label)
        entries.append(_Entry(info.filename.casefold(), info, _data_offset(file, info, label)))
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
    if len(header) < 30 or header[:4] != _ZIP_LOCAL_HEADER:
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

    def __init__(self, package: _ZipPackage, entry: _Entry) -> None:
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


# --- OLE (legacy Office, encrypted OOXML) -----------------------------------------------------


def _ole_reason(path: Path) -> str:
    names = _ole_stream_names(path)
    if {"encryptedpackage", "encryptioninfo"} <= names:
        return (
            "the Office file is protected by a password and cannot be checked: remove the "
            "password (File > Info > Protect Document) and upload it again"
        )
    if "worddocument" in names:
        return "old Word documents (.doc) are not accepted: open it and save it as DOCX"
    if "workbook" in names or "book" in names:
        return "old Excel workbooks (.xls) are not accepted: open it and save it as XLSX"
    if "powerpoint document" in names:
        return "old PowerPoint files (.ppt) are not accepted: open it and save it as PPTX"
    return "an old binary Office file is not accepted: save it as DOCX, XLSX, PPTX or PDF"


def _ole_stream_names(path: Path) -> set[str]:
    """Names in an OLE compound file's directory (MS-CFB), case-folded; empty when unreadable."""
    names: set[str] = set()
    with path.open("rb") as file:
        header = file.read(512)
        if len(header) < 512:
            return names
        sector_shift, fat_sectors, directory_start = struct.unpack("<H12xII", header[30:52])
        if sector_shift not in (9, 12):
            return names
        sector_size = 1 << sector_shift
        difat = struct.unpack("<109I", header[76:512])[: min(fat_sectors, 109)]

        def sector(number: int) -> bytes:
            file.seek((number + 1) * sector_size)
            return file.read(sector_size)

        fat: list[int] = []
        for number in difat:
            fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(number).ljust(sector_size)))
        current, seen = int(directory_start), set[int]()
        # A directory chain is short; the bound and the cycle check keep a hostile one short too.
        while current < 0xFFFFFFFA and current not in seen and len(seen) < 1024:
            seen.add(current)
            data = sector(current)
            for offset in range(0, len(data) - 127, 128):
                length = struct.unpack("<H", data[offset + 64 : offset + 66])[0]
                if 2 <= length <= 64:
                    raw = data[offset : offset + length - 2]
                    names.add(raw.decode("utf-16-le", "replace").casefold())
            current = fat[current] if current < len(fat) else 0xFFFFFFFE
    return names


# ---------------------------------------------------------------------------------------------
# sanitise

# Actions that only move within the document, show or hide parts of it, or reset a form. All
# others go: JavaScript, Launch (runs a program), SubmitForm and ImportData (send and fetch
# data), GoToR and GoToE (open other files, which on Windows leaks credentials through UNC
# paths), Sound, Movie, Rendition and RichMediaExecute (media players with a long record of
# exploits), and whatever a future version adds.
_SAFE_ACTIONS = {"/GoTo", "/Named", "/Thread", "/SetOCGState", "/Hide", "/ResetForm", "/Trans"}
# Web links stay: they do nothing until a reviewer clicks, readers ask before opening them, and
# lesson plans link their videos and worksheets. Other schemes (javascript:, file:, smb:) go.
_SAFE_URI_SCHEMES = ("http://", "https://", "mailto:")
_REMOVED_ANNOTATIONS = {
    "/FileAttachment": "file_attachment_annotations",
    "/RichMedia": "media_annotations",
    "/Screen": "media_annotations",
    "/Movie": "media_annotations",
    "/Sound": "media_annotations",
    "/3D": "media_annotations",
}
_ACTION_CATEGORIES = {
    "/JavaScript": "javascript_actions",
    "/Launch": "launch_actions",
    "/SubmitForm": "submit_form_actions",
    "/ImportData": "import_data_actions",
    "/GoToR": "remote_goto_actions",
    "/GoToE": "remote_goto_actions",
}


def sanitise_pdf(path: Path, out_path: Path) -> SanitiseReport:
    """Write ``path`` to ``out_path`` without active content; report what was removed.

    The original is copied byte for byte when there is nothing to remove, so its SHA-256 and
    the stored copy's agree.
    """
    with pikepdf.open(path) as pdf:
        removed: Counter[str] = Counter()
        try:
            kept_links = _sanitise_objects(pdf, removed)
        except (TypeError, ValueError, pikepdf.PdfError) as exc:
            # An object that cannot be inspected cannot be shown to be harmless either.
            raise RejectedError(
                f"the PDF is damaged in a way that keeps it from being checked for active "
                f"content ({_short(exc)})"
            ) from None
        decrypted = pdf.is_encrypted  # opened without a password: permissions only
        report = SanitiseReport(dict(sorted(removed.items())), kept_links, decrypted)
        if report.changed:
            # Unreachable objects (the scripts just unlinked) are not written at all, and an
            # id derived from the content keeps the output the same on a retried job.
            pdf.save(out_path, encryption=False, deterministic_id=True)
    if not report.changed:
        shutil.copyfile(path, out_path)
    return report


def _sanitise_objects(pdf: pikepdf.Pdf, removed: Counter[str]) -> int:
    """Remove active content reachable from the catalogue; return the web links kept."""
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary):
        for key, category in (
            ("/JavaScript", "javascript_name_tree"),
            ("/EmbeddedFiles", "embedded_files"),
            ("/AlternatePresentations", "other_actions"),
        ):
            if key in names:
                removed[category] += max(1, _count_name_tree(names[key]))
                del names[key]
    if "/Collection" in root:  # a portfolio: a wrapper around attached files
        removed["portfolio"] += 1
        del root["/Collection"]
    opening = root.get("/OpenAction")
    # An opening destination (page 1, fit width) is harmless; an opening action of any other
    # kind runs before the reader has shown anything.
    if isinstance(opening, pikepdf.Dictionary):
        if str(opening.get("/S", "")) == "/GoTo":
            _prune_action(opening, removed)
        else:
            removed["open_action"] += 1
            del root["/OpenAction"]
    kept_links = 0
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Array):
            stack.extend(item for item in obj if _is_container(item))
            continue
        kept_links += _sanitise_dictionary(obj, removed)
        for key in list(obj.keys()):
            if key != "/Parent":  # upward links lead nowhere new
                value = obj.get(key)
                if _is_container(value):
                    stack.append(value)
    return kept_links


def _is_container(value: Any) -> bool:
    return isinstance(value, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream)


def _sanitise_dictionary(obj: Any, removed: Counter[str]) -> int:
    """Clean one dictionary (or stream dictionary) in place; return 1 if it is a kept link."""
    if "/AA" in obj:
        removed["additional_actions"] += 1
        del obj["/AA"]
    action = obj.get("/A")
    if isinstance(action, pikepdf.Dictionary) and _prune_action(action, removed):
        del obj["/A"]
    if "/EF" in obj or "/RF" in obj:  # a file specification with the file inside it
        removed["embedded_files"] += 1
        for key in ("/EF", "/RF"):
            if key in obj:
                del obj[key]
    if "/AF" in obj:  # PDF 2.0 and PDF/A-3 associated files
        removed["associated_files"] += 1
        del obj["/AF"]
    if "/XFA" in obj:  # XML forms carry their own scripts; the AcroForm fields remain
        removed["xfa_forms"] += 1
        del obj["/XFA"]
    annotations = obj.get("/Annots")
    if isinstance(annotations, pikepdf.Array):
        kept = []
        for annotation in annotations:
            is_dict = isinstance(annotation, pikepdf.Dictionary)
            subtype = str(annotation.get("/Subtype", "")) if is_dict else ""
            if subtype in _REMOVED_ANNOTATIONS:
                removed[_REMOVED_ANNOTATIONS[subtype]] += 1
            else:
                kept.append(annotation)
        if len(kept) != len(annotations):
            obj["/Annots"] = pikepdf.Array(kept)
    if "/JS" in obj:  # a script reached some other way than /A: empty it out
        removed["javascript_actions"] += 1
        for key in list(obj.keys()):
            del obj[key]
    action = obj.get("/A")
    return int(isinstance(action, pikepdf.Dictionary) and str(action.get("/S", "")) == "/URI")


def _prune_action(action: Any, removed: Counter[str], depth: int = 0) -> bool:
    """True when ``action`` must go; otherwise prune the unsafe actions chained after it."""
    kind = str(action.get("/S", ""))
    if kind == "/URI":
        uri = str(action.get("/URI", "")).strip().casefold()
        if not uri.startswith(_SAFE_URI_SCHEMES):
            removed["unsafe_links"] += 1
            return True
    elif kind not in _SAFE_ACTIONS or depth > 32:
        removed[_ACTION_CATEGORIES.get(kind, "other_actions")] += 1
        return True
    chained = action.get("/Next")
    if isinstance(chained, pikepdf.Dictionary):
        if _prune_action(chained, removed, depth + 1):
            del action["/Next"]
    elif isinstance(chained, pikepdf.Array):
        kept = [
            item
            for item in chained
            if isinstance(item, pikepdf.Dictionary) and not _prune_action(item, removed, depth + 1)
        ]
        if len(kept) != len(chained):
            action["/Next"] = pikepdf.Array(kept)
    return False


def _count_name_tree(node: Any, depth: int = 0) -> int:
    if not isinstance(node, pikepdf.Dictionary) or depth > 16:
        return 0
    count = 0
    pairs = node.get("/Names")
    if isinstance(pairs, pikepdf.Array):
        count += len(pairs) // 2
    kids = node.get("/Kids")
    if isinstance(kids, pikepdf.Array):
        count += sum(_count_name_tree(kid, depth + 1) for kid in kids)
    return count


# ---------------------------------------------------------------------------------------------
# optimise

MAX_IMAGE_DPI = 150
"""Images sharper than this on their page are resampled to it.

Phone scans of A4 come in at 300-350 dpi. At 150 dpi an A4 page is 1240 x 1754 px, about the
photos' 2048 px rendition, and 10 pt text keeps an x-height of 10 px (Acrobat's "Standard"
preset makes the same choice). It is also where libjpeg can decode a 300 dpi scan at half
scale: ``bench.documents`` measures 18 ms a page against 125 ms at 200 dpi, and a third fewer
bytes.
"""

JPEG_QUALITY = 85
"""Quality of re-encoded photographs and scans; phones write 90-95, so this costs little."""

OFFICE_MAX_ENTRY_BYTES = 64 * MB
"""Office packages with a larger member are kept as they are rather than recompressed."""


def optimise_document(path: Path, doc_type: DocumentType, out_path: Path) -> OptimiseReport:
    """Write the smaller of ``path`` and its optimised form to ``out_path``."""
    if doc_type is DocumentType.PDF:
        return optimise_pdf(path, out_path)
    return optimise_office(path, out_path)


def optimise_pdf(
    path: Path,
    out_path: Path,
    *,
    max_image_dpi: int = MAX_IMAGE_DPI,
    jpeg_quality: int = JPEG_QUALITY,
) -> OptimiseReport:
    """Object streams, recompressed streams and resampled images; kept only if smaller."""
    input_bytes = path.stat().st_size
    with _sibling_temp(out_path) as candidate:
        try:
            with pikepdf.open(path) as pdf:
                images = _resample_images(pdf, max_image_dpi, jpeg_quality)
                pdf.remove_unreferenced_resources()
                pdf.save(
                    candidate,
                    object_stream_mode=pikepdf.ObjectStreamMode.generate,
                    compress_streams=True,
                    deterministic_id=True,
                )
        except (TypeError, ValueError, pikepdf.PdfError):
            candidate.unlink(missing_ok=True)  # best effort: the input is stored as it is
            shutil.copyfile(path, out_path)
            return OptimiseReport(input_bytes, input_bytes, kept_input=True)
        return _keep_smaller(path, candidate, out_path, input_bytes, images)


def _resample_images(pdf: pikepdf.Pdf, max_dpi: int, quality: int) -> int:
    """Resample images sharper than ``max_dpi``; return how many were replaced.

    An image's resolution is taken against the longest page side it appears on: it cannot be
    shown larger than its page, so this never underestimates the resolution and never makes
    an image softer than ``max_dpi`` where it is shown.
    """
    longest_px: dict[tuple[int, int], float] = {}
    images: dict[tuple[int, int], Any] = {}
    for page in pdf.pages:
        box = page.mediabox
        unit = float(page.obj.get("/UserUnit", 1))
        side_in = max(abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1])))
        side_in = side_in * unit / 72
        for image in page.get_images().values():
            key = image.objgen
            if key == (0, 0):
                continue
            images[key] = image
            longest_px[key] = max(longest_px.get(key, 0.0), side_in * max_dpi)
    replaced = 0
    for key, image in images.items():
        # Optimising is best effort: an image pikepdf or Pillow cannot read stays as it is.
        with suppress(TypeError, ValueError, pikepdf.PdfError):
            replaced += _resample_image(image, longest_px[key], quality)
    return replaced


def _resample_image(image: Any, max_long_px: float, quality: int) -> int:
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if max(width, height) <= max_long_px or min(width, height) < 16:
        return 0
    filters = image.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    if filters is None:
        names = []
    mode = _image_mode(image)
    # Only plain 8-bit grey or RGB: masks, decode arrays, CMYK, palettes and the bilevel codecs
    # (CCITT, JBIG2) each need care that a few percent of bytes do not pay for.
    if mode is None or names not in ([], ["/FlateDecode"], ["/DCTDecode"]):
        return 0
    if any(key in image for key in ("/Mask", "/Decode", "/ImageMask", "/SMaskInData")):
        return 0
    scale = max_long_px / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture: Image.Image
    try:
        if names == ["/DCTDecode"]:
            picture = Image.open(io.BytesIO(image.read_raw_bytes()))
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for a fraction of a full decode's cost
            # when the target is that small (a 12 MP photo shown on half a page).
            picture.draft(mode, size)
            picture.load()
        else:
            picture = pikepdf.PdfImage(image).as_pil_image()
    except (pikepdf.PdfError, NotImplementedError, ValueError, OSError, SyntaxError):
        return 0
    if picture.mode != mode:
        return 0
    # Bicubic rather than Lanczos: a third faster on a 300 dpi page, and no visible difference
    # at the reductions done here (at most 2x for phone scans of A4).
    smaller = picture.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    smaller.save(buffer, "JPEG", quality=quality, optimize=True)
    encoded, new_filter = buffer.getvalue(), pikepdf.Name.DCTDecode
    if names != ["/DCTDecode"]:
        # A lossless source stays lossless at its new size unless it is photographic, which
        # JPEG stores in a third of the bytes or less; text and line art keep sharp edges.
        flate = zlib.compress(smaller.tobytes(), 6)
        if len(encoded) * 3 > len(flate):
            encoded, new_filter = flate, pikepdf.Name.FlateDecode
    if len(encoded) >= len(image.read_raw_bytes()):
        return 0
    image.write(encoded, filter=new_filter)
    image.Width, image.Height = size
    if "/DecodeParms" in image:
        del image["/DecodeParms"]
    return 1


def _image_mode(image: Any) -> str | None:
    """ "L" or "RGB" for 8-bit grey or RGB images (device or ICC-based); None for the rest."""
    if int(image.get("/BitsPerComponent", 0)) != 8:
        return None
    space = image.get("/ColorSpace")
    if isinstance(space, pikepdf.Array) and len(space) == 2 and str(space[0]) == "/ICCBased":
        components = int(space[1].get("/N", 0))
        return {1: "L", 3: "RGB"}.get(components)
    return {"/DeviceGray": "L", "/DeviceRGB": "RGB"}.get(str(space))


def optimise_office(path: Path, out_path: Path) -> OptimiseReport:
    """The package recompressed at deflate level 9 when that saves bytes; otherwise as it is.

    Members keep their names, order and dates. An ODF ``mimetype`` member stays first and
    stored, as the standard requires.
    """
    input_bytes = path.stat().st_size
    with _sibling_temp(out_path) as candidate:
        with path.open("rb") as file:
            package = _ZipPackage(file, DEFAULT_ZIP_LIMITS, _Budget(DEFAULT_ZIP_LIMITS), "file")
            if any(e.info.file_size > OFFICE_MAX_ENTRY_BYTES for e in package.entries):
                shutil.copyfile(path, out_path)
                return OptimiseReport(input_bytes, input_bytes, kept_input=True)
            # One member in memory at a time (64 MB at most): before Python 3.13 zipfile takes a
            # compression level only through writestr.
            with zipfile.ZipFile(candidate, "w") as output:
                for entry in package.entries:
                    with package.open_entry(entry) as reader:
                        data = reader.read()
                    info = zipfile.ZipInfo(entry.info.filename, entry.info.date_time)
                    info.external_attr = entry.info.external_attr
                    if entry.name == "mimetype" or entry.info.filename.endswith("/"):
                        output.writestr(info, data, compress_type=zipfile.ZIP_STORED)
                    else:
                        output.writestr(
                            info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9
                        )
        return _keep_smaller(path, candidate, out_path, input_bytes, 0)


@contextmanager
def _sibling_temp(out_path: Path) -> Iterator[Path]:
    """A temporary path beside ``out_path`` (same file system, so the final move is a rename)."""
    handle, name = tempfile.mkstemp(prefix=".optimise-", dir=out_path.parent)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _keep_smaller(
    original: Path, candidate: Path, out_path: Path, input_bytes: int, images: int
) -> OptimiseReport:
    candidate_bytes = candidate.stat().st_size
    if candidate_bytes < input_bytes:
        candidate.replace(out_path)
        return OptimiseReport(input_bytes, candidate_bytes, False, images)
    shutil.copyfile(original, out_path)
    return OptimiseReport(input_bytes, input_bytes, True, 0)


# ---------------------------------------------------------------------------------------------
# preview


def find_soffice() -> str | None:
    """The LibreOffice executable, or None when LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_preview(
    path: Path,
    doc_type: DocumentType,
    out_png: Path,
    *,
    max_side_px: int = PREVIEW_MAX_SIDE_PX,
    timeout_s: float = LIBREOFFICE_TIMEOUT_S,
) -> Preview | NoPreview:
    """Draw the first page as PNG; Office files go through LibreOffice when it is installed."""
    if doc_type is DocumentType.PDF:
        return _render_pdf_page(path, out_png, max_side_px, "pdfium")
    soffice = find_soffice()
    if soffice is None:
        return NoPreview(
            "no preview: LibreOffice is not installed on this worker, so Office files are "
            "archived without one"
        )
    with tempfile.TemporaryDirectory(prefix="bukti-preview-") as work:
        converted = _convert_to_pdf(soffice, path, doc_type, Path(work), timeout_s)
        if isinstance(converted, NoPreview):
            return converted
        return _render_pdf_page(converted, out_png, max_side_px, "libreoffice+pdfium")


def _render_pdf_page(
    path: Path, out_png: Path, max_side_px: int, renderer: str
) -> Preview | NoPreview:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return NoPreview(f"no preview: pdfium cannot open the file ({exc})")
    try:
        if len(document) == 0:
            return NoPreview("no preview: the document has no pages")
        page = document[0]
        try:
            width_pt, height_pt = page.get_size()
            scale = max_side_px / max(width_pt, height_pt, 1.0)
            picture = page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        return NoPreview(f"no preview: the first page could not be drawn ({exc})")
    finally:
        document.close()
    # zlib level 3: a photographic scan's preview saves in 0.1 s instead of 0.3 s (level 6) or
    # 1.5 s (optimize), for 8 % more bytes.
    picture.save(out_png, "PNG", compress_level=3)
    return Preview(out_png, picture.width, picture.height, perceptual_hashes(picture), renderer)


def _convert_to_pdf(
    soffice: str, path: Path, doc_type: DocumentType, work: Path, timeout_s: float
) -> Path | NoPreview:
    """``path`` converted to PDF by LibreOffice in ``work``, with a private profile."""
    source = work / f"document.{doc_type.value}"  # the upload's name is not to be trusted
    shutil.copyfile(path, source)
    profile = work / "profile"
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",  # concurrent conversions never share one
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--nologo",
        "--convert-to",
        "pdf",
        "--outdir",
        str(work),
        str(source),
    ]
    # A group of its own, so that a timeout ends soffice.bin and its helpers, not only the
    # wrapper; the same group is killed when the worker dies.
    try:
        run = run_program(
            command,
            timeout_s=timeout_s,
            group=True,
            merge_output=True,
            cwd=work,
            env={**os.environ, "HOME": str(work)},
        )
    except TimeoutError:
        return NoPreview(f"no preview: LibreOffice took longer than {timeout_s:.0f} s")
    converted = work / "document.pdf"
    if run.returncode != 0 or not converted.exists():
        detail = run.tail.strip().splitlines()[-1:] or ["no output"]
        return NoPreview(f"no preview: LibreOffice could not convert the file ({detail[0]})")
    return converted


# ---------------------------------------------------------------------------------------------
# facts


def document_facts(path: Path, doc_type: DocumentType) -> DocumentFacts:
    """Page count, title, author, tools and dates from the document's metadata, each sourced."""
    if doc_type is DocumentType.PDF:
        return _pdf_facts(path)
    with path.open("rb") as file:
        package = _ZipPackage(file, DEFAULT_ZIP_LIMITS, _Budget(DEFAULT_ZIP_LIMITS), "file")
        if doc_type.is_odf:
            return _odf_facts(package, doc_type)
        return _ooxml_facts(package, doc_type)


_XMP_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _pdf_facts(path: Path) -> DocumentFacts:
    with pikepdf.open(path) as pdf:
        info = pdf.docinfo
        xmp = _xmp_values(pdf)
        # The Info dictionary first: every writer fills it and every reader shows it, while
        # tools that edit metadata often leave the XMP packet stale.

        def info_text(key: str) -> str:
            try:
                return str(info[key]) if key in info else ""
            except (TypeError, ValueError, pikepdf.PdfError):
                return ""  # a value that is no string, or undecodable: as good as none

        def text(info_key: str, xmp_key: str) -> Sourced[str] | None:
            value = _clean(info_text(info_key))
            if value:
                return Sourced(value, f"pdf:Info{info_key}")
            value = _clean(xmp.get(xmp_key, ""))
            return Sourced(value, f"pdf:XMP/{xmp_key}") if value else None

        def date(info_key: str, xmp_key: str) -> Sourced[datetime] | None:
            parsed = parse_pdf_date(info_text(info_key))
            if parsed is not None:
                return Sourced(parsed, f"pdf:Info{info_key}")
            parsed = parse_iso_date(xmp.get(xmp_key, ""))
            return Sourced(parsed, f"pdf:XMP/{xmp_key}") if parsed else None

        return DocumentFacts(
            doc_type=DocumentType.PDF,
            page_count=Sourced(len(pdf.pages), "pdf:pages"),
            title=text("/Title", "dc:title"),
            author=text("/Author", "dc:creator"),
            creator_tool=text("/Creator", "xmp:CreatorTool"),
            producer=text("/Producer", "pdf:Producer"),
            created=date("/CreationDate", "xmp:CreateDate"),
            modified=date("/ModDate", "xmp:ModifyDate"),
        )


def _xmp_values(pdf: pikepdf.Pdf) -> dict[str, str]:
    """The few XMP properties Bukti reads, as ``prefix:Name`` to text."""
    try:
        stream = pdf.Root.get("/Metadata")
        if not isinstance(stream, pikepdf.Stream) or int(stream.get("/Length", 0)) > 4 * MB:
            return {}
        root = _parse_xml(stream.read_bytes(), "XMP metadata", reject=False)
    except (TypeError, ValueError, pikepdf.PdfError):
        return {}
    if root is None:
        return {}
    wanted = {
        f"{{{uri}}}{name}": f"{prefix}:{name}"
        for prefix, uri in _XMP_NAMESPACES.items()
        for name in ("title", "creator", "CreateDate", "ModifyDate", "CreatorTool", "Producer")
    }
    values: dict[str, str] = {}
    for description in root.iter(f"{{{_RDF}}}Description"):
        for attribute, value in description.attrib.items():
            if attribute in wanted:
                values.setdefault(wanted[attribute], value)
        for child in description:
            if child.tag in wanted:
                items = [li.text or "" for li in child.iter(f"{{{_RDF}}}li")]
                value = items[0] if items else (child.text or "")
                values.setdefault(wanted[child.tag], value)
    return values


def _ooxml_facts(package: _ZipPackage, doc_type: DocumentType) -> DocumentFacts:
    rels = package.relationships("_rels/.rels")
    core_name = _related(rels, "/metadata/core-properties", "docProps/core.xml")
    app_name = _related(rels, "/extended-properties", "docProps/app.xml")
    core = _children(package.parse_xml(core_name, cap=4 * MB))
    app = _children(package.parse_xml(app_name, cap=4 * MB))
    core_source, app_source = f"ooxml:{core_name}/", f"ooxml:{app_name}/"
    pages_key = {DocumentType.DOCX: "Pages", DocumentType.PPTX: "Slides"}.get(doc_type)
    return DocumentFacts(
        doc_type=doc_type,
        page_count=_sourced_int(app, pages_key, app_source),
        title=_sourced_text(core, "title", core_source + "dc:title"),
        author=_sourced_text(core, "creator", core_source + "dc:creator"),
        creator_tool=_sourced_text(app, "Application", app_source + "Application"),
        producer=None,
        created=_sourced_date(core, "created", core_source + "dcterms:created"),
        modified=_sourced_date(core, "modified", core_source + "dcterms:modified"),
    )


def _odf_facts(package: _ZipPackage, doc_type: DocumentType) -> DocumentFacts:
    root = package.parse_xml("meta.xml", cap=4 * MB)
    elements = list(root.iter()) if root is not None else []
    meta = _children(next((e for e in elements if _local(e.tag) == "meta"), None))
    statistic = next((e for e in elements if _local(e.tag) == "document-statistic"), None)
    source = "odf:meta.xml/"
    page_count = None
    if statistic is not None and doc_type is DocumentType.ODT:
        pages = {_local(k): v for k, v in statistic.attrib.items()}.get("page-count", "")
        if pages.isdigit():
            page_count = Sourced(int(pages), source + "meta:document-statistic/@meta:page-count")
    # In ODF, dc:creator is whoever saved last; meta:initial-creator is the author.
    author = _sourced_text(meta, "initial-creator", source + "meta:initial-creator")
    return DocumentFacts(
        doc_type=doc_type,
        page_count=page_count,
        title=_sourced_text(meta, "title", source + "dc:title"),
        author=author or _sourced_text(meta, "creator", source + "dc:creator"),
        creator_tool=_sourced_text(meta, "generator", source + "meta:generator"),
        producer=None,
        created=_sourced_date(meta, "creation-date", source + "meta:creation-date"),
        modified=_sourced_date(meta, "date", source + "dc:date"),
    )


def _related(rels: dict[str, tuple[str, str]], type_suffix: str, default: str) -> str:
    return next((target for kind, target in rels.values() if kind.endswith(type_suffix)), default)


def _children(element: Element | None) -> dict[str, str]:
    """Local name to text of an element's children (the first of each name)."""
    values: dict[str, str] = {}
    for child in element if element is not None else ():
        values.setdefault(_local(child.tag), (child.text or "").strip())
    return values


def _sourced_text(values: dict[str, str], key: str | None, source: str) -> Sourced[str] | None:
    value = _clean(values.get(key or "", ""))
    return Sourced(value, source) if value else None


def _sourced_int(values: dict[str, str], key: str | None, source: str) -> Sourced[int] | None:
    value = values.get(key or "", "")
    return Sourced(int(value), source + (key or "")) if value.isdigit() else None


def _sourced_date(values: dict[str, str], key: str, source: str) -> Sourced[datetime] | None:
    parsed = parse_iso_date(values.get(key, ""))
    return Sourced(parsed, source) if parsed else None


def _clean(value: str) -> str:
    # Metadata strings carry NULs, BOMs and padding from old writers.
    return " ".join(value.replace("\x00", "").replace("\ufeff", "").split())[:500]


# ---------------------------------------------------------------------------------------------
# text


def document_text(path: Path, doc_type: DocumentType, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The document's text in reading order, at most ``max_chars`` long (for near duplicates)."""
    if doc_type is DocumentType.PDF:
        return _pdf_text(path, max_chars)
    with path.open("rb") as file:
        package = _ZipPackage(file, DEFAULT_ZIP_LIMITS, _Budget(DEFAULT_ZIP_LIMITS), "file")
        collector = _TextCollector(max_chars)
        if doc_type.is_odf:
            _odf_text(package, collector)
        elif doc_type is DocumentType.DOCX:
            _ooxml_part_text(package, _main_part(package), collector)
        elif doc_type is DocumentType.PPTX:
            for slide in _pptx_slides(package):
                _ooxml_part_text(package, slide, collector)
        else:
            _xlsx_text(package, collector)
        return collector.text()


def _pdf_text(path: Path, max_chars: int) -> str:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return ""  # qpdf read it, pdfium cannot: the preview's hash stands in, as for a scan
    pieces: list[str] = []
    total = 0
    try:
        for index in range(len(document)):
            if total >= max_chars:
                break
            try:
                page = document[index]
            except pdfium.PdfiumError:
                continue  # a damaged page: the other pages' text still counts
            try:
                textpage = page.get_textpage()
                try:
                    piece = str(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
            pieces.append(piece)
            total += len(piece) + 1
    finally:
        document.close()
    return "\n".join(pieces)[:max_chars]


class _TextCollector:
    """Text pieces up to a budget of characters."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.pieces: list[str] = []
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size >= self.max_chars

    def add(self, piece: str) -> None:
        if piece and not self.full:
            self.pieces.append(piece)
            self.size += len(piece)

    def text(self) -> str:
        return "".join(self.pieces)[: self.max_chars]


# Elements that stand for white space: tabs, line breaks, and ODF's run of spaces.
_SPACING_ELEMENTS = {"tab", "br", "cr", "s", "line-break"}
_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _ooxml_part_text(package: _ZipPackage, name: str, collector: _TextCollector) -> None:
    """Stream the text of a WordprocessingML or DrawingML part: runs in ``t``, lines in ``p``."""
    with package.open(name) as reader:
        if reader is None:
            return
        with suppress(ParseError, defusedxml.DefusedXmlException):
            # A broken tail loses only the text after it; the file was accepted already.
            for _, element in SafeET.iterparse(reader, events=("end",)):
                local = _local(element.tag)
                if local == "t":
                    collector.add(element.text or "")
                elif local in _SPACING_ELEMENTS:
                    collector.add(" ")
                elif local in ("p", "tr"):
                    collector.add("\n")
                    element.clear()  # keeps memory flat on a long document
                if collector.full:
                    return


def _odf_text(package: _ZipPackage, collector: _TextCollector) -> None:
    """Stream the paragraphs and headings of an ODF ``content.xml``."""
    with package.open("content.xml") as reader:
        if reader is None:
            return
        with suppress(ParseError, defusedxml.DefusedXmlException):
            for _, element in SafeET.iterparse(reader, events=("end",)):
                if not element.tag.startswith(_ODF_TEXT):
                    continue
                local = _local(element.tag)
                if local in _SPACING_ELEMENTS:
                    # ODF text sits in paragraphs and spans, between empty tab and space
                    # elements; giving those a space keeps the words apart in itertext.
                    element.text = " "
                elif local in ("p", "h"):
                    collector.add("".join(element.itertext()) + "\n")
                    element.clear()
                if collector.full:
                    return


def _main_part(package: _ZipPackage) -> str:
    return _related(package.relationships("_rels/.rels"), _OFFICE_RELATIONSHIP, "")


def _part_relationships(package: _ZipPackage, part: str) -> dict[str, tuple[str, str]]:
    folder, _, file_name = part.rpartition("/")
    return package.relationships(
        f"{folder}/_rels/{file_name}.rels" if folder else f"_rels/{file_name}.rels"
    )


def _relationship_id(element: Element) -> str:
    """The ``r:id`` attribute of an element (namespaced, unlike its plain ``id``)."""
    return next((v for k, v in element.attrib.items() if k.endswith("}id")), "")


def _pptx_slides(package: _ZipPackage) -> list[str]:
    """Slide part names in presentation order."""
    main = _main_part(package)
    rels = _part_relationships(package, main)
    root = package.parse_xml(main, cap=16 * MB)
    elements = root.iter() if root is not None else iter(())
    ids = [_relationship_id(e) for e in elements if _local(e.tag) == "sldId"]
    return [rels[rel_id][1] for rel_id in ids if rel_id in rels]


def _xlsx_text(package: _ZipPackage, collector: _TextCollector) -> None:
    """Cell values sheet by sheet in workbook order, one line per row."""
    main = _main_part(package)
    rels = _part_relationships(package, main)
    shared = _shared_strings(package, _related(rels, "/sharedStrings", ""))
    root = package.parse_xml(main, cap=16 * MB)
    elements = root.iter() if root is not None else iter(())
    sheets = [_relationship_id(e) for e in elements if _local(e.tag) == "sheet"]
    for rel_id in sheets:
        if rel_id not in rels or collector.full:
            continue
        with package.open(rels[rel_id][1]) as reader:
            if reader is not None:
                with suppress(ParseError, defusedxml.DefusedXmlException):
                    _sheet_text(reader, shared, collector)


def _shared_strings(package: _ZipPackage, name: str) -> list[str]:
    strings: list[str] = []
    if not name:
        return strings
    size = 0
    with package.open(name) as reader:
        if reader is None:
            return strings
        with suppress(ParseError, defusedxml.DefusedXmlException):
            for _, element in SafeET.iterparse(reader, events=("end",)):
                if _local(element.tag) == "si":
                    text = "".join(n.text or "" for n in element.iter() if _local(n.tag) == "t")
                    strings.append(text)
                    element.clear()
                    size += len(text)
                    if size > 4 * MAX_TEXT_CHARS:  # the rest could never be shown anyway
                        break
    return strings


def _sheet_text(reader: IO[bytes], shared: list[str], collector: _TextCollector) -> None:
    for _, element in SafeET.iterparse(reader, events=("end",)):
        local = _local(element.tag)
        if local == "c":
            kind = element.get("t", "n")
            value = next((n.text or "" for n in element if _local(n.tag) == "v"), "")
            if kind == "s" and value.isdigit():
                index = int(value)
                value = shared[index] if index < len(shared) else ""
            elif kind == "inlineStr":
                value = "".join(n.text or "" for n in element.iter() if _local(n.tag) == "t")
            if value:
                collector.add(value + " ")
            element.clear()
        elif local == "row":
            collector.add("\n")
            element.clear()
        if collector.full:
            return


# ---------------------------------------------------------------------------------------------
# shared helpers


def _parse_xml(data: bytes, label: str, reject: bool = True) -> Element | None:
    """Parse XML safely: no DTD, no entities, no external references."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        if reject:
            raise RejectedError(
                f"{label} declares XML entities or a DTD (an XML bomb): not accepted"
            ) from None
        return None
    except ParseError:
        if reject:
            raise RejectedError(f"{label} is not well-formed XML: the file is damaged") from None
        return None
    return root


def _local(tag: str) -> str:
    """An XML name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."

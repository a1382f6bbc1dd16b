"""Which document a file is, by its content, or why it is refused.

PDF, DOCX, XLSX, PPTX, ODT and ODS are accepted; refused are password-protected and damaged
files, macros, scripts and ActiveX controls (at any depth of nesting), legacy binary Office
(OLE compound files, told apart by their streams' names) and zip bombs.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from pathlib import Path
from typing import IO

import pikepdf

from bukti.errors import RejectedError
from evidence.document_facts import DocumentType
from workers.documents.reasons import quoted
from workers.documents.safe_xml import local_name
from workers.documents.zip_safety import (
    DEFAULT_ZIP_LIMITS,
    MB,
    OFFICE_DOCUMENT_RELATIONSHIP,
    ZIP_END_RECORD,
    ZIP_LOCAL_HEADER,
    ZipBudget,
    ZipEntry,
    ZipLimits,
    ZipPackage,
)

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
_ODF_BASIC_INDEXES = ("/", "script-lc.xml", "script-lb.xml", "dialog-lc.xml", "dialog-lb.xml")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def identify_document(path: Path, limits: ZipLimits = DEFAULT_ZIP_LIMITS) -> DocumentType:
    """The format of the document at ``path``; raises RejectedError when it is not acceptable."""
    with path.open("rb") as file:
        head = file.read(1024)
    if is_pdf_head(head):
        with open_pdf(path):
            return DocumentType.PDF
    if head.startswith((ZIP_LOCAL_HEADER, ZIP_END_RECORD)):
        return _identify_package(path, limits)
    if head.startswith(_OLE_MAGIC):
        raise RejectedError(_ole_reason(path))
    raise RejectedError(
        "not a document Bukti accepts: upload a PDF, DOCX, XLSX, PPTX, ODT or ODS file"
    )


def is_pdf(path: Path) -> bool:
    """True when the file at ``path`` is (or claims to be) a PDF, by its first kilobyte."""
    with path.open("rb") as file:
        return is_pdf_head(file.read(1024))


def is_pdf_head(head: bytes) -> bool:
    """True when a file's first kilobyte names it a PDF (readers accept junk before the mark)."""
    return b"%PDF-" in head[:1024]


def open_pdf(path: Path) -> pikepdf.Pdf:
    """The PDF at ``path``, opened once and checked, for every phase of its job to read; the
    caller closes it. Raises RejectedError when it has a password or is damaged."""
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise RejectedError(
            "the PDF is protected by a password and cannot be checked: upload a copy without "
            "the password"
        ) from None
    except _PDF_ERRORS as exc:
        raise RejectedError(_damaged(exc)) from None
    try:
        _check_pdf_structure(pdf)
    except _PDF_ERRORS as exc:
        pdf.close()
        raise RejectedError(_damaged(exc)) from None
    except BaseException:
        pdf.close()
        raise
    return pdf


# TypeError and ValueError: pikepdf's answer to objects of the wrong type or names that are
# not text, which only damaged or hand-crafted files have.
_PDF_ERRORS = (pikepdf.PdfError, TypeError, ValueError)


def _damaged(exc: Exception) -> str:
    return f"the PDF is damaged and cannot be read ({quoted(exc)})"


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
    budget = ZipBudget(limits)
    with path.open("rb") as file:
        package = ZipPackage(file, limits, budget, label="the file")
        doc_type = _package_type(package)
        _refuse_active_content(package, doc_type)
        _inflate_all(package, depth=0)
    return doc_type


def _package_type(package: ZipPackage) -> DocumentType:
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


def _ooxml_type(package: ZipPackage) -> DocumentType:
    types = _content_types(package)
    rels = package.relationships("_rels/.rels")
    main = next(
        (target for kind, target in rels.values() if kind.endswith(OFFICE_DOCUMENT_RELATIONSHIP)),
        None,
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


def _content_types(package: ZipPackage) -> dict[str, str]:
    """``[Content_Types].xml`` as one map: ``/part/name`` and ``.extension`` to media type."""
    root = package.parse_xml("[Content_Types].xml", cap=4 * MB)
    if root is None:
        raise RejectedError("the Office file is damaged: its content types cannot be read")
    types: dict[str, str] = {}
    for element in root:
        name = local_name(element.tag)
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


def _refuse_active_content(package: ZipPackage, doc_type: DocumentType | None) -> None:
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


def _odf_is_encrypted(package: ZipPackage) -> bool:
    root = package.parse_xml("META-INF/manifest.xml", cap=4 * MB)
    return root is not None and any(local_name(e.tag) == "encryption-data" for e in root.iter())


def _odf_manifest_root_type(package: ZipPackage) -> str:
    root = package.parse_xml("META-INF/manifest.xml", cap=4 * MB)
    for element in root.iter() if root is not None else ():
        attributes = {local_name(k): v for k, v in element.attrib.items()}
        if attributes.get("full-path") == "/":
            return attributes.get("media-type", "")
    return ""


def _inflate_all(package: ZipPackage, depth: int) -> None:
    """Inflate every member under the running caps; check packages inside packages too."""
    for entry in package.entries:
        if entry.name.endswith("/"):
            continue
        with package.open_entry(entry) as reader:
            head = reader.read(4096)
            if not head.startswith(ZIP_LOCAL_HEADER):
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
                inner = ZipPackage(
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


def _drain(reader: IO[bytes], head: bytes, entry: ZipEntry, package: ZipPackage) -> None:
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

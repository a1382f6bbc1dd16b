"""A document's text in reading order, for near-duplicate detection."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import pypdfium2 as pdfium

from evidence.document_facts import DocumentType
from workers.documents.safe_xml import local_name
from workers.documents.zip_safety import (
    DEFAULT_ZIP_LIMITS,
    MB,
    OFFICE_DOCUMENT_RELATIONSHIP,
    ZipBudget,
    ZipPackage,
    related_part,
)

MAX_TEXT_CHARS = 200_000
"""Text kept per document for near-duplicate detection: about 60 dense pages."""


def document_text(path: Path, doc_type: DocumentType, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The document's text in reading order, at most ``max_chars`` long (for near duplicates)."""
    if doc_type is DocumentType.PDF:
        return _pdf_text(path, max_chars)
    with path.open("rb") as file:
        package = ZipPackage(file, DEFAULT_ZIP_LIMITS, ZipBudget(DEFAULT_ZIP_LIMITS), "file")
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
    try:
        return pdf_text(document, max_chars)
    finally:
        document.close()


def pdf_text(document: pdfium.PdfDocument, max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text of a PDF opened by pdfium, page by page, at most ``max_chars`` long."""
    pieces: list[str] = []
    total = 0
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


def _ooxml_part_text(package: ZipPackage, name: str, collector: _TextCollector) -> None:
    """Stream the text of a WordprocessingML or DrawingML part: runs in ``t``, lines in ``p``."""
    with package.open(name) as reader:
        if reader is None:
            return
        with suppress(ParseError, defusedxml.DefusedXmlException):
            # A broken tail loses only the text after it; the file was accepted already.
            for _, element in SafeET.iterparse(reader, events=("end",)):
                local = local_name(element.tag)
                if local == "t":
                    collector.add(element.text or "")
                elif local in _SPACING_ELEMENTS:
                    collector.add(" ")
                elif local in ("p", "tr"):
                    collector.add("\n")
                    element.clear()  # keeps memory flat on a long document
                if collector.full:
                    return


def _odf_text(package: ZipPackage, collector: _TextCollector) -> None:
    """Stream the paragraphs and headings of an ODF ``content.xml``."""
    with package.open("content.xml") as reader:
        if reader is None:
            return
        with suppress(ParseError, defusedxml.DefusedXmlException):
            for _, element in SafeET.iterparse(reader, events=("end",)):
                if not element.tag.startswith(_ODF_TEXT):
                    continue
                local = local_name(element.tag)
                if local in _SPACING_ELEMENTS:
                    # ODF text sits in paragraphs and spans, between empty tab and space
                    # elements; giving those a space keeps the words apart in itertext.
                    element.text = " "
                elif local in ("p", "h"):
                    collector.add("".join(element.itertext()) + "\n")
                    element.clear()
                if collector.full:
                    return


def _main_part(package: ZipPackage) -> str:
    return related_part(package.relationships("_rels/.rels"), OFFICE_DOCUMENT_RELATIONSHIP, "")


def _part_relationships(package: ZipPackage, part: str) -> dict[str, tuple[str, str]]:
    folder, _, file_name = part.rpartition("/")
    return package.relationships(
        f"{folder}/_rels/{file_name}.rels" if folder else f"_rels/{file_name}.rels"
    )


def _relationship_id(element: Element) -> str:
    """The ``r:id`` attribute of an element (namespaced, unlike its plain ``id``)."""
    return next((v for k, v in element.attrib.items() if k.endswith("}id")), "")


def _pptx_slides(package: ZipPackage) -> list[str]:
    """Slide part names in presentation order."""
    main = _main_part(package)
    rels = _part_relationships(package, main)
    root = package.parse_xml(main, cap=16 * MB)
    elements = root.iter() if root is not None else iter(())
    ids = [_relationship_id(e) for e in elements if local_name(e.tag) == "sldId"]
    return [rels[rel_id][1] for rel_id in ids if rel_id in rels]


def _xlsx_text(package: ZipPackage, collector: _TextCollector) -> None:
    """Cell values sheet by sheet in workbook order, one line per row."""
    main = _main_part(package)
    rels = _part_relationships(package, main)
    shared = _shared_strings(package, related_part(rels, "/sharedStrings", ""))
    root = package.parse_xml(main, cap=16 * MB)
    elements = root.iter() if root is not None else iter(())
    sheets = [_relationship_id(e) for e in elements if local_name(e.tag) == "sheet"]
    for rel_id in sheets:
        if rel_id not in rels or collector.full:
            continue
        with package.open(rels[rel_id][1]) as reader:
            if reader is not None:
                with suppress(ParseError, defusedxml.DefusedXmlException):
                    _sheet_text(reader, shared, collector)


def _shared_strings(package: ZipPackage, name: str) -> list[str]:
    strings: list[str] = []
    if not name:
        return strings
    size = 0
    with package.open(name) as reader:
        if reader is None:
            return strings
        with suppress(ParseError, defusedxml.DefusedXmlException):
            for _, element in SafeET.iterparse(reader, events=("end",)):
                if local_name(element.tag) == "si":
                    text = "".join(n.text or "" for n in element.iter() if local_name(n.tag) == "t")
                    strings.append(text)
                    element.clear()
                    size += len(text)
                    if size > 4 * MAX_TEXT_CHARS:  # the rest could never be shown anyway
                        break
    return strings


def _sheet_text(reader: IO[bytes], shared: list[str], collector: _TextCollector) -> None:
    for _, element in SafeET.iterparse(reader, events=("end",)):
        local = local_name(element.tag)
        if local == "c":
            kind = element.get("t", "n")
            value = next((n.text or "" for n in element if local_name(n.tag) == "v"), "")
            if kind == "s" and value.isdigit():
                index = int(value)
                value = shared[index] if index < len(shared) else ""
            elif kind == "inlineStr":
                value = "".join(n.text or "" for n in element.iter() if local_name(n.tag) == "t")
            if value:
                collector.add(value + " ")
            element.clear()
        elif local == "row":
            collector.add("\n")
            element.clear()
        if collector.full:
            return

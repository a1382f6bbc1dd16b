"""What a document says of itself: pages, title, author, tools and dates, each sourced."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

import pikepdf

from evidence.document_facts import DocumentFacts, DocumentType, parse_iso_date, parse_pdf_date
from evidence.facts import Sourced
from workers.documents.safe_xml import local_name, parse_xml
from workers.documents.zip_safety import (
    DEFAULT_ZIP_LIMITS,
    MB,
    ZipBudget,
    ZipPackage,
    related_part,
)


def document_facts(path: Path, doc_type: DocumentType) -> DocumentFacts:
    """Page count, title, author, tools and dates from the document's metadata, each sourced."""
    if doc_type is DocumentType.PDF:
        with pikepdf.open(path) as pdf:
            return pdf_facts(pdf)
    with path.open("rb") as file:
        package = ZipPackage(file, DEFAULT_ZIP_LIMITS, ZipBudget(DEFAULT_ZIP_LIMITS), "file")
        if doc_type.is_odf:
            return _odf_facts(package, doc_type)
        return _ooxml_facts(package, doc_type)


_XMP_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def pdf_facts(pdf: pikepdf.Pdf) -> DocumentFacts:
    """Page count, title, author, tools and dates of an opened PDF, each sourced."""
    # Not pdf.docinfo: it adds an empty Info dictionary when there is none, and the same
    # opened document is sanitised and saved next.
    info = pdf.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        info = pikepdf.Dictionary()
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
        root = parse_xml(stream.read_bytes(), "XMP metadata", reject=False)
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


def _ooxml_facts(package: ZipPackage, doc_type: DocumentType) -> DocumentFacts:
    rels = package.relationships("_rels/.rels")
    core_name = related_part(rels, "/metadata/core-properties", "docProps/core.xml")
    app_name = related_part(rels, "/extended-properties", "docProps/app.xml")
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


def _odf_facts(package: ZipPackage, doc_type: DocumentType) -> DocumentFacts:
    root = package.parse_xml("meta.xml", cap=4 * MB)
    elements = list(root.iter()) if root is not None else []
    meta = _children(next((e for e in elements if local_name(e.tag) == "meta"), None))
    statistic = next((e for e in elements if local_name(e.tag) == "document-statistic"), None)
    source = "odf:meta.xml/"
    page_count = None
    if statistic is not None and doc_type is DocumentType.ODT:
        pages = {local_name(k): v for k, v in statistic.attrib.items()}.get("page-count", "")
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


def _children(element: Element | None) -> dict[str, str]:
    """Local name to text of an element's children (the first of each name)."""
    values: dict[str, str] = {}
    for child in element if element is not None else ():
        values.setdefault(local_name(child.tag), (child.text or "").strip())
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

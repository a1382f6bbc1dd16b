"""What a document's metadata says (PDF Info and XMP, Office core properties, ODF meta.xml).

Each value carries its source, for example ``pdf:Info/CreationDate``, ``pdf:XMP/xmp:CreateDate``,
``ooxml:docProps/core.xml/dcterms:created`` or ``odf:meta.xml/meta:creation-date``, so a reviewer
can see why Bukti believes it. Dates keep the offset they were written with: an aware datetime
when the file gave one, a naive (local wall-clock) one when it did not, as LibreOffice writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from evidence.facts import Sourced


class DocumentType(StrEnum):
    """The document formats Bukti accepts, named by their usual extension."""

    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    ODT = "odt"
    ODS = "ods"

    @property
    def mime(self) -> str:
        """The media type of the format."""
        return _MIME[self]

    @property
    def is_ooxml(self) -> bool:
        """True for the Office Open XML formats (Word, Excel, PowerPoint)."""
        return self in (DocumentType.DOCX, DocumentType.XLSX, DocumentType.PPTX)

    @property
    def is_odf(self) -> bool:
        """True for the OpenDocument formats (LibreOffice Writer and Calc)."""
        return self in (DocumentType.ODT, DocumentType.ODS)


_MIME = {
    DocumentType.PDF: "application/pdf",
    DocumentType.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentType.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    DocumentType.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    DocumentType.ODT: "application/vnd.oasis.opendocument.text",
    DocumentType.ODS: "application/vnd.oasis.opendocument.spreadsheet",
}


@dataclass(frozen=True)
class DocumentFacts:
    """Everything read from a document's metadata that verification and reviewers need.

    ``page_count`` is pages for PDF, Word and Writer files, slides for PowerPoint, and unknown
    for spreadsheets. ``creator_tool`` is the application that wrote the content (Word, Writer,
    a scanner app); ``producer`` is the library that wrote the PDF, which often differs.
    """

    doc_type: DocumentType
    page_count: Sourced[int] | None = None
    title: Sourced[str] | None = None
    author: Sourced[str] | None = None
    creator_tool: Sourced[str] | None = None
    producer: Sourced[str] | None = None
    created: Sourced[datetime] | None = None
    modified: Sourced[datetime] | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: each sourced value as ``{"value": ..., "source": ...}``."""
        out: dict[str, Any] = {"doc_type": self.doc_type.value}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Sourced):
                plain = (
                    value.value.isoformat() if isinstance(value.value, datetime) else value.value
                )
                out[f.name] = {"value": plain, "source": value.source}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentFacts:
        """The inverse of :meth:`to_json`."""
        kwargs: dict[str, Any] = {"doc_type": DocumentType(data["doc_type"])}
        for f in fields(cls):
            raw = data.get(f.name)
            if not isinstance(raw, dict):
                continue
            value = raw["value"]
            if f.name in _DATETIME_FIELDS:
                value = datetime.fromisoformat(value)
            kwargs[f.name] = Sourced(value, raw["source"])
        return cls(**kwargs)


_DATETIME_FIELDS = {"created", "modified"}

# PDF 32000-1 section 7.9.4: D:YYYYMMDDHHmmSSOHH'mm'. Everything after the year is optional in
# the standard, and writers differ in the offset: "+07'00'", "+07'00", "+0700", "+07", "Z",
# "Z00'00'". The day is required here: a date known only to the month cannot be checked
# against an activity.
_PDF_DATE = re.compile(
    r"(?:D:)?(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:(?P<h>\d{2})(?:(?P<mi>\d{2})(?P<s>\d{2})?)?)?"
    r"(?:(?P<z>[Zz])(?:00'?(?:00'?)?)?|(?P<sign>[+-])(?P<oh>\d{2})(?:'?(?P<om>\d{2})'?)?)?"
)

# ISO 8601 / W3CDTF as Office (dcterms:created, always UTC "Z") and ODF (meta:creation-date,
# local time without offset, nanoseconds) write it.
_ISO_DATE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<frac>\d+))?(?P<zone>Z|z|[+-]\d{2}:?\d{2})?"
)


def parse_pdf_date(raw: str) -> datetime | None:
    """A PDF date string as a datetime (aware when it has an offset), or None if unusable."""
    match = _PDF_DATE.fullmatch(raw.strip().rstrip("'"))
    if match is None:
        return None
    part = match.groupdict()
    try:
        moment = datetime(
            int(part["y"]),
            int(part["mo"]),
            int(part["d"]),
            int(part["h"] or 0),
            int(part["mi"] or 0),
            int(part["s"] or 0),
        )
        if part["z"]:
            return moment.replace(tzinfo=UTC)
        if part["sign"]:
            offset = timedelta(hours=int(part["oh"]), minutes=int(part["om"] or 0))
            return moment.replace(tzinfo=timezone(-offset if part["sign"] == "-" else offset))
    except ValueError:  # month 13, offset of 24 h and the like: a broken writer
        return None
    return moment


def parse_iso_date(raw: str) -> datetime | None:
    """An ISO 8601 / W3CDTF date-time (aware when it has an offset), or None if unusable."""
    match = _ISO_DATE.fullmatch(raw.strip())
    if match is None:
        return None
    frac = (match["frac"] or "")[:6].ljust(6, "0")  # ODF writes nanoseconds; datetime holds µs
    zone = match["zone"] or ""
    if zone in ("Z", "z"):
        zone = "+00:00"
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}{zone}")
    except ValueError:
        return None

"""What each kind of evidence does in each pipeline step: photos, videos, documents.

The pipeline's steps are the same for every kind (validate, extract, compress, hash, ...);
a :class:`Media` says how one kind does each of them, with paths and plain values in and
JSON-ready dicts out. Files a step leaves for later steps have fixed names in the item's
work directory, so a step that runs again finds them.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from bukti.errors import RejectedError
from bukti.settings import Settings
from evidence.document_facts import DocumentFacts, DocumentType
from evidence.status import Kind
from evidence.text_duplicates import text_signature
from evidence.video_facts import VideoFacts, capture_facts
from workers import document, photo, video
from workers.c2pa_facts import read_c2pa
from workers.dedup import hashes_to_json
from workers.phash import perceptual_hashes


@dataclass(frozen=True)
class Outputs:
    """What the compress step made: the rendition (None: the original serves) and a preview."""

    rendition: Path | None
    rendition_mime: str
    preview: Path | None = None
    preview_mime: str = "image/jpeg"
    note: str = ""


class Media(ABC):
    """One kind of evidence through the pipeline's steps."""

    kind: ClassVar[Kind]

    @abstractmethod
    def validate(self, path: Path, settings: Settings) -> str:
        """Refuse what is not usable evidence (RejectedError); returns a note for the log."""

    @abstractmethod
    def extract(self, path: Path, settings: Settings) -> dict[str, Any]:
        """The item's facts as JSON, each value with its source."""

    @abstractmethod
    def compress(
        self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]
    ) -> Outputs:
        """Make the compact rendition (and a preview) in ``work``."""

    @abstractmethod
    def hash(self, path: Path, work: Path, settings: Settings) -> dict[str, Any]:
        """The perceptual hashes (or text signature) near duplicates are found by."""


class PhotoMedia(Media):
    """Photos: Pillow (pillow-heif for HEIC)."""

    kind = Kind.PHOTO

    def validate(self, path: Path, settings: Settings) -> str:
        checked = photo.validate_photo(path, settings.max_image_pixels)
        return f"{checked.width}x{checked.height}"

    def extract(self, path: Path, settings: Settings) -> dict[str, Any]:
        facts = photo.extract_photo_facts(path)
        return _with_content_credentials(facts.to_json(), path, facts.format)

    def compress(
        self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]
    ) -> Outputs:
        out = work / "rendition.jpg"
        made = photo.render_photo(
            path,
            out,
            max_side_px=settings.rendition_max_side_px,
            quality=settings.rendition_jpeg_quality,
        )
        return Outputs(out, made.mime)

    def hash(self, path: Path, work: Path, settings: Settings) -> dict[str, Any]:
        hashes = photo.hash_photo(path, max_side_px=settings.rendition_max_side_px)
        data: dict[str, Any] = dict(hashes_to_json(hashes.perceptual))
        if hashes.exif_thumbnail_distance is not None:
            data["exif_thumbnail_distance"] = hashes.exif_thumbnail_distance
        return data


class VideoMedia(Media):
    """Videos: ffprobe and ffmpeg, each run boxed in (see workers.video)."""

    kind = Kind.VIDEO

    def validate(self, path: Path, settings: Settings) -> str:
        facts = video.probe_video(path, timeout_s=settings.ffmpeg_timeout_s)
        return f"{facts.container} {facts.video_codec} {facts.duration_s or '?'} s"

    def extract(self, path: Path, settings: Settings) -> dict[str, Any]:
        facts = video.probe_video(path, timeout_s=settings.ffmpeg_timeout_s)
        data = capture_facts(facts).to_json()
        data["video"] = facts.to_json()
        return _with_content_credentials(data, path, "video/mp4")

    def compress(
        self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]
    ) -> Outputs:
        probed = VideoFacts.from_json(facts["video"])
        budget_s = 30 + 2 * (probed.duration_s or 600)
        out = work / "rendition.mp4"
        made = video.transcode_video(
            path,
            out,
            timeout_s=budget_s * 2,
            cpu_seconds=budget_s,
            preset=settings.video_preset,
            crf=settings.video_crf,
            facts=probed,
        )
        poster = work / "poster.jpg"
        video.poster_frame(path, poster, timeout_s=settings.ffmpeg_timeout_s, facts=probed)
        if made.reused_original:
            return Outputs(None, "video/mp4", poster, "image/jpeg", "the original is smaller")
        return Outputs(out, made.mime, poster, "image/jpeg")

    def hash(self, path: Path, work: Path, settings: Settings) -> dict[str, Any]:
        # the rendition decodes several times faster than a phone's original, same pictures
        source = work / "rendition.mp4"
        hashes = video.video_hashes(
            source if source.exists() else path,
            timeout_s=settings.ffmpeg_timeout_s * 4,
            cpu_seconds=settings.ffmpeg_timeout_s * 2,
        )
        return {"video": hashes.to_json()}


class DocumentMedia(Media):
    """PDF and Office documents: pikepdf, pypdfium2, LibreOffice when installed."""

    kind = Kind.DOCUMENT
    _EXTENSIONS: ClassVar[dict[DocumentType, str]] = {
        DocumentType.PDF: "pdf",
        DocumentType.DOCX: "docx",
        DocumentType.XLSX: "xlsx",
        DocumentType.PPTX: "pptx",
        DocumentType.ODT: "odt",
        DocumentType.ODS: "ods",
    }

    def validate(self, path: Path, settings: Settings) -> str:
        return document.identify_document(path).value

    def extract(self, path: Path, settings: Settings) -> dict[str, Any]:
        doc_type = document.identify_document(path)
        return {"document": document.document_facts(path, doc_type).to_json()}

    def compress(
        self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]
    ) -> Outputs:
        doc_type = DocumentFacts.from_json(facts["document"]).doc_type
        source = path
        note = ""
        if doc_type is DocumentType.PDF:
            # the stored copy is the sanitised one; the original's SHA-256 stays the proof
            source = work / "sanitised.pdf"
            report = document.sanitise_pdf(path, source)
            if report.changed:
                note = f"removed: {report.removed}"
        out = work / f"rendition.{self._EXTENSIONS[doc_type]}"
        document.optimise_document(source, doc_type, out)
        preview = work / "preview.png"
        shown = document.render_preview(out, doc_type, preview)
        if isinstance(shown, document.NoPreview):
            return Outputs(out, doc_type.mime, None, "image/png", shown.note)
        return Outputs(out, doc_type.mime, preview, "image/png", note)

    def hash(self, path: Path, work: Path, settings: Settings) -> dict[str, Any]:
        doc_type = document.identify_document(path)
        signature = text_signature(document.document_text(path, doc_type))
        data: dict[str, Any] = {"text": signature.to_json() if signature else None}
        preview = work / "preview.png"
        if preview.exists():
            # a scan has no text to compare: its first page is compared as a photo would be
            with Image.open(preview) as page:
                data["preview"] = hashes_to_json(perceptual_hashes(page.convert("RGB")))
        return data


def _with_content_credentials(facts: dict[str, Any], path: Path, mime: str) -> dict[str, Any]:
    """Add a C2PA manifest's verdict, when the file carries one: a fact in the item's favour."""
    manifest = read_c2pa(path, mime)
    if manifest is not None:
        facts["c2pa"] = manifest
    return facts


_MEDIA: dict[str, Media] = {m.kind.value: m for m in (PhotoMedia(), VideoMedia(), DocumentMedia())}


def media_for(kind: str) -> Media:
    """The handler of one kind; a kind without one is not processed here."""
    try:
        return _MEDIA[kind]
    except KeyError:
        raise RejectedError(f"{kind} items are not processed by the media pipeline") from None


def clear(work: Path) -> None:
    """Remove an item's work directory."""
    shutil.rmtree(work, ignore_errors=True)

"""What each kind of evidence does in the job's media phases: photos, videos, documents.

A :class:`Media` examines a file (validation and facts) and makes its rendition and hashes,
with paths and plain values in and JSON-ready dicts out; the pipeline calls it as plain
functions inside one job (videos: examining in the item's job, making in the transcode job).
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pikepdf

from bukti.errors import RejectedError
from bukti.settings import Settings
from evidence.document_facts import DocumentFacts, DocumentType
from evidence.status import Kind
from evidence.text_duplicates import text_signature
from evidence.video_facts import VideoFacts, capture_facts
from workers import photo, video
from workers.c2pa_facts import read_c2pa
from workers.documents.facts import document_facts, pdf_facts
from workers.documents.identify import identify_document, is_pdf, open_pdf
from workers.documents.optimise import optimise_document, write_optimised_pdf
from workers.documents.pages import read_pages
from workers.documents.preview import NoPreview, Preview, render_preview
from workers.documents.sanitise import remove_active_content, save_sanitised
from workers.documents.text import document_text


@dataclass(frozen=True)
class Outputs:
    """What the media phases made: the rendition (None: the original serves) and a preview
    (a photo's thumbnail, a video's poster frame, a document's first page)."""

    rendition: Path | None
    rendition_mime: str
    preview: Path | None = None
    preview_mime: str = "image/jpeg"
    note: str = ""
    #: the rendition's SHA-256 when the phase that wrote it hashed it
    rendition_sha256: str | None = None
    #: the preview's SHA-256 when the phase that wrote it hashed it
    preview_sha256: str | None = None


@dataclass(frozen=True)
class Examined:
    """What validating and reading an item's file learnt: a note for the log and its facts."""

    note: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Made:
    """What the rendition and hashing phases made; ``sha256`` when they hashed the file."""

    outputs: Outputs
    perceptual: dict[str, Any]
    sha256: str | None = None


class Media(ABC):
    """One kind of evidence through the job's media phases, as plain function calls."""

    kind: ClassVar[Kind]

    @abstractmethod
    def examine(self, path: Path, settings: Settings) -> Examined:
        """Refuse what is not usable evidence (RejectedError), else read the item's facts."""

    @abstractmethod
    def make(self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]) -> Made:
        """Make the compact rendition (and a preview) in ``work``, and the hashes near
        duplicates are found by (perceptual hashes or a text signature)."""

    def process(self, path: Path, work: Path, settings: Settings) -> tuple[Examined, Made]:
        """Every phase at once (photos do it with a single decode)."""
        examined = self.examine(path, settings)
        return examined, self.make(path, work, settings, examined.facts)


class PhotoMedia(Media):
    """Photos: one decode gives validation, facts, rendition, thumbnail (the preview) and
    hashes (process_photo)."""

    kind = Kind.PHOTO

    def examine(self, path: Path, settings: Settings) -> Examined:
        checked = photo.validate_photo(path, settings.max_image_pixels)
        facts = photo.extract_photo_facts(path)
        return Examined(
            f"{checked.width}x{checked.height}",
            _with_content_credentials(facts.to_json(), path, facts.format),
        )

    def make(self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]) -> Made:
        return self.process(path, work, settings)[1]

    def process(self, path: Path, work: Path, settings: Settings) -> tuple[Examined, Made]:
        out, thumbnail_out = work / "rendition.jpg", work / "thumbnail.jpg"
        result = photo.process_photo(
            path,
            out,
            max_pixels=settings.max_image_pixels,
            max_side_px=settings.rendition_max_side_px,
            quality=settings.rendition_jpeg_quality,
            thumbnail_path=thumbnail_out,
        )
        facts = _with_content_credentials(result.facts.to_json(), path, result.facts.format)
        distance = result.exif_thumbnail_distance
        if distance is not None:
            # an EXIF thumbnail that no longer looks like the picture betrays an edit
            facts["extra"] = dict(facts.get("extra") or {}, exif_thumbnail_distance=distance)
        examined = Examined(f"{result.checked.width}x{result.checked.height}", facts)
        perceptual: dict[str, Any] = dict(result.hashes.perceptual.to_json())
        thumbnail = result.thumbnail
        assert thumbnail is not None  # asked for
        outputs = Outputs(
            out,
            result.rendition.mime,
            preview=thumbnail_out,
            preview_mime=thumbnail.mime,
            note=f"(thumbnail {thumbnail.width}x{thumbnail.height}, {thumbnail.size_bytes} bytes)",
            rendition_sha256=result.rendition.sha256,
            preview_sha256=thumbnail.sha256,
        )
        made = Made(outputs, perceptual, result.hashes.sha256)
        return examined, made


class VideoMedia(Media):
    """Videos: one ffprobe examines; transcoding (its own job) makes rendition and hashes."""

    kind = Kind.VIDEO

    def examine(self, path: Path, settings: Settings) -> Examined:
        probed = video.probe_video(path, timeout_s=settings.ffmpeg_timeout_s)
        data = capture_facts(probed).to_json()
        data["video"] = probed.to_json()
        note = f"{probed.container} {probed.video_codec} {probed.duration_s or '?'} s"
        return Examined(note, _with_content_credentials(data, path, "video/mp4"))

    def make(self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]) -> Made:
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
        # the rendition decodes several times faster than a phone's original, same pictures
        hashes = video.video_hashes(
            path if made.reused_original else out,
            timeout_s=settings.ffmpeg_timeout_s * 4,
            cpu_seconds=settings.ffmpeg_timeout_s * 2,
        )
        perceptual = {"video": hashes.to_json()}
        if made.reused_original:
            outputs = Outputs(None, "video/mp4", poster, "image/jpeg", "the original is smaller")
            return Made(outputs, perceptual)
        return Made(Outputs(out, made.mime, poster, "image/jpeg"), perceptual)


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

    def examine(self, path: Path, settings: Settings) -> Examined:
        doc_type = identify_document(path)
        facts = {"document": document_facts(path, doc_type).to_json()}
        return Examined(doc_type.value, facts)

    def make(self, path: Path, work: Path, settings: Settings, facts: dict[str, Any]) -> Made:
        doc_type = DocumentFacts.from_json(facts["document"]).doc_type
        if doc_type is DocumentType.PDF:
            with open_pdf(path) as pdf:
                return self._make_pdf(pdf, path, work)
        out = work / f"rendition.{self._EXTENSIONS[doc_type]}"
        optimise_document(path, doc_type, out)
        shown = render_preview(out, doc_type, work / "preview.png")
        return _made(out, doc_type, shown, "", document_text(path, doc_type))

    def process(self, path: Path, work: Path, settings: Settings) -> tuple[Examined, Made]:
        """A PDF is opened once by pikepdf (checks, facts, sanitising, optimising) and its
        stored copy once by pdfium (preview, text)."""
        if not is_pdf(path):
            return super().process(path, work, settings)
        with open_pdf(path) as pdf:
            examined = Examined(DocumentType.PDF.value, {"document": pdf_facts(pdf).to_json()})
            return examined, self._make_pdf(pdf, path, work)

    def _make_pdf(self, pdf: pikepdf.Pdf, path: Path, work: Path) -> Made:
        """Sanitise and optimise the opened PDF in place, saved once as the rendition."""
        # the stored copy is the sanitised one; the original's SHA-256 stays the proof
        report = remove_active_content(pdf)
        source, note = path, ""
        if report.changed:
            # what optimising falls back to, and must beat, when it cannot make it smaller
            source = work / "sanitised.pdf"
            save_sanitised(pdf, source)
            note = f"removed: {report.removed}"
        out = work / "rendition.pdf"
        write_optimised_pdf(pdf, source, out)
        pages = read_pages(out, work / "preview.png")
        return _made(out, DocumentType.PDF, pages.preview, note, pages.text)


def _made(
    out: Path, doc_type: DocumentType, shown: Preview | NoPreview, note: str, text: str
) -> Made:
    """A document's outputs and hashes: its text's signature, and its first page's as a
    photo's (hashed from the picture drawn, not from the PNG read back)."""
    signature = text_signature(text)
    perceptual: dict[str, Any] = {"text": signature.to_json() if signature else None}
    if isinstance(shown, NoPreview):
        return Made(Outputs(out, doc_type.mime, None, "image/png", shown.note), perceptual)
    # a scan has no text to compare: its first page is compared as a photo would be
    perceptual["preview"] = shown.hashes.to_json()
    return Made(Outputs(out, doc_type.mime, shown.path, "image/png", note), perceptual)


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

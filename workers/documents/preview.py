"""The first page drawn for reviewers: pdfium, and LibreOffice before it for Office files."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from evidence.document_facts import DocumentType
from workers.phash import PerceptualHashes, perceptual_hashes
from workers.programs import run_program

PREVIEW_MAX_SIDE_PX = 1280
"""Long side of the first-page preview: a line of 10 pt text stays readable on A4."""

LIBREOFFICE_TIMEOUT_S = 60.0
"""How long LibreOffice may take to convert one Office file for its preview."""


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


def open_pdfium(path: Path) -> pdfium.PdfDocument | NoPreview:
    """The PDF at ``path`` opened by pdfium, or why it can have no preview."""
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return NoPreview(f"no preview: pdfium cannot open the file ({exc})")


def _render_pdf_page(
    path: Path, out_png: Path, max_side_px: int, renderer: str
) -> Preview | NoPreview:
    document = open_pdfium(path)
    if isinstance(document, NoPreview):
        return document
    try:
        return render_first_page(document, out_png, max_side_px=max_side_px, renderer=renderer)
    finally:
        document.close()


def render_first_page(
    document: pdfium.PdfDocument,
    out_png: Path,
    *,
    max_side_px: int = PREVIEW_MAX_SIDE_PX,
    renderer: str = "pdfium",
) -> Preview | NoPreview:
    """Draw the first page of a PDF opened by pdfium as PNG."""
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

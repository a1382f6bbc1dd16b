"""A stored PDF's pages read once by pdfium: the first drawn for reviewers, all for their text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from workers.documents.preview import NoPreview, Preview, render_first_page
from workers.documents.text import pdf_text


@dataclass(frozen=True)
class PagesRead:
    """A PDF's first-page preview (or why there is none) and its text."""

    preview: Preview | NoPreview
    text: str


def read_pages(path: Path, out_png: Path) -> PagesRead:
    """Draw the first page of the PDF at ``path`` to ``out_png`` and read every page's text.

    The job reads the stored copy: sanitising and optimising keep every page's content, so
    its text is the original's.
    """
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return PagesRead(NoPreview(f"no preview: pdfium cannot open the file ({exc})"), "")
    with document:
        return PagesRead(render_first_page(document, out_png), pdf_text(document))

"""A stored PDF's pages read once by pdfium: the first drawn for reviewers, all for their text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers.documents.preview import NoPreview, Preview, open_pdfium, render_first_page
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
    document = open_pdfium(path)
    if isinstance(document, NoPreview):
        return PagesRead(document, "")
    with document:
        return PagesRead(render_first_page(document, out_png), pdf_text(document))

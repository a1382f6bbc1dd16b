"""PDFs rewritten without what can run or hide.

JavaScript, launch and submit actions, automatic actions, embedded and associated files,
rich media, XFA forms and links of unsafe schemes go; web links, in-document navigation and
the document itself stay.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from bukti.errors import RejectedError
from workers.documents.reasons import quoted


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
        report = remove_active_content(pdf)
        if report.changed:
            save_sanitised(pdf, out_path)
    if not report.changed:
        shutil.copyfile(path, out_path)
    return report


def remove_active_content(pdf: pikepdf.Pdf) -> SanitiseReport:
    """Remove active content from an opened PDF, in place; report what was removed.

    Nothing is touched when the report is unchanged, so the PDF is still its file's content.
    """
    removed: Counter[str] = Counter()
    try:
        kept_links = _sanitise_objects(pdf, removed)
    except (TypeError, ValueError, pikepdf.PdfError) as exc:
        # An object that cannot be inspected cannot be shown to be harmless either.
        raise RejectedError(
            f"the PDF is damaged in a way that keeps it from being checked for active "
            f"content ({quoted(exc)})"
        ) from None
    decrypted = pdf.is_encrypted  # opened without a password: permissions only
    return SanitiseReport(dict(sorted(removed.items())), kept_links, decrypted)


def save_sanitised(pdf: pikepdf.Pdf, out_path: Path) -> None:
    """Write a PDF that :func:`remove_active_content` changed, without its encryption."""
    # Unreachable objects (the scripts just unlinked) are not written at all, and an id
    # derived from the content keeps the output the same on a retried job.
    pdf.save(out_path, encryption=False, deterministic_id=True)


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

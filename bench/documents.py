"""Documents: time to process a 20-page PDF, stored/original bytes, near-duplicate accuracy.

Run ``.venv/bin/python -m bench.documents [--quick]``; the table goes to
``bench/results/documents.md`` (``documents.quick.md`` with ``--quick``) and to stdout.

The corpus is real: PDFs that Debian's documentation packages ship (pdfTeX and xdvipdfmx
output: R's manuals, Auto Multiple Choice's manual in three languages, CamlIDL, FreeFem,
libtasn1, the shared-mime-info spec, ExifTool's MIE spec). Install them with::

    apt-get install r-doc-pdf auto-multiple-choice-doc-pdf camlidl-doc freefem-doc \\
        libtasn1-doc shared-mime-info libimage-exiftool-perl poppler-utils ghostscript

Each document's first 20 pages (and pages 21-40 of the long ones, as a separate document that
shares the manual's running heads and style) is one original. Each original gets four copies a
teacher could submit again: re-saved with other metadata (pikepdf, other Info, no XMP, object
streams), re-exported through two other PDF writers (poppler's pdftocairo and Ghostscript's
pdfwrite, which rebuild every content stream and font), and with page 10 replaced by a page of
another document. Every pair of files is then judged: a pair is a true near duplicate exactly
when both come from the same original.

Ghostscript loses the Unicode mapping of the Japanese manual's kana when it re-exports it: the
text of those copies comes out as other characters, so only the preview's perceptual hash could
match them. Those are the pairs the table lists as missed.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import skimage
from PIL import Image

from bukti.settings import Settings
from evidence.document_facts import DocumentType
from evidence.text_duplicates import (
    NEAR_DUPLICATE_JACCARD,
    TextSignature,
    estimate_jaccard,
    is_near_duplicate,
    text_signature,
)
from workers.documents.facts import document_facts
from workers.documents.identify import identify_document
from workers.documents.optimise import MAX_IMAGE_DPI, optimise_pdf
from workers.documents.preview import NoPreview, render_preview
from workers.documents.sanitise import sanitise_pdf
from workers.documents.text import document_text
from workers.media import DocumentMedia

RESULTS = Path(__file__).parent / "results" / "documents.md"
RESULTS_QUICK = Path(__file__).parent / "results" / "documents.quick.md"

CORPUS = (
    "/usr/share/R/doc/manual/R-intro.pdf",
    "/usr/share/R/doc/manual/R-admin.pdf",
    "/usr/share/R/doc/manual/R-data.pdf",
    "/usr/share/R/doc/manual/R-exts.pdf",
    "/usr/share/R/doc/manual/R-ints.pdf",
    "/usr/share/R/doc/manual/R-lang.pdf",
    "/usr/share/R/doc/manual/R-FAQ.pdf",
    "/usr/share/doc/auto-multiple-choice/auto-multiple-choice.en.pdf",
    "/usr/share/doc/auto-multiple-choice/auto-multiple-choice.fr.pdf",
    "/usr/share/doc/auto-multiple-choice/auto-multiple-choice.ja.pdf",
    "/usr/share/doc/auto-multiple-choice/latex/automultiplechoice.pdf",
    "/usr/share/doc/camlidl/camlidl-1.04.doc.pdf",
    "/usr/share/doc/freefem-doc/freefem.pdf",
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
    "/usr/share/doc/libimage-exiftool-perl/html/MIE1.1-20070121.pdf",
)
QUICK_CORPUS = CORPUS[:3] + CORPUS[7:9] + CORPUS[12:13]
TIMED_SOURCE = "/usr/share/R/doc/manual/R-intro.pdf"
EXCERPT_PAGES = 20
THRESHOLDS = (0.3, 0.4, 0.5, NEAR_DUPLICATE_JACCARD, 0.7, 0.8, 0.9)
SUBPROCESS_TIMEOUT_S = 300


@dataclass(frozen=True)
class Variant:
    """One file of the near-duplicate set: which original it comes from, and how."""

    original: str
    transform: str
    path: Path


# --- the corpus


def available_sources(paths: tuple[str, ...]) -> list[Path]:
    sources = [Path(p) for p in paths if Path(p).exists()]
    if len(sources) < 3:
        raise SystemExit("too few Debian documentation PDFs installed; see this module's docstring")
    return sources


def excerpt(source: Path, start: int, out: Path) -> Path | None:
    """Pages ``start`` to ``start + 20`` of ``source`` as a PDF of their own."""
    with pikepdf.open(source) as pdf:
        if len(pdf.pages) < start + EXCERPT_PAGES:
            return None
        part = pikepdf.new()
        with warnings.catch_warnings():
            # Named destinations do not matter here: only the pages' text and pictures do.
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            part.pages.extend(pdf.pages[start : start + EXCERPT_PAGES])
        for key in ("/Title", "/Author", "/Creator", "/Producer", "/CreationDate", "/ModDate"):
            if key in pdf.docinfo:
                part.docinfo[key] = pdf.docinfo[key]
        part.save(out)
    return out


def resaved(original: Path, out: Path) -> Path:
    with pikepdf.open(original) as pdf:
        pdf.docinfo["/Title"] = "Laporan kegiatan (salinan)"
        pdf.docinfo["/Author"] = "Guru lain"
        pdf.docinfo["/Creator"] = "Microsoft Word 2019"
        pdf.docinfo["/CreationDate"] = "D:20240402090000+07'00'"
        pdf.docinfo["/ModDate"] = "D:20240402091500+07'00'"
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out


def through_cairo(original: Path, out: Path) -> Path | None:
    return _run(["pdftocairo", "-pdf", str(original), str(out)], out)


def through_ghostscript(original: Path, out: Path) -> Path | None:
    command = ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"]
    return _run([*command, f"-sOutputFile={out}", str(original)], out)


def _run(command: list[str], out: Path) -> Path | None:
    if shutil.which(command[0]) is None:
        return None
    subprocess.run(command, check=True, capture_output=True, timeout=SUBPROCESS_TIMEOUT_S)
    return out


def one_page_changed(original: Path, donor: Path, out: Path) -> Path:
    """``original`` with its page 10 swapped for page 10 of ``donor``."""
    with pikepdf.open(original) as pdf, pikepdf.open(donor) as other:
        pdf.pages[9] = other.pages[9]
        pdf.save(out)
    return out


def build_variants(sources: list[Path], work: Path) -> tuple[list[Variant], list[str]]:
    originals: list[tuple[str, Path]] = []
    for source in sources:
        for start in (0, EXCERPT_PAGES):
            name = f"{source.stem} p{start + 1}-{start + EXCERPT_PAGES}"
            made = excerpt(source, start, work / f"{name}.pdf")
            if made is not None:
                originals.append((name, made))
    variants: list[Variant] = []
    missing: set[str] = set()
    for index, (name, path) in enumerate(originals):
        donor = originals[(index + 3) % len(originals)][1]  # another manual, not its own part
        variants.append(Variant(name, "original", path))
        transforms: list[tuple[str, Callable[[], Path | None]]] = [
            ("re-saved, other metadata", lambda p=path, n=name: resaved(p, work / f"{n} rs.pdf")),
            ("re-exported, pdftocairo", lambda p=path, n=name: through_cairo(p, work / f"{n} c.pdf")),
            ("re-exported, Ghostscript", lambda p=path, n=name: through_ghostscript(p, work / f"{n} g.pdf")),
            ("one page of 20 changed", lambda p=path, n=name, d=donor: one_page_changed(p, d, work / f"{n} x.pdf")),
        ]  # fmt: skip
        for transform, make in transforms:
            made = make()
            if made is None:
                missing.add(transform)
            else:
                variants.append(Variant(name, transform, made))
    return variants, sorted(missing)


# --- measurements


@dataclass(frozen=True)
class PairScore:
    a: Variant
    b: Variant
    jaccard: float
    same: bool


def score_pairs(
    variants: list[Variant],
) -> tuple[list[PairScore], dict[Path, TextSignature | None]]:
    signatures = {v.path: text_signature(document_text(v.path, DocumentType.PDF)) for v in variants}
    scores = []
    for a, b in itertools.combinations(variants, 2):
        sa, sb = signatures[a.path], signatures[b.path]
        jaccard = estimate_jaccard(sa, sb) if sa is not None and sb is not None else 0.0
        scores.append(PairScore(a, b, jaccard, a.original == b.original))
    return scores, signatures


def precision_recall(scores: list[PairScore], threshold: float) -> tuple[float, float, int, int]:
    predicted = [s for s in scores if s.jaccard >= threshold]
    true_positives = sum(s.same for s in predicted)
    positives = sum(s.same for s in scores)
    precision = true_positives / len(predicted) if predicted else 1.0
    recall = true_positives / positives if positives else 1.0
    return precision, recall, len(predicted) - true_positives, positives - true_positives


def timed(step: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def scan_pdf(out: Path, pages: int = EXCERPT_PAGES) -> Path:
    """A phone-scanner-app PDF: each page a 2480x3508 (300 dpi) JPEG of skimage's page.png."""
    with Image.open(Path(skimage.__file__).parent / "data" / "page.png") as page:
        picture = page.convert("RGB").resize((2480, 3508), Image.Resampling.BICUBIC)
    picture.save(out.with_suffix(".jpg"), "JPEG", quality=90)
    jpeg = out.with_suffix(".jpg").read_bytes()
    pdf = pikepdf.new()
    for _ in range(pages):
        image = pdf.make_stream(jpeg)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height = picture.size
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        image.Filter = pikepdf.Name.DCTDecode
        page = pdf.add_blank_page(page_size=(595, 842))
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    pdf.docinfo["/Producer"] = "CamScanner"
    pdf.save(out)
    return out


def time_job(path: Path, work: Path, runs: int) -> float:
    """The job's media phases as the worker runs them (``DocumentMedia.process``), in ms."""
    job = work / f"job-{path.stem}"
    job.mkdir(exist_ok=True)
    settings = Settings()
    return timed(lambda: DocumentMedia().process(path, job, settings), runs)


def time_steps(
    path: Path, work: Path, runs: int, max_image_dpi: int = MAX_IMAGE_DPI
) -> dict[str, float]:
    """Each phase on its own, opening its file as its path-taking entry point does."""
    doc_type = identify_document(path)
    clean, small, png = work / "clean.pdf", work / "small.pdf", work / "preview.png"
    sanitise_pdf(path, clean)
    text = document_text(path, doc_type)
    return {
        "identify": timed(lambda: identify_document(path), runs),
        "sanitise": timed(lambda: sanitise_pdf(path, clean), runs),
        "optimise": timed(lambda: optimise_pdf(clean, small, max_image_dpi=max_image_dpi), runs),
        "preview": timed(lambda: render_preview(small, doc_type, png), runs),
        "facts": timed(lambda: document_facts(path, doc_type), runs),
        "text": timed(lambda: document_text(path, doc_type), runs),
        "signature": timed(lambda: text_signature(text), runs),
    }


def stored_bytes(
    path: Path, work: Path, max_image_dpi: int = MAX_IMAGE_DPI
) -> tuple[int, int, int]:
    """Original bytes, stored bytes after sanitise + optimise, pages."""
    clean, small = work / "s-clean.pdf", work / "s-small.pdf"
    sanitise_pdf(path, clean)
    report = optimise_pdf(clean, small, max_image_dpi=max_image_dpi)
    with pikepdf.open(path) as pdf:
        pages = len(pdf.pages)
    return path.stat().st_size, report.output_bytes, pages


# --- report


def render(
    timings: dict[str, dict[str, float]],
    jobs: dict[str, float],
    sizes: list[tuple[str, int, int, int]],
    variants: list[Variant],
    scores: list[PairScore],
    signatures: dict[Path, TextSignature | None],
    missing: list[str],
    quick: bool,
) -> str:
    lines = ["# Documents", ""]
    lines += [
        f"`.venv/bin/python -m bench.documents{' --quick' if quick else ''}` "
        "on a 2-core machine; median of "
        f"{1 if quick else 5} runs per step.",
        "",
        "## Processing time of a 20-page PDF (ms)",
        "",
        "Each phase timed on its own opens its file (the path-taking entry points); "
        "**job** is the worker's media phases in one call (`DocumentMedia.process`), which "
        "opens the PDF once with pikepdf and its stored copy once with pdfium.",
        "",
        "| document | " + " | ".join(next(iter(timings.values()))) + " | sum | job |",
        "|---|" + "---:|" * (len(next(iter(timings.values()))) + 2),
    ]
    for name, steps in timings.items():
        cells = " | ".join(f"{ms:.0f}" for ms in steps.values())
        job = jobs.get(name)
        job_cell = f"**{job:.0f}**" if job is not None else "—"
        lines.append(f"| {name} | {cells} | {sum(steps.values()):.0f} | {job_cell} |")
    # The 200 dpi row is the same scan again: left out of the total.
    counted = [s for s in sizes if "max_image_dpi" not in s[0]]
    total_in = sum(s[1] for s in counted)
    total_out = sum(s[2] for s in counted)
    lines += [
        "",
        "## Stored / original bytes (sanitised, then optimised; the original kept if smaller)",
        "",
        "| document | pages | original KB | stored KB | stored/original |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, original, stored, pages in sizes:
        lines.append(
            f"| {name} | {pages} | {original / 1024:.0f} | {stored / 1024:.0f} | "
            f"{stored / original:.3f} |"
        )
    lines.append(
        f"| **all** | | {total_in / 1024:.0f} | {total_out / 1024:.0f} | "
        f"**{total_out / total_in:.3f}** |"
    )
    originals = sorted({v.original for v in variants})
    positives = [s for s in scores if s.same]
    negatives = [s for s in scores if not s.same]
    no_signature = sorted(str(v.path.name) for v in variants if signatures[v.path] is None)
    lines += [
        "",
        "## Near duplicates by text (MinHash of 5-word shingles, 128 values)",
        "",
        f"{len(originals)} originals (20-page excerpts of {len({o.split(' p')[0] for o in originals})} "
        f"Debian documentation PDFs), {len(variants)} files, {len(scores)} pairs: "
        f"{len(positives)} of one original, {len(negatives)} of different ones. "
        f"Default threshold {NEAR_DUPLICATE_JACCARD}.",
        "",
        "| copy of the original | pairs | recall | min J | median J |",
        "|---|---:|---:|---:|---:|",
    ]
    for transform in sorted({v.transform for v in variants} - {"original"}):
        pairs = [
            s for s in positives
            if {s.a.transform, s.b.transform} == {"original", transform}
        ]  # fmt: skip
        found = sum(is_near_duplicate(signatures[s.a.path], signatures[s.b.path]) for s in pairs)
        values = [s.jaccard for s in pairs]
        lines.append(
            f"| {transform} | {len(pairs)} | {found / len(pairs):.3f} | {min(values):.2f} | "
            f"{statistics.median(values):.2f} |"
        )
    hardest = max(negatives, key=lambda s: s.jaccard)
    lines += [
        "",
        f"Different documents: highest J {hardest.jaccard:.2f} ({hardest.a.path.name} vs "
        f"{hardest.b.path.name}); 99th percentile "
        f"{statistics.quantiles([s.jaccard for s in negatives], n=100)[98]:.2f}.",
        "",
        "| threshold | precision | recall | false pairs | missed pairs |",
        "|---:|---:|---:|---:|---:|",
    ]
    for threshold in THRESHOLDS:
        precision, recall, false_pairs, missed = precision_recall(scores, threshold)
        marker = " (default)" if threshold == NEAR_DUPLICATE_JACCARD else ""
        lines.append(
            f"| {threshold}{marker} | {precision:.3f} | {recall:.3f} | {false_pairs} | {missed} |"
        )
    missed = [
        s for s in positives if not is_near_duplicate(signatures[s.a.path], signatures[s.b.path])
    ]
    if missed:
        names = ", ".join(
            f"{s.a.path.stem} vs {s.b.path.stem} ({s.jaccard:.2f})"
            for s in sorted(missed, key=lambda s: s.jaccard)[:8]
        )
        lines += ["", f"Missed at the default threshold ({len(missed)} pairs): {names}."]
    if no_signature:
        lines += ["", f"No text signature (too little text): {', '.join(no_signature)}."]
    if missing:
        lines += ["", f"Skipped, tool not installed: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer documents, one run")
    arguments = parser.parse_args()
    quick = arguments.quick
    runs = 1 if quick else 5
    sources = available_sources(QUICK_CORPUS if quick else CORPUS)
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as directory:
        work = Path(directory)
        timed_excerpt = excerpt(Path(TIMED_SOURCE), 0, work / "R-intro 20 pages.pdf")
        assert timed_excerpt is not None
        scan = scan_pdf(work / "scan.pdf")
        text_name = "R-intro p1-20 (pdfTeX, text)"
        scan_name = f"phone scan, 20 pages of 300 dpi JPEG (to {MAX_IMAGE_DPI} dpi)"
        timings = {
            text_name: time_steps(timed_excerpt, work, runs),
            scan_name: time_steps(scan, work, runs),
            "the same scan, max_image_dpi=200": time_steps(scan, work, runs, 200),
        }
        jobs = {
            text_name: time_job(timed_excerpt, work, runs),
            scan_name: time_job(scan, work, runs),
        }
        sizes = [(s.name, *stored_bytes(s, work)) for s in sources]
        sizes.append(("phone scan (20 pages, 300 dpi JPEG)", *stored_bytes(scan, work)))
        sizes.append(("the same scan, max_image_dpi=200", *stored_bytes(scan, work, 200)))
        variants, missing = build_variants(sources, work)
        scores, signatures = score_pairs(variants)
        report = render(timings, jobs, sizes, variants, scores, signatures, missing, quick)
        preview = render_preview(scan, DocumentType.PDF, work / "p.png")
        assert not isinstance(preview, NoPreview)
    out = RESULTS_QUICK if quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()

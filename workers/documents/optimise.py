"""A smaller stored copy of a document where one can be had without loss of legibility."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
from PIL import Image

from evidence.document_facts import DocumentType
from workers.documents.zip_safety import DEFAULT_ZIP_LIMITS, MB, ZipBudget, ZipPackage


@dataclass(frozen=True)
class OptimiseReport:
    """Sizes before and after :func:`optimise_document`; the input is kept unless smaller."""

    input_bytes: int
    output_bytes: int
    kept_input: bool
    images_recompressed: int = 0


MAX_IMAGE_DPI = 150
"""Images sharper than this on their page are resampled to it.

Phone scans of A4 come in at 300-350 dpi. At 150 dpi an A4 page is 1240 x 1754 px, about the
photos' 2048 px rendition, and 10 pt text keeps an x-height of 10 px (Acrobat's "Standard"
preset makes the same choice). It is also where libjpeg can decode a 300 dpi scan at half
scale: ``bench.documents`` measures 18 ms a page against 125 ms at 200 dpi, and a third fewer
bytes.
"""

JPEG_QUALITY = 85
"""Quality of re-encoded photographs and scans; phones write 90-95, so this costs little."""

OFFICE_MAX_ENTRY_BYTES = 64 * MB
"""Office packages with a larger member are kept as they are rather than recompressed."""


def optimise_document(path: Path, doc_type: DocumentType, out_path: Path) -> OptimiseReport:
    """Write the smaller of ``path`` and its optimised form to ``out_path``."""
    if doc_type is DocumentType.PDF:
        return optimise_pdf(path, out_path)
    return optimise_office(path, out_path)


def optimise_pdf(
    path: Path,
    out_path: Path,
    *,
    max_image_dpi: int = MAX_IMAGE_DPI,
    jpeg_quality: int = JPEG_QUALITY,
) -> OptimiseReport:
    """Object streams, recompressed streams and resampled images; kept only if smaller."""
    try:
        pdf = pikepdf.open(path)
    except (TypeError, ValueError, pikepdf.PdfError):
        shutil.copyfile(path, out_path)  # best effort: the input is stored as it is
        size_bytes = path.stat().st_size
        return OptimiseReport(size_bytes, size_bytes, kept_input=True)
    with pdf:
        return write_optimised_pdf(
            pdf, path, out_path, max_image_dpi=max_image_dpi, jpeg_quality=jpeg_quality
        )


def write_optimised_pdf(
    pdf: pikepdf.Pdf,
    source: Path,
    out_path: Path,
    *,
    max_image_dpi: int = MAX_IMAGE_DPI,
    jpeg_quality: int = JPEG_QUALITY,
) -> OptimiseReport:
    """Optimise an opened PDF in place and write it to ``out_path``; ``source``, the same
    document as a file, is copied there instead when optimising saves nothing or fails."""
    input_bytes = source.stat().st_size
    with _sibling_temp(out_path) as candidate:
        try:
            images = _resample_images(pdf, max_image_dpi, jpeg_quality)
            pdf.remove_unreferenced_resources()
            pdf.save(
                candidate,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                compress_streams=True,
                deterministic_id=True,
            )
        except (TypeError, ValueError, pikepdf.PdfError):
            candidate.unlink(missing_ok=True)  # best effort: the input is stored as it is
            shutil.copyfile(source, out_path)
            return OptimiseReport(input_bytes, input_bytes, kept_input=True)
        return _keep_smaller(source, candidate, out_path, input_bytes, images)


def _resample_images(pdf: pikepdf.Pdf, max_dpi: int, quality: int) -> int:
    """Resample images sharper than ``max_dpi``; return how many were replaced.

    An image's resolution is taken against the longest page side it appears on: it cannot be
    shown larger than its page, so this never underestimates the resolution and never makes
    an image softer than ``max_dpi`` where it is shown.
    """
    longest_px: dict[tuple[int, int], float] = {}
    images: dict[tuple[int, int], Any] = {}
    for page in pdf.pages:
        box = page.mediabox
        unit = float(page.obj.get("/UserUnit", 1))
        side_in = max(abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1])))
        side_in = side_in * unit / 72
        for image in page.get_images().values():
            key = image.objgen
            if key == (0, 0):
                continue
            images[key] = image
            longest_px[key] = max(longest_px.get(key, 0.0), side_in * max_dpi)
    replaced = 0
    for key, image in images.items():
        # Optimising is best effort: an image pikepdf or Pillow cannot read stays as it is.
        with suppress(TypeError, ValueError, pikepdf.PdfError):
            replaced += _resample_image(image, longest_px[key], quality)
    return replaced


def _resample_image(image: Any, max_long_px: float, quality: int) -> int:
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if max(width, height) <= max_long_px or min(width, height) < 16:
        return 0
    filters = image.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    if filters is None:
        names = []
    mode = _image_mode(image)
    # Only plain 8-bit grey or RGB: masks, decode arrays, CMYK, palettes and the bilevel codecs
    # (CCITT, JBIG2) each need care that a few percent of bytes do not pay for.
    if mode is None or names not in ([], ["/FlateDecode"], ["/DCTDecode"]):
        return 0
    if any(key in image for key in ("/Mask", "/Decode", "/ImageMask", "/SMaskInData")):
        return 0
    scale = max_long_px / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture: Image.Image
    try:
        if names == ["/DCTDecode"]:
            picture = Image.open(io.BytesIO(image.read_raw_bytes()))
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for a fraction of a full decode's cost
            # when the target is that small (a 12 MP photo shown on half a page).
            picture.draft(mode, size)
            picture.load()
        else:
            picture = pikepdf.PdfImage(image).as_pil_image()
    except (pikepdf.PdfError, NotImplementedError, ValueError, OSError, SyntaxError):
        return 0
    if picture.mode != mode:
        return 0
    # Bicubic rather than Lanczos: a third faster on a 300 dpi page, and no visible difference
    # at the reductions done here (at most 2x for phone scans of A4).
    smaller = picture.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    smaller.save(buffer, "JPEG", quality=quality, optimize=True)
    encoded, new_filter = buffer.getvalue(), pikepdf.Name.DCTDecode
    if names != ["/DCTDecode"]:
        # A lossless source stays lossless at its new size unless it is photographic, which
        # JPEG stores in a third of the bytes or less; text and line art keep sharp edges.
        flate = zlib.compress(smaller.tobytes(), 6)
        if len(encoded) * 3 > len(flate):
            encoded, new_filter = flate, pikepdf.Name.FlateDecode
    if len(encoded) >= len(image.read_raw_bytes()):
        return 0
    image.write(encoded, filter=new_filter)
    image.Width, image.Height = size
    if "/DecodeParms" in image:
        del image["/DecodeParms"]
    return 1


def _image_mode(image: Any) -> str | None:
    """ "L" or "RGB" for 8-bit grey or RGB images (device or ICC-based); None for the rest."""
    if int(image.get("/BitsPerComponent", 0)) != 8:
        return None
    space = image.get("/ColorSpace")
    if isinstance(space, pikepdf.Array) and len(space) == 2 and str(space[0]) == "/ICCBased":
        components = int(space[1].get("/N", 0))
        return {1: "L", 3: "RGB"}.get(components)
    return {"/DeviceGray": "L", "/DeviceRGB": "RGB"}.get(str(space))


def optimise_office(path: Path, out_path: Path) -> OptimiseReport:
    """The package recompressed at deflate level 9 when that saves bytes; otherwise as it is.

    Members keep their names, order and dates. An ODF ``mimetype`` member stays first and
    stored, as the standard requires.
    """
    input_bytes = path.stat().st_size
    with _sibling_temp(out_path) as candidate:
        with path.open("rb") as file:
            package = ZipPackage(file, DEFAULT_ZIP_LIMITS, ZipBudget(DEFAULT_ZIP_LIMITS), "file")
            if any(e.info.file_size > OFFICE_MAX_ENTRY_BYTES for e in package.entries):
                shutil.copyfile(path, out_path)
                return OptimiseReport(input_bytes, input_bytes, kept_input=True)
            # One member in memory at a time (64 MB at most): before Python 3.13 zipfile takes a
            # compression level only through writestr.
            with zipfile.ZipFile(candidate, "w") as output:
                for entry in package.entries:
                    with package.open_entry(entry) as reader:
                        data = reader.read()
                    info = zipfile.ZipInfo(entry.info.filename, entry.info.date_time)
                    info.external_attr = entry.info.external_attr
                    if entry.name == "mimetype" or entry.info.filename.endswith("/"):
                        output.writestr(info, data, compress_type=zipfile.ZIP_STORED)
                    else:
                        output.writestr(
                            info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9
                        )
        return _keep_smaller(path, candidate, out_path, input_bytes, 0)


@contextmanager
def _sibling_temp(out_path: Path) -> Iterator[Path]:
    """A temporary path beside ``out_path`` (same file system, so the final move is a rename)."""
    handle, name = tempfile.mkstemp(prefix=".optimise-", dir=out_path.parent)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _keep_smaller(
    original: Path, candidate: Path, out_path: Path, input_bytes: int, images: int
) -> OptimiseReport:
    candidate_bytes = candidate.stat().st_size
    if candidate_bytes < input_bytes:
        candidate.replace(out_path)
        return OptimiseReport(input_bytes, candidate_bytes, False, images)
    shutil.copyfile(original, out_path)
    return OptimiseReport(input_bytes, input_bytes, True, 0)

"""Decoding a photo once, to about its rendition's size: strictly by libjpeg-turbo with DCT
scaling for JPEG, box-reduced (in bands for big PNGs and HEIFs) for the rest, then resized,
turned upright and flattened to RGB or grey with the colour profile it keeps.
"""

from __future__ import annotations

import io
import mmap
import zlib
from dataclasses import dataclass

import pillow_heif
import simplejpeg
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin

from evidence.sniff import Sniffed
from workers.photos.metadata import HEIF_MIMES, parse_exif, raw_exif, written_orientation
from workers.photos.open import DECODE_ERRORS, OpenedPhoto, decode_failure
from workers.photos.png_bands import reduced_png

# A DCT-scaled decode (1/2, 1/4, 1/8) is taken when its long side is at least this share of the
# rendition's: a 4000x3000 photo becomes 2000x1500 with no resample at all. A full decode and a
# Lanczos pass to 2048x1536 costs five times the CPU (bench/photo_path.py) for 5 % more pixels
# and an SSIM-Y gain under 0.01.
_DCT_SCALE_MIN_FILL = 0.9


def _strict_jpeg_pixels(
    data: mmap.mmap, size: tuple[int, int], mode: str, scale: int
) -> Image.Image:
    """A JPEG's pixels at 1/``scale`` (DCT scaling), decoded with libjpeg's warnings as errors.

    Colour is decoded to RGBX, the layout Pillow keeps RGB in, so the pixels become a Pillow
    image without a copy (an RGB array would be repacked: 1.4 ms on 2000x1500).
    """
    # simplejpeg picks the smallest libjpeg scaling that still covers the minimum size: asking
    # for the 1/scale size, rounded up as libjpeg rounds, gets exactly Pillow's draft size
    width, height = (-(-side // scale) for side in size) if scale > 1 else (0, 0)
    try:
        pixels = simplejpeg.decode_jpeg(
            data,
            colorspace="GRAY" if mode == "L" else "RGBX",
            min_width=width,
            min_height=height,
            strict=True,
        )
    except ValueError as exc:
        raise decode_failure(exc, "JPEG") from None
    decoded_size = (pixels.shape[1], pixels.shape[0])
    if mode == "L":
        return Image.frombuffer("L", decoded_size, pixels, "raw", "L", 0, 1)
    return Image.frombuffer("RGBX", decoded_size, pixels, "raw", "RGBX", 0, 1)


def _decode_jpeg_strictly(data: mmap.mmap) -> None:
    """Decode a JPEG with libjpeg's warnings as errors; refuse it if any is raised.

    Pillow decodes through libjpeg but swallows its warnings, so a JPEG cut short and given a
    new end marker, or with corrupt data mid-way, decoded as if whole (grey below the cut).
    simplejpeg (libjpeg-turbo) in strict mode raises on them. Scaled to 1/8 libjpeg still
    entropy-decodes every block, so the damage surfaces, but skips most of the inverse DCT.
    """
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)  # height first
        # CMYK (Adobe) JPEGs only decode to CMYK; everything else is cheapest as grey. The
        # minimum size is what makes simplejpeg scale: min_factor alone decodes at full size.
        target = "CMYK" if colorspace in ("CMYK", "YCCK") else "GRAY"
        simplejpeg.decode_jpeg(
            data,
            colorspace=target,
            min_width=-(-width // 8),
            min_height=-(-height // 8),
            strict=True,
        )
    except ValueError as exc:
        raise decode_failure(exc, "JPEG") from None


# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class DecodedPhoto:
    """A photo decoded once for rendering and hashing, with what both need from its header.

    Only valid while the photo is open: closing an opened image frees its pixels, and ``image``
    may be that very object when nothing needed resizing or turning.
    """

    image: Image.Image  # upright, RGB or L, long side at most the rendition's, no metadata
    icc_profile: bytes | None
    raw_exif: bytes | None
    orientation: int  # as the camera wrote it (1 when none); the EXIF thumbnail needs it too
    sniffed: Sniffed
    is_reusable_jpeg: bool  # a JPEG that fits as it is: its own data can be the rendition


def decode_photo(opened: OpenedPhoto, max_side_px: int) -> DecodedPhoto:
    """The one decode: DCT-scaled for JPEG, box-reduced for the rest, resized, turned upright."""
    image, sniffed = opened.image, opened.sniffed
    icc, exif_bytes = _icc_profile(image), raw_exif(image)
    exif = parse_exif(exif_bytes)
    orientation = written_orientation(image, sniffed, dict(exif) if exif is not None else {}) or 1
    # HEIF arrives upright from its decoder; every other format is turned here.
    to_apply = 1 if sniffed.mime in HEIF_MIMES else orientation
    reusable = (
        sniffed.mime == "image/jpeg"
        and orientation == 1
        and image.mode in ("RGB", "L")
        and max(image.size) <= max_side_px
    )
    reduced: Image.Image
    if isinstance(image, JpegImagePlugin.JpegImageFile) and image.mode in ("RGB", "L"):
        # libjpeg-turbo through simplejpeg, strictly: Pillow would hide a damaged JPEG
        scale = _dct_scale(image.size, max_side_px)
        reduced = _strict_jpeg_pixels(opened.data, image.size, image.mode, scale)
    else:
        if isinstance(image, JpegImagePlugin.JpegImageFile):
            _decode_jpeg_strictly(opened.data)  # CMYK: Pillow decodes it below, and hides damage
            scale = _dct_scale(image.size, max_side_px)
            if scale > 1:
                image.draft("RGB", (image.width // scale, image.height // scale))
        banded = _in_bands(opened, max_side_px)
        if banded is None:
            _load(opened)
            banded = reduced_to_rgb_or_l(image, _box_factor(image.size, max_side_px))
        reduced = banded
    if max(reduced.size) > max_side_px:
        ratio = max_side_px / max(reduced.size)
        target = (max(1, round(reduced.width * ratio)), max(1, round(reduced.height * ratio)))
        reduced = reduced.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if to_apply in TRANSPOSES:
        reduced = reduced.transpose(TRANSPOSES[to_apply])
    # Resize and transpose copy ``info`` (EXIF, XMP, comments); the rendition must carry none.
    reduced.info = {}
    if icc is not None and (reduced.mode == "L") != (icc[16:20] == b"GRAY"):
        icc = None
    return DecodedPhoto(reduced, icc, exif_bytes, orientation, sniffed, reusable)


def check_decodable(opened: OpenedPhoto) -> None:
    """Decode every pixel of the photo, as cheaply as its format allows; refuse it if damaged."""
    if isinstance(opened.image, JpegImagePlugin.JpegImageFile):
        _decode_jpeg_strictly(opened.data)
    elif _in_bands(opened, 2048) is None:
        _load(opened)


def _load(opened: OpenedPhoto) -> None:
    """Decode the image's pixels; broken data becomes a RejectedError."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow's default is False; a library that flips this process-wide switch would make
        # truncated photos decode with a grey bottom half and pass as evidence.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; photos cannot be checked")
    try:
        opened.image.load()
    except DECODE_ERRORS as exc:
        raise decode_failure(exc, opened.format_name) from None


def _dct_scale(size: tuple[int, int], max_side_px: int) -> int:
    """The largest JPEG DCT scaling (8, 4, 2) that keeps the image near rendition size, else 1."""
    long_side = max(size)
    for scale in (8, 4, 2):
        if -(-long_side // scale) >= max_side_px * _DCT_SCALE_MIN_FILL:
            return scale
    return 1


def _box_factor(size: tuple[int, int], max_side_px: int) -> int:
    """The largest integer reduction that keeps the image near rendition size, as _dct_scale.

    ``Image.reduce`` averages boxes of factor x factor pixels: a 4000x3000 HEIC or PNG goes to
    2000x1500 in 15 ms, where a Lanczos pass to 2048x1536 takes 250 ms for no visible gain.
    """
    long_side = max(size)
    factor = max(1, int(long_side // (max_side_px * _DCT_SCALE_MIN_FILL)))
    while factor > 1 and -(-long_side // factor) < max_side_px * _DCT_SCALE_MIN_FILL:
        factor -= 1
    return factor


#: PNGs of more pixels than this are decoded band by band (workers.photos.png_bands), which
#: costs 1.3-1.6x the CPU of a whole decode: whole, a 120 MP PNG takes 484 MB more (a worker
#: went from 190 to 730 MB), in bands 43 MB (bench/memory_photo.py). At this size a whole
#: decode takes under 100 MB.
PNG_BAND_MIN_PIXELS = 24_000_000


#: HEIFs of more pixels than this (all: it also spares a 12 MP HEIC 15 ms of CPU) are turned
#: into Pillow images a band at a time: libheif has no scaled decode, but its 3 bytes a pixel
#: need not be copied whole into Pillow's 4 (bench/memory_photo.py: a 50 MP HEIC took 360 MB
#: more, 260 MB in bands, most of it libheif's own planes while it decodes).
HEIF_BAND_MIN_PIXELS = 0
_HEIF_BAND_BYTES = 4 * 1024 * 1024


def _in_bands(opened: OpenedPhoto, max_side_px: int) -> Image.Image | None:
    """A big PNG or HEIF decoded, reduced and flattened a band at a time; else None."""
    width, height = opened.image.size
    factor = _box_factor((width, height), max_side_px)
    if opened.image.format == "PNG" and width * height > PNG_BAND_MIN_PIXELS:
        try:
            return reduced_png(opened.data, factor, reduced_to_rgb_or_l)
        except (*DECODE_ERRORS, zlib.error) as exc:
            raise decode_failure(exc, "PNG") from None
    if opened.sniffed.mime in HEIF_MIMES and width * height > HEIF_BAND_MIN_PIXELS:
        try:
            return _heif_reduced(opened, factor)
        except DECODE_ERRORS as exc:
            raise decode_failure(exc, opened.format_name) from None
    return None


def _heif_reduced(opened: OpenedPhoto, factor: int) -> Image.Image | None:
    """The HEIF's primary image from libheif's buffer, box-reduced band by band."""
    # as the Pillow plugin opens it: 8-bit, upright (libheif applies the rotation and mirror)
    heif = pillow_heif.open_heif(opened.data[:], convert_hdr_to_8bit=True)
    frame = heif[heif.primary_index]
    if frame.mode not in ("RGB", "RGBA", "L"):  # known before decoding; the rest decode whole
        return None
    decoded = frame.data  # the decode
    mode, (width, height), stride = frame.mode, frame.size, frame.stride
    rows = max(1, _HEIF_BAND_BYTES // stride // factor) * factor
    result: Image.Image | None = None
    with memoryview(decoded) as pixels:
        for top in range(0, height, rows):
            count = min(rows, height - top)
            band = Image.frombytes(
                mode,
                (width, count),
                pixels[top * stride : (top + count) * stride],
                "raw",
                mode,
                stride,
            )
            reduced = reduced_to_rgb_or_l(band, factor)
            if result is None:
                result = Image.new(reduced.mode, (reduced.width, -(-height // factor)))
            result.paste(reduced, (0, top // factor))
    # a decode of another size than the header's: decoded whole, as Pillow's plugin copes
    return result if (width, height) == opened.image.size else None


# Modes Image.reduce averages as they are; others (palette, bilevel, 16-bit) are converted first.
_REDUCIBLE_MODES = ("L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK")


def reduced_to_rgb_or_l(image: Image.Image, factor: int) -> Image.Image:
    """The image box-reduced by factor, in a mode a JPEG holds; reduced first where it can be."""
    if factor > 1 and image.mode in _REDUCIBLE_MODES:
        return _to_rgb_or_l(image.reduce(factor))
    flat = _to_rgb_or_l(image)
    return flat.reduce(factor) if factor > 1 else flat


def _to_rgb_or_l(image: Image.Image) -> Image.Image:
    """The image in a mode a JPEG holds: transparency flattened on white, CMYK to RGB."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit PNGs (some scanners, HDR exports): keep the high byte, not a clipped low one.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    # Screenshots and stickers with transparency: white is what a viewer would show behind them.
    rgba = image.convert("RGBA")
    flattened = Image.new("RGB", rgba.size, (255, 255, 255))
    flattened.paste(rgba, mask=rgba.getchannel("A"))
    return flattened


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK (print-prepared JPEGs) to sRGB through the embedded profile when there is one."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (OSError, ValueError, ImageCms.PyCMSError):
            pass  # a broken profile: the plain conversion below is still a fair picture
    return image.convert("RGB")


def _icc_profile(image: Image.Image) -> bytes | None:
    """The colour profile the rendition keeps: RGB or grey ones (iPhones tag Display P3)."""
    icc = image.info.get("icc_profile")
    if not isinstance(icc, bytes) or len(icc) < 20:
        return None
    # The profile's colour space (bytes 16-19) must match the rendition's mode; a CMYK profile
    # is used up converting to sRGB.
    space = icc[16:20]
    if image.mode == "CMYK" or space not in (b"RGB ", b"GRAY"):
        return None
    return icc

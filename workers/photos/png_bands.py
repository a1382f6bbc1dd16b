"""Big PNGs decoded band by band, so that a photo at the pixel limit never sits in memory whole.

Pillow decodes a PNG into one image: a 120 MP RGB PNG takes 480 MB (Pillow keeps RGB in four
bytes a pixel) before it can be shrunk to a 2048 px rendition. Here the image data is inflated
a band of rows at a time, each band is decoded by Pillow's own PNG decoder, box-reduced and
pasted into the small result, and dropped: memory stays at a band (about ``band_bytes``) plus
the result, whatever the image's size.

Each band is handed to Pillow as a small PNG of its own: the band's rows exactly as they are
filtered in the file, after one unfiltered row, the last row of the band before (zeros for the
first band, as the PNG filters assume above the image). The first row of a band is filtered
against the row above it, so it decodes to the same pixels it has in the whole image: the band
images are exact slices of the whole one, and a box reduction by a factor that divides the band
height gives exactly the reduction of the whole image.

Only 8-bit, non-interlaced PNGs (grey, RGB, palette, grey with alpha, RGBA) are cut into bands;
:func:`reduced_png` answers None for others (16-bit and 1-, 2- or 4-bit samples, Adam7), which
are decoded whole.
"""

from __future__ import annotations

import io
import mmap
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

# PNG colour type -> samples per pixel (8-bit samples only)
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: inflated image data per band: with Pillow's own copy of the band and the reduced band, about
#: 4x this is held at once (measured in bench/memory_photo.py)
BAND_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class _Layout:
    width: int
    height: int
    colour_type: int
    #: the PLTE and tRNS chunks, whole, for each band's PNG to say what the samples mean
    palette_chunks: bytes
    #: where each IDAT chunk's data starts and ends in the file
    idat: list[tuple[int, int]]


def reduced_png(
    data: bytes | mmap.mmap,
    factor: int,
    flatten: Callable[[Image.Image, int], Image.Image],
    band_bytes: int = BAND_BYTES,
) -> Image.Image | None:
    """The PNG decoded band by band, each band passed through ``flatten(band, factor)``.

    ``flatten`` box-reduces a band by ``factor`` (and may change its mode); the bands are
    stacked into one image. None when this PNG cannot be cut into bands. Broken image data
    raises what Pillow's decoder raises (OSError, ValueError, zlib.error), and image data that
    ends before the last row raises EOFError.
    """
    layout = _layout(data)
    if layout is None:
        return None
    stride = layout.width * _CHANNELS[layout.colour_type] + 1  # each row starts with its filter
    rows_per_band = max(1, band_bytes // stride // factor) * factor
    result: Image.Image | None = None
    above = bytes(stride - 1)  # the PNG filters see zeros above the first row
    top = 0
    for rows in _bands(_image_data(data, layout.idat), stride, rows_per_band, layout.height):
        count = len(rows) // stride
        band = _decode_band(layout, above, rows, count)
        above = band.crop((0, count - 1, layout.width, count)).tobytes()
        reduced = flatten(band, factor)
        del band
        if result is None:
            size = (reduced.width, -(-layout.height // factor))
            result = Image.new(reduced.mode, size)
        result.paste(reduced, (0, top // factor))
        top += count
    if result is None or top < layout.height:
        raise EOFError("truncated: the PNG image data ends before its last row")
    return result


def _layout(data: bytes | mmap.mmap) -> _Layout | None:
    """The header fields and the image data chunks, if this PNG can be decoded in bands."""
    if data[:8] != _SIGNATURE:
        return None
    pos, header, palette, idat = 8, None, b"", []
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IHDR" and length == 13:
            header = struct.unpack_from(">IIBBBBB", data, pos + 8)
        elif kind in (b"PLTE", b"tRNS"):
            palette += data[pos : pos + 12 + length]
        elif kind == b"IDAT":
            idat.append((pos + 8, min(pos + 8 + length, len(data))))
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        return None
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or interlace != 0 or colour_type not in _CHANNELS or width == 0:
        return None
    return _Layout(width, height, colour_type, palette, idat)


_PIECE_BYTES = 1024 * 1024


def _image_data(data: bytes | mmap.mmap, idat: list[tuple[int, int]]) -> Iterator[bytes]:
    """The compressed image data in pieces of at most 1 MiB (some writers make one IDAT)."""
    for start, end in idat:
        for offset in range(start, end, _PIECE_BYTES):
            yield data[offset : min(end, offset + _PIECE_BYTES)]


def _bands(idat: Iterator[bytes], stride: int, rows_per_band: int, height: int) -> Iterator[bytes]:
    """The inflated image data, ``rows_per_band`` filtered rows at a time (fewer at the end)."""
    inflater = zlib.decompressobj()
    wanted = stride * rows_per_band
    remaining = stride * height
    pending = bytearray()
    for chunk in idat:
        tail = chunk
        while remaining > 0:
            # bounded output: zlib keeps the input it did not get to in unconsumed_tail, and
            # what it had inflated past the limit comes out of the next call, even with no input
            target = min(wanted, remaining)
            pending += inflater.decompress(tail, target - len(pending))
            tail = inflater.unconsumed_tail
            if len(pending) == target:
                remaining -= target
                yield bytes(pending)
                pending.clear()
            elif not tail or inflater.eof:
                break  # this chunk is used up: on to the next
        if remaining == 0 or inflater.eof:
            break
    if pending and remaining > 0:
        # what there is, in whole rows: the caller sees the image end short and says so
        yield bytes(pending[: len(pending) // stride * stride])


def _decode_band(layout: _Layout, above: bytes, rows: bytes, count: int) -> Image.Image:
    """Pillow's decode of ``count`` filtered rows, given the unfiltered row above them."""
    packer = zlib.compressobj(0)  # stored: the rows are only framed, not compressed again
    stream = packer.compress(b"\x00" + above) + packer.compress(rows) + packer.flush()
    header = struct.pack(">IIBBBBB", layout.width, count + 1, 8, layout.colour_type, 0, 0, 0)
    png = b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            layout.palette_chunks,
            _chunk(b"IDAT", stream),
            _chunk(b"IEND", b""),
        )
    )
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        image.load()
        return image.crop((0, 1, layout.width, count + 1))


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(body)), kind, body, struct.pack(">I", crc)))

"""Big PNGs decoded band by band, so that a photo at the pixel limit never sits in memory whole.

Pillow decodes a PNG into one image: a 120 MP RGB PNG takes 480 MB (Pillow keeps RGB in four
bytes a pixel) before it can be shrunk to a 2048 px rendition. Here the image data is inflated
a band of rows at a time, each band is decoded by Pillow's own PNG decoder, box-reduced and
pasted into the small result, and dropped: memory stays at a few times ``BAND_BYTES`` plus
the result, whatever the image's size.

Each band is handed to Pillow as a small PNG of its own: the last ``factor`` rows of the band
above it, unfiltered, then the band's rows exactly as they are filtered in the file, framed as
stored (uncompressed) deflate blocks. The first row of a band is filtered against the row above
it, which Pillow then has, so every row decodes to the pixels it has in the whole image; and
the carried rows make one whole box row of the reduction, the last of the band above again, so
the bands stack into exactly the reduction of the whole image (zeros stand above the first
band, as the PNG filters assume). The price is CPU: the image data is inflated by Bukti and the
stored blocks by Pillow, 1.3-1.6x the CPU of a whole decode (bench/memory_photo.py).

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
#: inflated image data per band: the inflated rows, the band's PNG and Pillow's image of it are
#: held at once, about 4x this (bench/memory_photo.py measures the whole worker)
BAND_BYTES = 4 * 1024 * 1024


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
    # Each band carries the last ``factor`` rows of the band above it, unfiltered: its first
    # row is filtered against them, and with them it reduces to one box row more, which is the
    # last box row of the band above again (zeros above the first band, as PNG filters assume).
    above = bytes(stride * factor)
    top = 0
    for parts, count in _bands(_image_data(data, layout.idat), stride, rows_per_band, layout):
        band = _decode_band(layout, above, parts, count + factor)
        del parts
        carried = band.crop((0, band.height - factor, layout.width, band.height)).tobytes()
        row = stride - 1
        above = b"".join(b"\x00" + carried[i : i + row] for i in range(0, len(carried), row))
        reduced = flatten(band, factor)
        del band
        if result is None:
            size = (reduced.width, -(-layout.height // factor))
            result = Image.new(reduced.mode, size)
        result.paste(reduced, (0, top // factor - 1))  # the first box row is the one above
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


def _bands(
    idat: Iterator[bytes], stride: int, rows_per_band: int, layout: _Layout
) -> Iterator[tuple[list[bytes], int]]:
    """The inflated image data, ``rows_per_band`` filtered rows at a time (fewer at the end)."""
    inflater = zlib.decompressobj()
    wanted = stride * rows_per_band
    remaining = stride * layout.height
    parts: list[bytes] = []
    have = 0
    for chunk in idat:
        tail = chunk
        while remaining > 0:
            # bounded output: zlib keeps the input it did not get to in unconsumed_tail, and
            # what it had inflated past the limit comes out of the next call, even with no input
            target = min(wanted, remaining)
            out = inflater.decompress(tail, target - have)
            parts.append(out)
            have += len(out)
            tail = inflater.unconsumed_tail
            if have == target:
                remaining -= target
                yield parts, target // stride
                parts, have = [], 0
            elif not tail or inflater.eof:
                break  # this chunk is used up: on to the next
        if remaining == 0 or inflater.eof:
            break
    if have >= stride and remaining > 0:
        # what there is, in whole rows: the caller sees the image end short and says so
        yield [b"".join(parts)[: have // stride * stride]], have // stride


_STORED_BLOCK = 65535  # the most a stored deflate block holds


def _decode_band(layout: _Layout, above: bytes, parts: list[bytes], rows: int) -> Image.Image:
    """Pillow's decode of ``rows`` filtered rows (the unfiltered ones above, then ``parts``).

    The rows are framed as stored deflate blocks, not compressed again: the zlib stream costs
    a checksum, and the band's PNG is the only copy of them.
    """
    stream: list[bytes | memoryview] = [b"\x78\x01"]  # deflate, 32 KiB window, no preset
    adler = 1
    for part in (above, *parts):
        view = memoryview(part)
        adler = zlib.adler32(view, adler)
        for start in range(0, len(view), _STORED_BLOCK):
            block = view[start : start + _STORED_BLOCK]
            stream += [struct.pack("<BHH", 0, len(block), 0xFFFF ^ len(block)), block]
    stream += [b"\x01\x00\x00\xff\xff", struct.pack(">I", adler)]  # an empty final block
    crc = zlib.crc32(b"IDAT")
    for piece in stream:
        crc = zlib.crc32(piece, crc)
    header = struct.pack(">IIBBBBB", layout.width, rows, 8, layout.colour_type, 0, 0, 0)
    png = b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            layout.palette_chunks,
            struct.pack(">I", sum(len(piece) for piece in stream)),
            b"IDAT",
            *stream,
            struct.pack(">I", crc),
            _chunk(b"IEND", b""),
        ]
    )
    del stream, view
    image = Image.open(io.BytesIO(png), formats=["PNG"])  # in memory: nothing to close
    image.load()
    return image


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(body)), kind, body, struct.pack(">I", crc)))

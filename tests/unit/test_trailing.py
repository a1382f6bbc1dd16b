"""Polyglots: another format after a JPEG's EOI, a PNG's IEND or a PDF's last %%EOF."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from evidence.flags import Code, Severity
from evidence.trailing import find_trailer, format_end, trailing_data_flag

ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40) + b"PK\x05\x06" + bytes(18)
HTML = b"<html><body><script>alert(1)</script></body></html>"


def _jpeg(with_thumbnail: bool = False) -> bytes:
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    out = io.BytesIO()
    if with_thumbnail:
        thumb = io.BytesIO()
        Image.new("RGB", (16, 12), (10, 10, 10)).save(thumb, "JPEG")
        # an APP segment holding a whole JPEG: its EOI is not the file's end
        payload = b"Exif\x00\x00" + thumb.getvalue()
        image.save(out, "JPEG")
        data = out.getvalue()
        segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        return data[:2] + segment + data[2:]
    image.save(out, "JPEG", progressive=True)
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_jpeg_ends_at_its_own_eoi_not_at_its_thumbnails() -> None:
    data = _jpeg(with_thumbnail=True)
    assert format_end("image/jpeg", data) == len(data)
    assert find_trailer("image/jpeg", data) is None


@pytest.mark.parametrize(("tail", "payload"), [(ZIP, "a ZIP archive"), (HTML, "an HTML page")])
def test_a_jpeg_carrying_a_zip_or_html_after_its_end_is_flagged(tail: bytes, payload: str) -> None:
    clean = _jpeg()
    flag = trailing_data_flag("image/jpeg", clean + tail)
    assert flag is not None
    assert (flag.code, flag.severity) == (Code.TRAILING_DATA, Severity.MEDIUM)
    assert flag.detail.startswith(f"{payload} follows the end of the JPEG")
    assert f"after byte {len(clean):,}" in flag.detail


def test_a_png_carrying_a_zip_after_iend_is_flagged() -> None:
    trailer = find_trailer("image/png", _png() + ZIP)
    assert trailer is not None and trailer.payload == "a ZIP archive"


def test_a_pdf_with_a_zip_tail_is_flagged_but_not_its_incremental_updates() -> None:
    assert find_trailer("application/pdf", PDF + ZIP) is not None
    updated = PDF + b"2 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert find_trailer("application/pdf", updated) is None


def test_what_phones_append_is_not_flagged() -> None:
    motion_photo = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    assert find_trailer("image/jpeg", _jpeg() + motion_photo) is None
    assert find_trailer("image/jpeg", _jpeg() + b"\x00" * 512) is None
    assert find_trailer("image/jpeg", _jpeg() + b"Image_UTC_Data1700000000000SEFHSEFT") is None


def test_files_that_are_not_what_they_claim_are_left_to_sniffing() -> None:
    assert find_trailer("image/jpeg", b"not a jpeg" + ZIP) is None
    assert format_end("video/mp4", b"\x00\x00\x00\x18ftypmp42") is None


def _after_scan_byte_by_byte(data: bytes, i: int) -> int:
    """The scan as the JPEG standard reads it, one 0xFF at a time: the reference."""
    while True:
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= len(data):
            return len(data)
        follower = data[i + 1]
        if follower == 0x00 or 0xD0 <= follower <= 0xD7 or follower == 0xFF:
            i += 1 if follower == 0xFF else 2
            continue
        return i


def test_the_scan_ends_where_a_byte_by_byte_reading_ends_it() -> None:
    import random

    from evidence.trailing import _after_scan

    rng = random.Random(7)
    # dense in 0xFF, stuffed zeros, restart markers and fill runs, with real markers among them
    alphabet = [0xFF] * 6 + [0x00] * 3 + [0xD0, 0xD7, 0xD8, 0xD9, 0xC4, 0xDA, 0x01, 0x7F, 0xFE]
    for _ in range(2000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        start = rng.randint(0, len(data))
        assert _after_scan(data, start) == _after_scan_byte_by_byte(data, start), (data, start)

"""Sniffing a file's kind from its first bytes, never its name."""

from __future__ import annotations

import pytest

from evidence.sniff import HEAD_BYTES, Sniffed, sniff
from evidence.status import Kind

# First bytes of real files: videos written by ffmpeg 6 with its default muxers (as phones'
# encoders write them), iPhone and Samsung HEIC and MOV headers, a pdfTeX PDF, a LibreOffice
# ODT and a Word DOCX.
MP4_ISOM = b"\x00\x00\x00 ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free"
MP4_ANDROID = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42\x00\x00\x00\x08free"
MOV_IPHONE = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  \x00\x00\x00\x08wide\x00\x00*imdat"
MOV_WITHOUT_FTYP = b"\x00\x00\x00\x08wide\x00\x1b\x8f\x1fmdat\x00\x00\x00\x00"
THREE_GP = b"\x00\x00\x00\x1cftyp3gp4\x00\x00\x02\x003gp4isomiso2\x00\x00\x00\x08free"
M4A_AUDIO = b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isomiso2\x00\x00\x00\x08free"
WEBM = (
    b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm"
    b"B\x87\x81\x04B\x85\x81\x02\x18S\x80g\x01\x00\x00\x00\x00\x00.\xff"
)
MATROSKA = (
    b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x88matroska"
    b"B\x87\x81\x04B\x85\x81\x02\x18S\x80g\x01\x00\x00\x00"
)
HEIC_IPHONE = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x01\x0emeta"
HEIC_MIF1_MAJOR = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicmiaf\x00\x00\x01\x0emeta"
HEIF_PLAIN = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf\x00\x00\x01\x0emeta"
AVIF_MIF1_MAJOR = b"\x00\x00\x00\x20ftypmif1\x00\x00\x00\x00mif1avifmiafMA1B\x00\x00\x01\x0emeta"
HEIC_SEQUENCE = b"\x00\x00\x00\x18ftyphevc\x00\x00\x00\x00msf1hevc\x00\x00\x01\x0emeta"
PDF = b"%PDF-1.5\n%\xd0\xd4\xc5\xd8\n1 0 obj\n<<"
PDF_AFTER_JUNK = b"\xef\xbb\xbf\r\n%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ODT = (
    b"PK\x03\x04\x14\x00\x00\x08\x00\x00l\xa9\xda>^\xc62\x0c'\x00\x00\x00'\x00\x00\x00\x08"
    b"\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.text"
)
DOCX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xdf\xa4\xd2lZ\x01\x00\x00 \x05\x00\x00"
GIF = b"GIF89a\x80\x02\xa5\x01\xf7\x021\x00\x00\x00"
TIFF = b"II*\x00\x08\x00\x00\x00\x10\x00\x00\x01\x03\x00"
BMP = b"BM6\x0c\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
HTML = b"<!DOCTYPE html><html><head><title>Foto</title>"


@pytest.mark.parametrize(
    ("head", "kind", "mime", "extension"),
    [
        (MP4_ISOM, Kind.VIDEO, "video/mp4", "mp4"),
        (MP4_ANDROID, Kind.VIDEO, "video/mp4", "mp4"),
        (MOV_IPHONE, Kind.VIDEO, "video/quicktime", "mov"),
        (MOV_WITHOUT_FTYP, Kind.VIDEO, "video/quicktime", "mov"),
        (THREE_GP, Kind.VIDEO, "video/3gpp", "3gp"),
        (WEBM, Kind.VIDEO, "video/webm", "webm"),
        (MATROSKA, Kind.VIDEO, "video/x-matroska", "mkv"),
        (HEIC_IPHONE, Kind.PHOTO, "image/heic", "heic"),
        (HEIC_MIF1_MAJOR, Kind.PHOTO, "image/heic", "heic"),
        (HEIF_PLAIN, Kind.PHOTO, "image/heif", "heif"),
        (AVIF_MIF1_MAJOR, Kind.PHOTO, "image/avif", "avif"),
        (HEIC_SEQUENCE, Kind.PHOTO, "image/heic-sequence", "heics"),
        (PDF, Kind.DOCUMENT, "application/pdf", "pdf"),
        (PDF_AFTER_JUNK, Kind.DOCUMENT, "application/pdf", "pdf"),
        (ODT, Kind.DOCUMENT, "application/zip", "zip"),
        (DOCX, Kind.DOCUMENT, "application/zip", "zip"),
    ],
)
def test_recognises_real_headers(head: bytes, kind: Kind, mime: str, extension: str) -> None:
    assert sniff(head) == Sniffed(kind, mime, extension)


@pytest.mark.parametrize(
    ("format", "mime"),
    [
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("webp", "image/webp"),
        ("heic", "image/heic"),
        ("avif", "image/avif"),
    ],
)
def test_recognises_photos_from_real_encoders(make_photo, format: str, mime: str) -> None:
    head = make_photo(format=format, size=(64, 48)).read_bytes()[:HEAD_BYTES]

    sniffed = sniff(head)

    assert sniffed is not None
    assert (sniffed.kind, sniffed.mime) == (Kind.PHOTO, mime)


@pytest.mark.parametrize(
    "head",
    [GIF, TIFF, BMP, EXE, HTML, M4A_AUDIO, b"", b"\xff\xd8", b"\x00\x00\x00\x08ftyp"],
    ids=["gif", "tiff", "bmp", "exe", "html", "m4a-audio", "empty", "two-bytes", "short-ftyp"],
)
def test_refuses_what_is_not_evidence(head: bytes) -> None:
    assert sniff(head) is None


def test_ignores_what_the_file_claims_to_be_in_text() -> None:
    # A text file that mentions JPEG and PNG in its body is still text.
    head = b"This is a JPEG photo \xff\xd8\xff and a PNG \x89PNG, honestly.\n"

    assert sniff(head) is None


def test_webp_needs_its_form_type_not_just_riff() -> None:
    wav = b"RIFF$\x08\x00\x00WAVEfmt \x10\x00\x00\x00"

    assert sniff(wav) is None


def test_legacy_office_files_are_taken_in_to_be_refused_with_a_reason() -> None:
    from evidence.sniff import OLE, sniff

    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504) == OLE

"""What a file really is, told from its first bytes and never from its name.

Callers pass the first 4096 bytes (:data:`HEAD_BYTES`). Only the formats a teacher's evidence
comes in are recognised: camera photos (JPEG, PNG, WebP, HEIC/HEIF, AVIF), phone videos
(MP4, MOV, 3GP, WebM/Matroska) and documents (PDF, ZIP-based Office and ODF files). GIF, TIFF,
BMP and everything else are not evidence: no phone camera writes them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from evidence.status import Kind

HEAD_BYTES = 4096
"""How many leading bytes :func:`sniff` needs to decide."""


@dataclass(frozen=True)
class Sniffed:
    """The kind, media type and usual file extension (without dot) of a file's bytes."""

    kind: Kind
    mime: str
    extension: str


JPEG = Sniffed(Kind.PHOTO, "image/jpeg", "jpg")
PNG = Sniffed(Kind.PHOTO, "image/png", "png")
WEBP = Sniffed(Kind.PHOTO, "image/webp", "webp")
HEIC = Sniffed(Kind.PHOTO, "image/heic", "heic")
HEIC_SEQUENCE = Sniffed(Kind.PHOTO, "image/heic-sequence", "heics")
HEIF = Sniffed(Kind.PHOTO, "image/heif", "heif")
AVIF = Sniffed(Kind.PHOTO, "image/avif", "avif")
MP4 = Sniffed(Kind.VIDEO, "video/mp4", "mp4")
M4V = Sniffed(Kind.VIDEO, "video/x-m4v", "m4v")
QUICKTIME = Sniffed(Kind.VIDEO, "video/quicktime", "mov")
THREE_GP = Sniffed(Kind.VIDEO, "video/3gpp", "3gp")
THREE_G2 = Sniffed(Kind.VIDEO, "video/3gpp2", "3g2")
WEBM = Sniffed(Kind.VIDEO, "video/webm", "webm")
MATROSKA = Sniffed(Kind.VIDEO, "video/x-matroska", "mkv")
PDF = Sniffed(Kind.DOCUMENT, "application/pdf", "pdf")
ZIP = Sniffed(Kind.DOCUMENT, "application/zip", "zip")
# Legacy Office files and password-protected OOXML are OLE compound files. They are never
# accepted, but taking them in lets the worker say why ("save it as DOCX", "remove the
# password") instead of a bare "unsupported type".
OLE = Sniffed(Kind.DOCUMENT, "application/x-ole-storage", "ole")

# ISO base media file format (ISO/IEC 14496-12) brands. HEIF brands come from ISO/IEC 23008-12:
# iPhones write major "heic" with compatible "mif1"; some Android phones write major "mif1"
# and list "heic" among the compatible brands, so both places are read.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis"}
_HEIC_SEQUENCE_BRANDS = {b"hevc", b"hevx", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"mp71", b"avc1", b"hvc1", b"dash", b"MSNV", b"XAVC", b"f4v ", b"mmp4",
}  # fmt: skip
# Audio-only MPEG-4 (voice notes, music) is not evidence.
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
# QuickTime files from before the ftyp box (old cameras) start directly with one of these atoms.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}


def sniff(head: bytes) -> Sniffed | None:
    """What ``head`` (a file's first bytes) is, or None when it is nothing Bukti accepts."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if head[4:8] in _QUICKTIME_ATOMS and (_box_size(head) in (0, 1) or _box_size(head) >= 8):
        # Size 0 runs to the end of the file and 1 announces a 64-bit size: both common for mdat.
        return QUICKTIME
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header names its DocType within its first few dozen bytes.
        return WEBM if b"webm" in head[:64] else MATROSKA
    # PDF readers accept the header anywhere in the first 1024 bytes; some generators
    # (and mail gateways) put a few bytes in front of it.
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    return None


def _sniff_ftyp(head: bytes) -> Sniffed | None:
    """The kind of an ISO-BMFF file from its major and compatible brands."""
    size = _box_size(head)
    if size < 16:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _AVIF_BRANDS:
        return AVIF
    if major in _HEIC_BRANDS:
        return HEIC
    if major in _HEIC_SEQUENCE_BRANDS:
        return HEIC_SEQUENCE
    if major in _HEIF_BRANDS:
        if compatible & _AVIF_BRANDS:
            return AVIF
        if compatible & _HEIC_BRANDS:
            return HEIC
        return HEIF
    if major == b"qt  ":
        return QUICKTIME
    if major.startswith(b"3gp") or major.startswith(b"3gs") or major.startswith(b"3ge"):
        return THREE_GP
    if major.startswith(b"3g2"):
        return THREE_G2
    if major == b"M4V " or major == b"M4VH" or major == b"M4VP":
        return M4V
    if major in _AUDIO_BRANDS:
        return None
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return MP4
    return None


def _box_size(head: bytes) -> int:
    """The 32-bit size declared by the box at the start of ``head``; -1 when too short."""
    if len(head) < 8:
        return -1
    (size,) = struct.unpack(">I", head[:4])
    return int(size)

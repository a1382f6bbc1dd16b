"""Make the walk-through's sample files again: `.venv/bin/python -m samples.make` (dev extras).

The pictures are scikit-image's public-domain photographs; the metadata is what a phone at
SMKN 1 Cianjur (the README's school, -6.8168, 107.1425) would write on 13 and 14 October 2026,
written with the tests' own EXIF writer. samples/README.md says what each file is for.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from tests.fixtures.documents import build_pdf
from tests.fixtures.photos import GpsFix, PhotoFactory, sample

HERE = Path(__file__).resolve().parent

# A mid-range Android phone (Galaxy A14); the selfie is taken with the same one.
PHONE = {"make": "samsung", "model": "SM-A145F"}

# name, scikit-image picture, size, capture time (WIB), position: what each photo shows is in
# samples/README.md
PHOTOS = (
    (
        "selfie-2026-10-13.jpg",
        "astronaut",
        (480, 640),
        datetime(2026, 10, 13, 6, 52, 10),
        GpsFix(-6.81688, 107.14262, accuracy_m=6.0),
    ),
    (
        "IMG_20261013_071502.jpg",
        "rocket",
        (640, 427),
        datetime(2026, 10, 13, 7, 15, 2),
        GpsFix(-6.81652, 107.14231, accuracy_m=8.0),
    ),
    (
        "IMG_20261014_073518.jpg",
        "hubble_deep_field",
        (640, 480),
        datetime(2026, 10, 14, 7, 35, 18),
        GpsFix(-6.81671, 107.14275, accuracy_m=5.0),
    ),
)

LESSON_PLAN = [
    """MODUL AJAR - Jaringan Komputer dan Telekomunikasi
SMKN 1 Cianjur, kelas X TKJ 1, Selasa 13 Oktober 2026, 2 JP (07.00-08.30)
Penyusun: Erni Wardhani, NIP 198003102005012007

Tujuan pembelajaran
Peserta didik dapat menjelaskan cara kerja satelit komunikasi dan orbitnya, dan
membedakan jaringan satelit dari jaringan kabel serat optik.

Pertanyaan pemantik
Bagaimana sinyal internet sampai ke sekolah di daerah yang tidak dilalui kabel?

Kegiatan pendahuluan (10 menit)
Salam, doa, presensi. Apersepsi: foto peluncuran roket pembawa satelit ditampilkan di layar.

Kegiatan inti (65 menit)
1. Guru menjelaskan orbit rendah, menengah dan geostasioner, dengan contoh satelit.
2. Diskusi kelompok: kelebihan dan kekurangan internet satelit untuk sekolah di Jawa Barat.
3. Setiap kelompok mempresentasikan hasil diskusi; kelompok lain memberi umpan balik.

Penutup (15 menit)
Refleksi, kuis singkat lima soal, dan tugas membaca materi pertemuan berikutnya.

Asesmen
Formatif: lembar kerja kelompok dan kuis. Rubrik penilaian presentasi terlampir.""",
]


def make(directory: Path = HERE) -> list[Path]:
    """Write every sample photo and the PDF into ``directory``; returns their paths."""
    for old in (*directory.glob("*.jpg"), *directory.glob("*.pdf")):
        old.unlink()
    photos = PhotoFactory(directory)
    made = [
        photos(
            name,
            image=picture(source, size),
            quality=85,
            captured=captured,
            offset="+07:00",
            gps=gps,
            # the fix a second before the shot, in UTC as GPS keeps time
            gps_time_utc=captured - timedelta(hours=7, seconds=1),
            **PHONE,
        )
        for name, source, size, captured, gps in PHOTOS
    ]
    made.append(recycled(made[1], directory / "IMG-20261014-WA0007.jpg"))
    plan = directory / "modul-ajar-2026-10-13.pdf"
    build_pdf(
        LESSON_PLAN,
        info={
            "/Title": "Modul Ajar X TKJ 1: satelit komunikasi",
            "/Author": "Erni Wardhani",
            "/Creator": "Writer",
            "/Producer": "LibreOffice 7.4",
            # written the evening before the lesson, as lesson plans are
            "/CreationDate": "D:20261012201500+07'00'",
            "/ModDate": "D:20261012203100+07'00'",
        },
    ).save(plan, deterministic_id=True)
    made.append(plan)
    return made


def picture(name: str, size: tuple[int, int]) -> Image.Image:
    """The scikit-image photograph ``name`` at ``size``, without the comment a JPEG one carries."""
    image = sample(name, size)
    image.info.clear()
    return image


def recycled(original: Path, path: Path) -> Path:
    """The photo as it comes back from WhatsApp: smaller, recompressed, metadata gone."""
    with Image.open(original) as image:
        smaller = image.convert("RGB").resize((480, 320), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=70)
    path.write_bytes(out.getvalue())
    return path


if __name__ == "__main__":
    for made in make():
        print(f"{made.relative_to(HERE.parent)}: {made.stat().st_size:,} bytes")

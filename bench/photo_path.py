"""Worker CPU per photo, as a ratio to the libjpeg-turbo full decode of the same file, one core.

Run ``.venv/bin/python -m bench.photo_path [--runs 15] [--photos 8] [--heic 2]`` from the
repository root. Writes the tables to ``bench/results/photo_path.md`` and prints them.

The photos: real photographs among the desktop wallpapers installed under /usr/share (MATE
and KDE Plasma; scikit-image's sample photos when none are installed), centre-cropped to 4:3,
scaled to 4000x3000 (12 MP, the most common phone sensor) and saved as JPEG q92 with a phone's
EXIF (time, offset, GPS, device, thumbnail). Gaussian grain is added, as much as it takes
(sigma 2 and up) for the file to weigh 3-5 MB as a phone's photo does: an upscale's smoothness
would flatter every decoder. HEIC copies are encoded from the same pixels with pillow-heif
(x265), as iPhones save by default.

Measured per photo, in turns, median over ``--runs``: CPU time (``time.process_time``, all
threads, the process pinned to one CPU) of

- the anchor: simplejpeg's (libjpeg-turbo's) full decode of the file's bytes to RGB; for a
  HEIC, pillow-heif's decode of the file;
- :func:`workers.photo.process_photo`, everything the job does to a photo's pixels: open, check
  the type and the size, read the facts, decode once, write the rendition and the thumbnail,
  SHA-256, perceptual hashes and the EXIF thumbnail comparison;
- a naive Pillow path for reference: full decode, ``exif_transpose``, Lanczos to 2048, save q80.

The figure is the ratio of process_photo to the anchor on the same file in the same run, so
the machine's speed and load cancel out. Quality: rendition bytes / original bytes, and SSIM on
the luma (Y) channel against a Lanczos downscale of the fully decoded, upright original.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pillow_heif
import simplejpeg
import skimage
from PIL import Image, ImageOps, features
from PIL import __version__ as pillow_version
from skimage.metrics import structural_similarity

from tests.fixtures.photos import GpsFix, build_exif, exif_with_thumbnail
from workers.photo import process_photo

ROOT = Path(__file__).resolve().parent
OUT_DIR = ROOT / "out" / "photo_path"
RESULTS = ROOT / "results" / "photo_path.md"
MAX_PIXELS = 120_000_000
MAX_SIDE_PX = 2048
QUALITY = 80
SIZE = (4000, 3000)
MIN_BYTES, MAX_BYTES = 3_000_000, 5_000_000

# Photographs (not illustrations) among the installed wallpapers; each Plasma directory holds
# one picture at many sizes, so only its largest file is taken.
WALLPAPERS = (
    "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg",
    "/usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
    "/usr/share/wallpapers/EveningGlow/contents/images",
    "/usr/share/wallpapers/Path/contents/images",
    "/usr/share/wallpapers/OneStandsOut/contents/images",
    "/usr/share/wallpapers/ColorfulCups/contents/images",
    "/usr/share/wallpapers/FallenLeaf/contents/images",
    "/usr/share/backgrounds/mate/nature/LadyBird.jpg",
)
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")

JPEG_TARGET = 1.3  # worker CPU per photo / its libjpeg-turbo full decode (issue 8)
HEIC_TARGET = 1.2  # the same against its pillow-heif decode


@dataclass
class Timing:
    """CPU milliseconds of repeated runs of one method on one photo."""

    cpu_ms: list[float] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)


def measure_in_turns(calls: dict[str, Callable[[], object]], runs: int) -> dict[str, Timing]:
    """Each call once to warm caches, then ``runs`` rounds of all of them in turn, timed."""
    for call in calls.values():
        call()
    timings = {name: Timing() for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            cpu = time.process_time()
            call()
            timings[name].cpu_ms.append((time.process_time() - cpu) * 1000)
    return timings


# --- the photos -------------------------------------------------------------------------------


def find_sources() -> list[Path]:
    """The installed photographic wallpapers (largest file per picture), else scikit-image's."""
    found = []
    for entry in map(Path, WALLPAPERS):
        if entry.is_dir():
            files = sorted(entry.glob("*.jpg"), key=_pixels, reverse=True)
            if files:
                found.append(files[0])
        elif entry.exists():
            found.append(entry)
    if found:
        return found
    samples = Path(skimage.__file__).parent / "data"
    return [samples / name for name in SKIMAGE_PHOTOS]


def _pixels(path: Path) -> int:
    with Image.open(path) as image:
        return image.width * image.height


def camera_like(source: Path, index: int, size: tuple[int, int] = SIZE, tag: str = "") -> Path:
    """A JPEG q92 of ``size`` with a phone's EXIF, 3-5 MB a 12 MP, made from ``source`` (cached)."""
    # Plasma names its files by the screen they suit, not their size: name by the picture.
    name = source.parts[-4] if source.parent.name == "images" else source.stem
    out = OUT_DIR / f"photo{index}-{name}{tag}.jpg"
    if out.exists():
        return out
    with Image.open(source) as opened:
        image = opened.convert("RGB")
    width = min(image.width, image.height * 4 // 3)
    height = width * 3 // 4
    left, top = (image.width - width) // 2, (image.height - height) // 2
    image = image.crop((left, top, left + width, top + height)).resize(
        size, Image.Resampling.LANCZOS
    )
    exif = build_exif(
        captured=datetime(2024, 3, 5, 7, 12, 33),
        subsec="120",
        offset="+07:00",
        gps=GpsFix(-6.914744, 107.609810, accuracy_m=4.7, altitude_m=768.2),
        gps_time_utc=datetime(2024, 3, 5, 0, 12, 30),
        make="samsung",
        model="SM-A546E",
        software="A546EXXU4BWK1",
        modified=datetime(2024, 3, 5, 7, 12, 33),
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    pixels = np.asarray(image, dtype=np.float32)
    min_bytes = MIN_BYTES * size[0] * size[1] // (SIZE[0] * SIZE[1])
    for sigma in np.arange(2.0, 16.0, 1.5):
        grain = np.random.default_rng(index).standard_normal(pixels.shape, np.float32) * sigma
        grainy = Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))
        grainy.save(out, "JPEG", quality=92, exif=exif_with_thumbnail(exif, grainy))
        if out.stat().st_size >= min_bytes:
            break
    return out


def heic_of(jpeg: bytes) -> bytes:
    """The same photo as HEIC, as an iPhone would store it (x265 takes seconds to ~15 s)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        out = io.BytesIO()
        image.save(out, "HEIF", quality=60, exif=image.info["exif"])
    return out.getvalue()


def heic_copy(jpeg: Path) -> Path:
    """:func:`heic_of` a JPEG file, cached beside it."""
    out = jpeg.with_suffix(".heic")
    if not out.exists():
        out.write_bytes(heic_of(jpeg.read_bytes()))
    return out


# --- the methods ------------------------------------------------------------------------------


def bukti(path: Path, out: Path) -> Callable[[], object]:
    return lambda: process_photo(
        path,
        out,
        max_pixels=MAX_PIXELS,
        max_side_px=MAX_SIDE_PX,
        quality=QUALITY,
        thumbnail_path=out.with_name(f"{out.stem}.thumbnail.jpg"),
    )


def jpeg_anchor(path: Path) -> Callable[[], object]:
    return lambda: simplejpeg.decode_jpeg(path.read_bytes())


def heic_anchor(path: Path) -> Callable[[], object]:
    return lambda: pillow_heif.open_heif(path).data


def naive_pillow(path: Path, out: Path) -> Callable[[], object]:
    def run() -> None:
        with Image.open(path) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
        ratio = MAX_SIDE_PX / max(upright.size)
        target = (round(upright.width * ratio), round(upright.height * ratio))
        upright.resize(target, Image.Resampling.LANCZOS).save(out, "JPEG", quality=QUALITY)

    return run


# --- quality ----------------------------------------------------------------------------------


def ssim_y(original: Path, rendition: Path) -> float:
    """SSIM of the rendition's luma against a Lanczos downscale of the upright original."""
    with Image.open(rendition) as opened:
        small = opened.convert("RGB")
    with Image.open(original) as image:
        reference = ImageOps.exif_transpose(image.convert("RGB"))
    reference = reference.resize(small.size, Image.Resampling.LANCZOS)
    ours, theirs = (
        np.asarray(i.convert("YCbCr").getchannel("Y"), float) for i in (small, reference)
    )
    return float(structural_similarity(ours, theirs, data_range=255))  # type: ignore[no-untyped-call]


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One photo: the anchor's and Bukti's CPU, and the rendition's size and quality."""

    photo: Path
    anchor_ms: float
    bukti_ms: float
    naive_ms: float
    rendition: tuple[int, int]
    stored_ratio: float
    ssim: float

    @property
    def ratio(self) -> float:
        return self.bukti_ms / self.anchor_ms


def bench_photo(path: Path, anchor: Callable[[Path], Callable[[], object]], runs: int) -> Row:
    out = OUT_DIR / f"{path.stem}.{path.suffix[1:]}.rendition.jpg"
    naive_out = OUT_DIR / f"{path.stem}.{path.suffix[1:]}.naive.jpg"
    timings = measure_in_turns(
        {
            "anchor": anchor(path),
            "bukti": bukti(path, out),
            "naive": naive_pillow(path, naive_out),
        },
        runs,
    )
    with Image.open(out) as image:
        size = image.size
    row = Row(
        path,
        timings["anchor"].cpu,
        timings["bukti"].cpu,
        timings["naive"].cpu,
        size,
        out.stat().st_size / path.stat().st_size,
        ssim_y(path, out),
    )
    print(
        f"  {path.name}: anchor {row.anchor_ms:.1f} ms, process_photo {row.bukti_ms:.1f} ms "
        f"({row.ratio:.2f}x), naive Pillow {row.naive_ms:.1f} ms",
        file=sys.stderr,
    )
    return row


def summary(rows: list[Row], kind: str, anchor: str, target: float) -> list[str]:
    if not rows:
        return []
    ratios = [row.ratio for row in rows]
    worst = max(rows, key=lambda row: row.ratio)
    # the issue's measure: all the CPU spent on the photos over all their decodes' CPU
    overall = sum(row.bukti_ms for row in rows) / sum(row.anchor_ms for row in rows)
    verdict = "met" if overall <= target else "MISSED"
    return [
        f"- **{kind}**: process_photo costs **{overall:.2f}x** the {anchor} of the same "
        f"files, all photos' CPU over all decodes' (target <= {target}x: {verdict}); per photo "
        f"{statistics.median(ratios):.2f}x median, worst {worst.ratio:.2f}x "
        f"({worst.photo.name}). Rendition {_median_share(rows):.1%} of the original's bytes, "
        f"SSIM-Y {statistics.median(row.ssim for row in rows):.4f} (medians). In milliseconds: "
        f"{statistics.median(row.bukti_ms for row in rows):.1f} against "
        f"{statistics.median(row.anchor_ms for row in rows):.1f}; naive Pillow "
        f"{statistics.median(row.naive_ms for row in rows):.1f}.",
    ]


def _median_share(rows: list[Row]) -> float:
    return statistics.median(row.stored_ratio for row in rows)


def per_photo(rows: list[Row], anchor: str) -> list[str]:
    lines = [
        f"| photo | MB | {anchor} ms | process_photo ms | ratio | naive Pillow ms "
        "| rendition | stored / original | SSIM-Y |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.photo.name} | {row.photo.stat().st_size / 1e6:.2f} | {row.anchor_ms:.1f} "
            f"| {row.bukti_ms:.1f} | {row.ratio:.2f} | {row.naive_ms:.1f} "
            f"| {row.rendition[0]}x{row.rendition[1]} | {row.stored_ratio:.1%} | {row.ssim:.4f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds per photo")
    parser.add_argument("--photos", type=int, default=8, help="how many pictures to use")
    parser.add_argument("--heic", type=int, default=2, help="how many photos to time as HEIC")
    args = parser.parse_args()

    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})  # one core: the figure a worker process gets

    sources = find_sources()[: args.photos]
    print(f"preparing {len(sources)} photos in {OUT_DIR} ...", file=sys.stderr)
    photos = [camera_like(source, i) for i, source in enumerate(sources)]
    heics = []
    for photo in photos[: args.heic]:
        print(f"encoding {photo.name} as HEIC (cached after the first run) ...", file=sys.stderr)
        heics.append(heic_copy(photo))

    jpeg_rows = [bench_photo(photo, jpeg_anchor, args.runs) for photo in photos]
    heic_rows = [bench_photo(photo, heic_anchor, max(3, args.runs // 3)) for photo in heics]

    sizes = [photo.stat().st_size / 1e6 for photo in photos]
    origin = "installed photographic wallpapers" if "/usr/" in str(sources[0]) else "scikit-image"
    report = [
        "# Photo path benchmark",
        "",
        f"`.venv/bin/python -m bench.photo_path --runs {args.runs} --photos {args.photos} "
        f"--heic {args.heic}` on {datetime.now():%Y-%m-%d}: one core of {_cpu_model()}, "
        f"Python {platform.python_version()}, Pillow {pillow_version} "
        f"(libjpeg-turbo {features.version('libjpeg_turbo')}), simplejpeg "
        f"{simplejpeg.__version__}, pillow-heif {pillow_heif.__version__} "
        f"(libheif {pillow_heif.libheif_version()}).",
        "",
        f"{len(photos)} camera-like 12 MP JPEGs (4000x3000, q92, {min(sizes):.1f}-"
        f"{max(sizes):.1f} MB, phone EXIF with thumbnail) made from the {origin} pictures; "
        f"CPU medians of {args.runs} rounds per photo, methods in turns. `process_photo` is "
        "everything the job does to a photo's pixels (open, checks, facts, one decode, "
        "rendition, SHA-256, perceptual hashes, EXIF thumbnail comparison).",
        "",
        *summary(jpeg_rows, "12 MP JPEG", "simplejpeg (libjpeg-turbo) full decode", JPEG_TARGET),
        *summary(heic_rows, "12 MP HEIC", "pillow-heif decode", HEIC_TARGET),
        "",
        "## JPEG, per photo",
        "",
        *per_photo(jpeg_rows, "simplejpeg"),
        "",
        "## HEIC, per photo",
        "",
        *per_photo(heic_rows, "pillow-heif"),
        "",
    ]
    text = "\n".join(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()

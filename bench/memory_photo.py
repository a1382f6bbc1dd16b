"""Peak memory of a worker process per photo: a 12 MP JPEG, a 50 MP JPEG, a PNG at the limit.

Run ``.venv/bin/python -m bench.memory_photo`` from the repository root. Writes
``bench/results/memory_photo.md`` and prints it.

Each photo goes through :func:`workers.photo.process_photo` in a process of its own that has
first imported the worker's code (``workers.actors``: Dramatiq, SQLAlchemy, boto3, Pillow,
pillow-heif...), so that the figures are a worker's: resident memory (VmRSS) before the photo
and the process's peak (VmHWM) after it. The peak counts the original's pages as the kernel
maps them in (the file is read through mmap; they are clean page cache, dropped first under
pressure). A PNG at the pixel limit is also run decoded whole, as before band decoding, for
comparison in the same run.

The photos are made from the installed wallpapers (as in ``bench/photo_path.py``): the 12 MP
and 50 MP (8160x6120, a 50 MP phone sensor) JPEGs q92 with grain to a phone's bytes per pixel,
the 50 MP one also as HEIC (decoded whole: libheif has no scaled decode), and a 120 MP (12000x10000) RGB PNG: the picture enlarged 5x pixel by pixel, so that the file
stays under the 50 MB upload limit (a photo's own detail at that size would not).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image
from PIL import __version__ as pillow_version

from bench.photo_path import OUT_DIR, camera_like, find_sources, heic_copy

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "memory_photo.md"
REPO = ROOT.parent
MAX_PIXELS = 120_000_000
WORKER_BUDGET_MB = 1024  # two workers in 2 GB

_PROBE = """
import json, sys, time
from pathlib import Path
import workers.actors  # noqa: F401  (a worker's imports)
import workers.photo
import workers.photos.decode

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)

photo, out, mode, max_pixels = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if mode == "whole":
    workers.photos.decode.PNG_BAND_MIN_PIXELS = 10**12
before = status("VmRSS")
cpu = time.process_time()
made = workers.photo.process_photo(photo, out, max_pixels=max_pixels)
print(json.dumps({
    "before_mb": before,
    "peak_mb": status("VmHWM"),
    "cpu_s": time.process_time() - cpu,
    "rendition": [made.rendition.width, made.rendition.height],
}))
"""


@dataclass
class Item:
    label: str
    path: Path
    mode: str  # "bands" (the product) or "whole" (PNGs decoded whole, as before)


@dataclass
class Measured:
    item: Item
    before_mb: float
    peak_mb: float
    cpu_s: float
    rendition: tuple[int, int]

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.before_mb


def enlarged_png(source: Path, size: tuple[int, int] = (12_000, 10_000), scale: int = 5) -> Path:
    """A PNG of ``size``: the picture cropped to fit, each pixel repeated scale x scale (cached)."""
    out = OUT_DIR / f"limit-{size[0]}x{size[1]}.png"
    if out.exists():
        return out
    small = (size[0] // scale, size[1] // scale)
    with Image.open(source) as opened:
        picture = opened.convert("RGB")
    ratio = max(small[0] / picture.width, small[1] / picture.height)
    picture = picture.resize((round(picture.width * ratio), round(picture.height * ratio)))
    left, top = (picture.width - small[0]) // 2, (picture.height - small[1]) // 2
    picture = picture.crop((left, top, left + small[0], top + small[1]))
    print(f"writing {out.name} (a minute) ...", file=sys.stderr)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    picture.resize(size, Image.Resampling.NEAREST).save(out, compress_level=6)
    return out


def run(item: Item) -> Measured:
    out = OUT_DIR / f"memory.{item.path.stem}.{item.mode}.jpg"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(item.path), str(out), item.mode, str(MAX_PIXELS)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    measured = Measured(
        item, data["before_mb"], data["peak_mb"], data["cpu_s"], tuple(data["rendition"])
    )
    print(
        f"  {item.label}: {measured.before_mb:.0f} -> {measured.peak_mb:.0f} MB "
        f"(+{measured.growth_mb:.0f}), {measured.cpu_s:.2f} s CPU",
        file=sys.stderr,
    )
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    sources = find_sources()
    print("preparing the photos in bench/out/photo_path ...", file=sys.stderr)
    twelve = camera_like(sources[0], 0)
    fifty = camera_like(sources[0], 0, size=(8160, 6120), tag="-50mp")
    print("encoding the 50 MP photo as HEIC (3 minutes the first time) ...", file=sys.stderr)
    fifty_heic = heic_copy(fifty)
    png = enlarged_png(sources[1 % len(sources)])
    items = [
        Item(f"12 MP JPEG ({twelve.stat().st_size / 1e6:.1f} MB)", twelve, "bands"),
        Item(f"50 MP JPEG, 8160x6120 ({fifty.stat().st_size / 1e6:.1f} MB)", fifty, "bands"),
        Item(f"50 MP HEIC ({fifty_heic.stat().st_size / 1e6:.1f} MB)", fifty_heic, "bands"),
        Item(f"120 MP PNG, 12000x10000 ({png.stat().st_size / 1e6:.1f} MB)", png, "bands"),
        Item("the same PNG decoded whole (before)", png, "whole"),
    ]
    rows = [run(item) for item in items]
    product = [row for row in rows if row.item.mode == "bands"]
    worst = max(product, key=lambda row: row.peak_mb)
    verdict = "met" if worst.peak_mb <= WORKER_BUDGET_MB else "MISSED"
    lines = [
        "# Worker memory per photo",
        "",
        f"`.venv/bin/python -m bench.memory_photo` on {datetime.now():%Y-%m-%d}, Python "
        f"{sys.version.split()[0]}, Pillow {pillow_version}. Each photo in a fresh process "
        "that has imported the worker's code; VmRSS before, VmHWM after `process_photo`.",
        "",
        f"- Highest peak: **{worst.peak_mb:.0f} MB** ({worst.item.label}); two workers need "
        f"<= {WORKER_BUDGET_MB} MB each to fit in 2 GB: {verdict}.",
        "",
        "| photo | before MB | peak MB | growth MB | CPU s | rendition |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.item.label} | {row.before_mb:.0f} | {row.peak_mb:.0f} "
            f"| {row.growth_mb:.0f} | {row.cpu_s:.2f} | {row.rendition[0]}x{row.rendition[1]} |"
        )
    text = "\n".join([*lines, ""])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

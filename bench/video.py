"""Video rendition: transcode speed on one core, stored/original bytes and quality, per x264 preset.

Makes a phone-like clip first: 1080p30 H.264 High at about 17 Mb/s (what phones record at
1080p) with AAC stereo at 256 kb/s, 20 s of real photographs (Debian's wallpapers: install
mate-backgrounds and plasma-workspace-wallpapers) filmed with a slow zoom, a pan, a hand's
shake and sensor noise, so that it is neither static nor trivially compressible. Then, pinned to
ONE core (sched_setaffinity, inherited by ffmpeg, and ``-threads 1``), transcodes it with
:func:`workers.video.transcode_video` for each preset at CRF 28 to 720p, and measures:

- speed in x realtime: clip duration / CPU time of the ffmpeg and ffprobe processes of one
  transcode_video call (user + system). On a dedicated core that is the wall time; on a shared
  machine (CI, the developers' boxes) the wall time also counts other jobs' turns on the core,
  so it is shown beside it with the load average, but the choice is made on CPU time;
- stored/original bytes;
- SSIM of the rendition against the source scaled to 720p (ffmpeg's ssim filter; VMAF where
  this ffmpeg has libvmaf, which Debian's does not).

Targets (issue #4): >= 2x realtime and <= 10 % of the original's bytes.

    .venv/bin/python -m bench.video [--seconds 20] [--core 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workers.video import DEFAULT_CRF, DEFAULT_PRESET, probe_video, transcode_video

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "video.md"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster")
TARGET_SPEED = 2.0
TARGET_SHARE = 0.10
# Photographs (not drawings) among the wallpapers Debian ships, each scene 4 s.
PHOTOS = (
    "/usr/share/backgrounds/mate/nature/Garden.jpg",
    "/usr/share/wallpapers/Autumn/contents/images/1920x1080.jpg",
    "/usr/share/backgrounds/mate/nature/YellowFlower.jpg",
    "/usr/share/wallpapers/BytheWater/contents/images/1920x1080.jpg",
    "/usr/share/backgrounds/mate/nature/Wood.jpg",
    "/usr/share/wallpapers/Path/contents/images/1920x1080.jpg",
    "/usr/share/backgrounds/mate/nature/Storm.jpg",
)
FPS = 30


@dataclass(frozen=True)
class Row:
    """One preset's measurements."""

    preset: str
    wall_s: float
    cpu_s: float
    size_bytes: int
    ssim: float

    def speed(self, duration_s: float) -> float:
        """Times realtime on one dedicated core (from CPU time)."""
        return duration_s / self.cpu_s


def run(*args: str | Path, timeout_s: float = 900) -> str:
    """Run a command; its standard error (ffmpeg prints its results there)."""
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{args[0]} failed: {result.stderr[-2000:]}")
    return result.stderr


def scene(index: int, photo: str, seconds: float) -> str:
    """Ken Burns over one photo with a hand's shake, at 1080p30."""
    frames = round(seconds * FPS)
    zoom = 1.0 + 0.12 * (index % 2)  # alternate zooming in and out
    step = 0.12 / frames * (1 if index % 2 == 0 else -1)
    return (
        f"[{index}:v]scale=2400:1350:force_original_aspect_ratio=increase,crop=2400:1350,"
        f"zoompan=z='{zoom:.3f}+{step:.6f}*on'"
        # pan across, plus a few pixels of hand shake at two frequencies
        f":x='(iw-iw/zoom)*on/{frames}+6*sin(on*0.9)+3*sin(on*2.3)'"
        f":y='(ih-ih/zoom)/2+5*cos(on*0.7)+2*sin(on*3.1)'"
        f":d=1:s=1920x1080:fps={FPS},setsar=1[s{index}]"
    )


def make_source(path: Path, seconds: float) -> None:
    """The phone-like 1080p30 clip described in the module docstring."""
    photos = [p for p in PHOTOS if Path(p).exists()]
    if len(photos) < 3:
        sys.exit("wallpapers missing: apt-get install mate-backgrounds plasma-workspace-wallpapers")
    count = min(len(photos), max(1, round(seconds / 4)))
    per_scene = seconds / count
    inputs: list[str] = []
    for photo in photos[:count]:
        inputs += ["-loop", "1", "-framerate", str(FPS), "-t", f"{per_scene}", "-i", photo]
    graph = ";".join(scene(i, photo, per_scene) for i, photo in enumerate(photos[:count]))
    graph += ";" + "".join(f"[s{i}]" for i in range(count)) + f"concat=n={count}:v=1:a=0,"
    # Sensor noise, changing every frame: what makes phone footage expensive to compress.
    graph += "noise=alls=6:allf=t,format=yuv420p[v]"
    run(
        "ffmpeg", "-nostdin", "-v", "error", "-y", *inputs,
        "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=48000:duration={seconds}",
        "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.05:duration={seconds}",
        "-filter_complex", f"{graph};[{count}:a][{count + 1}:a]amix=inputs=2,"
        "aformat=channel_layouts=stereo[a]",
        "-map", "[v]", "-map", "[a]",
        "-c:v", "libx264", "-preset", "faster", "-profile:v", "high",
        "-b:v", "17M", "-maxrate", "20M", "-bufsize", "20M", "-g", str(FPS),
        "-c:a", "aac", "-b:a", "256k", "-movflags", "+faststart", path,
    )  # fmt: skip


def ssim(rendition: Path, source: Path, width: int, height: int) -> float:
    """Mean SSIM (all planes) of the rendition against the source scaled to its size."""
    err = run(
        "ffmpeg", "-nostdin", "-v", "info", "-i", rendition, "-i", source, "-lavfi",
        f"[1:v]scale={width}:{height}:flags=bicubic[ref];[0:v][ref]ssim", "-f", "null", "-",
    )  # fmt: skip
    found = re.search(r"SSIM .* All:([0-9.]+)", err)
    if found is None:
        sys.exit("ffmpeg printed no SSIM")
    return float(found.group(1))


def has_vmaf() -> bool:
    """True when this ffmpeg has the libvmaf filter (vmafmotion alone is not VMAF)."""
    filters = subprocess.run(
        ["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True, check=False
    ).stdout
    return re.search(r"^\s*\S+\s+libvmaf\s", filters, re.MULTILINE) is not None


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def decode_only(source: Path) -> tuple[float, float]:
    """Wall and CPU seconds to decode the source on one thread (the floor under any preset)."""
    cpu = children_cpu_s()
    started = time.perf_counter()
    run("ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", source, "-f", "null", "-")
    return time.perf_counter() - started, children_cpu_s() - cpu


def measure(source: Path, out_dir: Path, preset: str) -> Row:
    out = out_dir / f"{preset}.mp4"
    facts = probe_video(source)
    cpu = children_cpu_s()
    started = time.perf_counter()
    rendition = transcode_video(
        source, out, timeout_s=3600, cpu_seconds=3600, preset=preset, threads=1, facts=facts
    )
    wall = time.perf_counter() - started
    cpu = children_cpu_s() - cpu
    return Row(
        preset,
        wall,
        cpu,
        rendition.size_bytes,
        ssim(out, source, rendition.width, rendition.height),
    )


def choose(rows: list[Row], duration_s: float, original: int) -> Row:
    """The slowest (best-compressing) preset meeting both targets, else the fastest one."""
    meeting = [
        r
        for r in rows
        if r.speed(duration_s) >= TARGET_SPEED and r.size_bytes / original <= TARGET_SHARE
    ]
    if meeting:
        return min(meeting, key=lambda r: r.speed(duration_s))
    return max(rows, key=lambda r: r.speed(duration_s))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(
    rows: list[Row], source: Path, duration_s: float, decode: tuple[float, float], core: int
) -> str:
    original = source.stat().st_size
    facts = probe_video(source)
    bitrate = original * 8 / duration_s / 1e6
    chosen = choose(rows, duration_s, original)
    version = subprocess.run(
        ["ffmpeg", "-version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    lines = [
        "# Video rendition benchmark",
        "",
        "`.venv/bin/python -m bench.video` "
        f"({time.strftime('%Y-%m-%d')}, {cpu_model()}, pinned to core {core}, "
        f"{version.split(' Copyright')[0].strip()})",
        "",
        f"Source: {duration_s:.1f} s of {facts.width}x{facts.height} "
        f"@ {facts.frame_rate:g} fps H.264 High + AAC stereo 256 kb/s, {bitrate:.1f} Mb/s, "
        f"{original / 1e6:.1f} MB: real photographs with zoom, pan, hand shake and sensor noise.",
        f"Rendition: `transcode_video` at CRF {DEFAULT_CRF}, long side 1280 (720p here), "
        f"AAC 96 kb/s, one thread on one core. Decoding alone takes {decode[1]:.1f} CPU s "
        f"({duration_s / decode[1]:.1f}x realtime). Load average at the end: "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
        "",
        "| preset | CPU s | x realtime (CPU) | wall s | x realtime (wall) | rendition MB "
        "| stored/original | SSIM (720p) | targets (>= 2x, <= 10 %) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        share = r.size_bytes / original
        ok = r.speed(duration_s) >= TARGET_SPEED and share <= TARGET_SHARE
        mark = " (chosen)" if r is chosen else ""
        lines.append(
            f"| {r.preset}{mark} | {r.cpu_s:.1f} | {r.speed(duration_s):.2f} | {r.wall_s:.1f} "
            f"| {duration_s / r.wall_s:.2f} | {r.size_bytes / 1e6:.2f} | {share:.1%} "
            f"| {r.ssim:.4f} | {'met' if ok else 'missed'} |"
        )
    vmaf = "available but not run" if has_vmaf() else "not in this ffmpeg build (no libvmaf)"
    lines += [
        "",
        f"VMAF: {vmaf}. SSIM compares with the source scaled to 720p by bicubic.",
        f"Chosen: **{chosen.preset}** (the slowest preset meeting both targets, else the "
        f"fastest); module default `workers.video.DEFAULT_PRESET = {DEFAULT_PRESET!r}`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the source clip")
    parser.add_argument("--core", type=int, default=0, help="the one CPU core to run on")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the source clip here")
    parser.add_argument("--presets", default=",".join(PRESETS))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bukti-bench-video-"))
    source_dir = args.keep or work
    source_dir.mkdir(parents=True, exist_ok=True)
    source = source_dir / f"phone-1080p30-{args.seconds:g}s.mp4"
    if not source.exists():
        print(f"making the {args.seconds:g} s 1080p30 source clip (all cores)...", flush=True)
        make_source(source, args.seconds)
    duration_s = probe_video(source).duration_s or args.seconds

    # From here on one core only: ffmpeg inherits the affinity.
    os.sched_setaffinity(0, {args.core})
    decode = decode_only(source)
    rows = []
    for preset in args.presets.split(","):
        print(f"transcoding with {preset}...", flush=True)
        rows.append(measure(source, work, preset))
    text = report(rows, source, duration_s, decode, args.core)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

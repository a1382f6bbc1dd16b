"""Videos: probe, transcode to a compact H.264 rendition, poster frame and frame hashes.

Every step runs ffprobe or ffmpeg in a subprocess, fenced in the same way (:func:`_run`, over :func:`workers.programs.run_program`):

* the demuxer is forced to the container sniffed from the bytes (``-f mov`` or
  ``-f matroska``) and ``-format_whitelist`` allows only those two. This is what stops an HLS
  playlist disguised as an MP4: ``-protocol_whitelist file`` alone does *not*, since the HLS
  demuxer reads its segments with the whitelisted ``file`` protocol (tests/integration shows
  a playlist naming a local ``.ts`` file read through that whitelist);
* ``-protocol_whitelist file`` and ``file:`` URLs, so no input can reach the network or other
  protocols (``concat:``, ``subfile:``, ``http:``), and a name with a colon is not a protocol;
* ``-nostdin``, a wall-clock timeout that kills the whole process group, a CPU-time limit
  (RLIMIT_CPU) and a bounded number of threads;
* a launcher that has the kernel kill the program when the worker dies (:mod:`workers.tether`).

Inputs are files on disk, never pipes; outputs are files or ``pipe:1`` (frame hashes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ffmpeg
import numpy as np
from PIL import Image

from bukti.errors import RejectedError
from evidence.facts import Sourced
from evidence.sniff import HEAD_BYTES, Sniffed, sniff
from evidence.status import Kind
from evidence.video_duplicates import FrameHash, VideoHashes
from evidence.video_facts import (
    VideoFacts,
    parse_creation_time,
    parse_iso6709,
    parse_local_creation_time,
)
from workers.phash import perceptual_hashes
from workers.programs import ProgramRun, run_program

RENDITION_MIME = "video/mp4"
DEFAULT_PRESET = "superfast"
"""x264 preset of the rendition, chosen with :data:`DEFAULT_CRF` by ``python -m bench.video``
(bench/results/video.md) on three phone-like 1080p30 clips (H.264 handheld and tripod, HEVC
handheld), beside ``veryfast`` CRF 28 in the same run: ``superfast`` CRF 30 keeps 2.4-4.9 % of
the bytes at SSIM 0.956-0.960 for 0.84-0.89 of veryfast's CPU time. The old ``ultrafast``
CRF 28 kept 9.7-16.8 % (no CABAC, no B-frames) for 0.69-0.78 of it."""
DEFAULT_CRF = 30
AUDIO_BITRATE = "96k"
MAX_SIDE_PX = 1280
# Phones record at 60 fps on request; a reviewer needs no more than 30, and half the frames is
# half the encoding time.
MAX_FPS = 30.0
# 8K UHD is the largest phones record; more is a decompression bomb, not evidence.
MAX_PIXELS = 7680 * 4320

# The sniffed media type decides the demuxer; no other demuxer may open the file.
_DEMUXERS = {
    "video/mp4": "mov",
    "video/x-m4v": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "video/3gpp2": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
}
_FORMAT_WHITELIST = "mov,matroska"
_PROTOCOL_WHITELIST = "file"
_MAX_PROBE_OUTPUT_BYTES = 4 * 1024 * 1024

# What the demuxers say about a file that stops short (printed at -v error).
_TRUNCATION_MARKERS = ("moov atom not found", "partial file", "file ended prematurely")
# A phone's own file decodes without one error; a damaged one fails packet after packet. A few
# are tolerated: some encoders start on a frame that refers to a missing one.
_MAX_DECODE_ERRORS = 5
# Where the rendition may simply be the original: what every browser plays.
_WEB_CONTAINERS = {"mp4", "m4v", "mov"}
_WEB_AUDIO = {None, "aac", "mp3"}

_HASH_FRAME_SIDE_PX = 64
_HASH_FRAME_BYTES = _HASH_FRAME_SIDE_PX * _HASH_FRAME_SIDE_PX
# Below this standard deviation (of 255 grey levels) a frame is flat: black, white, a fade.
_FLAT_FRAME_STD = 4.0


@dataclass(frozen=True)
class VideoRendition:
    """The compact MP4 written for a video, or the original kept when it is smaller and plays
    in browsers (``reused_original``: nothing was written to the rendition path)."""

    width: int
    height: int
    duration_s: float | None
    size_bytes: int
    original_bytes: int
    mime: str = RENDITION_MIME
    reused_original: bool = False
    preset: str = DEFAULT_PRESET
    crf: int = DEFAULT_CRF


@dataclass(frozen=True)
class PosterFrame:
    """The JPEG shown to reviewers before they play a video."""

    width: int
    height: int
    size_bytes: int
    at_s: float


# --- probing ----------------------------------------------------------------------------------


def probe_video(path: Path, timeout_s: float = 30.0, *, cpu_seconds: float = 10.0) -> VideoFacts:
    """The technical and capture facts of a video; RejectedError when it is no complete video."""
    sniffed = _sniff_video(path)
    size_bytes = path.stat().st_size
    _check_complete(path, sniffed, size_bytes)
    run = _run(
        [
            "ffprobe",
            "-hide_banner",
            "-v",
            "error",
            *_input_guard(sniffed),
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            _file_url(path),
        ],
        timeout_s=timeout_s,
        cpu_seconds=cpu_seconds,
        max_stdout_bytes=_MAX_PROBE_OUTPUT_BYTES,
    )
    if run.returncode != 0:
        raise _unreadable(run.tail, sniffed)
    try:
        data = json.loads(run.stdout)
    except ValueError:
        raise RejectedError("not a readable video: ffprobe could not describe it") from None
    return _facts_from_probe(data, sniffed, size_bytes)


def _sniff_video(path: Path) -> Sniffed:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    sniffed = sniff(head)
    if sniffed is None:
        raise RejectedError(
            "not a video: its bytes match no format Bukti accepts (MP4, MOV, 3GP, WebM)"
        )
    if sniffed.kind != Kind.VIDEO:
        raise RejectedError(f"not a video: its bytes are a {sniffed.kind} ({sniffed.mime})")
    return sniffed


def _input_guard(sniffed: Sniffed) -> list[str]:
    """Input options that pin the demuxer and the protocols (see the module docstring)."""
    return [
        "-protocol_whitelist",
        _PROTOCOL_WHITELIST,
        "-format_whitelist",
        _FORMAT_WHITELIST,
        "-f",
        _DEMUXERS[sniffed.mime],
    ]


def _input_options(sniffed: Sniffed) -> dict[str, str]:
    """:func:`_input_guard` as ffmpeg-python keyword arguments."""
    return {
        "protocol_whitelist": _PROTOCOL_WHITELIST,
        "format_whitelist": _FORMAT_WHITELIST,
        "f": _DEMUXERS[sniffed.mime],
    }


def _file_url(path: Path) -> str:
    # "file:" keeps a name such as "concat:x.mp4" or "-y.mp4" from being read as a protocol
    # or an option.
    return f"file:{path.resolve()}"


def _check_complete(path: Path, sniffed: Sniffed, size_bytes: int) -> None:
    """Refuse a file whose container says it is longer than it is (an upload cut short).

    Demuxers read such a file without complaint up to the cut, and with the index at the front
    (``+faststart``) ffprobe even reports the full duration.
    """
    with path.open("rb") as f:
        if _DEMUXERS[sniffed.mime] == "mov":
            complete = _bmff_is_complete(f, size_bytes)
        else:
            complete = _matroska_is_complete(f, size_bytes)
    if complete is False:
        raise RejectedError(
            f"truncated: the {sniffed.extension.upper()} file ends before its data does "
            "(the recording or the upload was cut short)"
        )


def _bmff_is_complete(f: IO[bytes], size_bytes: int) -> bool | None:
    """Whether the top-level boxes of an MP4/MOV/3GP file tile it to its end."""
    pos = 0
    while pos + 8 <= size_bytes:
        f.seek(pos)
        header = f.read(16)
        box_size = int.from_bytes(header[:4], "big")
        if box_size == 0:  # the last box runs to the end of the file
            return True
        if box_size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return False
            box_size = int.from_bytes(header[8:16], "big")
        if box_size < 8 or not header[4:8].isascii():
            return None
        pos += box_size
    # A few stray bytes after the last box are harmless; a box running past the end is not.
    return pos <= size_bytes


def _matroska_is_complete(f: IO[bytes], size_bytes: int) -> bool | None:
    """Whether a WebM/Matroska Segment of known size fits in the file (None: size unknown)."""
    header = f.read(64)
    pos = 4  # after the EBML header's ID
    ebml_size, length = _ebml_vint(header, pos)
    if ebml_size is None:
        return None
    pos += length + ebml_size
    f.seek(pos)
    segment = f.read(12)
    if segment[:4] != b"\x18\x53\x80\x67":
        return None
    segment_size, length = _ebml_vint(segment, 4)
    if segment_size is None:
        return None  # "unknown" size: live recorders (browsers' MediaRecorder) write this
    return pos + 4 + length + segment_size <= size_bytes


def _ebml_vint(data: bytes, pos: int) -> tuple[int | None, int]:
    """An EBML variable-length size at ``pos`` and its length; None for "unknown"."""
    if pos >= len(data) or data[pos] == 0:
        return None, 1
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return None, length
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), length


def _unreadable(stderr: str, sniffed: Sniffed) -> RejectedError:
    """The reason for ffprobe's or ffmpeg's refusal, in words a teacher can act on."""
    text = stderr.lower()
    name = sniffed.extension.upper()
    if any(marker in text for marker in _TRUNCATION_MARKERS):
        return RejectedError(
            f"truncated: the {name} file ends before its data does "
            "(the recording or the upload was cut short)"
        )
    if "not on whitelist" in text:
        return RejectedError(f"unsafe: the {name} file refers to other files or locations")
    last = _last_line(stderr) or "no details"
    return RejectedError(f"not a readable video: the {name} data is corrupt ({last})")


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _facts_from_probe(data: dict[str, Any], sniffed: Sniffed, size_bytes: int) -> VideoFacts:
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            # Cover art in an audio file is a one-picture "video" stream.
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    if not streams:
        raise RejectedError(
            f"not a readable video: no stream of the {sniffed.extension.upper()} file could be "
            "read (its index is corrupt)"
        )
    if video is None:
        raise RejectedError("no video stream: the file holds no moving picture (audio only?)")
    width, height = _int(video.get("width")), _int(video.get("height"))
    if not width or not height or width <= 0 or height <= 0:
        raise RejectedError("not a readable video: its video stream has no picture size")
    if width * height > MAX_PIXELS:
        raise RejectedError(
            f"too large: {width}x{height} is more than the 8K a phone records "
            "(refused as a possible decompression bomb)"
        )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format") or {}
    tags = _lower_keys(fmt.get("tags"))
    video_tags = _lower_keys(video.get("tags"))
    return VideoFacts(
        container=sniffed.extension,
        video_codec=str(video.get("codec_name") or "unknown"),
        duration_s=_duration(fmt, video),
        size_bytes=size_bytes,
        width=width,
        height=height,
        rotation_deg=_rotation(video, video_tags),
        frame_rate=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        pixel_format=video.get("pix_fmt"),
        bit_rate=_int(fmt.get("bit_rate")),
        audio_codec=None if audio is None else str(audio.get("codec_name") or "unknown"),
        audio_channels=None if audio is None else _int(audio.get("channels")),
        creation_time_utc=_creation_time(tags, video_tags),
        local_creation_time=_local_creation_time(tags),
        location=_location(tags, _DEMUXERS[sniffed.mime]),
        make=_first_tag(tags, "com.apple.quicktime.make", "com.android.manufacturer", "make"),
        model=_first_tag(tags, "com.apple.quicktime.model", "com.android.model", "model"),
        software=_first_tag(tags, "com.apple.quicktime.software", "com.android.version"),
        encoder=_first_tag(tags, "encoder", "encoding_tool", "writing_application"),
    )


def _lower_keys(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in tags.items()}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rate(value: Any) -> float | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    numerator, denominator = (_float(part) for part in value.split("/", 1))
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _duration(fmt: dict[str, Any], video: dict[str, Any]) -> float | None:
    # Browsers' MediaRecorder writes WebM without a duration: then it is unknown until decoded.
    for value in (fmt.get("duration"), video.get("duration")):
        seconds = _float(value)
        if seconds is not None and seconds > 0:
            return round(seconds, 3)
    return None


def _rotation(video: dict[str, Any], video_tags: dict[str, str]) -> int:
    """Clockwise degrees a player turns the picture: from the display matrix or ``rotate``."""
    for side_data in video.get("side_data_list") or []:
        if isinstance(side_data, dict) and "rotation" in side_data:
            # FFmpeg reports the matrix's counter-clockwise angle: an upright phone is -90.
            ccw = _float(side_data.get("rotation")) or 0.0
            return round(-ccw / 90) * 90 % 360
    tag = _float(video_tags.get("rotate"))  # FFmpeg before 5.0 reported a clockwise tag
    return round(tag / 90) * 90 % 360 if tag is not None else 0


def _creation_time(tags: dict[str, str], video_tags: dict[str, str]) -> Sourced[Any] | None:
    for where, found in (("format", tags), ("video stream", video_tags)):
        text = found.get("creation_time")
        moment = parse_creation_time(text) if text else None
        if moment is not None:
            return Sourced(moment, f"container:creation_time ({where}, UTC)")
    return None


def _local_creation_time(tags: dict[str, str]) -> Sourced[Any] | None:
    text = tags.get("com.apple.quicktime.creationdate")
    moment = parse_local_creation_time(text) if text else None
    return None if moment is None else Sourced(moment, "quicktime:com.apple.quicktime.creationdate")


def _location(tags: dict[str, str], demuxer: str) -> Sourced[Any] | None:
    accuracy = _float(tags.get("com.apple.quicktime.location.accuracy.horizontal"))
    # Android's MediaMuxer writes the ©xyz atom, which FFmpeg names "location".
    plain = "mp4:©xyz" if demuxer == "mov" else "matroska:LOCATION"
    for key, source in (
        ("com.apple.quicktime.location.iso6709", "quicktime:com.apple.quicktime.location.ISO6709"),
        ("location", plain),
        ("location-eng", plain),
    ):
        text = tags.get(key)
        found = (
            parse_iso6709(text, accuracy if key.startswith("com.apple") else None) if text else None
        )
        if found is not None:
            return Sourced(found, source)
    return None


def _first_tag(tags: dict[str, str], *keys: str) -> Sourced[str] | None:
    for key in keys:
        value = tags.get(key, "").strip()
        if value:
            return Sourced(value, f"container:{key}")
    return None


# --- transcoding ------------------------------------------------------------------------------


def transcode_video(
    path: Path,
    out_path: Path,
    *,
    timeout_s: float,
    cpu_seconds: float,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    max_side_px: int = MAX_SIDE_PX,
    threads: int = 1,
    facts: VideoFacts | None = None,
) -> VideoRendition:
    """Write an upright H.264/AAC MP4 (long side ≤ max_side_px, +faststart) to out_path.

    When the original plays in browsers and is no larger, it is kept instead: out_path is
    left absent and the rendition says ``reused_original``. ``facts`` saves a second probe.
    """
    sniffed = _sniff_video(path)
    if facts is None:
        facts = probe_video(path, min(timeout_s, 30.0))
    source = ffmpeg.input(_file_url(path), threads=threads, **_input_options(sniffed))
    video = source["v:0"]
    if facts.frame_rate is not None and facts.frame_rate > MAX_FPS + 0.5:
        video = video.filter("fps", fps=MAX_FPS)
    # ffmpeg turns the picture upright before the filters (autorotate), so the box applies to
    # the display size; min() keeps small videos from being scaled up.
    video = video.filter(
        "scale",
        w=f"min({max_side_px},iw)",
        h=f"min({max_side_px},ih)",
        force_original_aspect_ratio="decrease",
        force_divisible_by=2,
    ).filter("format", "yuv420p")  # 8-bit 4:2:0: what every browser decodes (not 10-bit HDR)
    streams = [video]
    audio_options: dict[str, Any] = {}
    if facts.audio_codec is not None:
        streams.append(source["a:0"])
        audio_options = {"acodec": "aac", "b:a": AUDIO_BITRATE}
        if (facts.audio_channels or 0) > 2:
            audio_options["ac"] = 2
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    command = (
        ffmpeg.output(
            *streams,
            _file_url(partial),
            f="mp4",
            vcodec="libx264",
            preset=preset,
            crf=crf,
            **{"profile:v": "high"},
            movflags="+faststart",
            map_metadata=-1,
            map_chapters=-1,
            threads=threads,
            **audio_options,
        )
        .global_args(*_global_args(threads))
        .compile()
    )
    try:
        run = _run(command, timeout_s=timeout_s, cpu_seconds=cpu_seconds)
        _raise_for_ffmpeg(run, sniffed)
        made = probe_video(partial, 30.0)
        partial.replace(out_path)
    finally:
        partial.unlink(missing_ok=True)
    if made.rotation_deg != 0:  # never expected: autorotate drops the display matrix
        out_path.unlink(missing_ok=True)
        raise RuntimeError(f"the rendition kept a rotation of {made.rotation_deg} degrees")
    if facts.size_bytes <= made.size_bytes and _plays_in_browsers(facts):
        out_path.unlink()
        return VideoRendition(
            width=facts.display_width,
            height=facts.display_height,
            duration_s=facts.duration_s or made.duration_s,
            size_bytes=facts.size_bytes,
            original_bytes=facts.size_bytes,
            reused_original=True,
            preset=preset,
            crf=crf,
        )
    return VideoRendition(
        width=made.width,
        height=made.height,
        duration_s=made.duration_s,
        size_bytes=made.size_bytes,
        original_bytes=facts.size_bytes,
        preset=preset,
        crf=crf,
    )


def _plays_in_browsers(facts: VideoFacts) -> bool:
    return (
        facts.container in _WEB_CONTAINERS
        and facts.video_codec == "h264"
        and facts.pixel_format in ("yuv420p", "yuvj420p")
        and facts.audio_codec in _WEB_AUDIO
    )


def _global_args(threads: int) -> list[str]:
    return [
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "error",
        "-y",
        "-filter_complex_threads",
        str(threads),
        "-filter_threads",
        str(threads),
    ]


def _raise_for_ffmpeg(run: ProgramRun, sniffed: Sniffed) -> None:
    """RejectedError for a file ffmpeg could not read through; OSError for a full disk."""
    if "no space left on device" in run.tail.lower():
        raise OSError(f"no space left on device: {_last_line(run.tail)}")
    if run.returncode != 0:
        raise _unreadable(run.tail, sniffed)
    lowered = run.tail.lower()
    # ffmpeg exits 0 after a cut-short or damaged file, having encoded what it could.
    if any(marker in lowered for marker in _TRUNCATION_MARKERS):
        raise _unreadable(run.tail, sniffed)
    errors = lowered.count("error while decoding")
    if errors >= _MAX_DECODE_ERRORS:
        raise RejectedError(
            f"not a readable video: the {sniffed.extension.upper()} data is corrupt "
            f"({errors} packets could not be decoded)"
        )


# --- the poster frame -------------------------------------------------------------------------


def poster_frame(
    path: Path,
    out_jpeg: Path,
    *,
    timeout_s: float = 30.0,
    cpu_seconds: float = 20.0,
    max_side_px: int = 640,
    facts: VideoFacts | None = None,
) -> PosterFrame:
    """Write an upright JPEG of the frame at 1 s (or mid-way in shorter videos) to out_jpeg."""
    sniffed = _sniff_video(path)
    if facts is None:
        facts = probe_video(path, min(timeout_s, 30.0))
    # The very first frame is often black or blurred while the phone's camera settles.
    at_s = min(1.0, facts.duration_s / 2) if facts.duration_s else 0.0
    out_jpeg.parent.mkdir(parents=True, exist_ok=True)
    for seek_s in dict.fromkeys((at_s, 0.0)):  # a broken index can make the seek miss
        command = (
            ffmpeg.input(_file_url(path), ss=seek_s, threads=1, **_input_options(sniffed))
            .video.filter(
                "scale",
                w=f"min({max_side_px},iw)",
                h=f"min({max_side_px},ih)",
                force_original_aspect_ratio="decrease",
            )
            .output(
                _file_url(out_jpeg),
                f="image2",
                vcodec="mjpeg",
                pix_fmt="yuvj420p",
                update=1,
                **{"frames:v": 1, "q:v": 4},
            )
            .global_args(*_global_args(1))
            .compile()
        )
        run = _run(command, timeout_s=timeout_s, cpu_seconds=cpu_seconds)
        _raise_for_ffmpeg(run, sniffed)
        if out_jpeg.exists() and out_jpeg.stat().st_size > 0:
            with Image.open(out_jpeg) as image:
                width, height = image.size
            return PosterFrame(width, height, out_jpeg.stat().st_size, seek_s)
    raise RejectedError("not a readable video: not one frame could be decoded")


# --- frame hashes -----------------------------------------------------------------------------


def video_hashes(
    path: Path,
    *,
    timeout_s: float,
    cpu_seconds: float,
    samples_per_s: float = 2.0,
    max_duration_s: float = 600.0,
    threads: int = 1,
) -> VideoHashes:
    """Perceptual hashes of upright frames sampled at samples_per_s from the first max_duration_s.

    ffmpeg samples and shrinks the frames to 64x64 grey itself and pipes them raw, so memory
    stays a few kilobytes whatever the video's size. Hashing the rendition rather than the
    original gives the same hashes for a fraction of the decoding time.
    """
    sniffed = _sniff_video(path)
    command = (
        ffmpeg.input(_file_url(path), t=max_duration_s, threads=threads, **_input_options(sniffed))[
            "v:0"
        ]
        .filter("fps", fps=samples_per_s, round="near")
        .filter("scale", _HASH_FRAME_SIDE_PX, _HASH_FRAME_SIDE_PX, flags="area")
        .filter("format", "gray")
        .output("pipe:1", f="rawvideo")
        .global_args(*_global_args(threads))
        .compile()
    )
    frames: list[FrameHash | None] = []
    pending = bytearray()

    def take(chunk: bytes) -> None:
        pending.extend(chunk)
        while len(pending) >= _HASH_FRAME_BYTES:
            frames.append(_frame_hash(bytes(pending[:_HASH_FRAME_BYTES])))
            del pending[:_HASH_FRAME_BYTES]

    run = _run(command, timeout_s=timeout_s, cpu_seconds=cpu_seconds, on_stdout=take)
    _raise_for_ffmpeg(run, sniffed)
    if not frames:
        raise RejectedError("not a readable video: not one frame could be decoded")
    return VideoHashes(samples_per_s=samples_per_s, frames=tuple(frames))


def _frame_hash(gray: bytes) -> FrameHash | None:
    pixels = np.frombuffer(gray, dtype=np.uint8)
    if float(pixels.std()) < _FLAT_FRAME_STD:
        return None
    image = Image.frombytes("L", (_HASH_FRAME_SIDE_PX, _HASH_FRAME_SIDE_PX), gray)
    hashes = perceptual_hashes(image)
    if hashes.is_blank:
        return None
    return FrameHash(phash=hashes.phash, dhash=hashes.dhash)


# --- running ffmpeg and ffprobe ---------------------------------------------------------------


def _run(
    args: Sequence[str],
    *,
    timeout_s: float,
    cpu_seconds: float,
    on_stdout: Callable[[bytes], None] | None = None,
    max_stdout_bytes: int = 0,
) -> ProgramRun:
    """Run ffmpeg/ffprobe fenced in (:func:`workers.programs.run_program`).

    Standard output goes to ``on_stdout`` chunk by chunk, or is collected up to
    ``max_stdout_bytes``. Raises TimeoutError when the deadline passes, and RejectedError when
    the CPU limit does or the output passes its cap (a hostile file).
    """
    run = run_program(
        args,
        timeout_s=timeout_s,
        cpu_seconds=cpu_seconds,
        on_stdout=on_stdout,
        max_stdout_bytes=max_stdout_bytes,
    )
    if run.stdout_overflowed:
        raise RejectedError(
            "unsafe: the file's metadata is unreasonably large "
            f"(over {max_stdout_bytes // (1024 * 1024)} MiB)"
        )
    if run.out_of_cpu:
        raise RejectedError(
            f"too costly to process: decoding used up its {cpu_seconds:g} s of CPU time"
        )
    return run

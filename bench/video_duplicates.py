"""Does the video index find what the video policy calls a copy? Messenger-like copies of clips.

Run ``.venv/bin/python -m bench.video_duplicates [--seconds 20]``. It films the phone-like 1080p
clips of ``bench.video`` (Debian's wallpapers, zoom, pan, hand shake and sensor noise), makes
copies a phone or a messenger makes of them (WhatsApp-like 480p at CRF 30, 360p at CRF 35 and
24 fps, the first 2.5 s cut, brightened, cropped 5 % and rescaled, only the first 8 s), and for
each pair asks the product's own code: does the policy
(``evidence.video_duplicates.near_duplicate_match``) call it a copy, and how many keys do the two
videos' sketches (``storage.signature_index.video_keys``, what a lookup probes and stores)
share? A copy the policy accepts is found through the index when they share at least one.
Writes ``bench/results/video_duplicates.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from bench.e2e_throughput import publish
from bench.video import CLIPS, make_source
from evidence.video_duplicates import VideoHashes, near_duplicate_match
from storage.signature_index import video_keys
from workers.video import video_hashes

RESULTS = Path(__file__).parent / "results" / "video_duplicates.md"

_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-an")
#: (name, ffmpeg output options): copies of a clip as phones and messengers make them
COPIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("WhatsApp-like: 480p, CRF 30", ("-vf", "scale=-2:480", *_X264, "-crf", "30")),
    ("360p, CRF 35, 24 fps", ("-vf", "scale=-2:360,fps=24", *_X264, "-crf", "35")),
    ("first 2.5 s cut", ("-ss", "2.5", *_X264, "-crf", "26")),
    ("brighter, more contrast", ("-vf", "eq=brightness=0.06:contrast=1.1", *_X264, "-crf", "26")),
    ("cropped 5 %, 720p", ("-vf", "crop=iw*0.95:ih*0.95,scale=1280:-2", *_X264, "-crf", "28")),
    ("only the first 8 s", ("-t", "8", *_X264, "-crf", "28")),
)


def hashes(path: Path) -> VideoHashes:
    """The hashes the pipeline takes of a video."""
    return video_hashes(path, timeout_s=600, cpu_seconds=600)


def is_copy(a: VideoHashes, b: VideoHashes) -> bool:
    """The policy's verdict, whichever of the two came first."""
    return near_duplicate_match(a, b) is not None or near_duplicate_match(b, a) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each clip")
    args = parser.parse_args()
    rows = []
    found = accepted = 0
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        originals: dict[str, VideoHashes] = {}
        for clip in CLIPS:
            source = directory / f"{clip.name}.mp4"
            make_source(source, args.seconds, clip)
            original = originals[clip.name] = hashes(source)
            keys = video_keys(original)
            for name, options in COPIES:
                copy_path = directory / "copy.mp4"
                command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source)]
                subprocess.run(
                    [*command, *options, str(copy_path)],
                    check=True,
                    timeout=600,
                )
                copy = hashes(copy_path)
                shared = len(keys & video_keys(copy))
                verdict = is_copy(original, copy)
                accepted += verdict
                found += verdict and shared > 0
                rows.append(
                    f"| {clip.name} | {name} | {'copy' if verdict else 'not a copy'} | {shared} "
                    f"| {'yes' if shared else 'no'} |"
                )
        names = sorted(originals)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                a, b = originals[first], originals[second]
                shared = len(video_keys(a) & video_keys(b))
                verdict = is_copy(a, b)
                rows.append(
                    f"| {first} | another clip: {second} | {'copy' if verdict else 'not a copy'} "
                    f"| {shared} | {'yes' if shared else 'no'} |"
                )
    lines = [
        f"`.venv/bin/python -m bench.video_duplicates --seconds {args.seconds:g}` "
        f"({time.strftime('%Y-%m-%d')}): {len(CLIPS)} phone-like clips of {args.seconds:g} s "
        f"(`bench/video.py`) and {len(COPIES)} copies of each. Copies the policy accepts that "
        f"the index finds: **{found} of {accepted}**. The two handheld clips are the same "
        "footage encoded twice (H.264 and HEVC: a copy, rightly); the tripod clip films the "
        "same wallpapers in the other order, so it shares a few keys with them: a lookup reads "
        "it as a candidate and the policy refuses it.",
        "",
        "| clip | pair | the policy says | sketch keys shared (of 64-128) | found through the index |",
        "|---|---|---|---:|---|",
        *rows,
    ]
    publish(lines, RESULTS)


if __name__ == "__main__":
    main()

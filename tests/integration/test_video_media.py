"""Real ffmpeg on real clips: probing phones' metadata, transcoding, poster frames, frame hashes,
and the files Bukti must refuse (truncated, corrupt, audio-only, an HLS playlist in disguise)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from bukti.errors import RejectedError
from evidence.sniff import MP4
from evidence.video_duplicates import best_alignment, near_duplicate_match
from evidence.video_facts import capture_facts
from storage.signature_index import VIDEO_SKETCH, video_keys
from tests.fixtures.videos import VideoMaker, ffmpeg, ffprobe_json
from workers import video as video_module
from workers.phash import perceptual_hashes
from workers.video import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    poster_frame,
    probe_video,
    transcode_video,
    video_hashes,
)

pytestmark = pytest.mark.integration

MARCH_5_UTC = datetime(2024, 3, 5, 0, 12, 33, tzinfo=UTC)
SLIDES = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")
OTHER_SLIDES = ("motorcycle_left.png", "camera.png", "retina.jpg", "hubble_deep_field.jpg")
LIMITS = {"timeout_s": 60.0, "cpu_seconds": 60.0}
# Phones record at a high bit rate (about 17 Mb/s at 1080p): clips meant to be transcoded are
# made at a low CRF, or the rendition would not be smaller and the original would be kept.
PHONE_CRF = 14


@pytest.fixture(scope="module")
def iphone_portrait(video_maker: VideoMaker) -> Path:
    """An iPhone video held upright: stored landscape, turned 90° on display, Apple's keys."""
    return video_maker(
        "IMG_0042.MOV",
        container="mov",
        size=(360, 640),
        rotation=90,
        creation_time=MARCH_5_UTC,
        apple_creation_date="2024-03-05T07:12:33+0700",
        apple_location="-06.9147+107.6098+768.000/",
        apple_accuracy_m=4.7,
        make="Apple",
        model="iPhone 13",
        crf=PHONE_CRF,
    )


@pytest.fixture(scope="module")
def upright_twin(video_maker: VideoMaker) -> Path:
    """The same scene as :func:`iphone_portrait`, stored upright with no rotation."""
    return video_maker("upright.mp4", size=(360, 640), crf=PHONE_CRF)


@pytest.fixture(scope="module")
def android_clip(video_maker: VideoMaker) -> Path:
    return video_maker(
        "VID_20240305_071233.mp4",
        creation_time=MARCH_5_UTC,
        android_location="-06.9147+107.6098/",
        make="samsung",
        model="SM-A155F",
    )


# --- probing -------------------------------------------------------------------------------


def test_reads_an_iphone_videos_time_zone_place_camera_and_rotation(iphone_portrait: Path) -> None:
    facts = probe_video(iphone_portrait, 30)
    assert (facts.container, facts.video_codec, facts.audio_codec) == ("mov", "h264", "aac")
    assert facts.duration_s == pytest.approx(3.0, abs=0.05)
    assert (facts.width, facts.height, facts.rotation_deg) == (640, 360, 90)
    assert (facts.display_width, facts.display_height) == (360, 640)
    assert facts.size_bytes == iphone_portrait.stat().st_size
    assert facts.creation_time_utc is not None
    assert facts.creation_time_utc.value == MARCH_5_UTC
    assert facts.local_creation_time is not None
    assert facts.local_creation_time.value.isoformat() == "2024-03-05T07:12:33+07:00"
    assert facts.local_creation_time.source == "quicktime:com.apple.quicktime.creationdate"
    assert facts.location is not None
    assert (facts.location.value.lat, facts.location.value.lon) == (-6.9147, 107.6098)
    assert facts.location.value.altitude_m == 768.0
    assert facts.location.value.accuracy_m == 4.7
    assert facts.make is not None and facts.make.value == "Apple"
    assert facts.model is not None and facts.model.value == "iPhone 13"

    photo_shaped = capture_facts(facts)
    assert photo_shaped.captured_local is not None
    assert photo_shaped.captured_local.value == datetime(2024, 3, 5, 7, 12, 33)
    assert photo_shaped.utc_offset_min is not None and photo_shaped.utc_offset_min.value == 420
    assert (photo_shaped.width, photo_shaped.height) == (360, 640)


def test_reads_an_android_videos_utc_time_and_xyz_location(android_clip: Path) -> None:
    facts = probe_video(android_clip, 30)
    assert facts.container == "mp4"
    assert facts.rotation_deg == 0
    assert facts.creation_time_utc is not None and facts.creation_time_utc.value == MARCH_5_UTC
    assert facts.local_creation_time is None
    assert facts.location is not None and facts.location.source == "mp4:©xyz"
    assert (facts.location.value.lat, facts.location.value.lon) == (-6.9147, 107.6098)
    assert facts.make is not None and facts.make.value == "samsung"
    assert facts.model is not None and facts.model.value == "SM-A155F"
    photo_shaped = capture_facts(facts)
    assert photo_shaped.utc_offset_min is not None and photo_shaped.utc_offset_min.value == 0


@pytest.mark.parametrize(
    ("container", "codec", "audio"),
    [("3gp", "h263", "aac"), ("webm", "vp8", "opus")],
)
def test_probes_3gp_and_webm(
    make_video: VideoMaker, container: str, codec: str, audio: str
) -> None:
    path = make_video(container=container, duration_s=2)  # type: ignore[arg-type]
    facts = probe_video(path, 30)
    assert (facts.container, facts.video_codec, facts.audio_codec) == (container, codec, audio)
    assert facts.duration_s == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("placeholder", ["1970-01-01T00:00:00Z", "1904-01-01T00:00:00Z"])
def test_epoch_creation_times_count_as_missing(make_video: VideoMaker, placeholder: str) -> None:
    path = make_video(duration_s=1, audio=False)
    stamped = path.with_name("stamped.mp4")
    ffmpeg("-i", path, "-c", "copy", "-metadata", f"creation_time={placeholder}", stamped)
    facts = probe_video(stamped, 30)
    assert facts.creation_time_utc is None
    assert capture_facts(facts).captured_local is None


def test_a_video_without_metadata_has_no_capture_time(make_video: VideoMaker) -> None:
    facts = probe_video(make_video(duration_s=1), 30)
    assert facts.creation_time_utc is None and facts.local_creation_time is None
    assert facts.location is None and facts.make is None


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "faststart"), [("mov", False), ("mp4", True), ("webm", False)]
)
def test_rejects_a_truncated_upload(
    make_video: VideoMaker, container: str, faststart: bool
) -> None:
    # Phones write the index (moov) last, so a cut MOV has none; with +faststart it is first
    # and ffprobe alone would report the full duration of a file missing its end.
    path = make_video(container=container, duration_s=2, faststart=faststart)  # type: ignore[arg-type]
    cut = make_video.truncated(path, keep=0.6)
    with pytest.raises(RejectedError, match="truncated"):
        probe_video(cut, 30)
    with pytest.raises(RejectedError, match="truncated"):
        transcode_video(cut, cut.with_suffix(".out.mp4"), **LIMITS)


def test_rejects_a_video_with_a_corrupt_index(make_video: VideoMaker) -> None:
    data = bytearray(make_video(duration_s=1, faststart=True).read_bytes())
    moov = data.find(b"moov")
    data[moov + 40 : moov + 400] = b"\xff" * 360  # the track boxes after the movie header
    corrupt = make_video.directory / "corrupt.mp4"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(RejectedError, match="not a readable video: no stream"):
        probe_video(corrupt, 30)


def test_rejects_a_video_whose_pictures_are_damaged(make_video: VideoMaker) -> None:
    # The container is whole, so probing passes; decoding fails packet after packet.
    data = bytearray(make_video(duration_s=2, faststart=True).read_bytes())
    mdat = data.find(b"mdat")
    for at in range(mdat + 2000, len(data) - 100, 997):
        data[at : at + 50] = bytes((at * 7 + i * 13) % 256 for i in range(50))
    damaged = make_video.directory / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    assert probe_video(damaged, 30).duration_s == pytest.approx(2.0, abs=0.1)
    with pytest.raises(RejectedError, match=r"corrupt \(\d+ packets could not be decoded\)"):
        transcode_video(damaged, make_video.directory / "r.mp4", **LIMITS)


def test_rejects_an_mp4_holding_only_sound(make_video: VideoMaker) -> None:
    voice = make_video.directory / "voice-note.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-f", "mp4", voice)
    with pytest.raises(RejectedError, match="no video stream"):
        probe_video(voice, 30)


def test_rejects_what_is_not_a_video_at_all(make_video: VideoMaker) -> None:
    text = make_video.directory / "notes.mp4"
    text.write_text("rapat guru, 5 Maret\n")
    with pytest.raises(RejectedError, match="not a video"):
        probe_video(text, 30)
    photo = make_video.directory / "photo.mp4"
    Image.new("RGB", (32, 32)).save(photo, "JPEG")
    with pytest.raises(RejectedError, match="photo"):
        video_hashes(photo, **LIMITS)


def test_a_file_name_is_never_read_as_a_protocol_or_an_option(android_clip: Path) -> None:
    odd = android_clip.parent / "concat:-y evil.mp4"
    odd.write_bytes(android_clip.read_bytes())
    assert probe_video(odd, 30).container == "mp4"


class FifoWitness:
    """A named pipe that records whether any process opened it for reading.

    A writer thread blocks opening the pipe until a reader appears, then feeds it ``payload``;
    so ``opened`` is set exactly when something tried to read the "secret" file.
    """

    def __init__(self, path: Path, payload: bytes) -> None:
        os.mkfifo(path)
        self.path = path
        self.payload = payload
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.thread.start()

    def _feed(self) -> None:
        with self.path.open("wb") as pipe:  # blocks until a reader opens the pipe
            self.opened.set()
            if self.payload:
                with contextlib.suppress(BrokenPipeError):
                    pipe.write(self.payload)

    def close(self) -> bool:
        """Stop watching; True when something other than this witness opened the pipe."""
        # A reader that came and went has woken the writer thread: give it a moment to say so.
        was_read = self.opened.wait(0.5)
        if not was_read:  # release the writer with a reader of our own
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        self.thread.join(5)
        return was_read


def test_hls_playlist_disguised_as_mp4_cannot_read_local_files(make_video: VideoMaker) -> None:
    secret_payload = make_video.mpegts("secret-source.ts").read_bytes()

    # First the threat is shown real: with only the protocol whitelist, the HLS demuxer reads a
    # local file the playlist names (through the whitelisted "file" protocol).
    naive_secret = FifoWitness(make_video.directory / "naive-secret.ts", secret_payload)
    naive = make_video.hls_playlist("naive.mp4", [f"file://{naive_secret.path}"])
    whitelisted_only = ["ffprobe", "-v", "error", "-protocol_whitelist", "file", "-show_streams"]
    shown = subprocess.run(
        [*whitelisted_only, "-of", "json", naive],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert naive_secret.close()
    assert '"codec_type": "video"' in shown.stdout

    # Then every entry point of Bukti on the same kind of file, naming /etc/passwd too.
    secret = FifoWitness(make_video.directory / "secret.ts", secret_payload)
    attack = make_video.hls_playlist(
        "lesson.mp4",
        [f"file://{secret.path}", "file:///etc/passwd", f"concat:file:///etc/passwd|{secret.path}"],
    )
    out = make_video.directory / "out"
    calls = [
        lambda: probe_video(attack, 10),
        lambda: transcode_video(attack, out / "r.mp4", timeout_s=10, cpu_seconds=10),
        lambda: poster_frame(attack, out / "p.jpg", timeout_s=10),
        lambda: video_hashes(attack, timeout_s=10, cpu_seconds=10),
    ]
    for call in calls:
        with pytest.raises(RejectedError):
            call()
    assert not secret.close()
    assert not (out / "r.mp4").exists() and not (out / "p.jpg").exists()


def test_hls_playlist_is_refused_even_if_sniffing_were_fooled(
    make_video: VideoMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: were a playlist ever taken for an MP4, the forced demuxer and the
    # format whitelist still keep the HLS demuxer from opening it.
    secret = FifoWitness(make_video.directory / "secret.ts", b"")
    attack = make_video.hls_playlist("lesson.mp4", [f"file://{secret.path}"])
    monkeypatch.setattr(video_module, "_sniff_video", lambda path: MP4)
    with pytest.raises(RejectedError, match=r"not a readable video|truncated"):
        video_module.probe_video(attack, 10)
    with pytest.raises(RejectedError):
        video_hashes(attack, timeout_s=10, cpu_seconds=10)
    assert not secret.close()


# --- transcoding ---------------------------------------------------------------------------


def box_order(path: Path) -> list[str]:
    """The top-level box types of an MP4, in file order."""
    data, order, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        order.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return order


def streams_of(path: Path) -> dict[str, dict[str, object]]:
    described = json.loads(ffprobe_json(path))
    return {s["codec_type"]: s for s in described["streams"]}


def test_transcodes_a_large_rotated_video_to_an_upright_compact_rendition(
    make_video: VideoMaker,
) -> None:
    source = make_video(
        "IMG_0043.MOV", container="mov", size=(900, 1600), rotation=90, duration_s=2, crf=PHONE_CRF
    )
    out = make_video.directory / "rendition.mp4"
    rendition = transcode_video(source, out, **LIMITS)
    assert not rendition.reused_original
    assert (rendition.width, rendition.height) == (720, 1280)
    assert rendition.size_bytes == out.stat().st_size < source.stat().st_size
    assert rendition.preset == DEFAULT_PRESET and rendition.crf == DEFAULT_CRF
    assert rendition.duration_s == pytest.approx(2.0, abs=0.1)

    streams = streams_of(out)
    video, audio = streams["video"], streams["audio"]
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert video["profile"] in ("Constrained Baseline", "Main", "High")  # 8-bit: all browsers
    assert (video["width"], video["height"]) == (720, 1280)
    assert "side_data_list" not in video  # no display matrix left: the pixels are upright
    assert "rotate" not in video.get("tags", {})  # type: ignore[operator]
    assert audio["codec_name"] == "aac"
    assert int(str(audio["bit_rate"])) <= 110_000
    assert box_order(out).index("moov") < box_order(out).index("mdat")  # +faststart
    facts = probe_video(out, 30)
    assert facts.rotation_deg == 0 and facts.location is None and facts.make is None


def test_the_rendition_shows_the_picture_the_right_way_up(
    iphone_portrait: Path, upright_twin: Path, tmp_path: Path
) -> None:
    rendition = tmp_path / "r.mp4"
    transcode_video(iphone_portrait, rendition, **LIMITS)
    frame_of_rendition = tmp_path / "r.png"
    frame_of_twin = tmp_path / "t.png"
    ffmpeg("-ss", "1", "-i", rendition, "-frames:v", "1", frame_of_rendition)
    ffmpeg("-ss", "1", "-i", upright_twin, "-frames:v", "1", frame_of_twin)
    with Image.open(frame_of_rendition) as a, Image.open(frame_of_twin) as b:
        assert a.size == b.size == (360, 640)
        distance = (perceptual_hashes(a).phash ^ perceptual_hashes(b).phash).bit_count()
        turned = (perceptual_hashes(a.rotate(90)).phash ^ perceptual_hashes(b).phash).bit_count()
    assert distance <= 6 < turned


def test_high_frame_rates_are_brought_down_to_30(make_video: VideoMaker) -> None:
    source = make_video(fps=60, duration_s=1, crf=PHONE_CRF)
    out = make_video.directory / "r.mp4"
    transcode_video(source, out, **LIMITS)
    assert streams_of(out)["video"]["avg_frame_rate"] == "30/1"


@pytest.mark.parametrize("container", ["3gp", "webm"])
def test_transcodes_3gp_and_webm_to_mp4(make_video: VideoMaker, container: str) -> None:
    source = make_video(container=container, duration_s=2)  # type: ignore[arg-type]
    out = make_video.directory / "r.mp4"
    rendition = transcode_video(source, out, **LIMITS)
    assert not rendition.reused_original
    assert streams_of(out)["video"]["codec_name"] == "h264"
    assert streams_of(out)["audio"]["codec_name"] == "aac"


def test_a_silent_video_gets_a_silent_rendition(make_video: VideoMaker) -> None:
    out = make_video.directory / "r.mp4"
    transcode_video(make_video(duration_s=1, audio=False, crf=PHONE_CRF), out, **LIMITS)
    assert set(streams_of(out)) == {"video"}


def test_keeps_the_original_when_it_is_already_smaller(make_video: VideoMaker) -> None:
    # A messenger's copy: small, low bit rate H.264 that re-encoding would only grow.
    source = make_video(size=(320, 180), duration_s=2, crf=45)
    out = make_video.directory / "r.mp4"
    rendition = transcode_video(source, out, **LIMITS)
    assert rendition.reused_original
    assert rendition.size_bytes == rendition.original_bytes == source.stat().st_size
    assert not out.exists()
    assert not list(make_video.directory.glob("*.partial"))


def test_a_wall_clock_timeout_kills_ffmpeg_and_leaves_nothing(
    make_video: VideoMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_video(size=(1280, 720), duration_s=2, crf=18)
    facts = probe_video(source)
    out = make_video.directory / "r.mp4"
    started_processes: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)  # type: ignore[call-overload]
        started_processes.append(process)
        return process  # type: ignore[no-any-return]

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        transcode_video(source, out, timeout_s=0.5, cpu_seconds=60, preset="veryslow", facts=facts)
    assert time.monotonic() - started < 5
    [process] = started_processes
    assert process.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # the whole group is gone
    assert not out.exists() and not list(make_video.directory.glob("*.partial"))


def test_a_cpu_limit_stops_a_runaway_transcode(make_video: VideoMaker) -> None:
    source = make_video(size=(1280, 720), duration_s=2, crf=18)
    with pytest.raises(RejectedError, match="CPU"):
        transcode_video(
            source,
            make_video.directory / "r.mp4",
            timeout_s=60,
            cpu_seconds=1,
            preset="veryslow",
            facts=probe_video(source),
        )


def test_poster_frame_is_an_upright_small_jpeg(iphone_portrait: Path, tmp_path: Path) -> None:
    poster = poster_frame(iphone_portrait, tmp_path / "poster.jpg")
    assert (poster.width, poster.height) == (360, 640)
    assert poster.at_s == 1.0
    with Image.open(tmp_path / "poster.jpg") as image:
        assert image.format == "JPEG" and image.size == (360, 640)


def test_poster_frame_of_a_short_clip_is_taken_mid_way(make_video: VideoMaker) -> None:
    poster = poster_frame(
        make_video(duration_s=1, size=(1280, 720)), make_video.directory / "p.jpg"
    )
    assert poster.at_s == 0.5
    assert (poster.width, poster.height) == (640, 360)


# --- frame hashes and near duplicates ------------------------------------------------------


@pytest.fixture(scope="module")
def lesson(video_maker: VideoMaker) -> Path:
    """A slideshow-style teaching clip: four photographed scenes, 2 s each."""
    return video_maker("lesson.mp4", photo=SLIDES, duration_s=8)


def hashes(path: Path) -> video_module.VideoHashes:
    return video_hashes(path, **LIMITS)


def test_samples_two_frames_a_second(lesson: Path) -> None:
    sampled = hashes(lesson)
    assert sampled.samples_per_s == 2.0
    assert len(sampled.frames) == 16
    assert sampled.informative_frames == 16


def test_a_reencoded_rescaled_trimmed_copy_is_a_near_duplicate(
    lesson: Path, video_maker: VideoMaker
) -> None:
    original = hashes(lesson)
    for copy in (
        video_maker.reencoded(lesson, scale=0.5, crf=32, fps=25, trim_start_s=1.3, trim_end_s=1.0),
        video_maker.reencoded(lesson, scale=0.3, crf=36, trim_start_s=2.7),
    ):
        match = near_duplicate_match(original, hashes(copy))
        assert match is not None, best_alignment(original, hashes(copy))
        assert match.matching_share >= 0.9


def test_the_rendition_is_a_near_duplicate_of_its_original(
    iphone_portrait: Path, upright_twin: Path, tmp_path: Path
) -> None:
    rendition = tmp_path / "r.mp4"
    transcode_video(iphone_portrait, rendition, **LIMITS)
    assert near_duplicate_match(hashes(iphone_portrait), hashes(rendition)) is not None
    # Rotation is applied before hashing: metadata-rotated and upright files agree.
    assert near_duplicate_match(hashes(iphone_portrait), hashes(upright_twin)) is not None


def test_a_different_clip_is_not_a_near_duplicate(lesson: Path, video_maker: VideoMaker) -> None:
    original = hashes(lesson)
    other = video_maker("other-lesson.mp4", photo=OTHER_SLIDES, duration_s=8)
    reordered = video_maker("reordered.mp4", photo=SLIDES[::-1], duration_s=8)
    assert near_duplicate_match(original, hashes(other)) is None
    assert near_duplicate_match(original, hashes(reordered)) is None


def test_a_copy_shares_sketch_keys_with_its_original_and_another_clip_does_not(
    lesson: Path, video_maker: VideoMaker
) -> None:
    # what the signature index stores and probes of a video (storage/signature_index.py)
    original = video_keys(hashes(lesson))
    assert 48 <= len(original) <= VIDEO_SKETCH  # 16 frames of 4 keys, some alike
    for copy in (
        video_maker.reencoded(lesson, scale=0.5, crf=32, fps=25, trim_start_s=1.3, trim_end_s=1.0),
        video_maker.reencoded(lesson, scale=0.3, crf=36, trim_start_s=2.7),
    ):
        assert original & video_keys(hashes(copy))
    other = video_maker("other-lesson.mp4", photo=OTHER_SLIDES, duration_s=8)
    assert not original & video_keys(hashes(other))


def test_black_frames_are_not_hashed(make_video: VideoMaker) -> None:
    black = make_video.directory / "black.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=black:s=320x180:d=2", "-c:v", "libx264", black)
    sampled = hashes(black)
    assert len(sampled.frames) == 4 and sampled.informative_frames == 0


def test_only_the_first_minutes_are_hashed(lesson: Path) -> None:
    sampled = video_hashes(lesson, max_duration_s=3, **LIMITS)
    assert len(sampled.frames) == 6

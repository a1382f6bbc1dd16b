"""The extraction path end to end: yt-dlp against a video site on 127.0.0.1, never the internet.

YouTube is unreachable here, so the site is served locally and read through yt-dlp's generic
extractor (a page with schema.org VideoObject data and a real MP4); the production settings
(YouTube's extractor only) are checked to refuse that same local URL without a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from yt_dlp.utils import DownloadError

from bukti.errors import DependencyError
from evidence.flags import Code
from evidence.youtube import UNAVAILABLE_REASON, parse_youtube_url, youtube_flags
from tests.fixtures.video_site import LESSON, SLOW, VideoSite, serving
from tests.fixtures.videos import VideoMaker
from workers.youtube import RecordedSource, YtDlpSource, unavailable_reason_of

pytestmark = pytest.mark.integration

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "youtube"


@pytest.fixture
def site(make_video: VideoMaker) -> Iterator[VideoSite]:
    with serving(make_video(duration_s=2, size=(320, 180)).read_bytes()) as server:
        server.pages[LESSON] = {
            "title": "Pembelajaran Pecahan Kelas 7 - Kurikulum Merdeka",
            "uploaded": "2024-03-12T10:05:11+07:00",
            "duration": "PT12M14S",
        }
        yield server


def local_source(site: VideoSite, **options: Any) -> YtDlpSource:
    return YtDlpSource(
        allowed_extractors=("generic",),
        url_template=site.base + "/videos/{video_id}",
        proxy="",  # straight to 127.0.0.1, whatever the environment says
        **options,
    )


def test_extracts_a_videos_metadata_without_downloading_it(
    site: VideoSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "cwd"
    downloads.mkdir()
    monkeypatch.chdir(downloads)  # where yt-dlp would save a download
    video_id = parse_youtube_url(f"https://youtu.be/{LESSON}?si=Q2w3E4r5T6y7U8i9")
    info = local_source(site).extract(video_id)
    assert info["id"] == LESSON
    assert info["title"] == "Pembelajaran Pecahan Kelas 7 - Kurikulum Merdeka"
    assert info["duration"] == 734
    assert info["timestamp"] == datetime(2024, 3, 12, 3, 5, 11, tzinfo=UTC).timestamp()
    assert info["upload_date"] == "20240312"
    assert info["uploader"] == "Bu Siti Rahmawati"
    assert UNAVAILABLE_REASON not in info
    assert "formats" not in info  # only the recorded fields are kept
    json.dumps(info)  # and they are plain JSON
    assert ("GET", f"/videos/{LESSON}") in site.requests
    # The generic extractor looks at the media URL's headers; nothing is saved.
    assert list(downloads.iterdir()) == []


def test_the_extracted_info_goes_through_the_youtube_rules(site: VideoSite) -> None:
    info = local_source(site).extract(LESSON)
    flags = youtube_flags(
        info,
        video_id=LESSON,
        teacher_id=7,
        teacher_channel_id="UCq8XkbJ2Yx7Ttd0V3wQkz1A",
        month="2024-03",
        requirement="learning",
        other_submissions=[],
    )
    # In period, long enough, available; the local site has no YouTube channel id.
    assert [flag.code for flag in flags] == [Code.YOUTUBE_WRONG_CHANNEL]


def test_a_missing_video_is_unavailable_not_an_error(site: VideoSite) -> None:
    info = local_source(site).extract("Rm6vD4dNb1a")
    assert info == {"id": "Rm6vD4dNb1a", UNAVAILABLE_REASON: "not found"}
    flags = youtube_flags(
        info,
        video_id="Rm6vD4dNb1a",
        teacher_id=7,
        teacher_channel_id="UCq8XkbJ2Yx7Ttd0V3wQkz1A",
        month="2024-03",
        requirement="learning",
        other_submissions=[],
    )
    assert [(flag.code, flag.detail) for flag in flags] == [
        (Code.YOUTUBE_UNAVAILABLE, "the video is not found")
    ]


def test_an_unreachable_site_is_a_dependency_error_to_retry(site: VideoSite) -> None:
    source = YtDlpSource(
        allowed_extractors=("generic",),
        url_template="http://127.0.0.1:9/videos/{video_id}",  # the discard port: refused
        proxy="",
        retries=0,
    )
    with pytest.raises(DependencyError, match="unreachable"):
        source.extract(LESSON)


def test_a_site_that_does_not_answer_times_out(site: VideoSite) -> None:
    started = time.monotonic()
    with pytest.raises(DependencyError):
        local_source(site, socket_timeout_s=0.5, retries=1).extract(SLOW)
    assert time.monotonic() - started < 3 * 2  # bounded: (retries + 1) x the timeout, plus slack


def test_production_settings_only_let_youtubes_extractor_run(site: VideoSite) -> None:
    source = YtDlpSource(url_template=site.base + "/videos/{video_id}", proxy="")
    options = source.options(logger=None)
    assert options["allowed_extractors"] == ["youtube"]
    assert options["skip_download"] and options["noplaylist"]
    assert options["ignore_no_formats_error"]
    assert options["socket_timeout"] == 15.0
    assert options["retries"] == options["extractor_retries"] == 2
    assert options["cookiefile"] is None and options["cookiesfrombrowser"] is None
    assert options["cachedir"] is False
    # The same local page that the generic extractor reads is refused without a request.
    with pytest.raises(DependencyError, match=r"No suitable extractor|Unsupported URL"):
        source.extract(LESSON)
    assert site.requests == []


def test_refusals_reported_as_warnings_make_the_video_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With ignore_no_formats_error YouTube's refusal arrives as a warning beside an info dict
    # with no formats; this replays that through the real YoutubeDL logger plumbing.
    def private_video(self: yt_dlp.YoutubeDL, url: str, download: bool = True) -> dict[str, Any]:
        self.report_warning(
            "[youtube] Pv2tE3nQx8r: Private video. Sign in if you've been granted access"
        )
        return {"id": "Pv2tE3nQx8r", "title": "Private video", "formats": []}

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", private_video)
    info = YtDlpSource().extract("Pv2tE3nQx8r")
    assert info[UNAVAILABLE_REASON] == "private"


def test_a_bot_check_is_retried_not_blamed_on_the_teacher(monkeypatch: pytest.MonkeyPatch) -> None:
    def bot_check(self: yt_dlp.YoutubeDL, url: str, download: bool = True) -> dict[str, Any]:
        self.report_warning("[youtube] k3Jd8sL2mQA: Sign in to confirm you\u2019re not a bot")
        return {"id": LESSON, "formats": []}

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", bot_check)
    with pytest.raises(DependencyError, match="not a bot"):
        YtDlpSource().extract(LESSON)


def test_warnings_beside_playable_formats_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fine(self: yt_dlp.YoutubeDL, url: str, download: bool = True) -> dict[str, Any]:
        self.report_warning("[youtube] No supported JavaScript runtime could be found")
        return {"id": LESSON, "duration": 734, "formats": [{"format_id": "18"}]}

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", fine)
    assert YtDlpSource().extract(LESSON) == {"id": LESSON, "duration": 734, "_type": "video"}


def _recorded_errors() -> list[tuple[str, str, str | None]]:
    cases = json.loads((RECORDINGS / "download_errors.json").read_text())
    return [(name, case["message"], case["unavailable_reason"]) for name, case in cases.items()]


@pytest.mark.parametrize(("case", "message", "reason"), _recorded_errors())
def test_maps_yt_dlps_error_messages(case: str, message: str, reason: str | None) -> None:
    assert unavailable_reason_of(DownloadError(message)) == reason, case


@pytest.mark.parametrize(("case", "message", "reason"), _recorded_errors())
def test_a_refusal_is_an_answer_and_anything_else_a_dependency_error(
    monkeypatch: pytest.MonkeyPatch, case: str, message: str, reason: str | None
) -> None:
    def failing(self: yt_dlp.YoutubeDL, url: str, download: bool = True) -> dict[str, Any]:
        raise DownloadError(message)

    monkeypatch.setattr(yt_dlp.YoutubeDL, "extract_info", failing)
    if reason is None:
        with pytest.raises(DependencyError):
            YtDlpSource().extract("Xx0Xx0Xx0Xx")
    else:
        assert YtDlpSource().extract("Xx0Xx0Xx0Xx") == {
            "id": "Xx0Xx0Xx0Xx",
            UNAVAILABLE_REASON: reason,
        }


def test_recorded_source_replays_info_dicts() -> None:
    learning = json.loads((RECORDINGS / "learning_march.json").read_text())
    source = RecordedSource({LESSON: learning})
    assert source.extract(LESSON) == learning
    assert source.extract("Nx0eX1sTs2a")[UNAVAILABLE_REASON].startswith("unavailable")
    assert source.requests == [LESSON, "Nx0eX1sTs2a"]

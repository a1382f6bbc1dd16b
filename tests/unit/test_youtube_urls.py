"""Every way a teacher pastes a YouTube link comes down to one video id; the rest is refused."""

from __future__ import annotations

import pytest

from evidence.youtube import InvalidYouTubeUrlError, parse_youtube_url, watch_url

VIDEO = "k3Jd8sL2mQA"


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={VIDEO}",
        f"https://youtube.com/watch?v={VIDEO}",
        f"http://www.youtube.com/watch?v={VIDEO}",
        f"https://m.youtube.com/watch?v={VIDEO}&feature=share",
        f"https://www.youtube.com/watch?feature=youtu.be&v={VIDEO}&t=42s",
        f"https://www.youtube.com/watch?v={VIDEO}&list=PLx9cQ2w8e7r6t5y4u3i2o1p0aSdFgHjKl&index=3",
        f"https://youtu.be/{VIDEO}",
        f"https://youtu.be/{VIDEO}?si=Q2w3E4r5T6y7U8i9",
        f"https://youtu.be/{VIDEO}?t=10",
        f"https://www.youtube.com/shorts/{VIDEO}",
        f"https://youtube.com/shorts/{VIDEO}?feature=share",
        f"https://www.youtube.com/live/{VIDEO}?si=abc",
        f"https://www.youtube.com/embed/{VIDEO}",
        f"https://www.youtube.com/embed/{VIDEO}?start=5",
        f"https://www.youtube-nocookie.com/embed/{VIDEO}",
        f"https://www.youtube.com/v/{VIDEO}",
        f"  https://youtu.be/{VIDEO}\n",
        f"youtu.be/{VIDEO}",
        f"www.youtube.com/watch?v={VIDEO}",
        f"HTTPS://WWW.YOUTUBE.COM/watch?v={VIDEO}",
        f"https://www.youtube.com./watch?v={VIDEO}",
        f"https://www.youtube.com/watch?v={VIDEO}#comments",
    ],
)
def test_normalises_every_single_video_link_to_its_id(url: str) -> None:
    assert parse_youtube_url(url) == VIDEO


def test_keeps_ids_with_dashes_and_underscores() -> None:
    assert parse_youtube_url("https://youtu.be/a-b_c-d_e-f") == "a-b_c-d_e-f"


def test_watch_url_is_canonical() -> None:
    assert watch_url(parse_youtube_url(f"https://youtu.be/{VIDEO}")) == (
        f"https://www.youtube.com/watch?v={VIDEO}"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://www.youtube.com/playlist?list=PLx9cQ2w8e7r6t5y4u3i2o1p0aSdFgHjKl", "playlist"),
        ("https://www.youtube.com/watch?list=PLx9cQ2w8e7r6t5y4u3i2o1p0aSdFgHjKl", "playlist"),
        (
            "https://www.youtube.com/embed/videoseries?list=PLx9cQ2w8e7r6t5y4u3i2o1p0aSdFg",
            "playlist",
        ),
        ("https://www.youtube.com/channel/UCq8XkbJ2Yx7Ttd0V3wQkz1A", "channel"),
        ("https://www.youtube.com/@bu.siti.rahmawati", "channel"),
        ("https://www.youtube.com/@bu.siti.rahmawati/videos", "channel"),
        ("https://www.youtube.com/@bu.siti.rahmawati/live", "channel"),
        ("https://www.youtube.com/c/GuruMatematika", "channel"),
        ("https://www.youtube.com/user/gurumatematika", "channel"),
        (f"https://music.youtube.com/watch?v={VIDEO}", "not a YouTube link"),
        (f"https://vimeo.com/{VIDEO}", "not a YouTube link"),
        (f"https://youtube.com.evil.example/watch?v={VIDEO}", "not a YouTube link"),
        (f"https://www.youtube.com@evil.example/watch?v={VIDEO}", "not a YouTube link"),
        (f"https://www.youtube.com:8080/watch?v={VIDEO}", "not a YouTube link"),
        (f"https://drive.google.com/file/d/{VIDEO}/view", "not a YouTube link"),
        (f"ftp://www.youtube.com/watch?v={VIDEO}", "http(s)"),
        (f"javascript:alert('{VIDEO}')", "http(s)"),
        (f"file:///watch?v={VIDEO}", "http(s)"),
        ("https://www.youtube.com/watch?v=k3Jd8sL2mQ", "malformed video id"),
        ("https://www.youtube.com/watch?v=k3Jd8sL2mQAx", "malformed video id"),
        ("https://youtu.be/k3Jd8sL2m+A", "malformed video id"),
        ("https://youtu.be/", "malformed video id"),
        ("https://www.youtube.com/shorts/", "not a link to a single"),
        ("https://www.youtube.com/watch", "no v="),
        ("https://www.youtube.com/", "not a link to a single"),
        ("https://www.youtube.com/feed/subscriptions", "not a link to a single"),
        (f"https://www.youtube.com/watch?v={VIDEO}&v=Zr0T5vBn8cE", "two different videos"),
        ("https://www.youtube-nocookie.com/", "only embed links"),
        ("", "http(s)"),
    ],
)
def test_refuses_what_is_not_one_video(url: str, reason: str) -> None:
    with pytest.raises(InvalidYouTubeUrlError) as refused:
        parse_youtube_url(url)
    assert reason in refused.value.reason


def test_refusal_is_a_value_error_with_a_readable_reason() -> None:
    with pytest.raises(ValueError, match="a playlist, not a single video"):
        parse_youtube_url("https://www.youtube.com/playlist?list=PL123")

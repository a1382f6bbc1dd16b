"""How the clean-up reads a tus upload's expiry and judges it abandoned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.upload_cleanup import tus_expiry, upload_expired, upload_id_of

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("info", "expires"),
    [
        ('{"expires": "Sat, 05 Dec 2026 08:00:00 GMT"}', datetime(2026, 12, 5, 8, tzinfo=UTC)),
        ('{"expires": "2026-12-05T08:00:00Z"}', datetime(2026, 12, 5, 8, tzinfo=UTC)),
        ('{"expires": "2026-12-05T15:00:00+07:00"}', datetime(2026, 12, 5, 8, tzinfo=UTC)),
        ('{"expires": 1796457600}', datetime(2026, 12, 5, 8, tzinfo=UTC)),
        ('{"expires": null}', None),
        ('{"expires": true}', None),
        ('{"expires": "soon"}', None),
        ('{"size": 10}', None),
        ("[]", None),
        ("{half", None),
    ],
)
def test_the_expiry_is_read_in_every_form_tuspyserver_reads(
    info: str, expires: datetime | None
) -> None:
    assert tus_expiry(info) == expires


def test_a_naive_expiry_is_local_time_as_tuspyserver_reads_it() -> None:
    read = tus_expiry('{"expires": "2026-12-05T08:00:00"}')
    assert read == datetime(2026, 12, 5, 8).astimezone()


def test_an_upload_is_abandoned_past_its_expiry_or_untouched_for_the_days_kept() -> None:
    quiet = (NOW - timedelta(hours=2)).timestamp()
    assert upload_expired(NOW - timedelta(seconds=1), quiet, NOW)
    assert not upload_expired(NOW + timedelta(seconds=1), quiet, NOW)
    assert upload_expired(None, (NOW - timedelta(days=3, seconds=1)).timestamp(), NOW)
    assert not upload_expired(None, (NOW - timedelta(days=2)).timestamp(), NOW)
    # written to within the hour: in use, whatever its expiry
    assert not upload_expired(
        NOW - timedelta(days=1), (NOW - timedelta(minutes=5)).timestamp(), NOW
    )


def test_each_file_of_an_upload_names_it() -> None:
    upload_id = f"7-{'a' * 32}"
    for name in (upload_id, f"{upload_id}.info", f"{upload_id}.info.tmp"):
        assert upload_id_of(name) == upload_id

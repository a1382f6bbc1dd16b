"""What uploads nobody came back for leave on disk goes; what a request or an item holds stays."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tuspyserver.lock import acquire_upload_lock

from api import tus_files
from api.app import create_app
from api.upload_cleanup import Removed, periodic_cleanup, remove_abandoned_uploads
from bukti.bootstrap import Services
from bukti.cli import main
from bukti.settings import Settings, get_settings
from storage.models import utcnow
from tests.fixtures.app import RecordingEnqueue, World
from tests.fixtures.photos import PhotoFactory, jpeg_bytes
from tests.fixtures.tus import TUS, create, patch, send_all_but_the_answer

pytestmark = pytest.mark.integration

SENT = 400
#: when an upload created now has expired, and the hour of quiet after its last byte is over
LATER = timedelta(days=tus_files.DAYS_TO_KEEP, hours=2)


def unfinished(client: TestClient, world: World) -> tuple[str, str]:
    """An upload of 1000 bytes whose first ``SENT`` arrived; its URL and id."""
    created = create(client, world.teacher_auth, 1000, activity_id=world.activity()["id"])
    assert created.status_code == 201, created.text
    url = str(created.headers["Location"])
    assert patch(client, world.teacher_auth, url, 0, b"\0" * SENT).status_code == 204
    return url, url.rsplit("/", 1)[1]


def files_of(settings: Settings, upload_id: str) -> list[str]:
    return sorted(p.name for p in tus_files.tus_dir(settings).glob(f"{upload_id}*"))


def age(path: Path, by: timedelta) -> None:
    then = time.time() - by.total_seconds()
    os.utime(path, (then, then))


def expired_a_while_ago(settings: Settings, upload_id: str) -> None:
    """Rewrite the upload's ``.info`` as tuspyserver writes it, its expiry five minutes ago."""
    info = tus_files.tus_dir(settings) / f"{upload_id}.info"
    fields = json.loads(info.read_text())
    fields["expires"] = format_datetime(utcnow() - timedelta(minutes=5), usegmt=True)
    info.write_text(json.dumps(fields))


def head(client: TestClient, world: World, url: str) -> int:
    return int(client.head(url, headers={**world.teacher_auth, **TUS}).status_code)


def test_an_expired_abandoned_upload_goes_with_its_info(
    client: TestClient, world: World, settings: Settings
) -> None:
    url, upload_id = unfinished(client, world)
    info = tus_files.tus_dir(settings) / f"{upload_id}.info"
    assert files_of(settings, upload_id) == [upload_id, f"{upload_id}.info"]
    info_bytes = info.stat().st_size
    removed = remove_abandoned_uploads(settings, utcnow() + LATER)
    assert removed == Removed(uploads=1, staged=0, size_bytes=SENT + info_bytes)
    assert files_of(settings, upload_id) == []
    assert head(client, world, url) == 404
    # nothing of it is left among the locks either
    assert list((tus_files.tus_dir(settings) / ".locks").glob(f"{upload_id}*")) == []


def test_the_expiry_tuspyserver_wrote_is_read_on_the_real_clock(
    client: TestClient, world: World, settings: Settings
) -> None:
    _, upload_id = unfinished(client, world)
    expired_a_while_ago(settings, upload_id)
    for path in tus_files.tus_dir(settings).glob(f"{upload_id}*"):
        age(path, timedelta(hours=2))
    assert remove_abandoned_uploads(settings).uploads == 1
    assert files_of(settings, upload_id) == []


def test_an_upload_without_an_expiry_goes_when_untouched_for_the_days_kept(
    settings: Settings, services: Services
) -> None:
    tus = tus_files.tus_dir(settings)
    tus.mkdir()
    old, young = f"7-{'a' * 32}", f"7-{'b' * 32}"
    for upload_id in (old, young):
        (tus / upload_id).write_bytes(b"x" * 10)
        (tus / f"{upload_id}.info").write_text("{not json")
    for path in tus.glob(f"{old}*"):
        age(path, timedelta(days=tus_files.DAYS_TO_KEEP, hours=1))
    for path in tus.glob(f"{young}*"):
        age(path, timedelta(days=tus_files.DAYS_TO_KEEP - 1))
    assert remove_abandoned_uploads(settings).uploads == 1
    assert files_of(settings, old) == []
    assert files_of(settings, young) == [young, f"{young}.info"]


def test_a_fresh_upload_stays_and_resumes(
    client: TestClient, world: World, settings: Settings
) -> None:
    url, upload_id = unfinished(client, world)
    assert remove_abandoned_uploads(settings) == Removed()
    # two days on it has not expired yet
    assert remove_abandoned_uploads(settings, utcnow() + timedelta(days=2)) == Removed()
    assert files_of(settings, upload_id) == [upload_id, f"{upload_id}.info"]
    answer = client.head(url, headers={**world.teacher_auth, **TUS})
    assert answer.status_code == 200 and answer.headers["Upload-Offset"] == str(SENT)


def test_an_upload_a_request_holds_stays_until_let_go(
    client: TestClient, world: World, settings: Settings, services: Services
) -> None:
    _, upload_id = unfinished(client, world)
    tus = tus_files.tus_dir(settings)
    later = utcnow() + LATER
    # its last bytes are being checked and recorded (or a HEAD on it is answered)
    with tus_files.try_lock(
        tus_files.finish_lock(tus_files.tus_dir(services.settings), upload_id)
    ) as held:
        assert held
        assert remove_abandoned_uploads(settings, later) == Removed()
    # a PATCH is writing its bytes
    with acquire_upload_lock(str(tus / upload_id), str(tus / ".locks"), blocking=False):
        assert remove_abandoned_uploads(settings, later) == Removed()
    assert files_of(settings, upload_id) == [upload_id, f"{upload_id}.info"]
    assert remove_abandoned_uploads(settings, later).uploads == 1


def test_an_upload_written_to_within_the_hour_stays_whatever_its_expiry(
    client: TestClient, world: World, settings: Settings
) -> None:
    _, upload_id = unfinished(client, world)
    expired_a_while_ago(settings, upload_id)
    assert remove_abandoned_uploads(settings) == Removed()
    assert files_of(settings, upload_id) == [upload_id, f"{upload_id}.info"]


@pytest.mark.both_databases
def test_a_finished_upload_is_answered_until_its_record_expires_whatever_the_clean_up(
    client: TestClient, world: World, settings: Settings, make_photo: PhotoFactory
) -> None:
    content = make_photo("IMG_20261013_071502.jpg").read_bytes()
    url, evidence_id = send_all_but_the_answer(client, world, content)
    upload_id = url.rsplit("/", 1)[1]
    # its finish died after recording the item, before removing the .info, which expired
    # (an upload expires counted from its creation, its record from its finish)
    info = tus_files.tus_dir(settings) / f"{upload_id}.info"
    info.write_text(json.dumps({"expires": format_datetime(utcnow() - timedelta(minutes=5))}))
    age(info, timedelta(hours=2))
    assert remove_abandoned_uploads(settings).uploads == 1
    assert not info.exists()
    answer = client.head(url, headers={**world.teacher_auth, **TUS})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Upload-Offset"] == answer.headers["Upload-Length"] == str(len(content))
    assert answer.headers["Bukti-Evidence-Id"] == str(evidence_id)


@pytest.fixture
def incoming(settings: Settings, services: Services) -> Path:
    return settings.incoming_dir


def test_an_orphan_in_incoming_goes_after_a_day(settings: Settings, incoming: Path) -> None:
    multipart, resumed = incoming / ".upload-k2j4x_9a", incoming / f".upload-tus-7-{'c' * 32}"
    young = incoming / ".upload-q8w0e1rt"
    for path in (multipart, resumed, young):
        path.write_bytes(b"y" * 100)
    age(multipart, timedelta(days=1, minutes=1))
    age(resumed, timedelta(days=1, minutes=1))
    age(young, timedelta(hours=23))
    assert remove_abandoned_uploads(settings) == Removed(uploads=0, staged=2, size_bytes=200)
    assert sorted(p.name for p in incoming.iterdir()) == [young.name]


def test_a_file_that_cannot_be_removed_does_not_stop_the_others(
    settings: Settings, incoming: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck, orphan = incoming / ".upload-aaaaaaaa", incoming / ".upload-bbbbbbbb"
    for path in (stuck, orphan):
        path.write_bytes(b"u" * 10)
        age(path, timedelta(days=2))
    unlink = Path.unlink

    def refuses(path: Path, missing_ok: bool = False) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied")
        unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuses)
    assert remove_abandoned_uploads(settings) == Removed(staged=1, size_bytes=10)
    assert stuck.exists() and not orphan.exists()


@pytest.mark.both_databases
def test_an_items_staged_file_stays_however_old(
    client: TestClient, world: World, settings: Settings, incoming: Path
) -> None:
    answer = client.post(
        "/api/v1/evidence",
        data={"activity_id": str(world.activity()["id"])},
        files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers=world.teacher_auth,
    )
    assert answer.status_code == 202, answer.text
    staged = incoming / str(answer.json()["id"])
    age(staged, timedelta(days=30))
    assert remove_abandoned_uploads(settings, utcnow() + timedelta(days=30)) == Removed()
    assert staged.exists()


def test_a_staged_resumable_file_being_recorded_stays(
    settings: Settings, services: Services, incoming: Path
) -> None:
    upload_id = f"7-{'d' * 32}"
    staged = incoming / f".upload-tus-{upload_id}"
    staged.write_bytes(b"z" * 10)
    age(staged, timedelta(days=2))
    with tus_files.try_lock(
        tus_files.finish_lock(tus_files.tus_dir(services.settings), upload_id)
    ) as held:
        assert held
        assert remove_abandoned_uploads(settings) == Removed()
    assert staged.exists()


def test_a_lock_file_a_dead_process_left_goes_and_a_held_one_stays(
    settings: Settings, services: Services
) -> None:
    locks = tus_files.tus_dir(settings) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    left, held_lock = locks / f"7-{'e' * 32}.lock", locks / f"7-{'f' * 32}.finish"
    left.write_text("4242")
    age(left, timedelta(days=2))
    with tus_files.try_lock(held_lock) as held:
        assert held
        age(held_lock, timedelta(days=2))
        remove_abandoned_uploads(settings)
        assert held_lock.exists()
    assert not left.exists()


def test_the_sweeps_chore_cleans_up_at_most_once_an_interval(
    settings: Settings, incoming: Path
) -> None:
    chore = periodic_cleanup(settings, timedelta(hours=1))
    assert chore() == Removed()
    orphan = incoming / ".upload-m3n4b5v6"
    orphan.write_bytes(b"t" * 10)
    age(orphan, timedelta(days=2))
    assert chore() is None
    assert orphan.exists()
    assert periodic_cleanup(settings, timedelta(0))() == Removed(staged=1, size_bytes=10)


def test_the_api_cleans_up_by_itself_and_says_how_much(
    settings: Settings,
    services: Services,
    incoming: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="api.upload_cleanup")
    orphan = incoming / ".upload-a1b2c3d4"
    orphan.write_bytes(b"w" * 1234)
    age(orphan, timedelta(days=2))
    sweeping = settings.model_copy(update={"sweep_interval_s": 0.05})
    app = create_app(sweeping, services, enqueue=RecordingEnqueue(), sweep=True)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not orphan.exists()
    assert "0 abandoned resumable upload(s) and 1 orphaned staged file(s) removed, 1234 bytes" in (
        caplog.text
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    monkeypatch.setenv("BUKTI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BUKTI_DATABASE_URL", settings.resolved_database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_command_line_cleans_up_at_once(
    cli_env: None, incoming: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan = incoming / ".upload-z9y8x7w6"
    orphan.write_bytes(b"v" * 2_500_000)
    age(orphan, timedelta(days=2))
    assert main(["uploads", "clean"]) == 0
    out = capsys.readouterr().out
    assert out == "removed 0 abandoned resumable upload(s) and 1 orphaned staged file(s): 2.5 MB\n"
    assert not orphan.exists()


def test_the_command_line_refuses_a_data_directory_that_is_not_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUKTI_DATA_DIR", str(tmp_path / "nowhere"))
    get_settings.cache_clear()
    try:
        assert main(["uploads", "clean"]) == 2
    finally:
        get_settings.cache_clear()
    assert "no data directory at" in capsys.readouterr().err

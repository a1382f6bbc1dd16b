"""The clean-up of what uploads nobody comes back for leave on the data directory's disk.

A phone that gives up on a resumable upload leaves its partial file and ``.info`` in
``<data dir>/tus`` (tuspyserver's own collector is never run, and knows only ids of 32
characters, not Bukti's ``<user id>-<32 hex>``). A request that dies between staging its file
in ``<data dir>/incoming`` and recording its item leaves that file there under a
``.upload-`` name (``.upload-tus-<upload id>`` for a resumable upload, ``.upload-<random>``
for a multipart one); an item's staged file is named by the item's id (see
:func:`bukti.operations.staged_path`), so a ``.upload-`` file belongs to no item.

:func:`remove_abandoned_uploads` removes both, and never what a request holds: an upload is
removed holding both its locks (the one tuspyserver holds while a ``PATCH`` writes, the one
a request holds while the last bytes become an item or a ``HEAD`` is answered), a staged
resumable file holding its upload's finish lock. The API runs it with its sweep (only the
API writes these directories); ``bukti uploads clean`` runs it once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from api.tus_files import DAYS_TO_KEEP, STAGED_TUS_PREFIX, finish_lock, try_lock, tus_dir
from api.upload import STAGING_PREFIX
from bukti.settings import Settings
from storage.models import utcnow

log = logging.getLogger(__name__)

#: how often the API's sweep runs the clean-up
CLEAN_EVERY = timedelta(minutes=10)
#: an upload written to this recently is in use, whatever its expiry says
QUIET = timedelta(hours=1)
#: a ``.upload-`` file in incoming/ untouched this long has no request writing or recording it
STAGED_GRACE = timedelta(days=1)
#: a lock file of no upload, untouched this long, was left by a process that died
LOCK_GRACE = timedelta(days=1)
_INFO_SUFFIXES = (".info.tmp", ".info")


@dataclass(frozen=True)
class Removed:
    """What one clean-up removed: resumable uploads, staged files, and their bytes."""

    uploads: int = 0
    staged: int = 0
    size_bytes: int = 0


def remove_abandoned_uploads(settings: Settings, now: datetime | None = None) -> Removed:
    """Remove expired resumable uploads no request holds, and ``.upload-`` files of
    incoming/ untouched for a day that no request is finishing; log what went."""
    now = now or utcnow()
    files_dir = tus_dir(settings)
    uploads, upload_bytes = _remove_expired_uploads(files_dir, now)
    staged, staged_bytes = _remove_orphaned_staged(settings.incoming_dir, files_dir, now)
    _remove_stale_locks(files_dir, now)
    removed = Removed(uploads, staged, upload_bytes + staged_bytes)
    if removed.uploads or removed.staged:
        log.info(
            "upload clean-up: %d abandoned resumable upload(s) and %d orphaned staged file(s) "
            "removed, %d bytes",
            removed.uploads,
            removed.staged,
            removed.size_bytes,
        )
    return removed


def periodic_cleanup(
    settings: Settings, interval: timedelta = CLEAN_EVERY
) -> Callable[[], Removed | None]:
    """The clean-up as a chore of the API's sweep: run at the first sweep, then at most once
    an ``interval`` (what it removes is days old; the sweep comes every few seconds)."""
    last_run: float | None = None

    def chore() -> Removed | None:
        nonlocal last_run
        if last_run is not None and time.monotonic() - last_run < interval.total_seconds():
            return None
        last_run = time.monotonic()
        return remove_abandoned_uploads(settings)

    return chore


def upload_id_of(name: str) -> str:
    """The upload a file of tus/ belongs to: its data file, its ``.info`` or a half-written one."""
    for suffix in _INFO_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def tus_expiry(info_text: str) -> datetime | None:
    """When an upload's ``.info`` says it expires (tuspyserver writes RFC 7231 dates; it
    also reads ISO dates and timestamps, a naive one in local time); None if it says not."""
    try:
        info = json.loads(info_text)
    except ValueError:
        return None
    value = info.get("expires") if isinstance(info, dict) else None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if not isinstance(value, str) or not value:
            return None
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo is not None else parsed.astimezone()
    except (ValueError, OverflowError, OSError):
        return None


def upload_expired(expires: datetime | None, newest_mtime: float, now: datetime) -> bool:
    """Whether an upload is abandoned: past its expiry, or without one, untouched for
    ``DAYS_TO_KEEP`` days; never while written to in the last ``QUIET``."""
    if newest_mtime > (now - QUIET).timestamp():
        return False
    if expires is None:
        return newest_mtime < (now - timedelta(days=DAYS_TO_KEEP)).timestamp()
    return expires < now


def _uploads(files_dir: Path) -> dict[str, list[Path]]:
    """The files of tus/ by upload id (dot files, the locks among them, are no upload's)."""
    found: dict[str, list[Path]] = {}
    for path in _listing(files_dir):
        if not path.name.startswith(".") and path.is_file():
            found.setdefault(upload_id_of(path.name), []).append(path)
    return found


def _remove_expired_uploads(files_dir: Path, now: datetime) -> tuple[int, int]:
    removed = size = 0
    for upload_id, paths in sorted(_uploads(files_dir).items()):
        if not _expired(files_dir, upload_id, paths, now):
            continue
        with (
            _skipped_on_error(upload_id),
            _held(finish_lock(files_dir, upload_id), _write_lock(files_dir, upload_id)) as held,
        ):
            # judged again under the locks: a request may have finished or removed it
            if held and _expired(files_dir, upload_id, paths, now):
                size += sum(_unlink(p) for p in paths)
                removed += 1
    return removed, size


def _expired(files_dir: Path, upload_id: str, paths: list[Path], now: datetime) -> bool:
    present = [m for m in map(_mtime, paths) if m is not None]
    if not present or max(present) > (now - QUIET).timestamp():
        return False
    try:
        expires = tus_expiry((files_dir / f"{upload_id}.info").read_text())
    except (OSError, UnicodeDecodeError):
        expires = None
    return upload_expired(expires, max(present), now)


def _remove_orphaned_staged(incoming: Path, files_dir: Path, now: datetime) -> tuple[int, int]:
    removed = size = 0
    cutoff = (now - STAGED_GRACE).timestamp()
    for path in _listing(incoming):
        if not path.name.startswith(STAGING_PREFIX) or not path.is_file():
            continue
        mtime = _mtime(path)
        if mtime is None or mtime >= cutoff:
            continue
        locks = []
        if path.name.startswith(STAGED_TUS_PREFIX):
            # the request finishing that upload holds this while it records the item
            locks.append(finish_lock(files_dir, path.name.removeprefix(STAGED_TUS_PREFIX)))
        with _skipped_on_error(path.name), _held(*locks) as held:
            if held:
                size += _unlink(path)
                removed += 1
    return removed, size


def _remove_stale_locks(files_dir: Path, now: datetime) -> None:
    """Lock files of no upload left by a process that died (a holder removes its own)."""
    uploads = _uploads(files_dir)
    cutoff = (now - LOCK_GRACE).timestamp()
    for path in _listing(files_dir / ".locks"):
        mtime = _mtime(path)
        if path.stem in uploads or mtime is None or mtime >= cutoff:
            continue
        # taken and let go: the lock removes its file, unless a request holds it
        with _skipped_on_error(path.name), try_lock(path):
            pass


def _write_lock(files_dir: Path, upload_id: str) -> Path:
    """The lock tuspyserver holds while a ``PATCH`` writes an upload's bytes."""
    return files_dir / ".locks" / f"{upload_id}.lock"


@contextlib.contextmanager
def _held(*paths: Path) -> Iterator[bool]:
    """Hold every lock of ``paths`` if no request holds any; yields whether all are held."""
    with contextlib.ExitStack() as stack:
        for path in paths:
            if not stack.enter_context(try_lock(path)):
                yield False
                return
        yield True


def _listing(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def _skipped_on_error(name: str) -> Iterator[None]:
    """One file the clean-up cannot remove (its permissions, say) does not stop the others."""
    try:
        yield
    except OSError as exc:
        log.warning("upload clean-up: %s stays (%s)", name, exc)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _unlink(path: Path) -> int:
    """Remove ``path``; the bytes it freed (0 if it was gone already)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size

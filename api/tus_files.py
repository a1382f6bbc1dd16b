"""Where resumable uploads live on the data directory's disk, and the locks that guard them.

tuspyserver keeps an unfinished upload's bytes and ``.info`` in :func:`tus_dir`; a finished
one's file waits in ``incoming/`` under :data:`STAGED_TUS_PREFIX` until its item is recorded.
The tus route (:mod:`api.routes.resumable`) writes them, the clean-up
(:mod:`api.upload_cleanup`) removes what nobody comes back for; both hold :func:`try_lock` on
an upload's :func:`finish_lock` while they touch it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from api.upload import STAGING_PREFIX
from bukti.settings import Settings

#: how long an upload is kept, unfinished (tuspyserver's expiry) or finished (its record)
DAYS_TO_KEEP = 3
#: a finished upload's file in incoming/ until its item is recorded: this and its upload id
STAGED_TUS_PREFIX = f"{STAGING_PREFIX}tus-"


def tus_dir(settings: Settings) -> Path:
    """Where tuspyserver keeps unfinished uploads: each one's bytes and ``.info``."""
    return settings.data_dir / "tus"


def finish_lock(files_dir: Path, upload_id: str) -> Path:
    """The lock of an upload held while its last bytes become its item or a ``HEAD`` on it
    is answered (see :func:`try_lock`)."""
    return files_dir / ".locks" / f"{upload_id}.finish"


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` if no other request holds it; yields whether held.

    ``flock`` belongs to the open file, so a second request of the same process is kept out
    as one of another process is; the lock goes with its holder if that dies. The holder
    removes the file when it lets go, so a lock taken on a file already removed is taken
    again on the file now at ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        if _still_at(fd, path):
            break
        os.close(fd)
    try:
        yield True
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _still_at(fd: int, path: Path) -> bool:
    try:
        return path.stat().st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False

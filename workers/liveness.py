"""Which workers are alive: each worker process keeps a key with a time to live in Redis.

A worker process writes ``bukti:worker:<host>:<pid>`` every third of the heartbeat timeout,
with a time to live of the whole timeout, and deletes it when it stops. A worker that dies
(SIGKILL, the OOM killer, a lost machine) simply stops renewing it, and Redis's own clock
expires it: no clock of ours is compared with another machine's. ``/readyz`` counts these keys;
``bukti worker --check`` looks for its own host's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass
from types import FrameType
from typing import Any

import redis
from dramatiq import Broker, Middleware, Worker

from bukti.supervisor import die_with_parent

log = logging.getLogger(__name__)

KEY_PREFIX = "bukti:worker:"


@dataclass(frozen=True)
class Beat:
    """One worker process's heartbeat."""

    host: str
    pid: int
    started_at: float  # seconds since the epoch
    threads: int

    @property
    def key(self) -> str:
        """The Redis key this worker renews."""
        return f"{KEY_PREFIX}{self.host}:{self.pid}"

    def to_json(self) -> str:
        """The value stored under :attr:`key`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Beat:
        """Read a stored value back."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            host=str(data["host"]),
            pid=int(data["pid"]),
            started_at=float(data["started_at"]),
            threads=int(data["threads"]),
        )


def publish(client: redis.Redis, beat: Beat, timeout_ms: int) -> None:
    """Announce ``beat`` for ``timeout_ms``."""
    client.set(beat.key, beat.to_json(), px=timeout_ms)


def live_workers(client: redis.Redis, host: str | None = None) -> list[Beat]:
    """The workers whose heartbeat has not expired (on ``host`` only, when given)."""
    pattern = f"{KEY_PREFIX}{host if host is not None else '*'}:*"
    keys = sorted(client.scan_iter(match=pattern, count=500))
    if not keys:
        return []
    # a key may expire between SCAN and MGET: None is a worker that just died
    return [Beat.from_json(raw) for raw in client.mget(keys) if raw is not None]


class Heartbeat(Middleware):
    """Renews this worker process's heartbeat from a thread while its Dramatiq worker runs."""

    def __init__(self, redis_url: str, timeout_ms: int) -> None:
        self.redis_url = redis_url
        self.timeout_ms = timeout_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._beat: Beat | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        """Start beating."""
        self._beat = Beat(
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=time.time(),
            threads=worker.worker_threads,
        )
        self._stop.clear()
        # the first beat before the worker counts as booted: ready means ready
        with contextlib.suppress(redis.RedisError), self._client() as client:
            publish(client, self._beat, self.timeout_ms)
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        """Stop beating and say so at once (a stopped worker is not live)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._beat is not None:
            with contextlib.suppress(redis.RedisError), self._client() as client:
                client.delete(self._beat.key)

    def _client(self) -> redis.Redis:
        timeout_s = max(1.0, self.timeout_ms / 3000)
        return redis.Redis.from_url(
            self.redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def _run(self) -> None:
        assert self._beat is not None
        failing = False
        with self._client() as client:
            while True:
                try:
                    publish(client, self._beat, self.timeout_ms)
                    if failing:
                        log.info("heartbeat reaches Redis again")
                    failing = False
                except redis.RedisError as exc:
                    if not failing:  # one line per outage, not one per beat
                        log.warning("heartbeat cannot reach Redis: %s", exc)
                    failing = True
                if self._stop.wait(self.timeout_ms / 3000):
                    return


class StopWithParent(Middleware):
    """Stops a Dramatiq worker process, gracefully, when its parent (Dramatiq's master) dies.

    Without it, a master killed by SIGKILL leaves its worker process running, still
    consuming the queue, with nobody to stop it. The kernel may deliver the parent-death
    signal more than once (once per exiting thread of the parent), and Dramatiq's master
    forwards each SIGTERM it gets; Dramatiq takes a second SIGTERM as "exit now", dropping the
    message in hand. So a SIGTERM after the first is ignored here: a worker that must go at
    once gets SIGKILL (which the supervisor sends after the shutdown timeout).
    """

    def after_process_boot(self, broker: Broker) -> None:
        """Set the parent-death signal and make SIGTERM idempotent, in the worker process."""
        parent = multiprocessing.parent_process()
        if parent is None:  # not forked by Dramatiq's master (a test's in-process worker)
            return
        stop = signal.getsignal(signal.SIGTERM)
        stopping = False

        def stop_once(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            if stopping or not callable(stop):
                return
            stopping = True
            stop(signum, frame)

        signal.signal(signal.SIGTERM, stop_once)
        die_with_parent()
        if os.getppid() != parent.pid:  # the master died before the signal was set
            os.kill(os.getpid(), signal.SIGTERM)

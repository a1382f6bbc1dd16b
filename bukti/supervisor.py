"""Child processes that are restarted when they die and stopped together.

``bukti serve`` and ``bukti worker`` run their Dramatiq workers under a :class:`Supervisor`:
each worker is a ``dramatiq --processes 1`` invocation of its own, so one that dies (a crash,
the OOM killer, a SIGKILL) is restarted alone, with backoff, while the others keep working.
(Dramatiq's own master stops every sibling when one of its processes dies, and never restarts
them.)

No child may outlive its supervisor and keep consuming the queue:

- every child runs in a process group of its own, so Ctrl-C in a terminal reaches only the
  supervisor, which stops its children in order (API, workers, then Redis);
- every child is started through :func:`guarded`, which asks the kernel to send it SIGTERM
  when the supervisor dies, even by SIGKILL (Linux's parent-death signal, kept across exec).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> None:
    """Have the kernel send ``sig`` to this process when the thread that started it exits.

    Linux only (elsewhere a no-op): the supervisor's own stop path covers the ordinary cases.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")


def guarded(argv: Sequence[str], sig: signal.Signals = signal.SIGTERM) -> list[str]:
    """``argv`` run through a launcher that ties its life to this process's.

    The launcher sets the parent-death signal (``sig``), checks that its parent is still this
    process (it may have died in between), and then execs ``argv``: no process is left in
    between. The thread that starts the returned command must live as long as the child
    should: the kernel's parent is that thread, not the whole process.
    """
    launcher = [sys.executable, "-m", "bukti.supervisor"]
    if sig is not signal.SIGTERM:
        launcher += ["--pdeathsig", sig.name]
    return [*launcher, str(os.getpid()), *argv]


def stop_process_group(
    process: subprocess.Popen[bytes], timeout_s: float, sig: signal.Signals = signal.SIGTERM
) -> None:
    """Send ``sig`` to the group's leader, wait up to ``timeout_s``, then SIGKILL the group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout_s)
    kill_group(process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group ``process`` leads and reap the leader."""
    # the leader may be gone while a process it started still runs in its group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


@dataclass
class _Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = 0.0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Keeps a set of commands running: restarts each one that exits, with backoff.

    ``commands`` maps a child's name (used in log lines) to its argv, ``env`` a name to the
    variables set for that child on top of this process's environment. A child that ran for
    ``stable_after_s`` before dying is restarted after ``min_backoff_s``; one that dies sooner
    waits twice as long as the time before, up to ``max_backoff_s``.
    """

    commands: Mapping[str, Sequence[str]]
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    min_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    stable_after_s: float = 60.0
    stop_timeout_s: float = 15.0
    poll_s: float = 0.2
    _children: list[_Child] = field(init=False, default_factory=list)
    _stopping: threading.Event = field(init=False, default_factory=threading.Event)
    _started: threading.Event = field(init=False, default_factory=threading.Event)
    _idle: threading.Event = field(init=False, default_factory=threading.Event)
    _released: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)
    _failed: Exception | None = field(init=False, default=None)

    def start(self) -> None:
        """Start every child (and watch them) from a thread that lives until :meth:`stop`."""
        self._children = [
            _Child(name, list(argv), backoff_s=self.min_backoff_s)
            for name, argv in self.commands.items()
        ]
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failed is not None:
            raise self._failed

    def pids(self) -> dict[str, int | None]:
        """Each child's current pid (None while it waits to be restarted)."""
        return {
            c.name: c.process.pid if c.process and c.process.poll() is None else None
            for c in self._children
        }

    def restarts(self) -> dict[str, int]:
        """How many times each child has been restarted."""
        return {c.name: c.restarts for c in self._children}

    def stop(self) -> None:
        """SIGTERM every child, wait up to ``stop_timeout_s`` in all, then SIGKILL their groups."""
        self._stopping.set()
        if self._thread is None:
            return
        # the watching thread stops restarting, but lives on until the children are gone: its
        # end would send each of them the parent-death signal
        self._idle.wait()
        running = [c.process for c in self._children if c.process is not None]
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
            if process.poll() is None:
                log.warning(
                    "pid %d did not stop within %g s: killed", process.pid, self.stop_timeout_s
                )
            kill_group(process)
        self._released.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        # Children are started from this thread only: their parent-death signal follows it.
        try:
            try:
                for child in self._children:
                    self._spawn(child)
            except Exception as exc:
                self._failed = exc
                return
            finally:
                self._started.set()
            while not self._stopping.wait(self.poll_s):
                for child in self._children:
                    try:
                        self._tend(child)
                    except Exception:
                        # the watch must go on: a thread that ends takes every child with it
                        log.exception("could not tend %s", child.name)
        finally:
            self._idle.set()
        self._released.wait()

    def _tend(self, child: _Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                self._spawn(child)
                assert child.process is not None
                log.warning(
                    "%s restarted as pid %d (restart %d)",
                    child.name,
                    child.process.pid,
                    child.restarts,
                )
            return
        if child.process is None or child.process.poll() is None:
            return
        lived_s = now - child.started_at
        if lived_s >= self.stable_after_s:
            child.backoff_s = self.min_backoff_s
        delay_s = child.backoff_s
        child.backoff_s = min(child.backoff_s * 2, self.max_backoff_s)
        child.restart_at = now + delay_s
        log.warning(
            "%s (pid %d) exited with %s after %.1f s; restarting it in %g s",
            child.name,
            child.process.pid,
            _describe_exit(child.process.returncode),
            lived_s,
            delay_s,
        )
        kill_group(child.process)

    def _spawn(self, child: _Child) -> None:
        env = {**os.environ, **self.env[child.name]} if child.name in self.env else None
        child.process = subprocess.Popen(
            guarded(child.argv), env=env, start_new_session=True, stdin=subprocess.DEVNULL
        )
        child.started_at = time.monotonic()


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"code {returncode}"


def _launch(argv: Sequence[str]) -> int:
    """``python -m bukti.supervisor [--pdeathsig SIG] PARENT_PID PROGRAM [ARGS...]``: see
    :func:`guarded`."""
    sig = signal.SIGTERM
    if len(argv) >= 2 and argv[0] == "--pdeathsig" and argv[1] in signal.Signals.__members__:
        sig = signal.Signals[argv[1]]
        argv = argv[2:]
    if len(argv) < 2 or not argv[0].isdigit():
        print(
            "usage: python -m bukti.supervisor [--pdeathsig SIG] PARENT_PID PROGRAM [ARGS...]",
            file=sys.stderr,
        )
        return 2
    die_with_parent(sig)
    if os.getppid() != int(argv[0]):
        return 1  # the supervisor died before the guard was set: do not start at all
    try:
        os.execvp(argv[1], list(argv[1:]))  # noqa: S606 (argv is the supervisor's own command)
    except OSError as exc:
        print(f"bukti: cannot start {argv[1]}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1:]))

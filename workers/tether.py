"""External programs a worker starts (ffmpeg, ffprobe, LibreOffice), tied to the worker's life.

Each program runs in a process group of its own, so that a timeout kills all of a run. That
also takes it out of the worker's reach: a worker killed (SIGKILL, the OOM killer) or stopped
past its shutdown timeout would leave its transcode running until the CPU-time limit, beside
the same job run again by the restarted worker. So every program is started through a launcher
that asks the kernel to signal it when the worker dies (Linux's parent-death signal,
PR_SET_PDEATHSIG, kept across exec), and then checks that its parent is still the worker: one
that died before the signal was set would never send it.

- The launcher is util-linux's ``setpriv --pdeathsig`` followed by ``/bin/sh`` for the check:
  about 2 ms of CPU per run, where Python's start-up in :func:`bukti.supervisor.guarded` costs
  about 35 ms (measured on the build machine; an ffprobe run costs about 55 ms). That Python
  launcher is the fallback on a Linux without ``setpriv`` (or one too old for
  ``--pdeathsig``); elsewhere than on Linux the program is started as it is, and only an
  orderly stop of the worker ends it.
- :func:`tethered` execs all the way: the program keeps the pid that ``Popen`` returns, so a
  CPU limit set on that pid with prlimit(2) is the program's own, and the kernel sends it
  SIGKILL. The signal reaches only that process: for a program that starts programs of its
  own (LibreOffice's wrapper starts ``soffice.bin``), :func:`tethered_group` keeps a shell as
  the group's leader, which kills the whole group when its signal comes.

The kernel's parent is the *thread* that forked, not the process: the signal is sent when that
thread ends. Programs are started from Dramatiq's worker threads (or a command's main thread),
which live as long as the worker; never start one from a short-lived thread (a
``ThreadPoolExecutor``'s, a timer's), or it is killed when that thread is retired.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence

from bukti.supervisor import guarded

# "$1" is the worker's pid; what follows is the program and its arguments, positional
# parameters that the shell never parses (a file's name cannot become a command).
_EXEC_IF_PARENT = '[ "$PPID" = "$1" ] || exit 1; shift; exec "$@"'
# The shell leads the group: its signal (TERM) kills every process of the group, itself
# included. "-$$" names the group the shell leads, and no other: a shell started without a
# session of its own would hit nothing, rather than the worker's group.
_LEAD_IF_PARENT = (
    '[ "$PPID" = "$1" ] || exit 1; shift; trap "kill -KILL -$$" TERM; "$@" & wait "$!"'
)


def tethered(argv: Sequence[str]) -> list[str]:
    """``argv`` started so that the kernel kills it (SIGKILL) when this process dies.

    The launcher execs the program, which keeps the launcher's pid. FileNotFoundError when the
    program is not installed, as ``Popen`` would raise.
    """
    return _launched(_EXEC_IF_PARENT, signal.SIGKILL, argv)


def tethered_group(argv: Sequence[str]) -> list[str]:
    """``argv`` run under a shell that kills its whole process group when this process dies.

    Start it with ``start_new_session=True``: the shell's group is the one it kills. Its pid is
    the shell's, not the program's.
    """
    return _launched(_LEAD_IF_PARENT, signal.SIGTERM, argv)


def _launched(script: str, sig: signal.Signals, argv: Sequence[str]) -> list[str]:
    program = shutil.which(argv[0])
    if program is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])
    if not sys.platform.startswith("linux"):
        return [program, *argv[1:]]
    shell = ["/bin/sh", "-c", script, "bukti-launcher", str(os.getpid()), program, *argv[1:]]
    setpriv = shutil.which("setpriv")
    if setpriv is not None and _knows_pdeathsig(setpriv):
        return [setpriv, "--pdeathsig", sig.name.removeprefix("SIG"), "--", *shell]
    return guarded(shell, sig)


@functools.cache
def _knows_pdeathsig(setpriv: str) -> bool:
    """Whether this setpriv runs a program with ``--pdeathsig`` (util-linux 2.33 and later)."""
    try:
        tried = subprocess.run(
            [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", ":"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return tried.returncode == 0

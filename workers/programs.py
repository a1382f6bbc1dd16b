"""Running a worker's external programs (ffmpeg, ffprobe, LibreOffice) fenced in, one way for all.

:func:`run_program` starts the program through :mod:`workers.tether`, so that it dies with the
worker, in a process group of its own, so that a timeout kills all it started; it stops the
run at a wall-clock deadline and, optionally, at a CPU-time limit (RLIMIT_CPU), and keeps the
end of what the program wrote for the caller's error message. Dramatiq's time limit cannot
stop a subprocess: this is what does.

What a run's outcome *means* (a hostile file, a missing preview) is the caller's to say: the
runner reports a deadline as TimeoutError, and a CPU limit or an output cap reached as fields
of the :class:`ProgramRun` it returns.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bukti.supervisor import kill_group
from workers.tether import tethered, tethered_group

TAIL_BYTES = 65_536
"""What is kept of a program's messages: the last lines hold the error that ended the run, the
start is often repeated noise (a decoder's error per frame)."""


@dataclass(frozen=True)
class ProgramRun:
    """How a program ended, with its standard output and the tail of its messages."""

    returncode: int
    stdout: bytes
    tail: str
    """The last :data:`TAIL_BYTES` of standard error (with standard output, when merged)."""
    out_of_cpu: bool = False
    """The kernel killed it at its CPU-time limit."""
    stdout_overflowed: bool = False
    """It wrote more than ``max_stdout_bytes`` and was stopped."""


def run_program(
    argv: Sequence[str],
    *,
    timeout_s: float,
    cpu_seconds: float | None = None,
    group: bool = False,
    on_stdout: Callable[[bytes], None] | None = None,
    max_stdout_bytes: int = 0,
    merge_output: bool = False,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ProgramRun:
    """Run ``argv`` fenced in: its own process group, tethered to the worker, a deadline.

    Standard output goes to ``on_stdout`` chunk by chunk, or is collected up to
    ``max_stdout_bytes`` (more stops the program: ``stdout_overflowed``); with
    ``merge_output`` it is kept with standard error instead. Standard error goes to a
    temporary file, so a program printing an error per frame cannot fill a pipe and stall.
    ``group`` is for a program that starts programs of its own (LibreOffice's wrapper): a
    shell leads the group and kills all of it when the worker dies; the CPU limit, set on
    the started pid, is for a program that runs alone (``group`` False).

    Raises TimeoutError when the deadline passes (the whole group is killed), and
    FileNotFoundError when the program is not installed.
    """
    if group and cpu_seconds is not None:
        raise ValueError("a CPU limit applies to one program, not to a group")
    deadline = time.monotonic() + timeout_s
    collected = bytearray()
    overflowed = False
    with tempfile.TemporaryFile() as messages:
        process = subprocess.Popen(
            # killed by the kernel if the worker dies; alone, the same pid for the CPU limit
            tethered_group(argv) if group else tethered(argv),
            stdin=subprocess.DEVNULL,
            stdout=messages if merge_output else subprocess.PIPE,
            stderr=messages,
            cwd=cwd,
            env=env,
            # A group of its own, so a timeout kills everything it started.
            start_new_session=True,
        )
        killed_by_us = False
        try:
            if cpu_seconds is not None:
                _limit_cpu(process.pid, cpu_seconds)
            if process.stdout is not None:
                for chunk in _chunks(process.stdout.fileno(), deadline, argv[0], timeout_s):
                    if on_stdout is not None:
                        on_stdout(chunk)
                        continue
                    collected.extend(chunk)
                    if len(collected) > max_stdout_bytes:
                        overflowed = True
                        break
            if overflowed:
                killed_by_us = True
                kill_group(process)
            try:
                returncode = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise _late(argv[0], timeout_s) from None
        finally:
            if process.poll() is None:
                killed_by_us = True
                kill_group(process)
            if process.stdout is not None:
                process.stdout.close()
        messages.seek(max(0, os.fstat(messages.fileno()).st_size - TAIL_BYTES))
        tail = messages.read().decode("utf-8", "replace")
    # RLIMIT_CPU with soft == hard: the kernel sends SIGKILL at the limit.
    out_of_cpu = cpu_seconds is not None and returncode == -signal.SIGKILL and not killed_by_us
    return ProgramRun(returncode, bytes(collected), tail, out_of_cpu, overflowed)


def _chunks(fd: int, deadline: float, program: str, timeout_s: float) -> Iterator[bytes]:
    """What the program writes to ``fd``, as it comes, until it closes it or time runs out."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _late(program, timeout_s)
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        yield chunk


def _late(program: str, timeout_s: float) -> TimeoutError:
    return TimeoutError(f"{program} took longer than {timeout_s:g} s")


def _limit_cpu(pid: int, cpu_seconds: float) -> None:
    """Cap the child's CPU time; the kernel kills it (SIGKILL) at the limit.

    Set from the parent with prlimit(2) rather than in ``preexec_fn``, which Python documents
    as unsafe in a threaded process (Dramatiq workers are threads). The few milliseconds the
    child runs before the limit lands do not matter for a limit of seconds. Soft and hard are
    equal because ffmpeg catches SIGXCPU (sent at the soft limit) and would stop politely with a
    valid, shortened output that looks like success.
    """
    limit = max(1, math.ceil(cpu_seconds))
    with contextlib.suppress(ProcessLookupError):  # it already finished
        resource.prlimit(pid, resource.RLIMIT_CPU, (limit, limit))

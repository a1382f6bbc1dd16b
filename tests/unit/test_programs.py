"""The one runner of a worker's external programs: deadline, CPU limit, output cap, messages."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from workers.programs import TAIL_BYTES, run_program


def script(directory: Path, name: str, body: str) -> str:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def is_gone(pid: int, within_s: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for init counts as gone)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("group", [False, True])
def test_the_deadline_kills_the_program_and_all_it_started(tmp_path: Path, group: bool) -> None:
    pids = tmp_path / "pids"
    program = script(tmp_path, "slow", f'sleep 300 &\necho $! > "{pids}"\nsleep 300')
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"^.*/slow took longer than 0\.5 s$"):
        run_program([program], timeout_s=0.5, group=group)
    assert time.monotonic() - started < 10
    helper = int(pids.read_text())
    assert is_gone(helper)


def test_standard_output_is_collected_under_its_cap(tmp_path: Path) -> None:
    program = script(tmp_path, "talk", "printf 'short answer'")
    run = run_program([program], timeout_s=10, max_stdout_bytes=100)
    assert (run.returncode, run.stdout, run.stdout_overflowed) == (0, b"short answer", False)


def test_output_past_the_cap_stops_the_program(tmp_path: Path) -> None:
    program = script(tmp_path, "flood", "while :; do echo aaaaaaaaaaaaaaaaaaaaaaaa; done")
    run = run_program([program], timeout_s=10, max_stdout_bytes=1000)
    assert run.stdout_overflowed
    assert run.returncode < 0  # killed, not finished
    assert len(run.stdout) > 1000
    assert not run.out_of_cpu


def test_standard_output_streams_to_a_callback_without_a_cap(tmp_path: Path) -> None:
    program = script(tmp_path, "frames", "head -c 300000 /dev/zero")
    chunks: list[bytes] = []
    run = run_program([program], timeout_s=10, on_stdout=chunks.append)
    assert sum(len(chunk) for chunk in chunks) == 300_000
    assert (run.stdout, run.stdout_overflowed) == (b"", False)


def test_the_cpu_limit_is_applied_and_reported(tmp_path: Path) -> None:
    program = script(tmp_path, "spin", "while :; do :; done")
    run = run_program([program], timeout_s=60, cpu_seconds=1)
    assert run.out_of_cpu
    assert run.returncode == -9


def test_the_tail_keeps_the_end_of_the_messages(tmp_path: Path) -> None:
    program = script(
        tmp_path,
        "noisy",
        f"head -c {TAIL_BYTES * 2} /dev/zero | tr '\\0' x >&2\necho >&2; echo 'the real error' >&2\n"
        "exit 3",
    )
    run = run_program([program], timeout_s=10)
    assert run.returncode == 3
    assert len(run.tail.encode()) == TAIL_BYTES
    assert run.tail.splitlines()[-1] == "the real error"


def test_merged_output_keeps_standard_output_with_the_messages(tmp_path: Path) -> None:
    program = script(tmp_path, "both", "echo 'to stdout'\necho 'to stderr' >&2")
    run = run_program([program], timeout_s=10, merge_output=True)
    assert run.stdout == b""
    assert run.tail.splitlines() == ["to stdout", "to stderr"]


def test_the_program_runs_where_and_with_the_environment_it_is_given(tmp_path: Path) -> None:
    program = script(tmp_path, "where", 'pwd; echo "$HOME"')
    work = tmp_path / "work"
    work.mkdir()
    home = {**os.environ, "HOME": "/nowhere"}
    run = run_program(
        [program], timeout_s=10, cwd=work, env=home, group=True, max_stdout_bytes=1000
    )
    assert (run.returncode, run.stdout) == (0, f"{work}\n/nowhere\n".encode())


def test_a_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        run_program([str(tmp_path / "no-such-program")], timeout_s=10)
    assert caught.value.filename == str(tmp_path / "no-such-program")


def test_a_cpu_limit_is_refused_for_a_group(tmp_path: Path) -> None:
    program = script(tmp_path, "ok", "exit 0")
    with pytest.raises(ValueError, match="one program"):
        run_program([program], timeout_s=10, cpu_seconds=1, group=True)

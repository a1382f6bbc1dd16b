"""How a worker's external programs are launched so that they die with it: the command lines."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from workers.tether import tethered, tethered_group


def executable(directory: Path, name: str, body: str = "exit 0") -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The only directory on PATH, holding a fake ffprobe (and, per test, a fake setpriv)."""
    directory = tmp_path / "bin"
    directory.mkdir()
    executable(directory, "ffprobe")
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.setattr(sys, "platform", "linux")
    return directory


def test_a_program_runs_under_setpriv_then_a_shell_that_checks_its_parent(bin_dir: Path) -> None:
    setpriv = executable(bin_dir, "setpriv")
    argv = tethered(["ffprobe", "-v", "error", "file:/tmp/a b.mp4"])
    assert argv[:4] == [str(setpriv), "--pdeathsig", "KILL", "--"]
    assert argv[4:6] == ["/bin/sh", "-c"]
    assert 'exec "$@"' in argv[6]
    # the worker's pid for the check, then the program found on PATH with its arguments as given
    assert argv[7:] == [
        "bukti-launcher",
        str(os.getpid()),
        str(bin_dir / "ffprobe"),
        "-v",
        "error",
        "file:/tmp/a b.mp4",
    ]


def test_a_group_is_led_by_a_shell_that_setpriv_signals_politely(bin_dir: Path) -> None:
    setpriv = executable(bin_dir, "setpriv")
    argv = tethered_group(["ffprobe", "-version"])
    assert argv[:4] == [str(setpriv), "--pdeathsig", "TERM", "--"]
    assert "trap" in argv[6] and 'exec "$@"' not in argv[6]
    assert argv[-2:] == [str(bin_dir / "ffprobe"), "-version"]


def test_without_setpriv_the_python_launcher_sets_the_same_signal(bin_dir: Path) -> None:
    argv = tethered(["ffprobe", "-version"])
    assert argv[:6] == [
        sys.executable,
        "-m",
        "bukti.supervisor",
        "--pdeathsig",
        "SIGKILL",
        str(os.getpid()),
    ]
    assert argv[6:8] == ["/bin/sh", "-c"]
    assert argv[-2:] == [str(bin_dir / "ffprobe"), "-version"]


def test_a_setpriv_too_old_for_pdeathsig_is_passed_over(bin_dir: Path) -> None:
    executable(bin_dir, "setpriv", 'echo "setpriv: unrecognized option" >&2; exit 1')
    assert tethered(["ffprobe"])[:3] == [sys.executable, "-m", "bukti.supervisor"]


def test_elsewhere_than_on_linux_the_program_runs_as_it_is(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(bin_dir, "setpriv")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert tethered(["ffprobe", "-version"]) == [str(bin_dir / "ffprobe"), "-version"]
    assert tethered_group(["ffprobe"]) == [str(bin_dir / "ffprobe")]


def test_a_missing_program_is_a_file_not_found_error_as_with_popen(bin_dir: Path) -> None:
    with pytest.raises(FileNotFoundError, match="ffmpeg"):
        tethered(["ffmpeg", "-version"])

"""A worker's external programs die with it: a real worker-like process, killed by the test.

Each test starts a small Python process that runs the product's code (a transcode, an Office
preview) as a worker's job would, finds the programs it started, SIGKILLs that process and
checks that none of them outlives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from evidence.document_facts import DocumentType
from tests.fixtures.serve import Proc, alive, descendants, processes
from tests.fixtures.videos import VideoMaker
from workers.documents.preview import NoPreview, render_preview
from workers.tether import tethered

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
CPU_LIMIT_S = 600

TRANSCODE = textwrap.dedent(
    f"""
    import sys
    from pathlib import Path
    from workers.video import probe_video, transcode_video

    source = Path(sys.argv[1])
    transcode_video(
        source, Path(sys.argv[2]), timeout_s=600, cpu_seconds={CPU_LIMIT_S}, preset="veryslow",
        facts=probe_video(source),
    )
    """
)
OFFICE_PREVIEW = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from evidence.document_facts import DocumentType
    from workers.documents.preview import render_preview

    print(render_preview(Path(sys.argv[1]), DocumentType.DOCX, Path(sys.argv[2])), flush=True)
    """
)
# LibreOffice's wrapper starts soffice.bin and waits for it: a helper of its own, as here.
FAKE_SOFFICE = textwrap.dedent(
    f"""\
    #!/bin/sh
    {shutil.which("sleep")} 300 &
    echo $! >> "$BUKTI_TEST_PIDS"
    echo $$ >> "$BUKTI_TEST_PIDS"
    exec {shutil.which("sleep")} 300
    """
)


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture(params=["setpriv", "python"])
def launcher_path(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """PATH for the worker: the machine's (setpriv), or one without setpriv (the Python
    launcher), with ffmpeg and ffprobe on it either way."""
    if request.param == "setpriv":
        assert shutil.which("setpriv"), "util-linux's setpriv is installed here"
        return os.environ["PATH"]
    directory = tmp_path / "no-setpriv"
    directory.mkdir()
    for program in ("ffmpeg", "ffprobe"):
        found = shutil.which(program)
        assert found is not None
        (directory / program).symlink_to(found)
    return str(directory)


@pytest.fixture
def start_job_process() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a worker-like Python process running a script; killed after the test in any case."""
    started: list[subprocess.Popen[bytes]] = []

    def start(script: str, *args: str | Path, path: str, **env: str) -> subprocess.Popen[bytes]:
        environment = {**os.environ, "PYTHONPATH": str(REPO), "PATH": path, **env}
        process = subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            env=environment,
            stdout=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait(10)


def wait_for(find: Callable[[], T | None], timeout_s: float = 60) -> T:
    """What ``find`` finds, asking until it finds something."""
    deadline = time.monotonic() + timeout_s
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise AssertionError("not found in time")
        time.sleep(0.02)
    return found


def wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    wait_for(lambda: True if condition() else None, timeout_s)


def running_program(worker: subprocess.Popen[bytes], name: str) -> Proc | None:
    """The process below ``worker`` that runs ``name`` itself (not a launcher naming it)."""
    for process in descendants(worker.pid):
        if Path(process.command.split(" ", 1)[0]).name == name:
            return process
    return None


def assert_gone_within_2_s(tree: list[Proc]) -> None:
    """Fails if a process of ``tree`` still runs 2 s on (and kills it: no test leaves one)."""
    survivors = alive(tree, within_s=2)
    for survivor in survivors:
        os.kill(survivor.pid, signal.SIGKILL)
    assert survivors == []


def cpu_time_limits(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max cpu time"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no CPU-time line")


def test_a_transcode_dies_with_the_worker_killed_in_its_middle(
    make_video: VideoMaker,
    launcher_path: str,
    start_job_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    source = make_video(size=(1280, 720), duration_s=4, crf=18)
    worker = start_job_process(
        TRANSCODE, source, make_video.directory / "r.mp4", path=launcher_path
    )
    ffmpeg = wait_for(lambda: running_program(worker, "ffmpeg"))
    # the launchers exec'd all the way: ffmpeg is the worker's own child, and the CPU limit
    # set on the pid Popen returned is ffmpeg's
    assert ffmpeg.ppid == worker.pid
    wait_until(lambda: cpu_time_limits(ffmpeg.pid) == (str(CPU_LIMIT_S),) * 2, timeout_s=5)

    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert_gone_within_2_s([ffmpeg])


def test_an_office_conversion_and_its_helpers_die_with_the_worker(
    tmp_path: Path,
    launcher_path: str,
    start_job_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    fake_bin = tmp_path / "office"
    fake_bin.mkdir()
    executable(fake_bin / "soffice", FAKE_SOFFICE)
    pids = tmp_path / "pids"
    document = tmp_path / "lesson.docx"
    document.write_bytes(b"PK\x03\x04 not opened by the fake")
    worker = start_job_process(
        OFFICE_PREVIEW,
        document,
        tmp_path / "preview.png",
        path=f"{fake_bin}:{launcher_path}",
        BUKTI_TEST_PIDS=str(pids),
    )
    wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    office = [p for p in descendants(worker.pid) if p.pid in map(int, pids.read_text().split())]
    assert len(office) == 2, "the office program and its helper run"

    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert_gone_within_2_s(office)


def test_an_office_conversion_past_its_timeout_leaves_no_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = tmp_path / "office"
    fake_bin.mkdir()
    executable(fake_bin / "soffice", FAKE_SOFFICE)
    pids = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    monkeypatch.setenv("BUKTI_TEST_PIDS", str(pids))
    document = tmp_path / "lesson.docx"
    document.write_bytes(b"PK\x03\x04 not opened by the fake")

    preview = render_preview(document, DocumentType.DOCX, tmp_path / "p.png", timeout_s=1)

    assert isinstance(preview, NoPreview) and "took longer than 1 s" in preview.note
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    table = processes()
    assert_gone_within_2_s([table[pid] for pid in started if pid in table])


def test_a_program_is_not_started_when_its_worker_died_before_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = tmp_path / "ran"
    # the launcher's parent is this test's process: a pid that is not it stands for a worker
    # that died between the fork and the parent-death signal
    monkeypatch.setattr("workers.tether.os.getpid", lambda: os.getppid())
    launched = subprocess.run(tethered(["touch", str(ran)]), timeout=30, check=False)
    assert launched.returncode == 1
    assert not ran.exists()
    monkeypatch.undo()
    launched = subprocess.run(tethered(["touch", str(ran)]), timeout=30, check=False)
    assert launched.returncode == 0 and ran.exists()

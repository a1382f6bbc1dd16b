"""The supervisor behind `bukti serve` and `bukti worker`, with small real child processes."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bukti.supervisor import Supervisor
from tests.fixtures.serve import alive, descendants, processes

pytestmark = pytest.mark.integration

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def supervise() -> Iterator[Callable[..., Supervisor]]:
    """Start a supervisor; it is stopped after the test whatever happens."""
    started: list[Supervisor] = []

    def make(commands: dict[str, list[str]], **options: float) -> Supervisor:
        supervisor = Supervisor(commands, **options)
        started.append(supervisor)
        supervisor.start()
        return supervisor

    yield make
    for supervisor in started:
        supervisor.stop()


def wait_for(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)


def test_a_child_that_dies_is_restarted_and_the_log_says_so(
    supervise: Callable[..., Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bukti.supervisor")
    supervisor = supervise({"worker 1": SLEEPER, "worker 2": SLEEPER}, min_backoff_s=0.1)
    first = supervisor.pids()
    assert first["worker 1"] is not None
    os.kill(first["worker 1"], signal.SIGKILL)

    wait_for(lambda: supervisor.restarts()["worker 1"] == 1 and all(supervisor.pids().values()))
    assert supervisor.pids()["worker 1"] != first["worker 1"]
    assert supervisor.pids()["worker 2"] == first["worker 2"], "the other one is left alone"
    assert f"worker 1 (pid {first['worker 1']}) exited with signal SIGKILL" in caplog.text
    assert f"worker 1 restarted as pid {supervisor.pids()['worker 1']}" in caplog.text


def test_a_child_that_keeps_dying_waits_longer_each_time_up_to_the_cap(
    supervise: Callable[..., Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bukti.supervisor")
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor = supervise({"broken": failing}, min_backoff_s=0.05, max_backoff_s=0.2)
    wait_for(lambda: supervisor.restarts()["broken"] >= 4)
    delays = re.findall(
        r"broken \(pid \d+\) exited with code 3 after [\d.]+ s; restarting it in ([\d.]+) s",
        caplog.text,
    )
    assert delays[:5] == ["0.05", "0.1", "0.2", "0.2", "0.2"][: len(delays[:5])]
    assert len(delays) >= 4


def test_stop_ends_a_child_that_ignores_sigterm_and_what_it_started(
    supervise: Callable[..., Supervisor],
) -> None:
    stubborn = textwrap.dedent(
        """
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        time.sleep(120)
        """
    )
    supervisor = supervise({"stubborn": [sys.executable, "-c", stubborn]}, stop_timeout_s=0.5)
    child = supervisor.pids()["stubborn"]
    assert child is not None
    wait_for(lambda: len(descendants(child)) == 1)
    tree = [p for p in processes().values() if p.pid == child] + descendants(child)
    supervisor.stop()
    assert alive(tree, within_s=10) == []


def test_children_stop_when_their_supervisor_is_killed() -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from bukti.supervisor import Supervisor
        supervisor = Supervisor({{"sleeper": {SLEEPER!r}}})
        supervisor.start()
        print(supervisor.pids()["sleeper"], flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        tree = [p for p in descendants(parent.pid) if p.pid == child]
        assert tree, "the child runs"
        parent.kill()
        parent.wait(10)
        assert alive(tree, within_s=10) == []
    finally:
        parent.kill()
        parent.wait(10)


def test_the_launcher_starts_nothing_when_its_parent_is_already_gone(tmp_path: Path) -> None:
    not_my_parent = str(os.getpid() + 1)  # the launcher's parent is this test: "it is gone"
    ran = tmp_path / "ran"
    result = subprocess.run(
        [sys.executable, "-m", "bukti.supervisor", not_my_parent, "touch", str(ran)],
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert not ran.exists()
    launched = subprocess.run(
        [sys.executable, "-m", "bukti.supervisor", str(os.getpid()), "touch", str(ran)],
        timeout=30,
        check=False,
    )
    assert launched.returncode == 0 and ran.exists()


def test_the_launcher_says_in_one_line_what_it_cannot_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bukti.supervisor", str(os.getpid()), "/nonexistent/program"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 127
    assert result.stderr == (
        "bukti: cannot start /nonexistent/program: No such file or directory\n"
    )


def test_the_launcher_can_kill_a_child_that_ignores_sigterm_when_its_parent_dies() -> None:
    deaf = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('deaf', flush=True); time.sleep(120)",
    ]
    script = textwrap.dedent(
        f"""
        import signal, subprocess, time
        from bukti.supervisor import guarded
        child = subprocess.Popen(guarded({deaf!r}, signal.SIGKILL), start_new_session=True)
        print(child.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    tree = []
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.stdout.readline() == b"deaf\n"  # (on the stdout it shares)
        tree = [p for p in descendants(parent.pid) if p.pid == child]
        parent.kill()
        parent.wait(10)
        assert alive(tree, within_s=5) == []
    finally:
        parent.kill()
        parent.wait(10)
        for survivor in alive(tree):
            os.kill(survivor.pid, signal.SIGKILL)

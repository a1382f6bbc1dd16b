"""CPU seconds (user + system) of processes on this machine, as /proc counts them."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.serve import processes


def _ticks(pid: int, reaped: bool = False) -> int:
    """Clock ticks of ``pid`` so far (0 once it is gone); with ``reaped``, also those of its
    ended children that it waited for (the kernel adds them to the parent's count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    return sum(_ticks(pid) for pid in pids) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds so far of ``root`` and everything below it, the processes
    that ended included: a process's ended children are in its own count once it has reaped
    them, so a connection's server process that came and went between two readings is in
    their difference (PostgreSQL's postmaster reaps its backends at once)."""
    table = processes()
    tree, parents = [root], [root]
    while parents:
        # zombies too: their CPU is in neither their own count nor their parent's until reaped
        parents = [p.pid for p in table.values() if p.ppid in parents]
        tree += parents
    return sum(_ticks(pid, reaped=True) for pid in tree) / os.sysconf("SC_CLK_TCK")

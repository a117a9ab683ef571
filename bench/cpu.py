"""Where the CPU time of a wrk run went: the server's workers, wrk, and everyone else.

On a 2-core machine the client, the server and any other work share the same cores, so
req/s alone cannot tell a slow server from a busy machine. The server's own CPU time per
request does not depend on what else runs, and the CPU time nobody of ours used says
whether a figure was taken on a shared, busy machine. All of it comes from /proc and
getrusage: nothing to install.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_seconds(pids: Sequence[int]) -> list[float]:
    """User + system CPU seconds of each process so far (0 for one that is gone)."""
    seconds = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            seconds.append(0.0)
            continue
        seconds.append((int(fields[11]) + int(fields[12])) / TICK)
    return seconds


def machine_seconds() -> float:
    """CPU seconds all cores spent in user and system mode since boot (/proc/stat; time
    in interrupts is left out: loopback traffic is charged there, to no process)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system = (int(value) for value in fields[1:4])
    return (user + nice + system) / TICK


def children_seconds() -> float:
    """CPU seconds of this process's waited-for children (wrk, once `run` returned)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuMark:
    workers: list[float]
    children: float
    machine: float


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds over one run."""

    workers: list[float]
    client: float
    other: float


def mark(workers: Sequence[int]) -> CpuMark:
    return CpuMark(process_seconds(workers), children_seconds(), machine_seconds())


def since(start: CpuMark, workers: Sequence[int]) -> CpuUse:
    """What the workers, our children (wrk) and everything else used since `start`."""
    end = mark(workers)
    used = [after - before for after, before in zip(end.workers, start.workers, strict=True)]
    client = end.children - start.children
    other = end.machine - start.machine - sum(used) - client
    return CpuUse(used, client, max(0.0, other))

"""Background work beside latency-bound lookups on the same cores (loads, compactions).

Kept free of heavy imports: the `screening` command calls it before it imports numpy,
pyarrow and the engine (screening/launcher.py), ~0.5 s of CPU that ran at full priority
beside the workers and made the first second of every load the worst for the p99.
"""

from __future__ import annotations

import contextlib
import os

LOAD_NICENESS = 10


def yield_to_lookups() -> None:
    """A load is background work beside latency-bound lookups on the same cores: it runs
    under SCHED_IDLE where the kernel has it, so a worker that wakes with a request takes
    the core at once rather than after the load's time slice (a niceness alone still let
    a load delay requests by milliseconds); the niceness is the fallback elsewhere. The
    load still gets every cycle the workers leave, and its forked block workers inherit
    the policy. Calling it again changes nothing."""
    os.nice(max(0, LOAD_NICENESS - os.nice(0)))
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, idle, os.sched_param(0))

"""Requests per second per API key (`serve --rate`): one token bucket per key, shared by
every worker process, so N workers allow a key the rate once, not N times.

The buckets live in a table of fixed slots in a file the supervisor makes (removed at
exit); each worker maps it and updates a bucket under an exclusive `flock` of the file.
The kernel drops a dead process's lock, so a worker killed mid-update (the OOM killer)
cannot wedge the others, and the locked section is a few field reads and one write.
Bucket times are CLOCK_MONOTONIC (`time.monotonic`), one clock for every process. In
process (tests, `LocalClient`) the table is private memory.

A slot is 24 bytes, `<Qdd`: the key's hash (xxh3-64 of its id; 0 = free), the tokens
left, and when they were counted. A key's slot is one of the PROBES slots from its hash;
a bucket that has refilled to its burst is the same as no bucket, so its slot is free to
take. With every one of those slots holding a bucket still refilling (thousands of keys
busy at once colliding in one window), the fullest is taken over: its key starts over
with a full bucket, a little more lenient, never stricter.
"""

from __future__ import annotations

import fcntl
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xxhash

from screening.http_errors import RateLimitedError
from screening.keys import ApiKey

SLOTS = 1 << 16
PROBES = 16
SLOT = struct.Struct("<Qdd")
TABLE_BYTES = SLOTS * SLOT.size


def create_table(path: Path) -> None:
    """An empty table (every slot free) at `path`, for the workers to map."""
    with path.open("wb") as handle:
        handle.truncate(TABLE_BYTES)


class BucketTable:
    """The slots, mapped from the supervisor's file, or private when `path` is None."""

    def __init__(self, path: Path | None = None) -> None:
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, TABLE_BYTES)
        else:
            self._fd = os.open(path, os.O_RDWR)
            self._map = mmap.mmap(self._fd, TABLE_BYTES)
        self._thread_lock = threading.Lock()  # flock does not exclude threads of one process

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def spend(self, key: int, rate: float, burst: float, now: float) -> float:
        """Take one token of `key`'s bucket: 0.0, or the seconds until one is there."""
        with self.locked():
            offset, tokens = self._bucket(key, rate, burst, now)
            if tokens < 1:
                return (1 - tokens) / rate
            SLOT.pack_into(self._map, offset, key, tokens - 1, now)
            return 0.0

    def _bucket(self, key: int, rate: float, burst: float, now: float) -> tuple[int, float]:
        """(offset of `key`'s slot, its tokens now); a slot is claimed if it has none."""
        start = key & (SLOTS - 1)
        claim: int | None = None
        fullest, fullest_level = 0, -math.inf
        for probe in range(PROBES):
            offset = ((start + probe) & (SLOTS - 1)) * SLOT.size
            owner, tokens, then = SLOT.unpack_from(self._map, offset)
            level = burst if owner == 0 else min(burst, tokens + (now - then) * rate)
            if owner == key:
                return offset, level
            if level >= burst and claim is None:
                claim = offset
            if level > fullest_level:
                fullest, fullest_level = offset, level
        return (fullest if claim is None else claim), burst

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)


def key_hash(key: ApiKey) -> int:
    """A key's slot tag: never 0, which marks a free slot."""
    return xxhash.xxh3_64_intdigest(key.id.encode()) or 1


class RateLimiter:
    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        table: BucketTable | None = None,
    ) -> None:
        self.rate = rate
        self.burst = max(rate, 1.0)
        self.clock = clock
        self.table = table if table is not None else BucketTable()

    def take(self, key: ApiKey) -> None:
        """Spend one request of `key`'s bucket; 429 with Retry-After (whole seconds, at
        least 1) when it is empty."""
        if self.rate <= 0:
            return
        wait = self.table.spend(key_hash(key), self.rate, self.burst, self.clock())
        if wait > 0:
            raise RateLimitedError(
                f"too many requests for key {key.name!r}: limit {self.rate:g} per second",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

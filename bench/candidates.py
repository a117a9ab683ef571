"""The stores the benchmark puts side by side, each behind the same four operations.

Like sparkey's bench.c: one runner, several candidates, one table. Every candidate holds
the same normalised SLTD keys, so the numbers differ only by the store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from indexes import Snapshot, open_snapshot
from indexes.snapshot import SegmentCache


class Candidate(Protocol):
    name: str

    def open(self) -> float:
        """Open the built store; returns seconds taken."""

    def get(self) -> Callable[[bytes], object]:
        """A function answering one key, for the single-lookup loop."""

    def get_many(self, keys: Sequence[bytes]) -> object: ...

    def finds(self, key: bytes) -> bool:
        """Whether `key` is stored: the bench checks its hits hit and its misses miss."""

    def disk_bytes(self) -> int: ...


class Ours:
    name = "screening (mapped xxh3 index)"

    def __init__(self, folder: Path, verify: bool = False) -> None:
        self.folder = folder
        self.verify = verify
        self.snapshot: Snapshot | None = None

    def open(self) -> float:
        """Time to map and check the headers; then warm the page tables (not timed), as
        the server does in the background, so lookups are measured in steady state."""
        started = time.perf_counter()
        self.snapshot = open_snapshot(self.folder, "SLTD", SegmentCache(verify=self.verify))
        opened = time.perf_counter() - started
        self.snapshot.warm()
        return opened

    def get(self) -> Callable[[bytes], object]:
        assert self.snapshot is not None
        return self.snapshot.find

    def get_many(self, keys: Sequence[bytes]) -> object:
        assert self.snapshot is not None
        return self.snapshot.find_many(keys)

    def finds(self, key: bytes) -> bool:
        assert self.snapshot is not None
        return bool(self.snapshot.find(key))

    def disk_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.folder.iterdir())

    def index_bytes(self) -> int:
        """Bytes of the index proper: slot arrays, offset arrays and fixed-width key rows
        (FORMAT.md: those hold the keys, counted whole; a `keys` section and the records
        are excluded)."""
        assert self.snapshot is not None
        total = 0
        for part in self.snapshot.parts:
            sections = part.segment._file.sections
            total += sum(
                sections[name].length
                for name in ("slots", "tslots", "keyrows", "keyoffs", "recoffs", "entrec")
                if name in sections
            )
        return total


class PlainDict:
    name = "Python dict"

    def __init__(self, keys: Sequence[bytes]) -> None:
        started = time.perf_counter()
        self.table: dict[bytes, int] = {key: number for number, key in enumerate(keys)}
        self.build_seconds = time.perf_counter() - started

    def open(self) -> float:
        return 0.0

    def get(self) -> Callable[[bytes], object]:
        return self.table.get

    def get_many(self, keys: Sequence[bytes]) -> object:
        get = self.table.get
        return [get(key) for key in keys]

    def finds(self, key: bytes) -> bool:
        return key in self.table

    def disk_bytes(self) -> int:
        return 0


class Lmdb:
    name = "py-lmdb"

    def __init__(self, folder: Path, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        import lmdb

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        size = (sum(map(len, keys)) + sum(map(len, values)) + 64 * len(keys)) * 2 + (1 << 26)
        started = time.perf_counter()
        env = lmdb.open(str(folder), map_size=size, writemap=True, sync=False)
        with env.begin(write=True) as txn:
            cursor = txn.cursor()
            cursor.putmulti(zip(keys, values, strict=True), dupdata=False, overwrite=True)
        env.sync(True)
        env.close()
        self.build_seconds = time.perf_counter() - started
        self._lmdb = lmdb
        self.env: object = None
        self.txn: object = None

    def open(self) -> float:
        started = time.perf_counter()
        self.env = self._lmdb.open(str(self.folder), readonly=True, lock=False)
        self.txn = self.env.begin(buffers=True)
        return time.perf_counter() - started

    def get(self) -> Callable[[bytes], object]:
        return self.txn.get  # type: ignore[attr-defined, no-any-return]

    def get_many(self, keys: Sequence[bytes]) -> object:
        return self.txn.cursor().getmulti(keys)  # type: ignore[attr-defined]

    def finds(self, key: bytes) -> bool:
        return self.txn.get(key) is not None  # type: ignore[attr-defined]

    def disk_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.folder.iterdir())

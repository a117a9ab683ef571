"""Tombstones: the records of one segment that were withdrawn or replaced, as a bitmap.

Segments never change, so a delete (a recovered passport) or a newer upload of the same
record is written as a new, small tombstone file for the older segment, named after the
manifest generation that introduced it. The manifest says which file is current.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
from pyroaring import BitMap, FrozenBitMap

from indexes.container import Container, write_container
from indexes.segment import sorted_contains

TOMBSTONE_MAGIC = b"SCRNTMB\x00"


def tombstone_file_name(segment: str, generation: int) -> str:
    return f"{segment}.dead-{generation:06d}"


def write_tombstones(path: Path, segment: str, dead: BitMap) -> None:
    dead.run_optimize()
    meta = orjson.dumps({"segment": segment, "dead": len(dead)})
    write_container(path, TOMBSTONE_MAGIC, [("meta", meta), ("dead", dead.serialize())])


class Tombstones:
    """The withdrawn records of one segment; `sorted` serves vectorised filtering."""

    def __init__(self, bitmap: FrozenBitMap) -> None:
        self.bitmap = bitmap
        self.sorted = np.frombuffer(bitmap.to_array(), dtype=np.uint32).astype(np.int64)

    @classmethod
    def read(cls, path: Path, verify: bool = True) -> Tombstones:
        container = Container(path, TOMBSTONE_MAGIC, verify=verify)
        try:
            return cls(FrozenBitMap.deserialize(bytes(container.raw("dead"))))
        finally:
            container.close()

    def __contains__(self, record: int) -> bool:
        return record in self.bitmap

    def __len__(self) -> int:
        return len(self.bitmap)

    def live(self, records: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `records` are not tombstoned."""
        return ~sorted_contains(self.sorted, records)


NO_TOMBSTONES = Tombstones(FrozenBitMap())

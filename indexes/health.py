"""A database's health, read from its files: what an operator checks at 3 a.m.

Every file is opened with full verification (every checksum read), and each segment's
own build statistics (FORMAT.md, `meta`) are reported beside its tombstone count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexes.snapshot import SegmentCache, open_snapshot


@dataclass(frozen=True)
class SegmentHealth:
    name: str
    records: int
    dead: int
    bytes: int
    max_displacement: int
    mean_displacement: float

    def line(self) -> str:
        return (
            f"  {self.name}: {self.records:,} records, {self.dead:,} withdrawn,"
            f" {self.bytes / self.records if self.records else 0:.1f} bytes a record,"
            f" probe displacement max {self.max_displacement}, mean {self.mean_displacement}"
        )


@dataclass(frozen=True)
class DatabaseHealth:
    db: str
    generation: int
    updated: str
    live: int
    segments: list[SegmentHealth]


def check_database(folder: Path, db: str) -> DatabaseHealth:
    """Verify every file of the current generation; raises CorruptFileError on the first
    that fails, naming it."""
    snapshot = open_snapshot(folder, db, SegmentCache(verify=True))
    segments = [
        SegmentHealth(
            part.entry.name,
            part.entry.records,
            part.entry.dead,
            part.segment.path.stat().st_size,
            int(part.segment.meta["max_displacement"]),
            float(part.segment.meta["mean_displacement"]),
        )
        for part in snapshot.parts
    ]
    manifest = snapshot.manifest
    return DatabaseHealth(db, manifest.generation, manifest.updated, manifest.records, segments)

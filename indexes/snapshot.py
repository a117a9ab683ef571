"""A snapshot: one manifest generation of a database, mapped and ready to answer.

Readers never lock. They read the manifest, map the segments it names (reusing the ones
already mapped: segments are immutable) and answer from that view until they choose to
refresh; a publish or compaction underneath them changes nothing they hold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexes.errors import CorruptFileError
from indexes.hash_index import PreparedKeys, key_hash
from indexes.manifest import MANIFEST_NAME, Manifest, SegmentEntry, read_manifest
from indexes.segment import SEGMENT_SUFFIX, Segment
from indexes.tombstones import NO_TOMBSTONES, Tombstones

OPEN_RETRIES = 5


@dataclass(frozen=True)
class Part:
    """One segment as this snapshot sees it: the mapped file and its current tombstones."""

    entry: SegmentEntry
    segment: Segment
    dead: Tombstones

    def is_live(self, record: int, viewer: str | None) -> bool:
        return record not in self.dead and self.segment.is_visible(record, viewer)

    def visible_count(self, viewer: str | None) -> int:
        """Live records `viewer` may see: a restricted record is never counted for others."""
        hidden = self.segment.restricted
        if viewer in self.segment.viewers:
            hidden = hidden - self.segment.viewers[viewer]
        return self.entry.live - len(hidden - self.dead.bitmap)


class SegmentCache:
    """Mapped segments and tombstones by file name, shared by successive snapshots."""

    def __init__(self, verify: bool = True) -> None:
        self.verify = verify
        self._segments: dict[str, Segment] = {}
        self._tombstones: dict[str, Tombstones] = {}

    def segment(self, directory: Path, name: str) -> Segment:
        if name not in self._segments:
            self._segments[name] = Segment(directory / f"{name}{SEGMENT_SUFFIX}", self.verify)
        return self._segments[name]

    def tombstones(self, directory: Path, name: str | None) -> Tombstones:
        if name is None:
            return NO_TOMBSTONES
        if name not in self._tombstones:
            self._tombstones[name] = Tombstones.read(directory / name, self.verify)
        return self._tombstones[name]

    def keep_only(self, manifest: Manifest) -> None:
        """Forget files the manifest no longer names (mappings close with their last user)."""
        names = {segment.name for segment in manifest.segments}
        for name in set(self._segments) - names:
            del self._segments[name]
        tombstones = {segment.tombstones for segment in manifest.segments}
        for name in set(self._tombstones) - tombstones:
            del self._tombstones[name]


@dataclass(frozen=True)
class Found:
    """The matches of a batch: parallel arrays, one row per (query, record)."""

    queries: np.ndarray
    parts: np.ndarray
    records: np.ndarray


class Snapshot:
    def __init__(self, directory: Path, manifest: Manifest, parts: list[Part]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.parts = parts
        self._probes = [
            (part.segment.find, part, bool(part.dead.bitmap) or part.segment.has_restricted)
            for part in parts
        ]

    @property
    def db(self) -> str:
        return self.manifest.db

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def find(self, key: bytes, viewer: str | None = None) -> list[tuple[int, int]]:
        """(part, record) of every live record stored under `key` that `viewer` may see.

        The single-lookup path: a terminal's one document. Kept to the fewest Python
        calls: the tombstone and visibility checks run only for segments that have any.
        """
        hashed = key_hash(key)
        found = []
        for index, (probe, part, filtered) in enumerate(self._probes):
            for record in probe(key, hashed):
                if not filtered or part.is_live(record, viewer):
                    found.append((index, record))
        return found

    def find_many(self, keys: Sequence[bytes], viewer: str | None = None) -> Found:
        """The same as `find` for a whole batch, vectorised over the mapped arrays."""
        batch = PreparedKeys(keys)
        queries, parts, records = [], [], []
        for index, part in enumerate(self.parts):
            found_queries, found_records = part.segment.find_many(batch)
            live = part.dead.live(found_records.astype(np.int64))
            if part.segment.has_restricted:
                live &= part.segment.visible_mask(found_records, viewer)
            queries.append(found_queries[live])
            records.append(found_records[live].astype(np.int64))
            parts.append(np.full(int(live.sum()), index, dtype=np.int64))
        if not queries:
            empty = np.empty(0, dtype=np.int64)
            return Found(empty, empty, empty)
        all_queries = np.concatenate(queries)
        order = np.argsort(all_queries, kind="stable")
        return Found(
            all_queries[order], np.concatenate(parts)[order], np.concatenate(records)[order]
        )

    def record(self, part: int, record: int) -> tuple[bytes, object]:
        return self.parts[part].segment.record(record)

    def count(self, viewer: str | None = None) -> int:
        return sum(part.visible_count(viewer) for part in self.parts)

    def verify(self) -> None:
        for part in self.parts:
            part.segment.verify()

    def warm(self) -> None:
        """Map every page now (see Container.warm) rather than on the first lookups."""
        for part in self.parts:
            part.segment.warm()


def manifest_stamp(directory: Path) -> tuple[int, int] | None:
    """(inode, mtime_ns) of the manifest: a publish always changes it (atomic rename)."""
    try:
        status = os.stat(directory / MANIFEST_NAME)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns


def open_snapshot(directory: Path, db: str, cache: SegmentCache | None = None) -> Snapshot:
    """Map the current generation; retried if a publish removed a file under our feet."""
    cache = cache or SegmentCache()
    for attempt in range(OPEN_RETRIES):
        manifest = read_manifest(directory, db, verify=True)
        try:
            parts = [
                Part(
                    entry,
                    cache.segment(directory, entry.name),
                    cache.tombstones(directory, entry.tombstones),
                )
                for entry in manifest.segments
            ]
        except FileNotFoundError as missing:
            if attempt == OPEN_RETRIES - 1:
                raise CorruptFileError(
                    Path(missing.filename or directory), 0, "named by the manifest but missing"
                ) from None
            continue
        cache.keep_only(manifest)
        return Snapshot(directory, manifest, parts)
    raise AssertionError("unreachable")

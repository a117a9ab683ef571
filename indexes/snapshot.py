"""A snapshot: one manifest generation of a database, mapped and ready to answer.

Readers never lock. They read the manifest, map the segments it names (reusing the ones
already mapped: segments are immutable) and answer from that view until they choose to
refresh; a publish or compaction underneath them changes nothing they hold.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexes.errors import CorruptFileError
from indexes.hash_index import PreparedKeys, compiled_lookup, key_hash, use_compiled
from indexes.manifest import MANIFEST_NAME, Manifest, SegmentEntry, read_manifest
from indexes.segment import SEGMENT_SUFFIX, Segment
from indexes.tombstones import NO_TOMBSTONES, Tombstones
from indexes.vectors import VectorSpec, row_of

if TYPE_CHECKING:
    from indexes._probe import Filter, Lookup

OPEN_RETRIES = 5


@dataclass(frozen=True)
class Part:
    """One segment as this snapshot sees it: the mapped file and its current tombstones."""

    entry: SegmentEntry
    segment: Segment
    dead: Tombstones

    def is_live(self, record: int, viewer: str | None) -> bool:
        return record not in self.dead and self.segment.is_visible(record, viewer)

    def live_mask(self, records: np.ndarray, viewer: str | None) -> np.ndarray:
        """Vectorised `is_live`: not tombstoned, and visible to `viewer`."""
        live: np.ndarray = self.dead.live(records)
        if self.segment.has_restricted:
            live &= self.segment.visible_mask(records, viewer)
        return live

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


@dataclass(frozen=True)
class Neighbours:
    """The records nearest one query vector, best first: parallel arrays."""

    parts: np.ndarray
    records: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class Counted:
    """Records holding at least some of a set of keys, and how many of them each holds."""

    parts: np.ndarray
    records: np.ndarray
    counts: np.ndarray


class Snapshot:
    def __init__(self, directory: Path, manifest: Manifest, parts: list[Part]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.parts = parts
        self._probes: list[Probe] = [
            (part.segment.find, part, bool(part.dead.bitmap) or part.segment.has_restricted)
            for part in parts
        ]
        self._compiled = use_compiled() and all(part.segment.table for part in parts)
        self._lookup: Lookup | None = None  # made by the first `find` or by `warm`

    @property
    def db(self) -> str:
        return self.manifest.db

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def find(self, key: bytes, viewer: str | None = None) -> list[tuple[int, int]]:
        """(part, record) of every live record stored under `key` that `viewer` may see.

        The single-lookup path: a terminal's one document. Compiled, it is one call that
        probes every segment and settles tombstones and restrictions (indexes/_probe.c);
        Python runs only for a hit on a restricted record. Else the reference path below.
        """
        lookup = self._compiled_lookup()
        if lookup is None:
            return self._find_each(key, viewer)
        return lookup.find(key, viewer)

    def _compiled_lookup(self) -> Lookup | None:
        """The compiled probe over every part, made on first use rather than at open: its
        filter wants the restricted records as a bitset (~0.1 s to build at 100 million).

        Once made, it *is* this snapshot's `find` (an instance attribute): a call then
        goes straight to C, ~100 ns less than through this method's frame. A damaged
        segment's IndexError is answered by the per-segment path, which names the file."""
        if self._lookup is None and self._compiled:
            self._lookup = compiled_lookup(
                [part.segment.table for part in self.parts],
                [_filter(part) for part in self.parts],
                partial(_find_each, self._probes),  # not self: a cycle would keep it mapped
            )
            if self._lookup is not None:
                self.find = self._lookup.find  # type: ignore[method-assign]
        return self._lookup

    def _find_each(self, key: bytes, viewer: str | None) -> list[tuple[int, int]]:
        return _find_each(self._probes, key, viewer)

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

    def vector_spec(self) -> VectorSpec | None:
        """The vector column of this database (None if no segment has one)."""
        specs = {part.segment.vectors.spec for part in self.parts if part.segment.vectors}
        if len(specs) > 1:
            raise ValueError(f"{self.db}: segments hold different vector columns: {specs}")
        return specs.pop() if specs else None

    def nearest(
        self,
        queries: Sequence[np.ndarray],
        threshold: float,
        k: int = 10,
        viewer: str | None = None,
        exact: bool = False,
    ) -> list[Neighbours]:
        """Per query vector, the best `k` live records `viewer` may see scoring >= threshold.

        Scores: cosine (templates) or 1 - differing bits / bits (hashes), ties broken by
        (part, record). Every segment is scanned in blocks (vectors.py); `exact` makes a
        cosine scan read every float row instead of filtering by signatures first. A query
        that does not fit the column (width, kind, a zero template) raises ValueError.
        """
        spec = self.vector_spec()
        if spec is None or not len(queries):
            return [_no_neighbours() for _ in queries]
        rows = np.stack([row_of(spec, np.asarray(query)) for query in queries])
        found_queries, found_parts, found_records, found_scores = [], [], [], []
        for index, part in enumerate(self.parts):
            column = part.segment.vectors
            if column is None:
                continue
            at, records, scores = column.scan(rows, threshold, exact)
            keep = column.present(records) & part.live_mask(records, viewer)
            found_queries.append(at[keep])
            found_records.append(records[keep])
            found_scores.append(scores[keep])
            found_parts.append(np.full(int(keep.sum()), index, dtype=np.int64))
        return _best(
            len(rows),
            k,
            np.concatenate(found_queries),
            np.concatenate(found_parts),
            np.concatenate(found_records),
            np.concatenate(found_scores),
        )

    def count_keys(
        self,
        keys: Sequence[bytes],
        at_least: int = 1,
        viewer: str | None = None,
        verify: bool = True,
    ) -> Counted:
        """Live records `viewer` may see that hold at least `at_least` of `keys`, with how
        many each holds (an inverted-index query: a DNA profile's genotype keys).

        Each key's records are read as one array (Segment.records_under) and counted with
        one bincount per segment; a key given twice counts twice. `verify=False` does not
        compare stored keys (5 to 10 times faster on long posting lists): a count may then
        also include a key whose 32-bit hash collides with one asked for, so it is an upper
        bound, for a caller that recounts its candidates from their records.
        """
        hashes = [key_hash(key) for key in keys]
        parts, records, counts = [], [], []
        for index, part in enumerate(self.parts):
            segment = part.segment
            hits = [
                segment.records_under(key, hashed, verify)
                for key, hashed in zip(keys, hashes, strict=True)
            ]
            if not hits:
                continue
            tally = np.bincount(np.concatenate(hits), minlength=segment.records)
            held = np.flatnonzero(tally >= max(1, at_least))
            held = held[part.live_mask(held, viewer)]
            parts.append(np.full(len(held), index, dtype=np.int64))
            records.append(held)
            counts.append(tally[held])
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return Counted(empty, empty, empty)
        return Counted(np.concatenate(parts), np.concatenate(records), np.concatenate(counts))

    def holding_at_least(
        self, keys: Sequence[bytes], at_least: int, viewer: str | None = None
    ) -> Found:
        """Live records `viewer` may see that may hold `at_least` of `keys` (`queries` is
        all zeros): a superset, read from each segment's shortest posting lists only
        (Segment.holding_at_least), for a caller that verifies each record itself. Where
        `count_keys` reads every key's list, this reads a DNA query's rarest genotypes."""
        hashes = [key_hash(key) for key in keys]
        parts, records = [], []
        for index, part in enumerate(self.parts):
            held = part.segment.holding_at_least(hashes, at_least)
            held = held[part.live_mask(held, viewer)]
            parts.append(np.full(len(held), index, dtype=np.int64))
            records.append(held)
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return Found(empty, empty, empty)
        found_parts = np.concatenate(parts)
        return Found(np.zeros(len(found_parts), np.int64), found_parts, np.concatenate(records))

    def record(self, part: int, record: int) -> tuple[bytes, object]:
        return self.parts[part].segment.record(record)

    def count(self, viewer: str | None = None) -> int:
        return sum(part.visible_count(viewer) for part in self.parts)

    def verify(self) -> None:
        for part in self.parts:
            part.segment.verify()

    def prepare(self) -> None:
        """Build now what the first `find` would build (the compiled probe and its filters:
        ~6 ms at a million records, ~40 ms at ten): a server does it on its watcher thread,
        before the swap, so no request waits for it."""
        self._compiled_lookup()

    def warm(self) -> None:
        """Map every page now (see Container.warm) rather than on the first lookups."""
        for part in self.parts:
            part.segment.warm()
        self._compiled_lookup()


Probe = tuple[Callable[[bytes, int], list[int]], Part, bool]
"""A part's `Segment.find`, the part, and whether its hits need filtering."""


def _find_each(probes: list[Probe], key: bytes, viewer: str | None) -> list[tuple[int, int]]:
    """`find` segment by segment: the reference path, and the one that names a bad file."""
    hashed = key_hash(key)
    found = []
    for index, (probe, part, filtered) in enumerate(probes):
        for record in probe(key, hashed):
            if not filtered or part.is_live(record, viewer):
                found.append((index, record))
    return found


def _filter(part: Part) -> Filter | None:
    """What the compiled lookup needs to drop a part's dead and hidden hits (None: none)."""
    segment, dead = part.segment, part.dead.bitmap
    if not dead and not segment.has_restricted:
        return None
    bits = segment.restricted_bits if segment.has_restricted else None
    return bits, dead or None, segment.is_visible


def _no_neighbours() -> Neighbours:
    empty = np.empty(0, dtype=np.int64)
    return Neighbours(empty, empty, np.empty(0, dtype=np.float32))


def _best(
    queries: int,
    k: int,
    at: np.ndarray,
    parts: np.ndarray,
    records: np.ndarray,
    scores: np.ndarray,
) -> list[Neighbours]:
    """Per query, its `k` best rows: by query, then score descending, then part, record."""
    order = np.lexsort((records, parts, -scores.astype(np.float64), at))
    at, parts, records, scores = at[order], parts[order], records[order], scores[order]
    bounds = np.searchsorted(at, np.arange(queries + 1))
    ends = np.minimum(bounds[1:], bounds[:-1] + max(0, k))
    return [
        Neighbours(parts[lo:hi], records[lo:hi], scores[lo:hi])
        for lo, hi in zip(bounds[:-1].tolist(), ends.tolist(), strict=True)
    ]


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

"""The one way data changes: a writer holds the database lock, stages a batch, publishes.

Two NCBs loading at once queue on an exclusive lock instead of losing an update. A batch
becomes one new segment plus tombstones for the records it replaces or withdraws, and is
published by the manifest rename; until then readers see nothing of it. A publish that
fails (a full disk) removes what it wrote and says so with a `WriteError`; a writer killed
outright leaves only unreferenced files, which the next writer removes as soon as it holds
the lock, so they never cost the next load its disk space.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

import numpy as np
from pyroaring import BitMap

from indexes.errors import IndexStoreError, NoDatabaseError, WriteError
from indexes.hash_index import PreparedKeys, hash_keys
from indexes.manifest import MANIFEST_NAME, Manifest, SegmentEntry, read_manifest, write_manifest
from indexes.segment import PackedRecords, Record, SegmentBuilder
from indexes.snapshot import Part, SegmentCache, Snapshot, open_snapshot
from indexes.tombstones import tombstone_file_name, write_tombstones

LOCK_NAME = "LOCK"
MAX_SEGMENTS = 8
"""A lookup probes every segment: more than this after a load, and the small ones merge."""
# seg-000001.seg, seg-000001.dead-000004, .NAME.tmp-PID (container.py), .NAME.spool-* (segment.py)
OUR_FILES = re.compile(r"seg-\d+\.seg|seg-\d+\.dead-\d+|\..+\.tmp-\d+|\.seg-\d+\.spool-.*")


class Deletion(NamedTuple):
    """Withdraw the record of this identity; `key` is its primary lookup key."""

    identity: bytes
    key: bytes


@dataclass(frozen=True)
class Published:
    generation: int
    added: int
    withdrawn: int
    segments: int


def segment_name(number: int) -> str:
    return f"seg-{number:06d}"


class Writer:
    """Stage upserts and deletes under the database lock; `commit` publishes them at once.

    Order matters as in the upload file: a later upsert of an identity replaces an
    earlier one, a delete withdraws what was upserted before it.
    """

    def __init__(self, directory: Path, db: str, key_scheme: str | None = None) -> None:
        self.directory = directory
        self.db = db
        self.key_scheme = key_scheme
        """How the caller made the keys of the records it upserts (a label the engine only
        carries into the segment's meta: FORMAT.md, `key_scheme`)."""
        self._lock_fd = -1
        self._manifest = Manifest(db)
        self._snapshot: Snapshot | None = None
        self._builder: SegmentBuilder | None = None
        self._new_dead = BitMap()
        self._old_dead: dict[int, BitMap] = {}
        self._old_deleted: dict[int, BitMap] = {}
        self.withdrawn = 0
        self._next_sequence = 0
        self._taken_out: set[str] = set()

    def __enter__(self) -> Writer:
        with self._writing():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            with self._writing():
                self._open_current()
                self._builder = SegmentBuilder(
                    self.directory, segment_name(self._manifest.next_segment), self.db
                )
        except BaseException:
            os.close(self._lock_fd)  # `__exit__` does not run when `__enter__` fails
            raise
        return self

    def _open_current(self) -> None:
        """Read the current generation; clear what crashed writers left beside it.

        Under the lock nobody else writes, so every file of ours the manifest does not name
        is garbage: a killed load's half-written segment must not hold the disk space the
        next load needs. With no manifest nothing is removed (a lost manifest must not
        cost the segments that are then the only copy of the data)."""
        try:
            self._manifest = read_manifest(self.directory, self.db)
        except NoDatabaseError:
            self._snapshot = None
            return
        with suppress(OSError):  # garbage that cannot go now goes at the next commit
            remove_unreferenced(self.directory, self._manifest)
        self._snapshot = open_snapshot(self.directory, self.db, SegmentCache(verify=False))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._builder is not None:
            self._builder.close()
        os.close(self._lock_fd)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """An OSError while writing (ENOSPC, EIO) becomes a `WriteError` that names the
        directory and says which generation readers see now."""
        try:
            yield
        except OSError as error:
            raise self.write_error(error) from error

    def write_error(self, error: OSError) -> WriteError:
        """`error`, met while writing for this writer (in this process or another: a block
        worker's spool), as the `WriteError` that says what readers see now."""
        return WriteError(
            self.directory, error, self._manifest.generation, self._generation_on_disk()
        )

    def _generation_on_disk(self) -> int:
        try:
            return read_manifest(self.directory, self.db).generation
        except (IndexStoreError, OSError):
            return self._manifest.generation

    @property
    def published(self) -> Snapshot | None:
        """The generation this writer builds on (None: nothing published yet)."""
        return self._snapshot

    @property
    def _parts(self) -> list[Part]:
        return self._snapshot.parts if self._snapshot else []

    @property
    def builder(self) -> SegmentBuilder:
        if self._builder is None:
            raise RuntimeError("a Writer is used inside `with`")
        return self._builder

    def _sequence(self, count: int, sequence: Sequence[int] | np.ndarray | None) -> np.ndarray:
        """Caller's sequence numbers (e.g. upload lines), or the next ones in call order."""
        if sequence is None:
            sequence = np.arange(self._next_sequence, self._next_sequence + count)
        numbers = np.asarray(sequence, dtype=np.int64)
        if len(numbers):
            self._next_sequence = max(self._next_sequence, int(numbers.max()) + 1)
        return numbers

    def upsert(
        self, records: Sequence[Record], sequence: Sequence[int] | np.ndarray | None = None
    ) -> None:
        """Stage records; older copies of the same identity are withdrawn on commit.

        Within the batch, of two records with one identity the higher sequence wins.
        """
        if not records:
            return
        numbers = self._sequence(len(records), sequence)
        self._withdraw_old([r.identity for r in records], [r.keys[0] for r in records])
        with self._writing():  # to the spool, in the database's directory
            self.builder.add(records, numbers)
        self.builder.keyed_by(self.key_scheme)

    def upsert_packed(
        self, packed: PackedRecords, sequence: Sequence[int] | np.ndarray | None = None
    ) -> None:
        """`upsert` for records already packed (one key each, visible to all)."""
        numbers = self._sequence(len(packed.record_lengths), sequence)
        if self._parts:
            self._withdraw_old(list(packed.identity_list), list(packed.key_list))
        with self._writing():
            self.builder.add_packed(packed, numbers)
        self.builder.keyed_by(self.key_scheme)

    def delete(
        self, deletions: Sequence[Deletion], sequence: Sequence[int] | np.ndarray | None = None
    ) -> list[int]:
        """Stage withdrawals; returns, per deletion, how many records it withdrew (0: none).

        A deletion withdraws every older copy and the staged records of a lower sequence.
        """
        if not deletions:
            return []
        numbers = self._sequence(len(deletions), sequence)
        identities = [d.identity for d in deletions]
        counts = self._withdraw_old(identities, [d.key for d in deletions], deleting=True)
        for index, count in enumerate(self._withdraw_new(identities, numbers)):
            counts[index] = max(counts[index], count)
        self.withdrawn += sum(counts)
        return counts

    def take_out(self, names: Collection[str] | None = None) -> list[Part]:
        """Drop these segments (all if None) from the next manifest; returns them so their
        live records can be copied into the new segment (compaction)."""
        chosen = [part for part in self._parts if names is None or part.entry.name in names]
        self._taken_out.update(part.entry.name for part in chosen)
        return chosen

    def copy_records(self, part: Part, records: BitMap, batch: int = 100_000) -> None:
        """Stage these records of a taken-out segment as they are (compaction): byte ranges
        copied for a one-key segment, else decoded and re-added `batch` at a time."""
        self.builder.keyed_by(part.segment.key_scheme)
        with self._writing():
            if part.segment.meta["one_key_each"]:
                self.builder.add_copied(part.segment, records)
                return
            numbers = records.to_array()
            for start in range(0, len(numbers), batch):
                chunk = [_carry(part, r) for r in numbers[start : start + batch]]
                self.builder.add(chunk, self._sequence(len(chunk), None))

    def _withdraw_old(
        self, identities: list[bytes], keys: list[bytes], deleting: bool = False
    ) -> list[int]:
        """Withdraw the published records of these identities; 1 per identity found.

        A record an upsert of this batch already replaced still counts for a deletion
        (the upload's earlier line withdrew it); one an earlier deletion took does not.
        """
        counts = [0] * len(identities)
        if not self._parts:
            return counts
        batch = PreparedKeys(keys)
        for number, part in enumerate(self._parts):
            queries, records = part.segment.find_many(batch)
            live = part.dead.live(records)
            queries, records = queries[live], records[live]
            same = part.segment.identities_equal(records, [identities[q] for q in queries.tolist()])
            dead = self._old_dead.setdefault(number, BitMap())
            deleted = self._old_deleted.setdefault(number, BitMap())
            matched = zip(queries[same].tolist(), records[same].tolist(), strict=True)
            for query, record in matched:
                if record in deleted or (record in dead and not deleting):
                    continue
                dead.add(record)
                if deleting:
                    deleted.add(record)
                counts[query] = 1
        return counts

    def _withdraw_new(self, identities: list[bytes], sequence: np.ndarray) -> list[int]:
        counts = [0] * len(identities)
        staged = self.builder.identity_hashes()
        if not len(staged):
            return counts
        staged_sequence = self.builder.sequence()
        wanted = hash_keys(identities)
        for record in np.flatnonzero(np.isin(staged, wanted)).tolist():
            if record in self._new_dead:
                continue
            identity = self.builder.identity(record)
            for index, candidate in enumerate(identities):
                if candidate == identity and staged_sequence[record] < sequence[index]:
                    self._new_dead.add(record)
                    counts[index] = 1  # earlier staged copies are superseded, not live
                    break
        return counts

    def _supersede_duplicates(self) -> None:
        """Within one batch, the last upsert of an identity wins over earlier ones."""
        staged = self.builder.identity_hashes()
        # A plain sort finds the repeated hashes (numpy's SIMD sort: ~8x an argsort);
        # only their few records are then looked up, in record order.
        ordered = np.sort(staged)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        groups: dict[int, list[int]] = {}
        if len(repeated):
            duplicated = np.flatnonzero(np.isin(staged, repeated))
            for record, key in zip(duplicated.tolist(), staged[duplicated].tolist(), strict=True):
                groups.setdefault(key, []).append(record)
        sequence = self.builder.sequence()
        for records in groups.values():
            by_identity: dict[bytes, list[int]] = {}
            for record in records:
                by_identity.setdefault(self.builder.identity(record), []).append(record)
            for same in by_identity.values():
                latest = max(same, key=lambda record: (sequence[record], record))
                self._new_dead.update(record for record in same if record != latest)

    def commit(self, deduplicate: bool = True) -> Published:
        """Write the new segment and tombstones, fsync them, then rename the manifest.

        A commit that fails removes the files it wrote and the manifest does not name, so
        a full disk gets its space back at once. `deduplicate=False` is for compaction,
        whose records are already unique.
        """
        with self._writing():
            try:
                return self._publish(deduplicate)
            except BaseException:
                self._remove_unpublished()
                raise

    def _remove_unpublished(self) -> None:
        """After a failed commit: our files that the manifest on disk does not name go.

        The manifest on disk, not the one this writer started from: if the failure came
        after the rename, the new generation is published and its files must stay."""
        try:
            current = read_manifest(self.directory, self.db)
        except NoDatabaseError:
            current = Manifest(self.db)
        except (IndexStoreError, OSError):
            return
        with suppress(OSError):
            remove_unreferenced(self.directory, current)

    def _publish(self, deduplicate: bool) -> Published:
        builder = self.builder
        if not builder.records and not any(self._old_dead.values()) and not self._taken_out:
            return Published(self._manifest.generation, 0, 0, len(self._manifest.segments))
        generation = self._manifest.generation + 1
        entries = [
            self._retire(number, part, generation)
            for number, part in enumerate(self._parts)
            if part.entry.name not in self._taken_out
        ]
        next_segment = self._manifest.next_segment
        added = builder.records
        if builder.records:
            if deduplicate:
                self._supersede_duplicates()
            builder.finish()
            dead_file = None
            if self._new_dead:
                dead_file = tombstone_file_name(builder.name, generation)
                write_tombstones(self.directory / dead_file, builder.name, self._new_dead)
            entries.append(
                SegmentEntry(builder.name, builder.records, len(self._new_dead), dead_file)
            )
            next_segment += 1
        kept = tuple(entry for entry in entries if entry.live > 0)
        manifest = self._manifest.successor(kept, next_segment)
        write_manifest(self.directory, manifest)
        self._manifest = manifest
        with suppress(OSError):  # published: what cannot be removed now, the next writer removes
            remove_unreferenced(self.directory, manifest)
        withdrawn = sum(len(dead) for dead in self._old_dead.values()) + len(self._new_dead)
        return Published(generation, added - len(self._new_dead), withdrawn, len(kept))

    def _retire(self, number: int, part: Part, generation: int) -> SegmentEntry:
        dead = self._old_dead.get(number)
        if not dead:
            return part.entry
        union = BitMap(part.dead.bitmap) | dead
        name = tombstone_file_name(part.entry.name, generation)
        write_tombstones(self.directory / name, part.entry.name, union)
        return SegmentEntry(part.entry.name, part.entry.records, len(union), name)


def remove_unreferenced(directory: Path, manifest: Manifest) -> None:
    """Under the lock nobody else writes: our files the manifest does not name are garbage.

    Only names this engine writes (segments, tombstones, temp and spool files) are
    removed; anything else an operator put in the directory is left alone. Readers still
    holding an older generation keep their mappings (unlinked files stay readable on
    POSIX); readers opening it now retry on the new manifest.
    """
    keep = manifest.files() | {LOCK_NAME, MANIFEST_NAME}
    for entry in os.scandir(directory):
        if entry.is_file() and entry.name not in keep and OUR_FILES.fullmatch(entry.name):
            Path(entry.path).unlink(missing_ok=True)


def compact(
    directory: Path, db: str, segments: Collection[str] | None = None, batch: int = 100_000
) -> Published:
    """Merge the live records of these segments (all if None) into one new segment.

    Any subset may be merged: a publish already tombstoned every record a newer one
    replaced, so the live records of different segments never share an identity.
    """
    with Writer(directory, db) as writer:
        for part in writer.take_out(segments):
            writer.copy_records(part, BitMap(range(part.entry.records)) - part.dead.bitmap, batch)
        return writer.commit(deduplicate=False)


def compact_if_fragmented(directory: Path, db: str) -> Published | None:
    """After a load: when more than MAX_SEGMENTS segments would be probed by every lookup,
    merge all but the largest (the bulk of the data stays where it is, so the cost is
    that of the recent uploads)."""
    manifest = read_manifest(directory, db)
    if len(manifest.segments) <= MAX_SEGMENTS:
        return None
    largest = max(manifest.segments, key=lambda entry: entry.live)
    small = {entry.name for entry in manifest.segments if entry is not largest}
    return compact(directory, db, small)


def _carry(part: Part, record: int) -> Record:
    identity, data = part.segment.record(record)
    segment = part.segment
    return Record(
        identity,
        segment.keys_of(record),
        data,
        segment.visible_to(record),
        segment.vector(record),
        segment.tokens_of(record),
    )

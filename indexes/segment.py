"""An immutable segment: the hashed index, the record store and the visibility bitmaps.

A load writes one segment; it is never changed after its rename. Withdrawing a record
later is a tombstone bitmap in another file (tombstones.py), so a segment can be mapped
by every worker and shipped to replicas as it is.
"""

from __future__ import annotations

import array
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple, TypeVar

import msgpack
import numpy as np
import orjson
from pyroaring import BitMap, FrozenBitMap

from indexes.container import Container, FileBytes, write_container
from indexes.errors import CorruptFileError, LimitError
from indexes.hash_index import (
    EMPTY_ENTRY,
    KEY_WIDTHS,
    LOW32,
    MAX_ENTRIES,
    HashIndex,
    PreparedKeys,
    build_slots,
    compiled_table,
    fixed_width_keys,
    hash_keys,
    key_hash,
    key_width_for,
    ranges_equal,
    rows_by_slot,
)
from indexes.postings import (
    RunLists,
    find_postings,
    key_runs,
    rarest_candidates,
    run_tables,
    runs_records,
)
from indexes.vectors import VectorColumn, VectorSpool

SEGMENT_MAGIC = b"SCRNSEG\x00"
SEGMENT_SUFFIX = ".seg"
MAX_KEYS_PER_RECORD = 255
EMPTY_BITMAP = FrozenBitMap()
EMPTY_SERIALIZED = len(EMPTY_BITMAP.serialize())
T = TypeVar("T")


class Record(NamedTuple):
    """What a segment stores for one record.

    identity: what makes two records "the same" (a later one replaces an earlier one);
    keys: the lookup keys, the first one the primary key, which every record of the
    same identity shares; data: any msgpack-able value; visible_to: None for everyone,
    else the only viewers (state codes) allowed to see it; vector: the record's row of the
    segment's vector column (vectors.py: a float template or uint64 hash words), or None;
    tokens: keys of an inverted index (a name token, a genotype) that thousands of records
    share, found by the posting reads (`Snapshot.count_keys`, `Segment.postings`), never by
    `find`: they have their own slot array (FORMAT.md, "Tokens"):

    "An exact lookup reads `slots` only: no token is ever in its way."
    """

    identity: bytes
    keys: tuple[bytes, ...]
    data: object
    visible_to: frozenset[str] | None = None
    vector: np.ndarray | None = None
    tokens: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class PackedRecords:
    """Records packed elsewhere, laid end to end: each is msgpack [identity, data]."""

    records: bytes | memoryview | FileBytes
    """The records' bytes, or where in a file they already are (a block worker's spool)."""
    record_lengths: np.ndarray
    keys: bytes | memoryview
    key_lengths: np.ndarray
    key_list: Sequence[bytes]
    identity_list: Sequence[bytes]
    viewers: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Each viewer's records (index in this batch) of those only some states may see."""
    key_hashes: np.ndarray | None = None
    identity_hashes: np.ndarray | None = None
    """`hash_keys` of key_list and identity_list, if the packer computed them already."""


@dataclass
class _Visibility:
    restricted: BitMap = field(default_factory=BitMap)
    by_viewer: dict[str, BitMap] = field(default_factory=dict)

    def add(self, record: int, viewers: frozenset[str] | None) -> None:
        if viewers is None:
            return
        self.restricted.add(record)
        for viewer in viewers:
            self.by_viewer.setdefault(viewer, BitMap()).add(record)

    def add_grouped(self, first: int, viewers: Mapping[str, np.ndarray]) -> None:
        """`add` of a batch whose records first + row are listed per viewer: one bitmap
        update per viewer, none per record."""
        for viewer, rows in viewers.items():
            records = _uint32_array(rows, first)
            self.restricted.update(records)
            self.by_viewer.setdefault(viewer, BitMap()).update(records)


def _uint32_array(rows: np.ndarray, first: int) -> array.array[int]:
    """What a BitMap takes in one call (a numpy array it would read value by value)."""
    return array.array("I", (rows.astype(np.uint32) + np.uint32(first)).tobytes())


class SegmentBuilder:
    """Streams records to a spool file, keeps only keys and hashes in memory, then writes.

    Memory stays near 30 bytes a record plus the keys, so 100 million records build in a
    few GiB; the records themselves are copied once from the spool into the segment (from
    this builder's spool, or from the file a block worker wrote them to: `add_packed`).
    """

    def __init__(self, directory: Path, name: str, db: str) -> None:
        self.directory = directory
        self.name = name
        self.db = db
        self.records = 0
        # Held across calls and closed by finish() or close(): no `with` can span that.
        self._spool = tempfile.TemporaryFile(dir=directory, prefix=f".{name}.spool-")  # noqa: SIM115
        self._spool_end = 0
        self._record_pieces: list[FileBytes] = []
        """Where the records are, in order: runs of this spool, or of another file's."""
        self._piece_starts: np.ndarray | None = None
        self._record_offsets: list[np.ndarray] = [np.zeros(1, dtype=np.uint64)]
        self._record_end = 0
        self._keys: list[bytes | memoryview] = []
        self._key_offsets: list[np.ndarray] = [np.zeros(1, dtype=np.uint64)]
        self._key_end = 0
        self._key_hashes: list[np.ndarray] = []
        self._key_counts: list[np.ndarray] = []  # keys per record, uint8
        self._token_flags: list[tuple[int, np.ndarray | None]] = []  # (entries, which tokens)
        self._longest_key = 0
        self._entries = 0
        self._offsets_cache: np.ndarray | None = None
        self._identity_hashes: list[np.ndarray] = []
        self._sequence: list[np.ndarray] = []
        self._one_key_each = True
        self._identities_known = True
        self._visibility = _Visibility()
        self._vectors = VectorSpool(directory, name)
        self._key_schemes: set[str | None] = set()

    def keyed_by(self, scheme: str | None) -> None:
        """Records keyed by `scheme` were added (None: by none the caller named). The segment
        is labelled only when all its records share one: a compaction that merges old and
        new keys leaves the label off, and a reader takes the path that needs no label."""
        self._key_schemes.add(scheme)

    def add(self, records: Sequence[Record], sequence: np.ndarray) -> range:
        """Append a batch; returns the record numbers it was given in this segment.

        `sequence` orders records of one identity: the highest wins (upload line order).
        """
        first = self.records
        packed = [msgpack.packb([r.identity, r.data], use_bin_type=True) for r in records]
        lengths = np.fromiter(map(len, packed), dtype=np.uint64, count=len(packed))
        self._append_records(b"".join(packed), lengths)
        self._append_keys(records, first)
        self._identity_hashes.append(hash_keys([r.identity for r in records]))
        self._sequence.append(np.asarray(sequence, dtype=np.int64))
        for number, record in enumerate(records, first):
            self._visibility.add(number, record.visible_to)
        self._vectors.add(first, [r.vector for r in records])
        self.records += len(records)
        return range(first, self.records)

    def add_packed(self, packed: PackedRecords, sequence: np.ndarray) -> range:
        """Append records already packed (the loader's column path), one key each.

        Nothing is done per record in Python but hashing."""
        first = self.records
        count = len(packed.record_lengths)
        if isinstance(packed.records, FileBytes):
            self._append_spooled(packed.records, packed.record_lengths)
        else:
            self._append_records(packed.records, packed.record_lengths)
        self._keys.append(packed.keys)
        self._key_offsets.append(
            np.cumsum(packed.key_lengths, dtype=np.uint64) + np.uint64(self._key_end)
        )
        if count:
            self._key_end = int(self._key_offsets[-1][-1])
        self._note_keys(packed.key_lengths, None)
        key_hashes, identity_hashes = packed.key_hashes, packed.identity_hashes
        self._key_hashes.append(hash_keys(packed.key_list) if key_hashes is None else key_hashes)
        self._count_keys(np.ones(count, dtype=np.uint8))
        self._identity_hashes.append(
            hash_keys(packed.identity_list) if identity_hashes is None else identity_hashes
        )
        self._sequence.append(np.asarray(sequence, dtype=np.int64))
        self._visibility.add_grouped(first, packed.viewers)
        self.records += count
        return range(first, self.records)

    def add_copied(self, source: Segment, keep: BitMap) -> range:
        """Append the `keep` records of a one-key segment by copying byte ranges (compaction).

        Runs of consecutive kept records are copied as one slice each, so merging
        segments costs a sequential copy, not a decode and re-encode per record. Copied
        records carry no identity hash: a builder fed this way cannot deduplicate.
        """
        first = self.records
        self._identities_known = False
        for start, stop in _runs(keep):
            self._copy_run(source, start, stop)
        for record in keep & source.restricted:
            self._visibility.add(first + keep.rank(record) - 1, source.visible_to(record))
        return range(first, self.records)

    def _copy_run(self, source: Segment, start: int, stop: int) -> None:
        if source.vectors is not None:
            self._vectors.copy(self.records, source.vectors, start, stop)
        record_offsets = np.frombuffer(source._record_offsets, dtype=np.uint64)[start : stop + 1]
        self._append_records(
            source._records[int(record_offsets[0]) : int(record_offsets[-1])],
            np.diff(record_offsets),
        )
        keys, lengths = source.keys_between(start, stop)
        self._keys.append(keys)
        self._key_offsets.append(np.cumsum(lengths, dtype=np.uint64) + np.uint64(self._key_end))
        self._key_end += len(keys)
        self._note_keys(lengths, None)
        relative = [0, *np.cumsum(lengths, dtype=np.uint64).tolist()]
        split = [keys[a:b] for a, b in itertools.pairwise(relative)]
        self._key_hashes.append(hash_keys(split))
        count = stop - start
        self._count_keys(np.ones(count, dtype=np.uint8))
        self._sequence.append(np.zeros(count, dtype=np.int64))
        self.records += count

    def _append_records(self, blob: bytes | memoryview, lengths: np.ndarray) -> None:
        size = len(memoryview(blob).cast("B"))
        self._spool.write(blob)
        self._add_piece(FileBytes(self._spool.fileno(), self._spool_end, size))
        self._spool_end += size
        self._note_records(lengths)

    def _append_spooled(self, where: FileBytes, lengths: np.ndarray) -> None:
        """Records another process already wrote to a file this one can read (a block
        worker's spool): only their place is kept, and the segment copies them from there."""
        if int(lengths.sum(dtype=np.uint64)) != where.length:
            raise ValueError(f"records of {int(lengths.sum())} bytes in {where.length} spooled")
        self._add_piece(where)
        self._note_records(lengths)

    def _add_piece(self, piece: FileBytes) -> None:
        """A run of records after the others; it extends the last one if it follows it."""
        self._piece_starts = None
        last = self._record_pieces[-1] if self._record_pieces else None
        if last is not None and last.fd == piece.fd and last.offset + last.length == piece.offset:
            self._record_pieces[-1] = FileBytes(last.fd, last.offset, last.length + piece.length)
        elif piece.length:
            self._record_pieces.append(piece)

    def _note_records(self, lengths: np.ndarray) -> None:
        self._offsets_cache = None
        ends = np.cumsum(lengths, dtype=np.uint64) + np.uint64(self._record_end)
        self._record_offsets.append(ends)
        if len(ends):
            self._record_end = int(ends[-1])

    def _note_keys(self, lengths: np.ndarray, tokens: np.ndarray | None) -> None:
        """Remember the longest key (it decides the key section's layout) and which of
        these entries are tokens (None: none of them)."""
        if len(lengths):
            self._longest_key = max(self._longest_key, int(lengths.max()))
        self._token_flags.append((len(lengths), tokens))

    def _count_keys(self, counts: np.ndarray) -> None:
        if len(counts) and (counts != 1).any():
            self._one_key_each = False
        self._key_counts.append(counts)
        self._entries += int(counts.sum(dtype=np.int64))

    def _append_keys(self, records: Sequence[Record], first: int) -> None:
        """Each record's entries: its keys, then its tokens."""
        counts = np.fromiter(
            (len(r.keys) + len(r.tokens) for r in records), dtype=np.int64, count=len(records)
        )
        if len(counts) and int(counts.max()) > MAX_KEYS_PER_RECORD:
            raise LimitError(f"a record has {int(counts.max())} keys, at most 255 are stored")
        counts = counts.astype(np.uint8)
        self._count_keys(counts)
        keys = [key for r in records for key in (*r.keys, *r.tokens)]
        tokens = None
        if any(r.tokens for r in records):
            tokens = np.fromiter(
                (is_token for r in records for is_token in _token_marks(r)),
                dtype=bool,
                count=len(keys),
            )
        lengths = np.fromiter(map(len, keys), dtype=np.uint64, count=len(keys))
        ends = np.cumsum(lengths, dtype=np.uint64) + np.uint64(self._key_end)
        self._keys.append(b"".join(keys))
        self._key_offsets.append(ends)
        if len(ends):
            self._key_end = int(ends[-1])
        self._note_keys(lengths, tokens)
        self._key_hashes.append(hash_keys(keys))

    def sequence(self) -> np.ndarray:
        """The sequence number of each added record, in record order."""
        return np.concatenate(self._sequence or [np.empty(0, np.int64)])

    def identity_hashes(self) -> np.ndarray:
        """xxh3_64 of each added record's identity, in record order."""
        if not self._identities_known:
            raise RuntimeError("copied records carry no identity hashes")
        return np.concatenate(self._identity_hashes or [np.empty(0, np.uint64)])

    def identity(self, record: int) -> bytes:
        """Read back the identity of an added record from the spool (rare: conflicts only)."""
        return bytes(msgpack.unpackb(self.raw_record(record), raw=True)[0])

    def raw_record(self, record: int) -> bytes:
        if self._offsets_cache is None:
            self._offsets_cache = np.concatenate(self._record_offsets)
            self._record_offsets = [self._offsets_cache]
        offsets = self._offsets_cache
        start, end = int(offsets[record]), int(offsets[record + 1])
        if self._piece_starts is None:
            lengths = [piece.length for piece in self._record_pieces]
            self._piece_starts = np.cumsum([0, *lengths], dtype=np.int64)
        number = int(np.searchsorted(self._piece_starts, start, "right")) - 1
        piece = self._record_pieces[number]
        at = piece.offset + start - int(self._piece_starts[number])
        self._spool.flush()
        return os.pread(piece.fd, end - start, at)

    def finish(self, created_ns: int | None = None) -> Path:
        """Write the segment file atomically and return its path."""
        path = self.directory / f"{self.name}{SEGMENT_SUFFIX}"
        self._identity_hashes.clear()  # deduplication is over: free what only it needed
        self._sequence.clear()
        if self._entries > MAX_ENTRIES:
            raise LimitError(
                f"{self._entries} entries exceed the {MAX_ENTRIES} one segment can hold"
            )
        key_hashes = np.concatenate(self._key_hashes or [np.empty(0, np.uint64)])
        self._key_hashes.clear()
        tokens = self._token_entries()
        if tokens is None:
            built, token_slots = build_slots(key_hashes), None
        else:
            identities = np.flatnonzero(~tokens)
            built = build_slots(key_hashes[identities], identities)
            del identities
            token_entries = np.flatnonzero(tokens)
            token_slots = build_slots(key_hashes[token_entries], token_entries)
            del token_entries
        del key_hashes, tokens
        width = key_width_for(self._longest_key)
        meta: dict[str, object] = {
            "db": self.db,
            "records": self.records,
            "entries": self._entries,
            "capacity": built.capacity,
            "slots": len(built.slots),
            "max_displacement": built.max_displacement,
            "mean_displacement": round(built.mean_displacement, 4),
            "one_key_each": self._one_key_each,
            "key_width": width,
        }
        if token_slots is not None:
            meta["token_capacity"] = token_slots.capacity
            meta["token_slots"] = len(token_slots.slots)
        if len(self._key_schemes) == 1 and None not in self._key_schemes:
            meta["key_scheme"] = next(iter(self._key_schemes))
        if self._vectors.spec is not None:
            meta["vector"] = self._vectors.spec.meta()
        sections: list[tuple[str, object]] = [("meta", orjson.dumps(meta)), ("slots", built.slots)]
        if token_slots is not None:
            sections.append(("tslots", token_slots.slots))
        if width:
            rows = self._rows_by_entry(width)
            sections.append(("keyrows", rows_by_slot(built.slots, rows)))
            if token_slots is not None:
                sections.append(("tkeyrows", rows_by_slot(token_slots.slots, rows)))
            del rows
        else:
            sections += [("keyoffs", np.concatenate(self._key_offsets)), ("keys", self._keys)]
        if not self._one_key_each:
            counts = np.concatenate(self._key_counts)
            sections.append(("entrec", np.repeat(np.arange(self.records, dtype=np.uint32), counts)))
        sections += [
            ("recoffs", np.concatenate(self._record_offsets)),
            ("records", self._spooled()),
            ("restrict", self._visibility.restricted.serialize()),
            ("visible", _serialize_viewers(self._visibility.by_viewer)),
        ]
        sections += self._vectors.sections(self.records)
        write_container(path, SEGMENT_MAGIC, sections, created_ns)  # type: ignore[arg-type]
        self.close()
        return path

    def _token_entries(self) -> np.ndarray | None:
        """Which entries are tokens, one bool each (None: none is)."""
        if all(flags is None for _, flags in self._token_flags):
            return None
        return np.concatenate(
            [np.zeros(n, bool) if flags is None else flags for n, flags in self._token_flags]
        )

    def _rows_by_entry(self, width: int) -> np.ndarray:
        """Every entry's key as a fixed-width row, in one array filled batch by batch."""
        rows = np.empty((self._entries, width), dtype=np.uint8)
        at = 0
        for batch in self._fixed_width_keys(width):
            rows[at : at + len(batch)] = batch
            at += len(batch)
        return rows

    def _fixed_width_keys(self, width: int) -> Iterator[np.ndarray]:
        """Every entry's key as a fixed-width row, a batch of entries at a time."""
        start = np.zeros(1, dtype=np.uint64)
        for blob, ends in zip(self._keys, self._key_offsets[1:], strict=True):
            offsets = np.concatenate((start, ends)) - start[0]
            yield fixed_width_keys(np.frombuffer(blob, dtype=np.uint8), offsets, width)
            if len(ends):
                start = ends[-1:]

    def _spooled(self) -> list[FileBytes]:
        """Where the records are, copied into the segment by `write_container` through a
        small buffer: a multi-GiB spool never adds more than that buffer to the resident set."""
        self._spool.flush()
        return list(self._record_pieces)

    def close(self) -> None:
        self._spool.close()
        self._vectors.close()


def sorted_contains(members: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which `values` are in the sorted array `members`: a binary search each.

    np.isin would hash all of `members` on every call: 300,000 restricted records made
    each batch pay ~100 ms for a few hundred candidates.
    """
    if not len(members):
        return np.zeros(len(values), dtype=bool)
    where = np.minimum(np.searchsorted(members, values), len(members) - 1)
    found: np.ndarray = members[where] == values
    return found


def bits_contain(bits: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which `values` have their bit set in the little-endian bitset `bits` (out of range:
    not set). One gather a value: where a binary search per value over 300,000 sorted
    members cost ~0.6 us in cache misses, this costs ~30 ns."""
    at = values.astype(np.int64)
    bytes_at = np.take(bits, at >> 3, mode="clip")
    inside: np.ndarray = ((bytes_at >> (at & 7).astype(np.uint8)) & 1).astype(bool)
    inside &= (at >= 0) & (at < len(bits) * 8)
    return inside


def _runs(numbers: BitMap) -> Iterator[tuple[int, int]]:
    """[start, stop) ranges of consecutive numbers in a bitmap."""
    values = np.frombuffer(numbers.to_array(), dtype=np.uint32).astype(np.int64)
    if not len(values):
        return
    breaks = np.flatnonzero(np.diff(values) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [len(values)]))
    for begin, end in zip(starts.tolist(), stops.tolist(), strict=True):
        yield int(values[begin]), int(values[end - 1]) + 1


def _token_marks(record: Record) -> Iterator[bool]:
    """Per entry of a record (its keys, then its tokens): is it a token?"""
    yield from itertools.repeat(False, len(record.keys))
    yield from itertools.repeat(True, len(record.tokens))


def _serialize_viewers(by_viewer: dict[str, BitMap]) -> bytes:
    packed: bytes = msgpack.packb(
        {viewer: bitmap.serialize() for viewer, bitmap in sorted(by_viewer.items())},
        use_bin_type=True,
    )
    return packed


class Segment:
    """A mapped segment file: find records by key, read them, know who may see them."""

    def __init__(self, path: Path, verify: bool = True) -> None:
        self.path = path
        self.name = path.name.removesuffix(SEGMENT_SUFFIX)
        self._file = Container(path, SEGMENT_MAGIC, verify=verify)
        try:
            self.meta = orjson.loads(bytes(self._file.raw("meta")))
            self.records = int(self.meta["records"])
            width = int(self.meta["key_width"])
            if width not in (0, *KEY_WIDTHS):
                raise ValueError(f"key_width {width} is none of 0, {KEY_WIDTHS}")
            self._index = self._slot_index("slots", "capacity", "keyrows", width)
            self._indexes = [self._index]
            if "token_capacity" in self.meta:
                self._indexes.append(
                    self._slot_index("tslots", "token_capacity", "tkeyrows", width)
                    if width
                    else self._index.over(
                        self._file.raw("tslots"), int(self.meta["token_capacity"])
                    )
                )
            self._entry_records = (
                None if self.meta["one_key_each"] else self._file.raw("entrec").cast("I")
            )
            self.table = compiled_table(
                self._file.raw("slots"),
                int(self.meta["capacity"]),
                b"" if width else self._file.raw("keyoffs"),
                self._file.raw("keyrows" if width else "keys"),
                self._entry_records,
                width,
                int(self.meta["entries"]),
            )
            self._record_offsets = self._file.raw("recoffs").cast("Q")
            self._records = self._file.raw("records")
            self.has_restricted = self._file.require("restrict").length > EMPTY_SERIALIZED
            self._file.require("visible")
            self.vectors = (
                VectorColumn(self._file, self.meta["vector"], self.records)
                if "vector" in self.meta
                else None
            )
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as error:
            raise CorruptFileError(path, 0, f"unreadable segment metadata: {error}") from None
        self._sorted_cache: dict[str | None, np.ndarray] = {}
        self._probe = self._index.find
        self._run_tables = run_tables(self._indexes)
        self._token_run_tables = self._run_tables[1:]
        self._check_sizes()

    def _slot_index(self, slots: str, capacity: str, rows: str, width: int) -> HashIndex:
        """A slot array's index: over its own rows (`keyrows`, `tkeyrows`) when the keys have
        a fixed width, else over `keyoffs` and `keys`."""
        keys = rows if width else "keys"
        return HashIndex(
            self._file.raw(slots),
            int(self.meta[capacity]),
            memoryview(b"") if width else self._file.raw("keyoffs"),
            self._file.raw(keys),
            self._file.mapping,
            self._file.require(keys).offset,
            width,
            int(self.meta["entries"]),
        )

    @cached_property
    def restricted(self) -> FrozenBitMap:
        """Records only some states may see. Read on first use, not at open: at 100 million
        records the visibility bitmaps take ~90 ms to decode, and open must stay O(1)."""
        return self._bitmap(lambda: FrozenBitMap.deserialize(bytes(self._file.raw("restrict"))))

    @cached_property
    def viewers(self) -> dict[str, FrozenBitMap]:
        """For each state, the restricted records it may see."""
        return self._bitmap(
            lambda: {
                str(viewer): FrozenBitMap.deserialize(raw)
                for viewer, raw in msgpack.unpackb(bytes(self._file.raw("visible"))).items()
            }
        )

    def _bitmap(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except (ValueError, TypeError, msgpack.UnpackException) as error:
            raise CorruptFileError(
                self.path, 0, f"unreadable visibility bitmaps: {error}"
            ) from None

    def _check_sizes(self) -> None:
        if len(self._record_offsets) != self.records + 1:
            raise CorruptFileError(self.path, 0, "record offsets do not match the record count")
        if self._record_offsets[self.records] != len(self._records):
            raise CorruptFileError(self.path, 0, "record offsets do not end at the store's end")

    @property
    def key_scheme(self) -> str | None:
        """The label the writer gave the keys of every record here, or None (FORMAT.md)."""
        scheme = self.meta.get("key_scheme")
        return scheme if isinstance(scheme, str) else None

    @property
    def created_ns(self) -> int:
        return self._file.created_ns

    def verify(self) -> None:
        self._file.verify()

    def warm(self) -> None:
        """Map every page and decode the visibility bitmaps now, off the request path."""
        self._file.warm()
        if self.has_restricted:
            self.restricted, self.viewers  # noqa: B018 - decoded for their side effect

    def find(self, key: bytes, hashed: int | None = None) -> list[int]:
        """Record numbers stored under `key` (tombstones are the caller's business)."""
        try:
            if self.table is not None:
                return self.table.find(key, hashed)
            entries = self._probe(key, key_hash(key) if hashed is None else hashed)
            if self._entry_records is None:
                return entries
            return [self._entry_records[entry] for entry in entries]
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None

    def find_many(self, batch: PreparedKeys) -> tuple[np.ndarray, np.ndarray]:
        """(query index, record number) for every match of a prepared batch."""
        try:
            if self.table is not None:
                found_queries, found_records = self.table.find_many(batch.keys, batch.hashes)
                return (
                    np.frombuffer(found_queries, dtype=np.int64),
                    np.frombuffer(found_records, dtype=np.int64),
                )
            queries, entries = self._index.find_many(batch)
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None
        if self._entry_records is None:
            return queries, entries
        return queries, np.frombuffer(self._entry_records, dtype=np.uint32)[entries]

    def postings(self, key: bytes, tokens_only: bool = False) -> np.ndarray:
        """Record numbers stored under `key`, ascending, as uint32: a candidate set.

        For inverted-index keys (a name token, a birth year) shared by thousands of
        records: `records_under` without comparing stored keys, so it may also hold
        records of another key whose hash has the same high 32 bits (rare), for a caller
        that checks each record itself (a scorer). `tokens_only`: the records holding
        `key` as a token (`tslots` alone, FORMAT.md "Tokens"), for a caller whose keys
        are never lookup keys; one random read a key fewer.
        """
        if self.table is None:
            records = self.records_under(key, verify=False, tokens_only=tokens_only)
            records.sort()
            return records.astype(np.uint32)
        (found,) = self.postings_many([key], tokens_only)
        return found

    def postings_many(self, keys: Sequence[bytes], tokens_only: bool = False) -> list[np.ndarray]:
        """`postings` of each key, read together (their cache misses overlap)."""
        if self.table is None:
            return [self.postings(key, tokens_only) for key in keys]
        tables = self._token_run_tables if tokens_only else self._run_tables
        try:
            return runs_records(tables, keys, self._entry_records)
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None

    def records_under(
        self,
        key: bytes,
        hashed: int | None = None,
        verify: bool = True,
        tokens_only: bool = False,
    ) -> np.ndarray:
        """`find` as an int64 array, for a key many records share (postings.py): exact,
        the stored keys compared, unless `verify=False` (then a superset: see postings.py);
        `tokens_only` as in `postings`.
        """
        hashed = key_hash(key) if hashed is None else hashed
        indexes = self._indexes[1:] if tokens_only else self._indexes
        if not indexes:
            return np.empty(0, dtype=np.int64)
        try:
            found = [find_postings(index, key, hashed, verify) for index in indexes]
            entries = found[0] if len(found) == 1 else np.concatenate(found)
            if verify and len(found) > 1:
                entries.sort()
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None
        if self._entry_records is None:
            return entries
        owners: np.ndarray = np.frombuffer(self._entry_records, dtype=np.uint32)[entries]
        return owners.astype(np.int64)

    def holding_at_least(self, hashes: Sequence[int], at_least: int) -> np.ndarray:
        """Records that may hold `at_least` of the keys hashed `hashes`, ascending: a
        superset (no stored key compared) read from the shortest posting lists only
        (postings.py, `rarest_candidates`), for a caller that verifies each record."""
        lists = RunLists(
            self._entry_records, [key_runs(self._indexes, hashed) for hashed in hashes]
        )
        try:
            return rarest_candidates(lists.sizes(), lists, self.records, at_least)
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None

    def vector(self, record: int) -> np.ndarray | None:
        """The record's row of the vector column (compaction carries it), or None."""
        return None if self.vectors is None else self.vectors.vector(record)

    def raw_record(self, record: int) -> memoryview:
        if not 0 <= record < self.records:
            raise CorruptFileError(self.path, 0, f"record {record} of {self.records} asked for")
        return self._records[self._record_offsets[record] : self._record_offsets[record + 1]]

    def identities_equal(self, records: np.ndarray, identities: Sequence[bytes]) -> np.ndarray:
        """Per row: is the identity of `records[i]` equal to `identities[i]`? Vectorised.

        FORMAT.md: each record a msgpack array of two, [identity, data], identity a bin. So
        0x92, then bin 8 (0xc4, length, bytes) read in place; any other encoding is decoded.
        """
        store = np.frombuffer(self._records, dtype=np.uint8)
        if not len(records) or not len(store):
            return np.zeros(len(records), dtype=bool)
        offsets = np.frombuffer(self._record_offsets, dtype=np.uint64)
        starts = offsets[records].astype(np.int64)
        heads = store[np.minimum(starts[:, None] + np.arange(3), len(store) - 1)]
        in_place = (heads[:, 0] == 0x92) & (heads[:, 1] == 0xC4)
        lengths = heads[:, 2].astype(np.int64)
        wanted_lengths = np.fromiter(map(len, identities), dtype=np.int64, count=len(records))
        wanted = np.frombuffer(b"".join(identities), dtype=np.uint8)
        wanted_starts = np.cumsum(wanted_lengths) - wanted_lengths
        equal: np.ndarray = in_place & (lengths == wanted_lengths)
        equal &= ranges_equal(store, starts + 3, wanted, wanted_starts, lengths * equal)
        for row in np.flatnonzero(~in_place).tolist():
            equal[row] = self.record(int(records[row]))[0] == identities[row]
        return equal

    def record(self, record: int) -> tuple[bytes, object]:
        """(identity, data) of a record, decoded from its msgpack array."""
        try:
            identity, data = msgpack.unpackb(self.raw_record(record), raw=False)
        except (ValueError, msgpack.UnpackException) as error:
            raise CorruptFileError(self.path, 0, f"record {record} undecodable: {error}") from None
        return identity, data

    def keys_of(self, record: int) -> tuple[bytes, ...]:
        """The lookup keys of a record (used by compaction to carry them over)."""
        return tuple(key for key, token in self._entries_of(record) if not token)

    def stored_keys(self) -> tuple[bytes, np.ndarray]:
        """Every entry's key (tokens too), laid end to end in entry order, and their lengths:
        what `keys` holds, whichever layout the segment has (a bench lists its keys)."""
        return self.keys_between(0, self._index.entries)

    def keys_between(self, first: int, end: int) -> tuple[bytes, np.ndarray]:
        """The keys of entries [first, end), laid end to end, and their lengths (uint64)."""
        try:
            if not self._index.width:
                return self._index.keys_between(first, end)
            rows = np.zeros((end - first, self._index.width), dtype=np.uint8)
            lengths = np.zeros(end - first, dtype=np.int64)
            which, positions = self._entry_places
            for number, index in enumerate(self._indexes):
                mine = np.flatnonzero(which[first:end] == number)
                rows[mine], lengths[mine] = index.row_keys(positions[first:end][mine])
            if (which[first:end] == len(self._indexes)).any():
                raise IndexError("an entry in no slot")
        except IndexError:
            raise CorruptFileError(self.path, 0, "a slot points outside the keys") from None
        inside = np.arange(self._index.width, dtype=np.int64) < lengths[:, None]
        return rows[inside].tobytes(), lengths.astype(np.uint64)

    @cached_property
    def _entry_places(self) -> tuple[np.ndarray, np.ndarray]:
        """Per entry: which slot array holds it (0 keys, 1 tokens; 2: none, damage) and in
        which slot. Rows are found by slot; compaction asks by entry, so it is built once."""
        entries = self._index.entries
        which = np.full(entries + 1, len(self._indexes), dtype=np.uint8)
        positions = np.zeros(entries + 1, dtype=np.int64)
        for number, index in enumerate(self._indexes):
            held = index._slot_array & np.uint64(LOW32)
            occupied = np.flatnonzero(held != np.uint64(EMPTY_ENTRY))
            owners = np.minimum(held[occupied], np.uint64(entries)).astype(np.int64)
            which[owners] = number
            positions[owners] = occupied
        return which[:entries], positions[:entries]

    def tokens_of(self, record: int) -> tuple[bytes, ...]:
        """The tokens of a record (Record.tokens), for compaction likewise."""
        return tuple(key for key, token in self._entries_of(record) if token)

    def _entries_of(self, record: int) -> list[tuple[bytes, bool]]:
        """(key, is a token) of each entry of a record."""
        if self._entry_records is None:
            entries = range(record, record + 1)
        else:  # entries are written record by record, so entry -> record is sorted
            owners = np.frombuffer(self._entry_records, dtype=np.uint32)
            first, last = np.searchsorted(owners, [record, record + 1])
            entries = range(int(first), int(last))
        if not entries:
            return []
        which = self._entry_places[0]
        joined, lengths = self.keys_between(entries.start, entries.stop)
        starts = [0, *np.cumsum(lengths).tolist()]
        return [
            (joined[starts[at] : starts[at + 1]], bool(which[entry] == 1))
            for at, entry in enumerate(entries)
        ]

    def visible_to(self, record: int) -> frozenset[str] | None:
        if record not in self.restricted:
            return None
        return frozenset(viewer for viewer, bitmap in self.viewers.items() if record in bitmap)

    def visible_mask(self, records: np.ndarray, viewer: str | None) -> np.ndarray:
        """Vectorised `is_visible`: restricted records show only to their listed viewers.

        Restriction is one bit a record (`restricted_bits`); only the few restricted
        records found are then searched among the viewer's."""
        if not self.has_restricted:
            return np.ones(len(records), dtype=bool)
        hidden = bits_contain(self.restricted_bits, records)
        if viewer is not None and viewer in self.viewers and hidden.any():
            restricted = np.flatnonzero(hidden)
            hidden[restricted] = ~sorted_contains(self._sorted(viewer), records[restricted])
        return ~hidden

    @cached_property
    def restricted_bits(self) -> np.ndarray:
        """The restricted records as a bitset of every record: records / 8 bytes, built on
        the first batch (12.5 MB and ~0.1 s at 100 million records)."""
        members = self._sorted(None).astype(np.int64)
        members = members[members < self.records]  # a damaged bitmap reads no further
        bits = np.zeros((self.records + 7) // 8, dtype=np.uint8)
        np.bitwise_or.at(bits, members >> 3, (1 << (members & 7)).astype(np.uint8))
        return bits

    def _sorted(self, viewer: str | None) -> np.ndarray:
        if viewer not in self._sorted_cache:
            bitmap = self.restricted if viewer is None else self.viewers[viewer]
            self._sorted_cache[viewer] = np.frombuffer(bitmap.to_array(), dtype=np.uint32)
        return self._sorted_cache[viewer]

    def is_visible(self, record: int, viewer: str | None) -> bool:
        if record not in self.restricted:
            return True
        return viewer is not None and record in self.viewers.get(viewer, EMPTY_BITMAP)

    def close(self) -> None:
        self._file.close()

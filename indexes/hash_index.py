"""The mapped hashed index: xxh3_64 of a key -> the entries stored under that key.

Open addressing over one array of 64-bit slots, filled in the order of each key's hash,
so every run of occupied slots is sorted (Robin Hood order without a displacement field).
A probe therefore stops at the first empty slot *or* the first slot whose hash is greater
than the one sought: a miss costs about one slot read even at a load factor of 0.75.
FORMAT.md, "The hashed index", describes the bytes; this module reads them in Python
(`HashIndex`, the reference) and hands them to `indexes._probe` (_probe.c), the same probe
compiled, which serves whenever it was built and `SCREENING_PROBE=python` is not set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import xxhash

from indexes.errors import LimitError

try:
    from indexes import _probe
except ImportError:  # not built (no compiler at install): the reference path serves alone
    COMPILED_BUILT = False
else:
    COMPILED_BUILT = True

LOAD_FACTOR = 0.75
EMPTY_ENTRY = 0xFFFF_FFFF
EMPTY_SLOT = 0xFFFF_FFFF_FFFF_FFFF
LOW32 = 0xFFFF_FFFF
MAX_ENTRIES = min(EMPTY_ENTRY - 1, int(LOAD_FACTOR * (1 << 32)))  # capacity <= 2**32
KEY_WIDTHS = (8, 12, 16, 24, 32)
"""The widths of a fixed-width key section (FORMAT.md, "Fixed-width keys"); 0: keyoffs."""

PROBE_ENV = "SCREENING_PROBE"

key_hash = xxhash.xxh3_64_intdigest
MemoryBuffer = bytes | bytearray | memoryview | np.ndarray


class SupportsSlice(Protocol):
    def __getitem__(self, index: slice, /) -> bytes | memoryview: ...


def use_compiled() -> bool:
    """Whether new segments and batches take the compiled probe: built, and not ruled out
    by `SCREENING_PROBE=python` (the tests run both paths; an operator may rule C out)."""
    return COMPILED_BUILT and os.environ.get(PROBE_ENV) != "python"


def hash_keys(keys: Sequence[bytes]) -> np.ndarray:
    """xxh3_64 of each key, as uint64: ~10 ns a key compiled, ~100 ns through xxhash."""
    if use_compiled():
        hashes = np.empty(len(keys), dtype=np.uint64)
        _probe.hash_into(keys, hashes)
        return hashes
    return np.fromiter(map(key_hash, keys), dtype=np.uint64, count=len(keys))


def compiled_table(
    slots: MemoryBuffer,
    capacity: int,
    key_offsets: MemoryBuffer,
    keys: MemoryBuffer,
    entry_records: MemoryBuffer | None,
    width: int = 0,
    entries: int = 0,
) -> _probe.Table | None:
    """The compiled probe over a segment's sections (None on the reference path).

    It holds the buffers, so the mapping lives as long as it does, as with `HashIndex`.
    `width` > 0: `keys` is a fixed-width key section, a row per slot, `key_offsets` is not
    read and `entries` bounds the entry numbers. Raises ValueError for a capacity outside
    1..2**32 or a section of a partial item.
    """
    if not use_compiled():
        return None
    return _probe.Table(slots, capacity, key_offsets, keys, entry_records, width, entries)


def key_width_for(longest: int) -> int:
    """The fixed width a segment whose longest key has `longest` bytes stores its keys at:
    the smallest of KEY_WIDTHS leaving a byte for the length, else 0 (keyoffs and keys)."""
    return next((width for width in KEY_WIDTHS if longest < width), 0)


ROW_CHUNK = 1 << 20
"""Slots whose rows `rows_by_slot` lays out at a time: the section is streamed, never held."""


def rows_by_slot(slots: np.ndarray, rows: np.ndarray) -> Iterator[np.ndarray]:
    """The key section of a slot array, a chunk of slots at a time: row p holds the key of
    the entry in slot p (`rows` are by entry), an empty slot's row is zeros; so a probe
    reads slot and row at once. Rows are gathered as single items of `width` bytes (a void
    dtype): ~2.5x faster than numpy's gather of 2-D rows. One `np.take` a chunk, empty slots
    included (clipped to the last row, then zeroed), is twice as fast again as indexing the
    occupied slots alone: ~0.4 s at 10 million entries. `slots` are `build_slots` over these
    rows: each entry is a row's number or empty, so clipping never hides a bad one."""
    width = rows.shape[1]
    items = np.ascontiguousarray(rows).view(f"V{width}").reshape(-1)
    for first in range(0, len(slots), ROW_CHUNK):
        entries = (slots[first : first + ROW_CHUNK] & np.uint64(LOW32)).view(np.int64)
        if not len(items):  # no entries: every slot is empty (take refuses an empty source)
            yield np.zeros((len(entries), width), dtype=np.uint8)
            continue
        placed = np.take(items, entries, mode="clip").view(np.uint8).reshape(-1, width)
        placed[entries == EMPTY_ENTRY] = 0
        yield placed


def fixed_width_keys(blob: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    """Keys `blob[offsets[e]:offsets[e+1]]` as rows of `width` bytes (FORMAT.md,
    "Fixed-width keys"):

    "A fixed-width row holds the key, then zeros, and the key's length in its last byte."

    One numpy step per byte column, so no index array larger than the rows is made."""
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    rows = np.zeros((len(lengths), width), dtype=np.uint8)
    rows[:, width - 1] = lengths
    if not len(lengths):
        return rows
    shortest, longest = int(lengths.min()), int(lengths.max())
    for column in range(shortest):  # every key has this byte
        rows[:, column] = blob[starts + column]
    for column in range(shortest, longest):
        inside = np.flatnonzero(lengths > column)
        rows[inside, column] = blob[starts[inside] + column]
    return rows


def compiled_lookup(
    tables: Sequence[_probe.Table | None],
    filters: Sequence[_probe.Filter | None],
    fallback: Callable[[bytes, str | None], list[tuple[int, int]]] | None = None,
) -> _probe.Lookup | None:
    """One call probing every segment of a snapshot, if each has a compiled table (made
    when the segment was opened: the path is chosen there, once).

    `filters`, one per table: None, or (restricted records as a bitset, dead records,
    visible(record, viewer)) for a segment whose hits are not all live and public.
    `fallback(key, viewer)` answers instead when a table raises IndexError."""
    present = [table for table in tables if table is not None]
    if len(present) != len(tables) or not COMPILED_BUILT:
        return None
    return _probe.Lookup(present, filters, fallback)


def capacity_for(entries: int) -> int:
    """Home positions are spread over this many slots: entries / 0.75, at least 1."""
    return max(1, math.ceil(entries / LOAD_FACTOR))


def home_slots(hashes_high: np.ndarray, capacity: int) -> np.ndarray:
    """ "A key's home slot is (h >> 32) * capacity >> 32" (Lemire's multiply-shift range)."""
    return (hashes_high * np.uint64(capacity)) >> np.uint64(32)


@dataclass(frozen=True)
class BuiltSlots:
    slots: np.ndarray
    capacity: int
    max_displacement: int
    mean_displacement: float


def build_slots(hashes: np.ndarray, entries: np.ndarray | None = None) -> BuiltSlots:
    """Place entry i (hash hashes[i]) in the slot array, vectorised: no Python loop.

    `entries`, if given, are the entry numbers of the hashes (ascending): a slot array
    over some of a segment's entries (its identity keys, or its tokens).

    Entries are placed in the order of their high 32 hash bits; entry k of that order
    lands at max(home_k, position_{k-1} + 1), which numpy computes for all k at once
    as k + running-max(home_j - j). Positions never wrap: the array is extended past
    `capacity` by as many slots as the last run needs, plus one that is always empty.
    """
    count = len(hashes)
    if count > MAX_ENTRIES:
        raise LimitError(f"{count} entries exceed the {MAX_ENTRIES} one segment can hold")
    capacity = capacity_for(count)
    if count == 0:
        return BuiltSlots(np.full(1, EMPTY_SLOT, dtype=np.uint64), capacity, 0, 0.0)
    # In-place steps throughout: at 100 million entries each array is 800 MB. The slot
    # values (high bits, entry) sort as they are: one in-place sort of plain integers
    # (numpy's SIMD sort) instead of an argsort and a gather, ~8x faster; entries of
    # equal high bits come out in entry order.
    values = hashes & np.uint64(LOW32 << 32)
    values |= np.arange(count, dtype=np.uint64) if entries is None else entries.astype(np.uint64)
    values.sort()
    homes = values >> np.uint64(32)
    homes *= np.uint64(capacity)
    homes >>= np.uint64(32)
    homes = homes.view(np.int64)
    positions = np.arange(count, dtype=np.int64)
    np.negative(positions, out=positions)
    positions += homes  # home_k - k
    np.maximum.accumulate(positions, out=positions)
    positions += np.arange(count, dtype=np.int64)
    slots = np.full(max(int(positions[-1]) + 2, capacity + 1), EMPTY_SLOT, dtype=np.uint64)
    slots[positions] = values
    del values
    positions -= homes  # now the displacement of each entry
    return BuiltSlots(slots, capacity, int(positions.max()), float(positions.mean()))


class HashIndex:
    """Reads a slot array and the keys it points at, both mapped; never copies them.

    `source` and `keys_at` locate the keys inside the mapped file: slicing the mmap
    itself copies just the few bytes of one key, which CPython compares far faster than
    a memoryview slice. `width` > 0: the keys are fixed-width rows, row p the key of the
    entry in slot p (FORMAT.md, "Fixed-width keys"), `key_offsets` is not read and
    `entries` bounds the entry numbers. The token index of a segment with `keyoffs`
    shares its keys: `over` makes it.
    """

    def __init__(
        self,
        slots: memoryview,
        capacity: int,
        key_offsets: memoryview,
        keys: memoryview,
        source: SupportsSlice | None = None,
        keys_at: int = 0,
        width: int = 0,
        entries: int = 0,
    ) -> None:
        self._slots = slots.cast("Q") if slots.format != "Q" else slots
        self._offsets = key_offsets.cast("Q") if key_offsets.format != "Q" else key_offsets
        self._keys = keys
        self._source: SupportsSlice = source if source is not None else keys
        self._keys_at = keys_at if source is not None else 0
        self.capacity = capacity
        self.width = width
        self.entries = entries if width else len(self._offsets) - 1
        self._slot_array = np.frombuffer(self._slots, dtype=np.uint64)
        self._offset_array = np.frombuffer(self._offsets, dtype=np.uint64)
        self._key_bytes = np.frombuffer(keys, dtype=np.uint8)
        self.rows = len(keys) // width if width else 0

    def over(self, slots: memoryview, capacity: int) -> HashIndex:
        """Another slot array over these same keys (`keyoffs`: a segment's token index)."""
        return HashIndex(slots, capacity, self._offsets, self._keys, self._source, self._keys_at)

    def key(self, entry: int) -> bytes:
        """The key of an entry (`keyoffs` and `keys` only: rows are found by slot)."""
        return bytes(self._keys[self._offsets[entry] : self._offsets[entry + 1]])

    def keys_between(self, first: int, end: int) -> tuple[bytes, np.ndarray]:
        """The keys of entries [first, end), laid end to end, and their lengths (uint64)
        (`keyoffs` and `keys` only)."""
        offsets = self._offset_array[first : end + 1]
        lengths = np.diff(offsets)
        return bytes(self._keys[int(offsets[0]) : int(offsets[-1])]), lengths

    def row_keys(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The keys in the rows of these slots: (rows, their lengths), fixed width only."""
        if positions.size and int(positions.max()) >= self.rows:
            raise IndexError(f"slot {int(positions.max())} has no row ({self.rows} rows)")
        rows = self._key_bytes[: self.rows * self.width].reshape(-1, self.width)[positions]
        lengths = rows[:, -1].astype(np.int64)
        if len(lengths) and int(lengths.max()) >= self.width:
            raise IndexError(f"a key longer than its {self.width}-byte row")
        return rows, lengths

    def key_places(
        self, entries: np.ndarray, positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where the key of each candidate (entry, found in slot position) starts in the key
        bytes, and its length (int64): by entry in `keys`, by slot in rows. A row whose
        length byte is out of its row has length -1 (equal to none)."""
        if entries.size and int(entries.max()) >= self.entries:
            raise IndexError(f"slot points at entry {int(entries.max())} of {self.entries}")
        if not self.width:
            entries = entries.astype(np.int64)
            starts = self._offset_array[entries].astype(np.int64)
            return starts, self._offset_array[entries + 1].astype(np.int64) - starts
        if positions.size and int(positions.max()) >= self.rows:
            raise IndexError(f"slot {int(positions.max())} has no row ({self.rows} rows)")
        starts = positions.astype(np.int64) * self.width
        lengths = self._key_bytes[starts + (self.width - 1)].astype(np.int64)
        lengths[lengths >= self.width] = -1
        return starts, lengths

    def stored_form(self, key: bytes) -> bytes | None:
        """What `key` looks like in the key section: itself, or its fixed-width row (None:
        too long for this segment's rows, so stored under no entry)."""
        if not self.width:
            return key
        if len(key) >= self.width:
            return None
        return key + bytes(self.width - 1 - len(key)) + bytes((len(key),))

    def find(self, key: bytes, hashed: int) -> list[int]:
        """Entries whose stored key equals `key`; a hash match alone is never enough.

        "Probe from the home slot while the slot is occupied and its hash is not greater
        than the key's; compare the stored key of each slot whose hash is equal."
        Slots compare as whole integers: hash-high << 32 | entry, and an empty slot is all
        ones, so one comparison with (high + 1) << 32 ends the run in both cases.
        """
        stored = self.stored_form(key)
        if stored is None:
            return []
        slots, offsets, source, at = self._slots, self._offsets, self._source, self._keys_at
        width, entries, rows = self.width, self.entries, self.rows
        high = hashed >> 32
        lowest = high << 32
        beyond = lowest + (1 << 32)
        position = (high * self.capacity) >> 32
        found: list[int] = []
        while True:
            slot = slots[position]
            if slot >= lowest:
                if slot >= beyond:
                    return found
                entry = slot & LOW32
                if entry == EMPTY_ENTRY:
                    return found
                if width:
                    if entry >= entries or position >= rows:
                        raise IndexError(f"slot {position} (entry {entry}) outside the keys")
                    row = at + position * width
                    if source[row : row + width] == stored:
                        found.append(entry)
                elif source[at + offsets[entry] : at + offsets[entry + 1]] == key:
                    found.append(entry)
            position += 1

    def find_many(self, batch: PreparedKeys) -> tuple[np.ndarray, np.ndarray]:
        """(query index, entry) for every stored key equal to a query key, vectorised.

        The probe advances all queries one slot per numpy step; each step keeps only the
        queries still inside their run, so the steps shrink fast (mean displacement ~1).
        """
        high = batch.high
        position = home_slots(high, self.capacity).astype(np.int64)
        active = np.arange(len(high), dtype=np.int64)
        found_queries: list[np.ndarray] = []
        found_entries: list[np.ndarray] = []
        found_positions: list[np.ndarray] = []
        slots = self._slot_array
        last = len(slots) - 1
        while active.size:
            slot = slots[np.minimum(position, last)]
            slot_high = slot >> np.uint64(32)
            entry = slot & np.uint64(LOW32)
            wanted = high[active]
            going = (entry != EMPTY_ENTRY) & (slot_high <= wanted) & (position <= last)
            equal = going & (slot_high == wanted)
            if equal.any():
                found_queries.append(active[equal])
                found_entries.append(entry[equal].astype(np.int64))
                found_positions.append(position[equal])
            active = active[going]
            position = position[going] + 1
        if not found_queries:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        queries = np.concatenate(found_queries)
        entries = np.concatenate(found_entries)
        same = self._keys_equal(batch, queries, entries, np.concatenate(found_positions))
        return queries[same], entries[same]

    def _keys_equal(
        self, batch: PreparedKeys, queries: np.ndarray, entries: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """Compare stored keys with query keys for all candidates at once.

        Candidates of equal length are compared byte by byte as one ragged run: every byte
        of every candidate gathered from both sides, then reduced per candidate.
        """
        starts, lengths = self.key_places(entries, positions)
        wanted_lengths, wanted_starts, wanted_bytes = batch.laid_out(queries)
        same: np.ndarray = lengths == wanted_lengths
        compared = lengths * same  # rows of unequal length are not compared (length 0)
        same &= ranges_equal(self._key_bytes, starts, wanted_bytes, wanted_starts, compared)
        return same


def ranges_equal(
    left: np.ndarray,
    left_starts: np.ndarray,
    right: np.ndarray,
    right_starts: np.ndarray,
    lengths: np.ndarray,
) -> np.ndarray:
    """Per row i: left[left_starts[i]:+lengths[i]] == right[right_starts[i]:+lengths[i]].

    All rows at once, as one ragged run: every byte of every row gathered from both
    sides, then reduced per row. Rows of length 0 are equal.
    """
    equal = np.ones(len(lengths), dtype=bool)
    check = np.flatnonzero(lengths > 0)
    if not check.size:
        return equal
    sizes = lengths[check].astype(np.int64)
    ends = np.cumsum(sizes)
    within = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - sizes, sizes)
    stored = left[np.repeat(left_starts[check].astype(np.int64), sizes) + within]
    wanted = right[np.repeat(right_starts[check].astype(np.int64), sizes) + within]
    differs = np.add.reduceat((stored != wanted).view(np.uint8), ends - sizes) > 0
    equal[check[differs]] = False
    return equal


class PreparedKeys:
    """A batch of query keys hashed once, then probed in every segment.

    Only the hash is computed up front; the keys are laid end to end for comparison the
    first time some slot's hash matches one of them, so a batch of misses costs a hash
    per key and nothing more.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        self.keys = keys
        self.hashes = hash_keys(keys)
        self._layout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @cached_property
    def high(self) -> np.ndarray:
        """The high 32 bits of each hash (the reference probe's; the compiled one shifts)."""
        return self.hashes >> np.uint64(32)

    def laid_out(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lengths, starts in blob, blob) for the keys of `queries`."""
        if self._layout is None:
            keys = self.keys
            lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
            starts = np.cumsum(lengths) - lengths
            self._layout = lengths, starts, np.frombuffer(b"".join(keys), dtype=np.uint8)
        lengths, starts, blob = self._layout
        return lengths[queries], starts[queries], blob

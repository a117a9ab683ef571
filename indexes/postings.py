"""Posting lists: every entry of one key that thousands of records share, read in slices.

Extra keys make the hashed index an inverted index (a DNA genotype, a name token): one key
may then have 100,000 entries. They sit side by side, because equal hashes are placed
next to each other (FORMAT.md, "The hashed index"), but `HashIndex.find` walks them one
slot per Python step. Here the run is found by two galloping searches over the sorted
slots (`posting_run`: O(log n) slot reads, each a plain int, so a run of a few entries, the
usual name token, costs microseconds), read as one numpy slice, and the stored keys of the
whole run are compared at once.

The run is also the posting list's size, known before any entry is read:
`rarest_candidates` uses the sizes to read only the shortest lists a count-of-keys query
needs (pigeonhole).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from indexes.hash_index import EMPTY_ENTRY, LOW32, HashIndex, use_compiled

with contextlib.suppress(ImportError):  # not built: use_compiled() is false, Python serves
    from indexes import _probe

VERIFY_COST = 2000
"""Posting entries one candidate's verification is worth: tallying an entry costs ~25 ns,
recounting a candidate from its stored record ~12 us, and reading a list also prunes the
candidates of later ones; 2,000 was fastest at 1M DNA profiles (bench/vectors.py).
`rarest_candidates` stops once the next list is longer than this times the candidates."""


def find_postings(index: HashIndex, key: bytes, hashed: int, verify: bool = True) -> np.ndarray:
    """Entries whose stored key equals `key`, as int64 (the same answer as `index.find`).

    `verify=False` skips comparing the stored keys, the costly part (a random read per
    entry): the answer then also holds the entries of any other key whose hash has the
    same high 32 bits, for a caller that checks its final candidates itself.

    "Probe from the home slot while the slot is occupied and its hash is not greater
    than the key's; compare the stored key of each slot whose hash is equal."
    """
    start, stop = posting_run(index, hashed)
    entries = run_entries(index, start, stop)
    if not verify:
        return entries
    order = np.argsort(entries, kind="stable")
    entries = entries[order]
    positions = order + start  # the slot of each entry: rows are read by slot
    equal: np.ndarray = entries[_keys_equal(index, entries, positions, key)]
    return equal


def _keys_equal(
    index: HashIndex, entries: np.ndarray, positions: np.ndarray, key: bytes
) -> np.ndarray:
    """Which entries store exactly `key`: lengths first, then the bytes, 8 at a time.

    The stored keys are read through a view of the key bytes as a little-endian u64 at
    every byte offset, so a key of L bytes costs ceil(L / 8) gathers per entry (the last
    word overlapping the one before), not L. Entries come sorted, so `keys` is read
    forward; the rows of a run (fixed-width keys) are the run's adjacent slots.
    """
    starts, lengths = index.key_places(entries, positions)
    same: np.ndarray = lengths == len(key)
    if not len(key) or not same.any():
        return same
    stored = index._key_bytes
    rows = np.flatnonzero(same)
    if len(key) < 8 or len(stored) < 8:
        wanted = np.frombuffer(key, dtype=np.uint8)
        same[rows] = (stored[starts[rows, None] + np.arange(len(key))] == wanted).all(axis=1)
        return same
    words = np.ndarray((len(stored) - 7,), dtype="<u8", buffer=stored, strides=(1,))
    for at in sorted({*range(0, len(key) - 7, 8), len(key) - 8}):
        wanted_word = int.from_bytes(key[at : at + 8], "little")
        same[rows] &= words[starts[rows] + at] == np.uint64(wanted_word)
    return same


def posting_run(index: HashIndex, hashed: int) -> tuple[int, int]:
    """[start, stop) of the slots holding hash `hashed`'s high 32 bits: its posting list,
    unverified (`find_postings(..., verify=False)` reads exactly these), in O(log size).

    From the home slot on, slots hold lower hashes, then the run, then higher hashes or
    empty slots (all ones): each bound is the first slot where a monotone test turns true.
    """
    if use_compiled():
        bounds: tuple[int, int] = _probe.run_bounds(index._slot_array, index.capacity, hashed)
        return bounds
    slots = index._slots  # a memoryview: each read is a Python int, ~3x faster than numpy
    high = hashed >> 32
    low_bound, high_bound = high << 32, (high + 1) << 32
    start = _gallop(slots, (high * index.capacity) >> 32, lambda slot: slot >= low_bound)
    stop = _gallop(slots, start, lambda slot: slot >= high_bound or slot & LOW32 == EMPTY_ENTRY)
    return start, stop


def run_entries(index: HashIndex, start: int, stop: int) -> np.ndarray:
    """The entries of slots [start, stop), as int64 (a run from `posting_run`)."""
    entries: np.ndarray = (index._slot_array[start:stop] & np.uint64(LOW32)).astype(np.int64)
    return entries


RunTables = Sequence[tuple[memoryview, int]]
"""A segment's slot arrays and their capacities, as `runs_records` reads them."""


def run_tables(indexes: Sequence[HashIndex]) -> RunTables:
    return [(index._slots, index.capacity) for index in indexes]


def runs_records(
    tables: RunTables, keys: Sequence[bytes], owners: memoryview | None
) -> list[np.ndarray]:
    """For each key, the records of its hash's runs in every table (a segment's keys and
    tokens: `run_tables`) joined, ascending uint32 (`owners`: entry -> record, None: the
    entry is the record), compiled: one call where hashing, `posting_run`, `run_entries`
    and the owners' gather took ~8 numpy steps of 1-3 us a run, and the cache misses of
    all the runs overlap. A name query pays them for every run no earlier query asked for
    (its date of birth, its tokens in a year of birth). Only with the compiled probe built
    (a segment opened under `use_compiled()`)."""
    packed, ends = _probe.runs_records(tables, keys, owners)
    records = np.frombuffer(packed, dtype=np.uint32)
    return [records[start:end] for start, end in zip([0, *ends], ends, strict=False)]


def _gallop(slots: memoryview, position: int, stops: Callable[[int], bool]) -> int:
    """The first slot at or after `position` where `stops(slot)` holds (or the end), for a
    test that stays true once true: steps of doubling length, then a binary search."""
    end = len(slots)
    if position >= end or stops(slots[position]):
        return min(position, end)
    low, step = position, 1  # stops(slots[low]) is false throughout
    while True:
        high = low + step
        if high >= end:
            high = end
            break
        if stops(slots[high]):
            break
        low, step = high, step * 2
    while high - low > 1:
        middle = (low + high) // 2
        if stops(slots[middle]):
            high = middle
        else:
            low = middle
    return high


MEMBERSHIP_COST = 150
"""Entries of a list one candidate's binary searches are worth (`rarest_candidates`): a
tally costs ~25 ns an entry; finding a candidate's entries, then them in a list, ~3 us."""


class Lists(Protocol):
    """What `rarest_candidates` reads: posting lists by the query key's position."""

    def records(self, key: int) -> np.ndarray:
        """The records of key `key`'s list (a superset is fine)."""
        ...

    def entry_ranges(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[first, end) of the entries of each of the ascending `candidates`."""
        ...

    def holders(self, key: int, first: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Which records, by their entry ranges, are in key `key`'s list (or may be)."""
        ...


Run = tuple[HashIndex, int, int]
"""A key's run of slots in one slot array: the index, [start, stop)."""


def key_runs(indexes: Sequence[HashIndex], hashed: int) -> list[Run]:
    """A key's run in each slot array of a segment (identity keys, tokens): its posting
    list is their union."""
    return [(index, *posting_run(index, hashed)) for index in indexes]


@dataclass(frozen=True)
class RunLists:
    """A segment's posting lists as runs of slots (`key_runs`), read for `rarest_candidates`.

    Entries are numbered record by record, so a record's entries are one range of them.
    """

    entry_records: memoryview | None
    runs: list[list[Run]]

    def sizes(self) -> list[int]:
        return [sum(stop - start for _, start, stop in runs) for runs in self.runs]

    def entries(self, key: int) -> np.ndarray:
        parts = [run_entries(index, start, stop) for index, start, stop in self.runs[key]]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def records(self, key: int) -> np.ndarray:
        entries = self.entries(key)
        if self.entry_records is None:
            return entries
        owners: np.ndarray = np.frombuffer(self.entry_records, dtype=np.uint32)[entries]
        return owners

    def entry_ranges(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.entry_records is None:
            return candidates, candidates + 1
        owners = np.frombuffer(self.entry_records, dtype=np.uint32)
        wanted = candidates.astype(np.uint32)  # of the owners' type: else numpy converts them
        return np.searchsorted(owners, wanted, "left"), np.searchsorted(owners, wanted, "right")

    def holders(self, key: int, first: np.ndarray, end: np.ndarray) -> np.ndarray:
        entries = self.entries(key)
        if not len(entries):
            return np.zeros(len(first), dtype=bool)
        if (entries[1:] < entries[:-1]).any():  # runs are laid in entry order, but may not be
            entries.sort()
        at = np.searchsorted(entries, first)
        held: np.ndarray = entries[np.minimum(at, len(entries) - 1)] < end
        held &= at < len(entries)
        return held


def rarest_candidates(
    sizes: Sequence[int], lists: Lists, records: int, at_least: int
) -> np.ndarray:
    """Records that may hold `at_least` of n keys, reading the shortest posting lists only.

    `sizes[i]` is key i's list length. A record holding `at_least` of n keys misses at
    most n - at_least, so it holds one of any n - at_least + 1 of them (pigeonhole): the
    union of the shortest that many lists holds every answer, counted in a tally. Each
    further list, shortest next, lets a candidate go once it cannot reach `at_least` even
    if it held every key not yet read: the list is tallied whole, or, once the candidates
    are few, each candidate is searched for in it. Reading stops when the next list would
    cost more than verifying the candidates left. A superset (if the lists are), ascending.
    """
    need = max(1, at_least)
    order = np.argsort(np.asarray(sizes, dtype=np.int64), kind="stable").tolist()
    if need > len(order):
        return np.empty(0, dtype=np.int64)
    shortest = len(order) - need + 1
    tally: np.ndarray = np.zeros(records, dtype=np.uint8 if len(order) < 256 else np.int32)
    for key in order[:shortest]:
        tally[lists.records(key)] += 1  # a record listed twice counts once: still its due
    at_least_now = 1  # what a record must hold of the lists read, were it to hold every other
    candidates: np.ndarray | None = None
    starts = ends = np.empty(0, dtype=np.int64)
    for key in order[shortest:]:
        left = np.count_nonzero(tally >= at_least_now) if candidates is None else len(candidates)
        if sizes[key] > VERIFY_COST * left:
            break
        if candidates is None and sizes[key] > MEMBERSHIP_COST * left:
            candidates = np.flatnonzero(tally >= at_least_now)
            starts, ends = lists.entry_ranges(candidates)
        if candidates is None:
            tally[lists.records(key)] += 1
        else:
            tally[candidates[lists.holders(key, starts, ends)]] += 1
            still = tally[candidates] >= at_least_now + 1
            candidates, starts, ends = candidates[still], starts[still], ends[still]
        at_least_now += 1
    if candidates is None:
        return np.flatnonzero(tally >= at_least_now)
    return candidates

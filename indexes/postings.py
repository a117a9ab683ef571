"""Posting lists: every entry of one key that thousands of records share, read in slices.

Extra keys make the hashed index an inverted index (a DNA genotype, a name token): one key
may then have 100,000 entries. They sit side by side, because equal hashes are placed
next to each other (FORMAT.md, "The hashed index"), but `HashIndex.find` walks them one
slot per Python step. Here the walk to the run and the run itself are read in numpy
slices of growing length, and the stored keys of the whole run are compared at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from indexes.hash_index import EMPTY_ENTRY, LOW32, HashIndex

FIRST_SLICE = 256


def find_postings(index: HashIndex, key: bytes, hashed: int, verify: bool = True) -> np.ndarray:
    """Entries whose stored key equals `key`, as int64 (the same answer as `index.find`).

    `verify=False` skips comparing the stored keys, the costly part (a random read per
    entry): the answer then also holds the entries of any other key whose hash has the
    same high 32 bits, for a caller that checks its final candidates itself.

    "Probe from the home slot while the slot is occupied and its hash is not greater
    than the key's; compare the stored key of each slot whose hash is equal."
    """
    slots = index._slot_array
    high = hashed >> 32
    start = _first(slots, (high * index.capacity) >> 32, lambda run: run >= np.uint64(high << 32))
    if start >= len(slots):
        return np.empty(0, dtype=np.int64)
    stop = _first(slots, start, lambda run: ~_in_run(run, high))
    entries = (slots[start:stop] & np.uint64(LOW32)).astype(np.int64)
    if not verify:
        return entries
    entries.sort()
    equal: np.ndarray = entries[_keys_equal(index, entries, key)]
    return equal


def _in_run(run: np.ndarray, high: int) -> np.ndarray:
    """Occupied slots whose hash is `high` (an empty slot is all ones, whatever `high`)."""
    same: np.ndarray = (run >> np.uint64(32)) == np.uint64(high)
    same &= (run & np.uint64(LOW32)) != np.uint64(EMPTY_ENTRY)
    return same


def _first(slots: np.ndarray, position: int, stops: Callable[[np.ndarray], np.ndarray]) -> int:
    """The first slot at or after `position` where `stops(slice)` is true (or the end).

    Slices double in length, so a run of n slots costs about log2(n) numpy calls.
    """
    size = FIRST_SLICE
    while position < len(slots):
        run = slots[position : position + size]
        hit = np.flatnonzero(stops(run))
        if len(hit):
            return position + int(hit[0])
        position += len(run)
        size *= 2
    return len(slots)


def _keys_equal(index: HashIndex, entries: np.ndarray, key: bytes) -> np.ndarray:
    """Which entries store exactly `key`: lengths first, then the bytes, 8 at a time.

    The stored keys are read through a view of the key bytes as a little-endian u64 at
    every byte offset, so a key of L bytes costs ceil(L / 8) gathers per entry (the last
    word overlapping the one before), not L. Entries come sorted, so the reads move
    forward through the mapping.
    """
    if entries.size and int(entries.max()) >= index.entries:
        raise IndexError(f"slot points at entry {int(entries.max())} of {index.entries}")
    offsets = index._offset_array
    starts = offsets[entries].astype(np.int64)
    same: np.ndarray = (offsets[entries + 1].astype(np.int64) - starts) == len(key)
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

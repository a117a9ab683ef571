"""The mapped hashed index (indexes/hash_index.py): build_slots, HashIndex, the hash itself.

A reference model (a dict of key -> entry numbers) is compared with `find` and `find_many`
for random key sets, then again with every key hashing to one constant, so that a hash
match alone can never pass for a hit (FORMAT.md, "The hashed index").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import indexes.hash_index as hash_index
from indexes import Record, Writer, open_snapshot
from indexes.container import Container
from indexes.errors import LimitError
from indexes.hash_index import (
    EMPTY_ENTRY,
    EMPTY_SLOT,
    LOAD_FACTOR,
    MAX_ENTRIES,
    BuiltSlots,
    HashIndex,
    PreparedKeys,
    build_slots,
    capacity_for,
    fixed_width_keys,
    home_slots,
    key_width_for,
    rows_by_slot,
)
from indexes.segment import SEGMENT_MAGIC

# XXH3_64, seed 0: xxHash's own sanity vector for the empty input (cli/xsum_sanity_check.c)
# and the published small-input vectors for "a", "abc", "abcd".
KNOWN_ANSWERS = {
    b"": 0x2D06800538D394C2,
    b"a": 0xE6C632B61E964E1F,
    b"abc": 0x78AF5F94892F3950,
    b"abcd": 0x6497A96F53A89890,
}

# Short keys from a tiny alphabet: duplicates, prefixes of one another and b"" are common.
short_keys = st.binary(max_size=3) | st.sampled_from([b"", b"a", b"ab", b"abc"])
keys_lists = st.lists(short_keys, max_size=60)
queries_lists = st.lists(st.binary(max_size=5), max_size=20)
constant_examples = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def make_index(keys: Sequence[bytes]) -> tuple[HashIndex, BuiltSlots]:
    """An index over `keys` (entry i is keys[i]), built with whatever hash is in force."""
    built = build_slots(hash_index.hash_keys(keys))
    lengths = np.fromiter(map(len, keys), dtype=np.uint64, count=len(keys))
    offsets = np.concatenate([np.zeros(1, np.uint64), np.cumsum(lengths, dtype=np.uint64)])
    index = HashIndex(
        built.slots.data.cast("B"),
        built.capacity,
        offsets.data.cast("B"),
        memoryview(b"".join(keys)),
    )
    return index, built


def expected_entries(keys: Sequence[bytes]) -> dict[bytes, list[int]]:
    entries: dict[bytes, list[int]] = defaultdict(list)
    for entry, key in enumerate(keys):
        entries[key].append(entry)
    return entries


def check_round_trip(keys: list[bytes], queries: list[bytes]) -> None:
    """Every stored key finds exactly its entries, others find nothing, both ways."""
    index, _ = make_index(keys)
    expected = expected_entries(keys)
    batch = [*keys, *queries, *queries[:3]]
    for key in batch:
        assert sorted(index.find(key, hash_index.key_hash(key))) == expected.get(key, [])
    found_queries, found_entries = index.find_many(PreparedKeys(batch))
    pairs = sorted(zip(found_queries.tolist(), found_entries.tolist(), strict=True))
    wanted = sorted((q, e) for q, key in enumerate(batch) for e in expected.get(key, []))
    assert pairs == wanted


def check_layout(built: BuiltSlots, hashes: np.ndarray) -> None:
    """The invariants FORMAT.md states for the slot array."""
    slots = built.slots
    count = len(hashes)
    assert built.capacity == max(1, -(-count * 4 // 3))
    assert len(slots) >= built.capacity
    assert slots[-1] == EMPTY_SLOT
    if count:
        assert len(slots) >= built.capacity + 1
    occupied = np.flatnonzero((slots & np.uint64(0xFFFF_FFFF)) != EMPTY_ENTRY)
    entries = slots[occupied] & np.uint64(0xFFFF_FFFF)
    assert sorted(entries.tolist()) == list(range(count))
    high = slots[occupied] >> np.uint64(32)
    assert (np.diff(high.astype(np.int64)) >= 0).all(), "slots not in hash order"
    assert (high == (hashes[entries.astype(np.int64)] >> np.uint64(32))).all()
    homes = home_slots(high, built.capacity).astype(np.int64)
    displacement = occupied - homes
    assert (displacement >= 0).all()
    if count:
        assert built.max_displacement == int(displacement.max())


@given(keys_lists, queries_lists)
@example([], [b"", b"x"])
@example([b""], [b"", b"\x00"])
@example([b"a", b"a", b"", b""], [b"a\x00", b"\x00a"])
def test_find_and_find_many_agree_with_a_dict(keys: list[bytes], queries: list[bytes]) -> None:
    check_round_trip(keys, queries)


@given(keys_lists)
def test_slot_layout_invariants(keys: list[bytes]) -> None:
    hashes = hash_index.hash_keys(keys)
    check_layout(build_slots(hashes), hashes)


@given(st.lists(st.integers(0, 2**64 - 1), max_size=200))
def test_slot_layout_invariants_for_any_hashes(hashes: list[int]) -> None:
    """Arbitrary hashes, clusters included: hash 0 and all ones are ordinary values."""
    array = np.array(hashes, dtype=np.uint64)
    check_layout(build_slots(array), array)


@constant_examples
@given(keys=keys_lists, queries=queries_lists)
def test_one_run_of_equal_hashes_still_compares_keys(
    constant_hash: int, keys: list[bytes], queries: list[bytes]
) -> None:
    """All keys share one hash: only the stored key decides, at 0 and all ones too."""
    check_round_trip(keys, queries)
    hashes = hash_index.hash_keys(keys)
    built = build_slots(hashes)
    check_layout(built, hashes)
    assert built.max_displacement == max(len(keys) - 1, 0)


def test_constant_hash_reaches_the_segment_builder(db_dir: Path, constant_hash: int) -> None:
    """The injection is not vacuous: a real segment holds one run of the constant hash."""
    keys = [b"", b"a", b"b", b"ab", b"ba", b"abc"]
    with Writer(db_dir, "SLTD") as writer:
        writer.upsert([Record(b"id-" + key, (key,), index) for index, key in enumerate(keys)])
        writer.commit()
    snapshot = open_snapshot(db_dir, "SLTD")
    segment = snapshot.parts[0].segment
    slots = np.frombuffer(Container(segment.path, SEGMENT_MAGIC).raw("slots"), dtype=np.uint64)
    occupied = slots[(slots & np.uint64(0xFFFF_FFFF)) != EMPTY_ENTRY]
    assert set((occupied >> np.uint64(32)).tolist()) == {constant_hash >> 32}
    assert segment.meta["max_displacement"] == len(keys) - 1
    for index, key in enumerate(keys):
        found = snapshot.find(key)
        assert [snapshot.record(*hit) for hit in found] == [(b"id-" + key, index)]
    assert snapshot.find(b"zz") == []


def test_known_answers_of_xxh3_64() -> None:
    for key, value in KNOWN_ANSWERS.items():
        assert hash_index.key_hash(key) == value
    assert hash_index.hash_keys(list(KNOWN_ANSWERS)).tolist() == list(KNOWN_ANSWERS.values())


@given(st.integers(0, 2**32 - 1), st.integers(1, 2**32))
def test_home_slot_is_exact_up_to_the_largest_capacity(high: int, capacity: int) -> None:
    """numpy's uint64 product (build, batch probe) equals Python's (single probe)."""
    expected = (high * capacity) >> 32
    assert 0 <= expected < capacity
    assert int(home_slots(np.array([high], dtype=np.uint64), capacity)[0]) == expected


def test_entry_limit_keeps_the_home_product_in_64_bits() -> None:
    assert MAX_ENTRIES <= EMPTY_ENTRY - 1
    assert capacity_for(MAX_ENTRIES) <= 2**32
    assert capacity_for(MAX_ENTRIES + 1) > 2**32
    assert capacity_for(3) == 4 and capacity_for(0) == 1 and LOAD_FACTOR == 0.75


def test_too_many_entries_raise_limit_error_before_any_work() -> None:
    too_many = np.broadcast_to(np.uint64(7), (MAX_ENTRIES + 1,))  # no memory behind it
    with pytest.raises(LimitError, match=str(MAX_ENTRIES)):
        build_slots(too_many)


@pytest.mark.parametrize("count", [1, 4, 8, 100])
def test_a_miss_in_the_last_home_slot_stays_inside_the_array(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys clustered in slot 0, a query whose home is the last one: a miss, no IndexError.

    (A slot array that ended after the last run, shorter than `capacity`, failed this.)
    """
    keys = [b"k%d" % n for n in range(count)]
    monkeypatch.setattr(hash_index, "hash_keys", lambda keys: np.arange(len(keys), dtype=np.uint64))
    index, built = make_index(keys)
    for high in (((built.capacity - 1) << 32) // built.capacity + 1, 0xFFFF_FFFF):
        assert (high * built.capacity) >> 32 == built.capacity - 1
        assert index.find(b"absent", high << 32) == []
        monkeypatch.setattr(
            hash_index, "hash_keys", lambda keys, h=high: np.full(len(keys), h << 32, np.uint64)
        )
        queries, entries = index.find_many(PreparedKeys([b"absent"]))
        assert queries.size == entries.size == 0


def test_empty_index() -> None:
    index, built = make_index([])
    assert built.slots.tolist() == [EMPTY_SLOT]
    assert index.find(b"", hash_index.key_hash(b"")) == []
    queries, _ = index.find_many(PreparedKeys([b"", b"a"]))
    assert queries.size == 0


def test_the_key_width_is_the_narrowest_row_with_a_byte_for_the_length() -> None:
    assert [key_width_for(n) for n in (0, 7, 8, 11, 12, 15, 16, 23, 24, 31, 32, 500)] == [
        8, 8, 12, 12, 16, 16, 24, 24, 32, 32, 0, 0,
    ]  # fmt: skip


def test_fixed_width_rows_keep_nul_bytes_and_the_empty_key_exact() -> None:
    """Zero padding alone would make b"P1" and b"P1\\x00" one key: the length byte does not."""
    keys = [b"P1", b"P1\x00", b"", b"\x00", b"\x00" * 7]
    blob = np.frombuffer(b"".join(keys), dtype=np.uint8)
    lengths = np.fromiter(map(len, keys), dtype=np.uint64)
    offsets = np.concatenate([np.zeros(1, np.uint64), np.cumsum(lengths, dtype=np.uint64)])
    rows = fixed_width_keys(blob, offsets, 8)
    assert rows.shape == (5, 8)
    assert rows[0].tobytes() == b"P1\x00\x00\x00\x00\x00\x02"
    assert rows[1].tobytes() == b"P1\x00\x00\x00\x00\x00\x03"
    assert rows[2].tobytes() == b"\x00" * 7 + b"\x00"
    assert rows[4].tobytes() == b"\x00" * 7 + b"\x07"
    built = build_slots(hash_index.hash_keys(keys))
    placed = np.concatenate(list(rows_by_slot(built.slots, rows)))
    assert len(placed) == len(built.slots)
    index = HashIndex(
        built.slots.data.cast("B"),
        built.capacity,
        memoryview(b""),
        placed.data.cast("B"),
        width=8,
        entries=len(keys),
    )
    for entry, key in enumerate(keys):
        assert index.find(key, hash_index.key_hash(key)) == [entry]
    assert index.find(b"\x00" * 8, hash_index.key_hash(b"\x00" * 8)) == []  # too long for a row
    slot_entries = built.slots & np.uint64(0xFFFF_FFFF)
    for position, entry in enumerate(slot_entries.tolist()):
        if entry == EMPTY_ENTRY:
            assert placed[position].tobytes() == bytes(8)  # an empty slot's row: zeros
        else:
            found, found_length = index.row_keys(np.array([position]))
            assert found[0][: int(found_length[0])].tobytes() == keys[entry]


def test_rows_by_slot_of_no_entries_are_empty_rows() -> None:
    built = build_slots(np.empty(0, dtype=np.uint64))
    [placed] = list(rows_by_slot(built.slots, np.empty((0, 12), dtype=np.uint8)))
    assert placed.shape == (len(built.slots), 12)
    assert not placed.any()


def test_rows_by_slot_are_the_same_whatever_the_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [b"K%d" % number for number in range(50)]
    blob = np.frombuffer(b"".join(keys), dtype=np.uint8)
    lengths = np.fromiter(map(len, keys), dtype=np.uint64)
    offsets = np.concatenate([np.zeros(1, np.uint64), np.cumsum(lengths, dtype=np.uint64)])
    rows = fixed_width_keys(blob, offsets, 8)
    built = build_slots(hash_index.hash_keys(keys))
    whole = np.concatenate(list(rows_by_slot(built.slots, rows)))
    monkeypatch.setattr(hash_index, "ROW_CHUNK", 3)
    chunks = list(rows_by_slot(built.slots, rows))
    assert len(chunks) == -(-len(built.slots) // 3)
    assert np.array_equal(np.concatenate(chunks), whole)

"""The compiled probe (indexes/_probe.c) against the Python reference (indexes/hash_index.py).

Three claims: its xxh3_64 is the `xxhash` package's, bit for bit, at every input length
XXH3 treats differently; over the same slot array it finds exactly the entries the
reference finds, one key at a time and in batches, with real hashes and with hashes forced
to collide (given explicitly, as the C path hashes in C); and any bytes at all in the
sections give an answer or an IndexError, never a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pytest
import xxhash
from hypothesis import example, given, settings
from hypothesis import strategies as st

from indexes.hash_index import (
    EMPTY_SLOT,
    HashIndex,
    PreparedKeys,
    build_slots,
    fixed_width_keys,
    rows_by_slot,
)

if TYPE_CHECKING:
    from indexes import _probe
else:
    _probe = pytest.importorskip("indexes._probe", reason="the C extension is not built")

Hasher = Callable[[bytes], int]

# XXH3 takes a different route at 0, 1-3, 4-8, 9-16, 17-128, 129-240 and > 240 bytes
# (and > 1024, one stripe block): one length on each side of every boundary.
BOUNDARY_LENGTHS = (0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 5000)

short_keys = st.binary(max_size=3) | st.sampled_from([b"", b"a", b"ab", b"abc"])
keys_lists = st.lists(short_keys, max_size=60)
queries_lists = st.lists(st.binary(max_size=5), max_size=20)


def real_hash(key: bytes) -> int:
    return xxhash.xxh3_64_intdigest(key)


def constant_hash(value: int) -> Hasher:
    return lambda key: value


def few_bits_hash(key: bytes) -> int:
    """Only 2 distinct high halves: long runs, equal hashes of different keys, and a
    high half of all ones (the empty slot's) shared by real entries."""
    return (0xFFFF_FFFF if xxhash.xxh3_64_intdigest(key) & 1 else 0) << 32 | len(key)


HASHERS: dict[str, Hasher] = {
    "xxh3": real_hash,
    "zero": constant_hash(0),
    "ones": constant_hash(2**64 - 1),
    "middle": constant_hash(0x5555_5555_AAAA_AAAA),
    "two-runs": few_bits_hash,
}


def offsets_of(keys: Sequence[bytes]) -> np.ndarray:
    lengths = np.fromiter(map(len, keys), dtype=np.uint64, count=len(keys))
    return np.concatenate([np.zeros(1, np.uint64), np.cumsum(lengths, dtype=np.uint64)])


def hashes_of(keys: Sequence[bytes], hasher: Hasher) -> np.ndarray:
    return np.fromiter(map(hasher, keys), dtype=np.uint64, count=len(keys))


def both_indexes(
    stored: Sequence[bytes],
    hasher: Hasher,
    entry_records: np.ndarray | None = None,
    width: int = 0,
) -> tuple[HashIndex, _probe.Table]:
    """The reference and the compiled index over `stored`; `width` > 0: the keys as
    fixed-width rows, one per slot (FORMAT.md, "Fixed-width keys"), else key offsets and
    bytes."""
    built = build_slots(hashes_of(stored, hasher))
    offsets, blob = offsets_of(stored), b"".join(stored)
    if width:
        by_entry = fixed_width_keys(np.frombuffer(blob, dtype=np.uint8), offsets, width)
        rows = np.concatenate(list(rows_by_slot(built.slots, by_entry))).tobytes()
        reference = HashIndex(
            built.slots.data.cast("B"),
            built.capacity,
            memoryview(b""),
            memoryview(rows),
            width=width,
            entries=len(stored),
        )
        table = _probe.Table(
            built.slots, built.capacity, b"", rows, entry_records, width, len(stored)
        )
        return reference, table
    reference = HashIndex(
        built.slots.data.cast("B"), built.capacity, offsets.data.cast("B"), memoryview(blob)
    )
    table = _probe.Table(built.slots, built.capacity, offsets, blob, entry_records)
    return reference, table


def prepared(keys: list[bytes], hasher: Hasher) -> PreparedKeys:
    batch = PreparedKeys(keys)
    batch.hashes = hashes_of(keys, hasher)
    return batch


def pairs(queries: np.ndarray | bytearray, found: np.ndarray | bytearray) -> list[tuple[int, int]]:
    as_array = [np.frombuffer(column, dtype=np.int64) for column in (queries, found)]
    return sorted(zip(as_array[0].tolist(), as_array[1].tolist(), strict=True))


@given(st.binary(max_size=300))
@example(b"")
def test_xxh3_64_equals_the_xxhash_package(data: bytes) -> None:
    assert _probe.xxh3_64(data) == xxhash.xxh3_64_intdigest(data)


@pytest.mark.parametrize("length", BOUNDARY_LENGTHS)
def test_xxh3_64_at_every_length_class(length: int) -> None:
    chance = np.random.default_rng(length)
    for _ in range(20):
        data = chance.bytes(length)
        assert _probe.xxh3_64(data) == xxhash.xxh3_64_intdigest(data)
        assert _probe.xxh3_64(memoryview(data)) == xxhash.xxh3_64_intdigest(data)


@given(st.lists(st.binary(max_size=300), max_size=50))
def test_hash_into_equals_the_xxhash_package(keys: list[bytes]) -> None:
    out = np.zeros(len(keys), dtype=np.uint64)
    _probe.hash_into(keys, out)
    assert out.tolist() == [xxhash.xxh3_64_intdigest(key) for key in keys]


def test_hash_into_takes_any_bytes_like_key_and_checks_the_output_size() -> None:
    keys: list[bytes] = [b"ab", bytearray(b"ab"), memoryview(b"xab")[1:]]  # type: ignore[list-item]
    out = np.zeros(3, dtype=np.uint64)
    _probe.hash_into(keys, out)
    assert set(out.tolist()) == {xxhash.xxh3_64_intdigest(b"ab")}
    with pytest.raises(ValueError, match="expected 2 keys"):
        _probe.hash_into(keys[:2], out)
    with pytest.raises(TypeError):
        _probe.hash_into([b"a", 3], np.zeros(2, dtype=np.uint64))  # type: ignore[list-item]


@pytest.mark.parametrize("width", [0, 8, 12, 16], ids=["keyoffs", "w8", "w12", "w16"])
@pytest.mark.parametrize("hasher", HASHERS.values(), ids=HASHERS.keys())
@settings(max_examples=40, deadline=None)
@given(stored=keys_lists, queries=queries_lists)
@example(stored=[], queries=[b"", b"x"])
@example(stored=[b"a", b"a", b"", b""], queries=[b"a\x00", b"\x00a", b"\x00" * 7, b"a" * 8])
def test_compiled_and_reference_find_the_same_entries(
    width: int, hasher: Hasher, stored: list[bytes], queries: list[bytes]
) -> None:
    """Both find exactly the entries of equal stored keys (a dict says which), whatever the
    key layout: a query longer than a fixed-width row is found nowhere."""
    reference, table = both_indexes(stored, hasher, width=width)
    batch = [*stored, *queries, *queries[:3], b"\x00" * 7, b"\x00" * 8, b"\x00" * 16]
    truth = {key: [e for e, s in enumerate(stored) if s == key] for key in batch}
    for key in batch:
        assert sorted(table.find(key, hasher(key))) == truth[key]
        assert sorted(reference.find(key, hasher(key))) == truth[key]
    assert pairs(*table.find_many(batch, hashes_of(batch, hasher))) == pairs(
        *reference.find_many(prepared(batch, hasher))
    )
    assert len(pairs(*table.find_many(batch, hashes_of(batch, hasher)))) == sum(
        map(len, (truth[key] for key in batch))
    )


@given(stored=keys_lists, queries=queries_lists)
def test_compiled_find_hashes_like_xxhash_when_no_hash_is_given(
    stored: list[bytes], queries: list[bytes]
) -> None:
    reference, table = both_indexes(stored, real_hash)
    for key in [*stored, *queries]:
        assert sorted(table.find(key)) == sorted(reference.find(key, real_hash(key)))


@pytest.mark.parametrize("hasher", [real_hash, constant_hash(0)], ids=["xxh3", "zero"])
@given(keys_per_record=st.lists(st.lists(short_keys, min_size=1, max_size=3), max_size=20))
def test_entry_records_map_entries_to_their_records(
    hasher: Hasher, keys_per_record: list[list[bytes]]
) -> None:
    """Records with several keys: the compiled probe answers records, not entries."""
    stored = [key for keys in keys_per_record for key in keys]
    owners = np.repeat(
        np.arange(len(keys_per_record), dtype=np.uint32), [len(keys) for keys in keys_per_record]
    )
    _, table = both_indexes(stored, hasher, owners)
    for key in set(stored) | {b"zz"}:
        expected = sorted(
            int(owners[e]) for e, stored_key in enumerate(stored) if stored_key == key
        )
        assert sorted(table.find(key, hasher(key))) == expected
    queries = [*set(stored), b"zz"]
    found = pairs(*table.find_many(queries, hashes_of(queries, hasher)))
    assert found == sorted(
        (q, int(owners[e]))
        for q, key in enumerate(queries)
        for e, s in enumerate(stored)
        if s == key
    )


def test_a_long_batch_crosses_the_prefetch_distance() -> None:
    """More keys and candidates than PREFETCH_AHEAD, hits and misses interleaved."""
    stored = [b"P%08d" % number for number in range(5000)]
    queries = [b"P%08d" % number for number in range(0, 10000, 3)]
    reference, table = both_indexes(stored, real_hash)
    found = pairs(*table.find_many(queries, hashes_of(queries, real_hash)))
    assert found == pairs(*reference.find_many(prepared(queries, real_hash)))
    assert len(found) == len([number for number in range(0, 10000, 3) if number < 5000])


def test_lookup_probes_every_table_in_order() -> None:
    first = both_indexes([b"a", b"b", b"a"], real_hash)[1]
    second = both_indexes([b"c", b"a"], real_hash)[1]
    lookup = _probe.Lookup([first, second])
    found = lookup.find(b"a")
    assert sorted(found) == [(0, 0), (0, 2), (1, 1)] and found[-1] == (1, 1)
    assert lookup.find(b"c") == [(1, 0)]
    assert lookup.find(b"zz") == []
    assert _probe.Lookup([]).find(b"a") == []
    with pytest.raises(TypeError):
        _probe.Lookup([object()])  # type: ignore[list-item]


@given(
    restricted=st.sets(st.integers(0, 9)),
    dead=st.sets(st.integers(0, 9)),
    seen_by_fra=st.sets(st.integers(0, 9)),
    viewer=st.sampled_from([None, "FRA", "UTO"]),
)
def test_lookup_filters_drop_dead_and_hidden_hits(
    restricted: set[int], dead: set[int], seen_by_fra: set[int], viewer: str | None
) -> None:
    """Records 0-9 all under one key; the filter's answer equals the Python rule's."""
    table = both_indexes([b"k"] * 10, real_hash)[1]
    bits = np.zeros(2, dtype=np.uint8)
    for record in restricted:
        bits[record >> 3] |= 1 << (record & 7)

    def visible(record: int, who: str | None) -> bool:
        return record not in restricted or (who == "FRA" and record in seen_by_fra)

    lookup = _probe.Lookup([table, table], [(bits, frozenset(dead), visible), None])
    found = lookup.find(b"k", viewer)
    expected = [r for r in range(10) if r not in dead and visible(r, viewer)]
    assert sorted(record for part, record in found if part == 0) == expected
    assert sorted(record for part, record in found if part == 1) == list(range(10))
    assert lookup.find(b"nope", viewer) == []


def test_lookup_filters_are_checked() -> None:
    table = both_indexes([b"k"], real_hash)[1]
    with pytest.raises(ValueError, match="one filter"):
        _probe.Lookup([table], [])
    with pytest.raises(TypeError, match="a filter is"):
        _probe.Lookup([table], [(None, None)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="callable"):
        _probe.Lookup([table], [(None, None, 3)])  # type: ignore[list-item]

    def refuse(record: int, viewer: str | None) -> bool:
        raise RuntimeError("from visible")

    lookup = _probe.Lookup([table], [(b"\xff", None, refuse)])
    with pytest.raises(RuntimeError, match="from visible"):
        lookup.find(b"k")


# --- corrupt sections: an error or an answer, never a read outside the buffers ---------


def test_a_slot_pointing_past_the_entries_raises_index_error() -> None:
    slots = np.array([0x0000_0000_0000_0005, EMPTY_SLOT], dtype=np.uint64)
    table = _probe.Table(slots, 1, np.array([0, 1], dtype=np.uint64), b"a")
    with pytest.raises(IndexError, match="entry 5 of 1"):
        table.find(b"a", 0)
    with pytest.raises(IndexError, match="entry 5 of 1"):
        table.find_many([b"a"], np.zeros(1, dtype=np.uint64))


def test_key_offsets_outside_the_keys_raise_index_error() -> None:
    slots = np.array([0, EMPTY_SLOT], dtype=np.uint64)
    for offsets in ([0, 99], [2, 1], [2**63, 2**63 + 1]):
        table = _probe.Table(slots, 1, np.array(offsets, dtype=np.uint64), b"a")
        with pytest.raises(IndexError, match="outside 1 key bytes"):
            table.find(b"a", 0)
        with pytest.raises(IndexError, match="outside 1 key bytes"):
            table.find_many([b"a"], np.zeros(1, dtype=np.uint64))


def test_a_run_reaching_the_end_of_the_array_raises_index_error() -> None:
    """No trailing empty slot: the probe must stop at the array's end, not read past it."""
    slots = np.array([0x10_0000_0000], dtype=np.uint64)  # hash high 0x10, entry 0
    table = _probe.Table(slots, 1, np.array([0, 1], dtype=np.uint64), b"b")
    with pytest.raises(IndexError, match="slot 1 read in an array of 1 slots"):
        table.find(b"a", 0x20 << 32)
    with pytest.raises(IndexError, match="slot 1 read"):
        table.find_many([b"a"], np.array([0x20 << 32], dtype=np.uint64))
    empty = _probe.Table(b"", 5, b"", b"")
    with pytest.raises(IndexError, match="array of 0 slots"):
        empty.find(b"a")


def test_a_short_entry_record_array_raises_index_error() -> None:
    slots = np.array([1 << 32 | 1, EMPTY_SLOT], dtype=np.uint64)
    offsets = np.array([0, 1, 2], dtype=np.uint64)
    table = _probe.Table(slots, 1, offsets, b"ab", np.zeros(1, dtype=np.uint32))
    with pytest.raises(IndexError, match="entry 1 has no record number"):
        table.find(b"b", 1 << 32)


@pytest.mark.parametrize("capacity", [0, 2**32 + 1])
def test_a_capacity_outside_the_format_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        _probe.Table(np.zeros(1, dtype=np.uint64), capacity, np.zeros(1, np.uint64), b"")


def test_sections_of_partial_items_are_refused() -> None:
    with pytest.raises(ValueError, match="slots is 7 bytes"):
        _probe.Table(b"\xff" * 7, 1, np.zeros(1, np.uint64), b"")
    with pytest.raises(ValueError, match="keyoffs is 9 bytes"):
        _probe.Table(b"\xff" * 8, 1, b"\x00" * 9, b"")
    with pytest.raises(ValueError, match="entrec is 3 bytes"):
        _probe.Table(b"\xff" * 8, 1, b"\x00" * 8, b"", b"\x00" * 3)


words = st.lists(st.integers(0, 2**64 - 1), max_size=12).map(
    lambda values: np.array(values, dtype=np.uint64).tobytes()
)


@settings(max_examples=300, deadline=None)
@given(
    slots=words,
    offsets=words,
    keys=st.binary(max_size=16),
    entrec=st.none() | st.binary(max_size=16).map(lambda raw: raw[: len(raw) // 4 * 4]),
    capacity=st.integers(1, 2**32),
    queries=st.lists(st.binary(max_size=4), max_size=8),
    hashes=st.lists(st.integers(0, 2**64 - 1), min_size=8, max_size=8),
    width=st.sampled_from([0, 8, 12, 16, 24, 32]),
    entries=st.integers(0, 5),
)
def test_any_bytes_in_the_sections_give_an_answer_or_index_error(
    slots: bytes,
    offsets: bytes,
    keys: bytes,
    entrec: bytes | None,
    capacity: int,
    queries: list[bytes],
    hashes: list[int],
    width: int,
    entries: int,
) -> None:
    if width:  # rows of any bytes, lengths out of their rows included
        keys = (keys * width)[: len(keys) % 3 * width]  # 0 to 2 rows
    table = _probe.Table(slots, capacity, offsets, keys, entrec, width, entries)
    for query, hashed in zip(queries, hashes, strict=False):
        with contextlib.suppress(IndexError):
            assert isinstance(table.find(query, hashed), list)
        with contextlib.suppress(IndexError):
            assert isinstance(table.find(query), list)
    with contextlib.suppress(IndexError):
        table.find_many(queries, np.array(hashes[: len(queries)], dtype=np.uint64))

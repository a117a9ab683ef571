"""`Segment.postings`: every record stored under an inverted-index key, as one sorted array.

Checked against `Segment.find` (the probe that compares stored keys) on segments whose
records share keys in every pattern hypothesis can draw from a tiny alphabet, and under the
injected constant hash, where every key lands in one run: postings may then hold more (it
compares no stored key, so the name matcher scores every candidate itself), never less.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import Record, Writer, open_snapshot
from indexes.hash_index import LOW32, PROBE_ENV, key_hash, use_compiled
from indexes.postings import posting_run, run_tables, runs_records

DB = "NOMINAL"
keys = st.sampled_from([b"p:A", b"p:B", b"p:ANNA", b"y:1974", b"y:?", b"d:1974-08-12"])


def _build(
    directory: Path, layout: list[list[bytes]], as_tokens: bool = False
) -> list[list[bytes]]:
    """Record n: key `key-n`, and the layout's keys as more keys or as its tokens
    (Record.tokens); returns each record's keys, or its tokens."""
    records = [
        Record(f"id-{n}".encode(), (f"key-{n}".encode(), *dict.fromkeys(held)), n)
        if not as_tokens
        else Record(f"id-{n}".encode(), (f"key-{n}".encode(),), n, tokens=(*dict.fromkeys(held),))
        for n, held in enumerate(layout)
    ]
    with Writer(directory, DB) as writer:
        writer.upsert(records)
        writer.commit()
    return [list(record.tokens if as_tokens else record.keys) for record in records]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(keys, max_size=4), min_size=1, max_size=40), keys)
def test_postings_are_the_records_under_a_key(
    tmp_path_factory: pytest.TempPathFactory, layout: list[list[bytes]], key: bytes
) -> None:
    directory = tmp_path_factory.mktemp("postings") / DB
    stored = _build(directory, layout)
    segment = open_snapshot(directory, DB).parts[0].segment
    postings = segment.postings(key)
    assert postings.dtype == np.uint32
    assert list(postings) == sorted(postings)
    assert postings.tolist() == [n for n, held in enumerate(stored) if key in held]
    assert sorted(segment.find(key)) == postings.tolist()
    assert segment.postings(b"p:absent").size == 0


def test_postings_are_a_superset_under_one_constant_hash(
    constant_hash: int, tmp_path: Path
) -> None:
    stored = _build(tmp_path / DB, [[b"p:A"], [b"p:B"], [b"p:A", b"p:B"], []])
    segment = open_snapshot(tmp_path / DB, DB).parts[0].segment
    found = set(segment.postings(b"p:A").tolist())
    assert {n for n, held in enumerate(stored) if b"p:A" in held} <= found
    assert found <= set(range(len(stored)))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(keys, max_size=4), min_size=1, max_size=40), keys)
def test_tokens_are_postings_and_never_found_by_find(
    tmp_path_factory: pytest.TempPathFactory, layout: list[list[bytes]], key: bytes
) -> None:
    """Tokens have their own slot array: the posting reads find them, `find` does not."""
    directory = tmp_path_factory.mktemp("tokens") / DB
    stored = _build(directory, layout, as_tokens=True)
    snapshot = open_snapshot(directory, DB)
    segment = snapshot.parts[0].segment
    holders = [n for n, held in enumerate(stored) if key in held]
    assert segment.postings(key).tolist() == holders
    assert sorted(segment.records_under(key).tolist()) == holders
    assert snapshot.count_keys([key]).records.tolist() == holders
    assert set(holders) <= set(snapshot.holding_at_least([key], 1).records.tolist())
    assert segment.find(key) == [] and snapshot.find(key) == []
    assert not len(snapshot.find_many([key]).records)
    assert [segment.find(b"key-%d" % n) for n in range(len(stored))] == [
        [n] for n in range(len(stored))
    ]
    assert [segment.tokens_of(n) for n in range(len(stored))] == [tuple(t) for t in stored]


def test_an_identity_probe_never_reads_the_token_slots(tmp_path: Path) -> None:
    """Issue 6: the identity keys' slot array holds no token entry, so 10,000 records
    sharing a token leave an identity probe's run as short as SLTD's."""
    layout = [[b"p:MOHAMMED", b"y:1974"] for _ in range(10_000)]
    _build(tmp_path / DB, layout, as_tokens=True)
    segment = open_snapshot(tmp_path / DB, DB).parts[0].segment
    assert segment.meta["entries"] == 30_000
    slots = np.frombuffer(segment._file.raw("slots"), dtype=np.uint64)
    tokens = np.frombuffer(segment._file.raw("tslots"), dtype=np.uint64)
    occupied = slots[(slots & np.uint64(0xFFFF_FFFF)) != np.uint64(0xFFFF_FFFF)]
    assert len(occupied) == 10_000 and segment.meta["max_displacement"] < 30
    assert int(((tokens & np.uint64(0xFFFF_FFFF)) != np.uint64(0xFFFF_FFFF)).sum()) == 20_000
    assert segment.postings(b"p:MOHAMMED").tolist() == list(range(10_000))


def test_compaction_keeps_tokens_apart(tmp_path: Path) -> None:
    from indexes import compact

    _build(tmp_path / DB, [[b"p:A"], [b"p:A", b"p:B"], []], as_tokens=True)
    with Writer(tmp_path / DB, DB) as writer:
        writer.upsert([Record(b"id-9", (b"key-9", b"p:A"), 9, tokens=(b"p:B",))])
        writer.commit()
    compact(tmp_path / DB, DB)
    snapshot = open_snapshot(tmp_path / DB, DB)
    (part,) = snapshot.parts
    owners = {snapshot.record(0, n)[1]: n for n in range(part.segment.records)}
    assert part.segment.tokens_of(owners[1]) == (b"p:A", b"p:B")
    assert part.segment.keys_of(owners[9]) == (b"key-9", b"p:A")
    assert part.segment.tokens_of(owners[9]) == (b"p:B",)
    assert [snapshot.record(p, r)[1] for p, r in snapshot.find(b"p:A")] == [9]
    counted = snapshot.count_keys([b"p:A"])
    assert {snapshot.record(0, r)[1] for r in counted.records.tolist()} == {0, 1, 9}


def _placed(highs: list[int], capacity: int) -> np.ndarray:
    """A slot array as FORMAT.md places it: by hash, each at max(home, previous + 1)."""
    positions, last = [], -1
    for high in sorted(highs):
        last = max((high * capacity) >> 32, last + 1)
        positions.append(last)
    slots = np.full(max(last + 2, capacity + 1), np.uint64(2**64 - 1), dtype=np.uint64)
    for entry, (high, position) in enumerate(zip(sorted(highs), positions, strict=True)):
        slots[position] = np.uint64((high << 32) | entry)
    return slots


few_highs = st.sampled_from([0, 1, 2**31, 2**32 - 2, 2**32 - 1])


@pytest.mark.skipif(not use_compiled(), reason="compares the compiled probe with Python's")
@settings(max_examples=300, deadline=None)
@given(
    highs=st.lists(st.one_of(few_highs, st.integers(0, 2**32 - 1)), max_size=60),
    capacity=st.integers(1, 80),
    wanted=st.one_of(few_highs, st.integers(0, 2**32 - 1)),
    low=st.integers(0, 2**32 - 1),
)
def test_compiled_run_bounds_are_the_reference_ones(
    highs: list[int], capacity: int, wanted: int, low: int
) -> None:
    """Runs at either end of the array, a run of the all-ones hash (whose slots look like
    empty ones but for their entry), homes inside another key's run: the same bounds."""
    slots = _placed(highs, capacity)
    index = SimpleNamespace(_slot_array=slots, _slots=slots.data, capacity=capacity)
    hashed = (wanted << 32) | low
    compiled = posting_run(index, hashed)  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as python:
        python.setenv(PROBE_ENV, "python")
        assert posting_run(index, hashed) == compiled  # type: ignore[arg-type]
    start, stop = compiled
    assert stop - start == highs.count(wanted)


COMPILED_BUILT = pytest.mark.skipif(not use_compiled(), reason="the compiled probe is not built")


@pytest.mark.parametrize("probe", [pytest.param("compiled", marks=COMPILED_BUILT), "python"])
def test_tokens_only_reads_the_token_slots_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probe: str
) -> None:
    """A key that one record holds as a lookup key and others as a token: `tokens_only`
    gives the token holders, a plain posting read both; a segment without tokens has no
    token holders."""
    if probe == "python":
        monkeypatch.setenv(PROBE_ENV, "python")
    records = [
        Record(b"id-0", (b"p:ANNA",), 0),
        Record(b"id-1", (b"key-1",), 1, tokens=(b"p:ANNA", b"y:1974")),
        Record(b"id-2", (b"key-2",), 2, tokens=(b"y:1974",)),
        Record(b"id-3", (b"key-3",), 3, tokens=(b"p:ANNA",)),
    ]
    with Writer(tmp_path / DB, DB) as writer:
        writer.upsert(records)
        writer.commit()
    segment = open_snapshot(tmp_path / DB, DB).parts[0].segment
    assert (segment.table is None) == (probe == "python")
    assert segment.postings(b"p:ANNA").tolist() == [0, 1, 3]
    assert segment.postings(b"p:ANNA", tokens_only=True).tolist() == [1, 3]
    many = segment.postings_many([b"y:1974", b"p:ANNA", b"p:absent"], tokens_only=True)
    assert [found.tolist() for found in many] == [[1, 2], [1, 3], []]
    with Writer(tmp_path / "SLTD", "SLTD") as writer:
        writer.upsert([Record(b"id-0", (b"p:ANNA",), 0)])
        writer.commit()
    plain = open_snapshot(tmp_path / "SLTD", "SLTD").parts[0].segment
    assert plain.postings(b"p:ANNA").tolist() == [0]
    assert plain.postings(b"p:ANNA", tokens_only=True).size == 0
    assert [found.size for found in plain.postings_many([b"p:ANNA"], tokens_only=True)] == [0]


TOKENS = [b"t:%d" % number for number in range(12)]


@pytest.mark.skipif(not use_compiled(), reason="compares the compiled probe with Python's")
@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.sampled_from(TOKENS), max_size=60),
    extra_capacity=st.integers(0, 40),
    wanted=st.lists(st.sampled_from(TOKENS), max_size=5),
    shuffled=st.randoms(use_true_random=False),
    owned=st.booleans(),
    tables=st.integers(1, 2),
)
def test_compiled_runs_records_are_each_runs_owners_ascending(
    stored: list[bytes],
    extra_capacity: int,
    wanted: list[bytes],
    shuffled: random.Random,
    owned: bool,
    tables: int,
) -> None:
    """Ties in any order (FORMAT.md allows it), owners mapping entries out of order, a key
    in two slot arrays: each key's records come out joined and ascending all the same, as
    many as its runs have entries."""
    capacity = len(stored) + extra_capacity + 1
    slots = _placed([key_hash(key) >> 32 for key in stored], capacity)
    occupied = np.flatnonzero((slots & np.uint64(LOW32)) != np.uint64(LOW32))
    entries = list(range(len(occupied)))
    shuffled.shuffle(entries)  # which entry sits in which slot of a tie is not fixed
    slots[occupied] = (slots[occupied] & ~np.uint64(LOW32)) | np.array(entries, dtype=np.uint64)
    owners = np.array([shuffled.randrange(50) for _ in entries], dtype=np.uint32)
    index = SimpleNamespace(_slots=slots.data, capacity=capacity)
    found = runs_records(
        run_tables([index] * tables),  # type: ignore[list-item]
        wanted,
        owners.data if owned else None,
    )
    assert len(found) == len(wanted)
    reference = SimpleNamespace(_slot_array=slots, capacity=capacity)
    for key, records in zip(wanted, found, strict=True):
        start, stop = posting_run(reference, key_hash(key))  # type: ignore[arg-type]
        run = (slots[start:stop] & np.uint64(LOW32)).astype(np.int64)
        expected = sorted((owners[run] if owned else run).tolist() * tables)
        assert records.dtype == np.uint32 and records.tolist() == expected


@pytest.mark.skipif(not use_compiled(), reason="the compiled probe's own checks")
def test_compiled_runs_records_refuse_an_entry_past_the_owners_and_keys_not_bytes() -> None:
    slots = _placed([key_hash(b"k") >> 32] * 3, 4)
    tables = [(slots.data, 4)]
    owners = np.zeros(2, dtype=np.uint32)  # entries 0..2 stored, owners of 0..1 only
    with pytest.raises(IndexError, match="entry 2 of 2"):
        runs_records(tables, [b"k"], owners.data)
    with pytest.raises(TypeError, match=r"keys\[1\] is str, not bytes"):
        runs_records(tables, [b"k", "k"], None)  # type: ignore[list-item]


def test_postings_of_many_keys_are_each_keys_postings(tmp_path: Path) -> None:
    layout = [[b"p:A", b"y:1974"], [b"p:B"], [b"p:A", b"p:B"], [], [b"y:1974"]]
    _build(tmp_path / DB, layout[:3], as_tokens=True)
    with Writer(tmp_path / DB, DB) as writer:  # a second segment: keys, not tokens
        writer.upsert([Record(b"id-9", (b"key-9", b"p:A", b"y:1974"), 9)])
        writer.commit()
    for part in open_snapshot(tmp_path / DB, DB).parts:
        wanted = [b"p:A", b"p:absent", b"y:1974", b"p:B", b"p:A"]
        found = part.segment.postings_many(wanted)
        assert [run.tolist() for run in found] == [
            part.segment.postings(key).tolist() for key in wanted
        ]
        assert part.segment.postings_many([]) == []

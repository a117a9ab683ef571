"""The whole engine against a dict: upserts, deletes, commits, aborts, compactions, reopens.

The model is `identity -> (keys, tokens, data, visible_to)` for the committed generation,
and a copy of it for the open writer's session. After every step every key the model
knows, and a few it does not, must find exactly the model's live records that each viewer
may see, through `find` and `find_many` (by their keys only), and through `count_keys` (by
their keys and tokens); `count` must agree. Keys are of every length around the fixed
widths (FORMAT.md, "Fixed-width keys") and beyond them, so segments of both layouts are
built; tokens share bytes with keys. The machine also runs with every key hashing to one
constant (conftest.py, `constant_hash`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from indexes import (
    Deletion,
    NoDatabaseError,
    Record,
    SegmentCache,
    Snapshot,
    Writer,
    compact,
    open_snapshot,
)
from indexes.hash_index import PROBE_ENV
from indexes.manifest import read_manifest
from indexes.writer import LOCK_NAME

DB = "SLTD"
STATES = ("FRA", "UTO")
VIEWERS: tuple[str | None, ...] = (None, "FRA", "UTO", "XXA")
POSTING_VIEWERS = (None, "UTO")  # the posting reads share `find`'s visibility rule: two do
# One primary key per identity number: distinct, of many lengths, the empty key included.
PRIMARY = (
    *(b"", b"P1", b"P10", b"P100", b"L898902C3", b"\x00", b"P1\x00", b"\xff" * 20),
    *(b"7-bytes", b"8-bytes!", b"\x00" * 15, b"L" * 31, b"L" * 32),  # widths 8, 16, 32, none
)
EXTRA = (b"shared", b"shared2", b"S")  # secondary keys, shared by several identities
TOKENS = (b"token", b"shared", b"P1", b"L" * 40)  # the last three also some record's key
ABSENT = (b"absent", b"P", b"P1000", b"\x00\x00", b"shared3", b"L898902C", b"\x00" * 16)
QUERIES = (*PRIMARY, *EXTRA, *TOKENS, *ABSENT, PRIMARY[1], EXTRA[0])  # with repeats

MODEL_SETTINGS = settings(max_examples=50, stateful_step_count=20, deadline=None)
CONSTANT_HASH_SETTINGS = settings(
    max_examples=12,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Stored:
    keys: tuple[bytes, ...]
    tokens: tuple[bytes, ...]
    data: int
    visible_to: frozenset[str] | None

    def visible(self, viewer: str | None) -> bool:
        return self.visible_to is None or (viewer is not None and viewer in self.visible_to)


Model = dict[bytes, Stored]

upsert_batches = st.lists(
    st.tuples(
        st.integers(0, len(PRIMARY) - 1),
        st.sets(st.sampled_from(EXTRA), max_size=2),
        st.none() | st.frozensets(st.sampled_from(STATES), max_size=2),
        st.sets(st.sampled_from(TOKENS), max_size=2),
    ),
    min_size=1,
    max_size=8,
)
# Numbers past the pool delete an identity never stored, under a key that is stored.
delete_batches = st.lists(st.integers(0, len(PRIMARY) + 2), min_size=1, max_size=5)


def identity_of(number: int) -> bytes:
    return b"id-%d" % number


def deletion(number: int) -> Deletion:
    if number < len(PRIMARY):
        return Deletion(identity_of(number), PRIMARY[number])
    return Deletion(b"never-%d" % number, PRIMARY[number % len(PRIMARY)])


def expected_answers(
    model: Model, viewer: str | None, tokens: bool = False
) -> list[list[tuple[bytes, int]]]:
    """Per query, the records holding it as a key (and as a token, if `tokens`)."""
    return [
        sorted(
            (identity, stored.data)
            for identity, stored in model.items()
            if (key in stored.keys or (tokens and key in stored.tokens)) and stored.visible(viewer)
        )
        for key in QUERIES
    ]


def check_postings(snapshot: Snapshot, model: Model, viewer: str | None) -> None:
    """`count_keys` finds a record by its keys and its tokens; `holding_at_least` too, as
    a superset (it compares no stored key)."""
    expected = expected_answers(model, viewer, tokens=True)
    for key, wanted in zip(QUERIES, expected, strict=True):
        counted = snapshot.count_keys([key], 1, viewer)
        rows = zip(counted.parts.tolist(), counted.records.tolist(), strict=True)
        assert sorted(snapshot.record(part, record) for part, record in rows) == wanted, key
        held = snapshot.holding_at_least([key], 1, viewer)
        rows = zip(held.parts.tolist(), held.records.tolist(), strict=True)
        assert set(wanted) <= {snapshot.record(part, record) for part, record in rows}, key


def check_snapshot(snapshot: Snapshot | None, model: Model) -> None:
    """Every query, every viewer, one at a time and as a batch; and the counts."""
    for viewer in VIEWERS:
        expected = expected_answers(model, viewer)
        if snapshot is None:
            assert not any(expected), "records committed but no manifest"
            continue
        single = [
            sorted(snapshot.record(part, record) for part, record in snapshot.find(key, viewer))
            for key in QUERIES
        ]
        assert single == expected, f"find, viewer {viewer}"
        found = snapshot.find_many(list(QUERIES), viewer)
        batch: list[list[tuple[bytes, int]]] = [[] for _ in QUERIES]
        rows = zip(
            found.queries.tolist(), found.parts.tolist(), found.records.tolist(), strict=True
        )
        for query, part, record in rows:
            identity, data = snapshot.record(part, record)
            assert isinstance(data, int)
            batch[query].append((identity, data))
        assert [sorted(answers) for answers in batch] == expected, f"find_many, viewer {viewer}"
        live = sum(stored.visible(viewer) for stored in model.values())
        assert snapshot.count(viewer) == live, f"count, viewer {viewer}"
        if viewer in POSTING_VIEWERS:
            check_postings(snapshot, model, viewer)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="engine-model-"))
        self.directory = self.root / DB
        self.committed: Model = {}
        self.pending: Model = {}
        self.writer: Writer | None = None
        self.cache = SegmentCache()
        self.snapshot: Snapshot | None = None
        self.version = 0

    def session(self) -> Writer:
        """The open writer, opened on first use as a load would."""
        if self.writer is None:
            self.writer = Writer(self.directory, DB).__enter__()
            self.pending = dict(self.committed)
        return self.writer

    def end_session(self, error: BaseException | None = None) -> None:
        assert self.writer is not None
        self.writer.__exit__(type(error) if error else None, error, None)
        self.writer = None

    def refresh(self) -> None:
        try:
            self.snapshot = open_snapshot(self.directory, DB, self.cache)
        except NoDatabaseError:
            self.snapshot = None

    @rule(batch=upsert_batches)
    def upsert(
        self, batch: list[tuple[int, set[bytes], frozenset[str] | None, set[bytes]]]
    ) -> None:
        writer = self.session()
        records = []
        for number, extra, viewers, token_set in batch:
            self.version += 1
            keys = (PRIMARY[number], *sorted(extra - {PRIMARY[number]}))
            tokens = tuple(sorted(token_set))
            records.append(Record(identity_of(number), keys, self.version, viewers, tokens=tokens))
            self.pending[identity_of(number)] = Stored(keys, tokens, self.version, viewers)
        writer.upsert(records)

    @rule(numbers=delete_batches)
    def delete(self, numbers: list[int]) -> None:
        writer = self.session()
        expected = [int(self.pending.pop(identity_of(n), None) is not None) for n in numbers]
        assert writer.delete([deletion(n) for n in numbers]) == expected

    @precondition(lambda self: self.writer is not None)
    @rule()
    def commit(self) -> None:
        assert self.writer is not None
        previous, previous_model = self.snapshot, self.committed
        self.writer.commit()
        self.end_session()
        self.committed = self.pending
        self.refresh()
        check_snapshot(previous, previous_model)  # readers in flight keep their generation

    @precondition(lambda self: self.writer is not None)
    @rule(raised=st.booleans())
    def abort(self, raised: bool) -> None:
        """Leave `with Writer` without commit, by an exception or not: nothing changes."""
        self.end_session(RuntimeError("load failed") if raised else None)
        self.pending = {}

    @precondition(lambda self: self.writer is None)
    @rule()
    def compact(self) -> None:
        compact(self.directory, DB, batch=3)
        self.refresh()
        if self.snapshot is not None:
            assert len(self.snapshot.parts) <= 1

    @rule()
    def reopen(self) -> None:
        """A fresh process: a new cache, every file mapped (and verified) again."""
        self.cache = SegmentCache(verify=True)
        self.refresh()

    @invariant()
    def answers_match_the_model(self) -> None:
        check_snapshot(self.snapshot, self.committed)

    @invariant()
    def only_named_files_on_disk(self) -> None:
        if not self.directory.exists():
            return
        names = set(os.listdir(self.directory))
        try:
            named = read_manifest(self.directory, DB).files()
        except NoDatabaseError:
            named = set()
        assert names <= named | {LOCK_NAME}, names - named

    def teardown(self) -> None:
        if self.writer is not None:
            self.end_session()
        shutil.rmtree(self.root, ignore_errors=True)


def test_engine_against_a_dict() -> None:
    run_state_machine_as_test(EngineMachine, settings=MODEL_SETTINGS)


def test_engine_against_a_dict_on_the_python_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference probe (SCREENING_PROBE=python) gives the model's answers too."""
    monkeypatch.setenv(PROBE_ENV, "python")
    run_state_machine_as_test(EngineMachine, settings=CONSTANT_HASH_SETTINGS)


def test_engine_against_a_dict_with_one_hash_for_every_key(constant_hash: int) -> None:
    """All keys in one run, the hash 0 and the hash of all ones included."""
    run_state_machine_as_test(EngineMachine, settings=CONSTANT_HASH_SETTINGS)

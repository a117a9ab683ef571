"""`Segment.postings`: every record stored under an inverted-index key, as one sorted array.

Checked against `Segment.find` (the probe that compares stored keys) on segments whose
records share keys in every pattern hypothesis can draw from a tiny alphabet, and under the
injected constant hash, where every key lands in one run: postings may then hold more (it
compares no stored key, so the name matcher scores every candidate itself), never less.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import Record, Writer, open_snapshot

DB = "NOMINAL"
keys = st.sampled_from([b"p:A", b"p:B", b"p:ANNA", b"y:1974", b"y:?", b"d:1974-08-12"])


def _build(directory: Path, layout: list[list[bytes]]) -> list[list[bytes]]:
    records = [
        Record(f"id-{n}".encode(), (f"key-{n}".encode(), *dict.fromkeys(extra)), n)
        for n, extra in enumerate(layout)
    ]
    with Writer(directory, DB) as writer:
        writer.upsert(records)
        writer.commit()
    return [list(record.keys) for record in records]


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

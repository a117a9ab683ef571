"""Keys whose home slot falls inside a long run (a key thousands of records share, as a
name token or a DNA genotype) are found by skipping ahead, not by walking the run: the
compiled probe, single and batched, answers as the reference walk does, and a run's
bounds (`posting_run`) hold exactly the entries the run's walk reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexes import Record, SegmentCache, Writer, open_snapshot
from indexes.hash_index import COMPILED_BUILT, PROBE_ENV, key_hash
from indexes.postings import find_postings, posting_run

DB = "NOMINAL"
RECORDS = 3000


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs") / DB
    records = [
        Record(f"id-{n}".encode(), (f"own-{n}".encode(), b"common", b"half" * (n % 2)), n)
        for n in range(RECORDS)
    ]
    with Writer(folder, DB) as writer:
        writer.upsert(records)
        writer.commit()
    return folder


@pytest.mark.skipif(not COMPILED_BUILT, reason="the C extension is not built")
def test_compiled_and_reference_agree_around_long_runs(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [f"own-{n}".encode() for n in range(RECORDS)] + [b"common", b"half", b"absent"]
    keys += [f"miss-{n}".encode() for n in range(RECORDS)]
    monkeypatch.delenv(PROBE_ENV, raising=False)  # the suite may run on the reference
    compiled = open_snapshot(directory, DB, SegmentCache())
    monkeypatch.setenv(PROBE_ENV, "python")
    reference = open_snapshot(directory, DB, SegmentCache())
    assert compiled._compiled_lookup() is not None and reference._compiled_lookup() is None
    for key in keys:
        assert sorted(compiled.find(key)) == sorted(reference.find(key)), key
    batch, expected = compiled.find_many(keys), reference.find_many(keys)
    assert np.array_equal(batch.queries, expected.queries)
    assert sorted(zip(batch.queries.tolist(), batch.records.tolist(), strict=True)) == sorted(
        zip(expected.queries.tolist(), expected.records.tolist(), strict=True)
    )
    assert len(compiled.find(b"common")) == RECORDS


def test_a_runs_bounds_are_its_entries(directory: Path) -> None:
    index = open_snapshot(directory, DB).parts[0].segment._index
    for key in (b"common", b"half", b"own-7", b"absent"):
        start, stop = posting_run(index, key_hash(key))
        assert stop - start == len(find_postings(index, key, key_hash(key), verify=False))
    start, stop = posting_run(index, key_hash(b"common"))
    assert stop - start == RECORDS

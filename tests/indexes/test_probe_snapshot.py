"""Snapshots served by the compiled probe answer as the Python reference does, and refuse
damaged files the same way: CorruptFileError naming the file, never a crash.

The rest of tests/indexes runs on whichever path is in force (the compiled one when it is
built; `SCREENING_PROBE=python pytest tests/indexes` runs it all on the reference). Here
both run side by side over the same files: several segments, tombstones, restricted
records, records with several keys, duplicates and misses.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexes import CorruptFileError, Deletion, Record, SegmentCache, Snapshot, Writer
from indexes import open_snapshot as open_current
from indexes.container import Container
from indexes.hash_index import COMPILED_BUILT, PROBE_ENV
from indexes.segment import SEGMENT_MAGIC

pytestmark = pytest.mark.skipif(not COMPILED_BUILT, reason="the C extension is not built")

DB = "SLTD"
VIEWERS = (None, "FRA", "UTO")
KEYS = (b"", b"a", b"b", b"ab", b"P1", b"P10", b"\x00", b"shared")
MISSES = (b"zz", b"P100", b"a\x00", b"\xff" * 9)

records_st = st.lists(
    st.tuples(
        st.integers(0, 12),  # identity number: repeats replace earlier records
        st.lists(st.sampled_from(KEYS), min_size=1, max_size=3),
        st.none() | st.sampled_from([frozenset({"FRA"}), frozenset[str]()]),
    ),
    min_size=1,
    max_size=12,
)
batches_st = st.lists(
    st.tuples(records_st, st.lists(st.integers(0, 12), max_size=3)), min_size=1, max_size=4
)


@contextmanager
def probe_path(compiled: bool) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        if compiled:
            patch.delenv(PROBE_ENV, raising=False)
        else:
            patch.setenv(PROBE_ENV, "python")
        yield


def open_snapshot(directory: Path, compiled: bool, verify: bool = True) -> Snapshot:
    """A snapshot on one path, its segments mapped afresh (a cache shares no segment)."""
    with probe_path(compiled):
        snapshot = open_current(directory, DB, SegmentCache(verify=verify))
    assert (snapshot._compiled_lookup() is not None) == compiled
    return snapshot


def publish(
    directory: Path, batches: list[tuple[list[tuple[int, list[bytes], object]], list[int]]]
) -> None:
    for records, deletions in batches:
        with Writer(directory, DB) as writer:
            writer.upsert(
                [
                    Record(b"id-%d" % number, tuple(dict.fromkeys(keys)), number, viewers)  # type: ignore[arg-type]
                    for number, keys, viewers in records
                ]
            )
            for number in deletions:
                primary = next((keys[0] for n, keys, _ in records if n == number), None)
                if primary is not None:
                    writer.delete([Deletion(b"id-%d" % number, primary)])
            writer.commit()


def answers(
    snapshot: Snapshot, viewer: str | None
) -> tuple[list[list[tuple[int, int]]], list[tuple[int, int, int]]]:
    queries = [*KEYS, *MISSES, *KEYS[:3]]
    single = [sorted(snapshot.find(key, viewer)) for key in queries]
    found = snapshot.find_many(queries, viewer)
    batch = sorted(
        zip(found.queries.tolist(), found.parts.tolist(), found.records.tolist(), strict=True)
    )
    return single, batch


@settings(max_examples=25, deadline=None)
@given(batches=batches_st)
def test_both_paths_answer_alike_over_many_segments(
    batches: list[tuple[list[tuple[int, list[bytes], object]], list[int]]],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="probe-"))
    try:
        publish(root / DB, batches)
        compiled, reference = open_snapshot(root / DB, True), open_snapshot(root / DB, False)
        for viewer in VIEWERS:
            assert answers(compiled, viewer) == answers(reference, viewer), viewer
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- damaged files, opened without verify: an error naming the file, never a crash ------


LONG = b"-" * 32
"""Appended to every key, it makes a segment store its keys through keyoffs and keys
instead of fixed-width rows (FORMAT.md, "Fixed-width keys")."""


def one_segment(directory: Path, variable: bool = False) -> Path:
    keys = [b"P%04d" % number + (LONG if variable else b"") for number in range(40)]
    with Writer(directory, DB) as writer:
        writer.upsert([Record(b"id-" + key, (key, b"x" + key), 0) for key in keys])
        writer.commit()
    (path,) = directory.glob("*.seg")
    return path


def overwrite(path: Path, section: str, at: int, data: bytes) -> None:
    container = Container(path, SEGMENT_MAGIC, verify=False)
    offset = container.sections[section].offset
    container.close()
    with open(path, "r+b") as handle:
        handle.seek(offset + at)
        handle.write(data)


def every_lookup(snapshot: Snapshot) -> None:
    keys = [b"P%04d" % number for number in range(40)] + [b"xP0001", b"nope"]
    keys += [key + LONG for key in keys]
    for key in keys:
        snapshot.find(key, "FRA")
    snapshot.find_many(keys, "FRA")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
@pytest.mark.parametrize(
    ("section", "variable"),
    [("slots", False), ("slots", True), ("keyoffs", True), ("entrec", False)],
    ids=["slots-keyrows", "slots-keyoffs", "keyoffs", "entrec"],
)
def test_out_of_range_values_raise_corrupt_file_error(
    db_dir: Path, compiled: bool, section: str, variable: bool
) -> None:
    """slots: every occupied slot points at entry 0xFFFFFFFE; keyoffs: far past the keys;
    entrec: every entry owned by record 0xFFFFFFFF."""
    path = one_segment(db_dir, variable)
    container = Container(path, SEGMENT_MAGIC, verify=False)
    raw: np.ndarray = np.frombuffer(container.raw(section), dtype=np.uint8).copy()
    container.close()
    if section == "slots":
        slots = raw.view(np.uint64)
        occupied = (slots & np.uint64(0xFFFF_FFFF)) != np.uint64(0xFFFF_FFFF)
        slots[occupied] = (slots[occupied] & ~np.uint64(0xFFFF_FFFF)) | np.uint64(0xFFFF_FFFE)
    elif section == "keyoffs":
        offsets = raw.view(np.uint64)
        offsets[1:] += np.uint64(1 << 40)
    else:
        raw[:] = 0xFF
    overwrite(path, section, 0, raw.tobytes())
    snapshot = open_snapshot(db_dir, compiled, verify=False)
    if section == "entrec":  # record numbers are checked when a record is read
        for key in (b"P0001", b"xP0001", b"P0001" + LONG):
            for part, record in snapshot.find(key):
                with pytest.raises(CorruptFileError, match="record"):
                    snapshot.record(part, record)
        return
    with pytest.raises(CorruptFileError, match="a slot points outside the keys") as refused:
        every_lookup(snapshot)
    assert refused.value.path == path


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_a_slot_array_without_its_trailing_empty_slot_is_refused(
    db_dir: Path, compiled: bool
) -> None:
    """Every slot full: a probe runs to the array's end and must stop there."""
    path = one_segment(db_dir)
    container = Container(path, SEGMENT_MAGIC, verify=False)
    slots = np.frombuffer(container.raw("slots"), dtype=np.uint64).copy()
    container.close()
    slots[:] = np.uint64(0x8000_0000_0000_0000)  # one hash, entry 0, in every slot
    overwrite(path, "slots", 0, slots.tobytes())
    snapshot = open_snapshot(db_dir, compiled, verify=False)
    with pytest.raises(CorruptFileError, match="a slot points outside the keys"):
        every_lookup(snapshot)


@settings(max_examples=60, deadline=None)
@given(
    section=st.sampled_from(["slots", "keyoffs", "keys", "entrec", "keyrows"]),
    at=st.integers(0, 10_000),
    data=st.binary(min_size=1, max_size=16),
)
def test_any_damage_to_the_index_gives_answers_or_corrupt_file_error(
    section: str, at: int, data: bytes
) -> None:
    root = Path(tempfile.mkdtemp(prefix="probe-"))
    try:
        path = one_segment(root / DB, variable=section in ("keyoffs", "keys"))
        container = Container(path, SEGMENT_MAGIC, verify=False)
        length = container.sections[section].length
        container.close()
        at %= length
        overwrite(path, section, at, data[: length - at])
        for compiled in (True, False):
            snapshot = open_snapshot(root / DB, compiled, verify=False)
            try:
                every_lookup(snapshot)
            except CorruptFileError as refused:
                assert refused.path == path
    finally:
        shutil.rmtree(root, ignore_errors=True)

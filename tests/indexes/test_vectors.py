"""The vector column (indexes/vectors.py) through the engine: written by the builder,
mapped by the segment, carried by compaction, scanned by `Snapshot.nearest` with
tombstones and visibility applied; and `Snapshot.count_keys` over shared keys.

The signature filter is held to the exact scan and to a brute force written here in
float64, on data where no score lies within 1e-4 of the threshold (float32 rounding
aside, both must then give the same records).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import CorruptFileError, Deletion, Record, Writer, compact, open_snapshot
from indexes.container import HEADER_SIZE, SECTION_ENTRY_SIZE, SECTION_STRUCT, Container
from indexes.segment import SEGMENT_MAGIC
from indexes.snapshot import Neighbours, Snapshot
from indexes.vectors import (
    SIGNATURE_BITS,
    VectorSpec,
    distance_bound,
    projection,
    signature_stages,
    signatures,
)

DB = "AFIS"
WIDTH = 16


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    normed: np.ndarray = rows / np.linalg.norm(rows, axis=-1, keepdims=True)
    return normed


def near(row: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at exactly `cosine` from unit `row`."""
    other = rng.standard_normal(len(row))
    other -= other @ row * row
    other /= np.linalg.norm(other)
    return np.asarray(cosine * row + math.sqrt(1 - cosine**2) * other)


def template_record(n: int, vector: np.ndarray | None, *extra: bytes, **kw: object) -> Record:
    viewers = kw.get("viewers")
    assert viewers is None or isinstance(viewers, frozenset)
    return Record(f"id-{n}".encode(), (f"key-{n}".encode(), *extra), n, viewers, vector)


def write(directory: Path, records: list[Record]) -> None:
    with Writer(directory, DB) as writer:
        writer.upsert(records)
        writer.commit()


def found(result: object) -> list[int]:
    records = result.records  # type: ignore[attr-defined]
    return [int(r) for r in records]


def data_of(snapshot: Snapshot, result: Neighbours) -> list[object]:
    """The stored data (the test's record number n) of each record found, in order."""
    return [
        snapshot.record(part, record)[1]
        for part, record in zip(result.parts.tolist(), result.records.tolist(), strict=True)
    ]


def brute_force(rows: dict[int, np.ndarray], query: np.ndarray, threshold: float) -> list[int]:
    scores = {n: float(unit(v) @ unit(query)) for n, v in rows.items()}
    return sorted((n for n, s in scores.items() if s >= threshold), key=lambda n: -scores[n])


def test_nearest_finds_the_close_template_best_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = unit(rng.standard_normal(WIDTH))
    vectors = [near(base, c, rng) for c in (0.99, 0.95, 0.5)] + [-base]
    write(tmp_path, [template_record(n, v.astype(np.float32)) for n, v in enumerate(vectors)])
    snapshot = open_snapshot(tmp_path, DB)
    (result,) = snapshot.nearest([base * 7.0], 0.9)  # any length: cosine
    assert found(result) == [0, 1]
    assert result.scores == pytest.approx([0.99, 0.95], abs=1e-5)
    assert found(snapshot.nearest([base], 0.9, k=1)[0]) == [0]
    assert found(snapshot.nearest([base], 0.0, exact=True)[0]) == [0, 1, 2]


def test_records_without_a_vector_are_never_found(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    row = unit(rng.standard_normal(WIDTH)).astype(np.float32)
    records = [template_record(0, None), template_record(1, row), template_record(2, None)]
    write(tmp_path, records)
    snapshot = open_snapshot(tmp_path, DB)
    segment = snapshot.parts[0].segment
    assert segment.vectors is not None and list(segment.vectors.missing) == [0, 2]
    assert segment.vector(0) is None and segment.vector(1) == pytest.approx(row)
    assert found(snapshot.nearest([np.zeros(WIDTH) + 1e-3], -1.0, exact=True)[0]) == [1]
    assert found(snapshot.nearest([row], 0.5)[0]) == [1]


def test_tombstones_and_visibility_apply(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    base = unit(rng.standard_normal(WIDTH))
    rows = [near(base, 0.97, rng).astype(np.float32) for _ in range(5)]
    only_fra = frozenset({"FRA"})
    records = [template_record(n, row) for n, row in enumerate(rows)]
    records[3] = template_record(3, rows[3], viewers=only_fra)
    write(tmp_path, records)
    with Writer(tmp_path, DB) as writer:
        writer.delete([Deletion(b"id-1", b"key-1")])
        writer.upsert([template_record(2, -base.astype(np.float32))])  # replaced: now far
        writer.commit()
    snapshot = open_snapshot(tmp_path, DB)
    assert found(snapshot.nearest([base], 0.9)[0]) == sorted([0, 4], key=lambda n: n)
    for_fra = snapshot.nearest([base], 0.9, viewer="FRA")[0]
    assert sorted(found(for_fra)) == [0, 3, 4]
    assert found(snapshot.nearest([-base], 0.9)[0]) == [0]  # the new record 2, in part 1
    assert snapshot.nearest([-base], 0.9)[0].parts.tolist() == [1]


def test_a_batch_answers_like_single_queries(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = unit(rng.standard_normal((300, WIDTH)))
    write(tmp_path, [template_record(n, row.astype(np.float32)) for n, row in enumerate(rows)])
    snapshot = open_snapshot(tmp_path, DB)
    queries = [near(rows[n], 0.95, rng) for n in (5, 17, 250)] + [rng.standard_normal(WIDTH)]
    batch = snapshot.nearest(queries, 0.8, k=3)
    for query, answer in zip(queries, batch, strict=True):
        alone = snapshot.nearest([query], 0.8, k=3)[0]
        assert found(answer) == found(alone)
        assert answer.scores.tolist() == pytest.approx(alone.scores.tolist(), abs=1e-6)
    assert 5 in found(batch[0]) and 17 in found(batch[1]) and 250 in found(batch[2])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(1, 120),
    threshold=st.sampled_from([0.8, 0.85, 0.9, 0.95]),
    width=st.sampled_from([3, 16, 40]),
)
def test_the_signature_scan_finds_what_brute_force_finds(
    tmp_path_factory: pytest.TempPathFactory, seed: int, count: int, threshold: float, width: int
) -> None:
    rng = np.random.default_rng(seed)
    query = unit(rng.standard_normal(width))
    cosines = rng.uniform(threshold - 0.2, 1.0, count)
    rows = {n: near(query, float(c), rng) for n, c in enumerate(cosines) if c < 1.0}
    rows = {n: v for n, v in rows.items() if abs(float(v @ query) - threshold) > 1e-4}
    rows[count] = -query  # never empty; never found
    directory = tmp_path_factory.mktemp("afis")
    write(directory, [template_record(n, v.astype(np.float32)) for n, v in rows.items()])
    snapshot = open_snapshot(directory, DB)
    expected = brute_force(rows, query, threshold)
    filtered = snapshot.nearest([query], threshold, k=len(rows) + 1)[0]
    assert data_of(snapshot, filtered) == expected
    exact = snapshot.nearest([query], threshold, k=len(rows) + 1, exact=True)[0]
    assert data_of(snapshot, exact) == expected


@settings(max_examples=25, deadline=None)
@given(
    stored=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60),
    query=st.integers(0, 2**64 - 1),
    flips=st.lists(st.integers(0, 63), max_size=10),
    threshold=st.sampled_from([0.8, 0.9, 1.0]),
)
def test_hamming_search_is_brute_force(
    tmp_path_factory: pytest.TempPathFactory,
    stored: list[int],
    query: int,
    flips: list[int],
    threshold: float,
) -> None:
    close = query
    for bit in flips:
        close ^= 1 << bit
    values = [*stored, close]
    directory = tmp_path_factory.mktemp("icse")
    write(
        directory,
        [template_record(n, np.array([v], dtype=np.uint64)) for n, v in enumerate(values)],
    )
    snapshot = open_snapshot(directory, DB)
    (result,) = snapshot.nearest([np.array([query], dtype=np.uint64)], threshold, k=1000)
    distances = {n: bin(v ^ query).count("1") for n, v in enumerate(values)}
    kept = [n for n in distances if 1 - distances[n] / 64 >= threshold]
    expected = sorted(kept, key=lambda n: (distances[n], n))
    assert found(result) == expected
    assert result.scores.tolist() == pytest.approx([1 - distances[n] / 64 for n in expected])


def test_compaction_carries_vectors_and_signatures(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = unit(rng.standard_normal((40, WIDTH))).astype(np.float32)
    extra = {27: (b"shared",), 28: (b"shared",)}  # the second segment: several keys a record
    write(tmp_path, [template_record(n, rows[n]) for n in range(20)])
    write(tmp_path, [template_record(n, rows[n], *extra.get(n, ())) for n in range(20, 40)])
    write(tmp_path, [template_record(n, None) for n in range(40, 45)])
    with Writer(tmp_path, DB) as writer:
        writer.delete([Deletion(b"id-3", b"key-3"), Deletion(b"id-25", b"key-25")])
        writer.commit()
    before = open_snapshot(tmp_path, DB)
    queries = [rows[n] for n in (1, 3, 22, 25, 30)]
    expected = [data_of(before, r) for r in before.nearest(queries, 0.99)]
    assert expected == [[1], [], [22], [], [30]]
    compact(tmp_path, DB)
    after = open_snapshot(tmp_path, DB)
    assert len(after.parts) == 1
    segment = after.parts[0].segment
    column = segment.vectors
    assert column is not None and column.signatures is not None
    assert list(column.missing) == list(range(38, 43))
    assert np.array_equal(column.signatures.T, signatures(column.rows, projection(WIDTH)))
    assert [data_of(after, r) for r in after.nearest(queries, 0.99)] == expected
    assert segment.keys_of(int(after.nearest([rows[27]], 0.99)[0].records[0]))[1] == b"shared"


def test_the_sections_are_there_only_with_vectors(tmp_path: Path) -> None:
    write(tmp_path / "a", [template_record(0, None)])
    write(tmp_path / "b", [template_record(0, np.ones(WIDTH, dtype=np.float32))])
    plain = Container(tmp_path / "a" / "seg-000001.seg", SEGMENT_MAGIC)
    with_vectors = Container(tmp_path / "b" / "seg-000001.seg", SEGMENT_MAGIC)
    assert not {"vectors", "vecsigs", "vecproj", "novector"} & set(plain.sections)
    assert list(with_vectors.sections)[-4:] == ["vectors", "vecsigs", "vecproj", "novector"]
    assert with_vectors.sections["vecsigs"].length == SIGNATURE_BITS // 8
    snapshot = open_snapshot(tmp_path / "b", DB)
    assert snapshot.vector_spec() == VectorSpec("cosine", WIDTH)
    assert open_snapshot(tmp_path / "a", DB).nearest([np.ones(WIDTH)], 0.5)[0].records.size == 0


def test_a_short_vector_section_is_refused_at_open(tmp_path: Path) -> None:
    write(tmp_path, [template_record(n, np.ones(WIDTH, dtype=np.float32)) for n in range(3)])
    path = tmp_path / "seg-000001.seg"
    raw = bytearray(path.read_bytes())
    file = Container(path, SEGMENT_MAGIC)
    at = file.sections["vectors"].offset
    file.close()
    # Shrink the section's table entry, with every checksum fixed as a bad writer would.
    count = struct.unpack_from("<I", raw, 12)[0]
    for index in range(count):
        entry = HEADER_SIZE + index * SECTION_ENTRY_SIZE
        name, offset, length, digest = SECTION_STRUCT.unpack_from(raw, entry)
        if offset == at:
            digest = xxhash.xxh3_64_intdigest(bytes(raw[offset : offset + length - 4]))
            SECTION_STRUCT.pack_into(raw, entry, name, offset, length - 4, digest)
    table = bytes(raw[HEADER_SIZE : HEADER_SIZE + count * SECTION_ENTRY_SIZE])
    struct.pack_into("<Q", raw, 32, xxhash.xxh3_64_intdigest(table))
    struct.pack_into("<Q", raw, 56, xxhash.xxh3_64_intdigest(bytes(raw[:56])))
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="section 'vectors' is"):
        open_snapshot(tmp_path, DB)


def test_mixed_columns_and_bad_vectors_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not fit the column"):
        write(
            tmp_path / "a",
            [
                template_record(0, np.ones(WIDTH, dtype=np.float32)),
                template_record(1, np.ones(WIDTH + 1, dtype=np.float32)),
            ],
        )
    with pytest.raises(ValueError, match="no direction"):
        write(tmp_path / "b", [template_record(0, np.zeros(WIDTH, dtype=np.float32))])
    with pytest.raises(ValueError, match=r"float .* or uint64"):
        write(tmp_path / "c", [template_record(0, np.ones(WIDTH, dtype=np.int32))])
    write(tmp_path / "d", [template_record(0, np.ones(WIDTH, dtype=np.float32))])
    snapshot = open_snapshot(tmp_path / "d", DB)
    with pytest.raises(ValueError, match="does not fit the column"):
        snapshot.nearest([np.ones(3)], 0.9)


def test_the_distance_bound_holds_at_the_threshold() -> None:
    """Pairs exactly at the threshold: none beyond the bound in 3,000 (expected 3e-6)."""
    rng = np.random.default_rng(6)
    width = 64
    planes = projection(width)
    for threshold in (0.8, 0.9, 0.97):
        first, full = signature_stages(threshold)
        left = unit(rng.standard_normal((3000, width)))
        right = np.array([near(row, threshold, rng) for row in left])
        a, b = signatures(left, planes), signatures(right, planes)
        differ = np.bitwise_count(a ^ b).astype(np.int64)
        assert (differ[:, : first[0]].sum(axis=1) <= first[1]).all()
        assert (differ.sum(axis=1) <= full[1]).all()
    assert distance_bound(1.0) == 0
    bounds = [distance_bound(t) for t in (0.5, 0.8, 0.9, 0.99)]
    assert bounds == sorted(bounds, reverse=True)


def profile_record(n: int, *keys: bytes, viewers: frozenset[str] | None = None) -> Record:
    return Record(f"id-{n}".encode(), (f"ref:{n}".encode(), *keys), n, viewers)


def test_count_keys_counts_shared_keys_live_and_visible(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            profile_record(0, b"a:1", b"b:1", b"c:1"),
            profile_record(1, b"a:1", b"b:2", b"c:1"),
            profile_record(2, b"a:1", b"b:1", b"c:1", viewers=frozenset({"FRA"})),
            profile_record(3, b"a:2", b"b:2", b"c:2"),
        ],
    )
    with Writer(tmp_path, DB) as writer:
        writer.delete([Deletion(b"id-1", b"ref:1")])
        writer.upsert([profile_record(4, b"a:1", b"b:1", b"c:9")])
        writer.commit()
    snapshot = open_snapshot(tmp_path, DB)
    keys = [b"a:1", b"b:1", b"c:1"]
    counted = snapshot.count_keys(keys)
    assert list(
        zip(counted.parts.tolist(), counted.records.tolist(), counted.counts.tolist(), strict=True)
    ) == [
        (0, 0, 3),
        (1, 0, 2),
    ]
    for_fra = snapshot.count_keys(keys, at_least=3, viewer="FRA")
    assert for_fra.records.tolist() == [0, 2]
    assert snapshot.count_keys([b"z:0"]).records.size == 0


def test_records_under_is_exact_when_every_hash_collides(
    tmp_path: Path, constant_hash: int
) -> None:
    """All keys in one run of slots: only stored keys equal to the one sought count."""
    keys = [b"shared-key", b"other-key-1", b"shared-key2", b"s", b""]
    records = [profile_record(n, keys[n % len(keys)]) for n in range(50)]
    write(tmp_path, records)
    segment = open_snapshot(tmp_path, DB).parts[0].segment
    for key in keys:
        expected = sorted(r for r in range(50) if keys[r % len(keys)] == key)
        assert sorted(segment.records_under(key).tolist()) == expected
        assert sorted(segment.records_under(key).tolist()) == sorted(segment.find(key))
    assert segment.records_under(b"missing").size == 0


def test_unverified_postings_are_a_superset(tmp_path: Path, constant_hash: int) -> None:
    """verify=False skips the key comparison: under one hash, every key's records come."""
    keys = [b"a:1", b"b:1", b"a:2"]
    write(tmp_path, [profile_record(n, keys[n % 3]) for n in range(12)])
    snapshot = open_snapshot(tmp_path, DB)
    segment = snapshot.parts[0].segment
    assert sorted(segment.records_under(b"a:1").tolist()) == [0, 3, 6, 9]
    assert set(segment.records_under(b"a:1", verify=False).tolist()) >= {0, 3, 6, 9, 1, 2}
    exact = snapshot.count_keys([b"a:1", b"b:1"])
    loose = snapshot.count_keys([b"a:1", b"b:1"], verify=False)
    assert exact.counts.tolist() == [1] * 8
    assert set(exact.records.tolist()) <= set(loose.records.tolist())
    assert (loose.counts >= 1).all()

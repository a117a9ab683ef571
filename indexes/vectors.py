"""The vector column: one fixed-width vector per record, mapped, scanned in blocks.

Biometric templates (fingerprints, faces) are compared by cosine similarity and perceptual
hashes by Hamming distance; neither hashes to a key, so a query reads every vector of the
database. A float32 row of 256 or 512 numbers is 1 to 2 KiB: one million of them are 1 to
2 GB, which this machine's memory bandwidth (~10 GB/s) cannot scan in 20 ms. So a cosine
column also stores, per record, a 256-bit random-hyperplane signature (Charikar's SimHash,
32 bytes): the fraction of signature bits in which two vectors differ estimates their
angle / pi. The scan keeps the records whose signature distance could still belong to a
pair above the threshold (a bound chosen so that a pair above it is dropped with
probability below `MISS_BOUND`), and computes the exact cosine of those few from the
float32 rows. The signatures are stored word-major (all first words, then all second
words, ...) so the scan reads the first two words of every record (16 MB a million),
then the other two of the survivors only. FORMAT.md, "The vector column", describes the
bytes; the choice (float32 alone: 1 GB a scan; float16: no fast path in numpy) is in
bench/RESULTS.md.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap, FrozenBitMap

from indexes.container import Container
from indexes.errors import CorruptFileError

COSINE = "cosine"
HAMMING = "hamming"
SIGNATURE_BITS = 256
SIGNATURE_WORDS = SIGNATURE_BITS // 64
PROJECTION_SEED = 20261123
MISS_BOUND = 1e-9
"""Per pair above the threshold: the most likely its signature distance exceeds the bound."""
SELECTIVE = 0.45
"""A distance bound above this fraction of the bits filters too little: scan exactly."""
FIRST_WORDS = 2
"""Signature words the first pass reads for every record; the rest only for survivors."""
BLOCK_ROWS = 1 << 16
"""Rows of one block: its temporaries (a few hundred KiB) stay in the CPU's L2 cache."""
SPOOL_CHUNK = 64 << 20


@dataclass(frozen=True)
class VectorSpec:
    """What a column holds: `kind` cosine (float32 x width) or hamming (uint64 x width)."""

    kind: str
    width: int

    @staticmethod
    def of(vector: np.ndarray) -> VectorSpec:
        """The column a vector belongs in: floats are templates, uint64 words are hashes."""
        if vector.ndim != 1 or not len(vector):
            raise ValueError(f"a vector is one non-empty row, not shape {vector.shape}")
        if np.issubdtype(vector.dtype, np.floating):
            return VectorSpec(COSINE, len(vector))
        if vector.dtype == np.uint64:
            return VectorSpec(HAMMING, len(vector))
        raise ValueError(f"a vector is float (cosine) or uint64 (hamming), not {vector.dtype}")

    @property
    def dtype(self) -> type[np.generic]:
        return np.float32 if self.kind == COSINE else np.uint64

    @property
    def bits(self) -> int:
        """Bits of a Hamming row (the denominator of its similarity)."""
        return 64 * self.width

    def meta(self) -> dict[str, object]:
        meta: dict[str, object] = {"kind": self.kind, "width": self.width}
        if self.kind == COSINE:
            meta["signature_bits"] = SIGNATURE_BITS
        return meta

    @staticmethod
    def from_meta(meta: Any) -> VectorSpec:
        spec = VectorSpec(str(meta["kind"]), int(meta["width"]))
        if spec.kind not in (COSINE, HAMMING) or spec.width < 1:
            raise ValueError(f"unknown vector column {meta!r}")
        if spec.kind == COSINE and int(meta["signature_bits"]) != SIGNATURE_BITS:
            raise ValueError(f"signatures of {meta['signature_bits']} bits, expected 256")
        return spec


def row_of(spec: VectorSpec, vector: np.ndarray) -> np.ndarray:
    """The stored row: a template L2-normalised to float32, a hash as it is."""
    if VectorSpec.of(vector) != spec:
        raise ValueError(
            f"a vector of {len(vector)} {vector.dtype} does not fit the column "
            f"({spec.width} x {np.dtype(spec.dtype).name}, {spec.kind})"
        )
    if spec.kind == HAMMING:
        return vector
    row = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(row))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError("a template with no direction (all zeros, or not finite)")
    return (row / norm).astype(np.float32)


def rows_of(spec: VectorSpec, vectors: Sequence[np.ndarray]) -> np.ndarray:
    """`row_of` for many vectors at once: one check of their kinds and widths, one
    normalisation (a loader's batch of 50,000 templates is not a Python loop of norms)."""
    arrays = [np.asarray(vector) for vector in vectors]
    for odd in _odd_ones(arrays, spec):
        row_of(spec, odd)  # raises, saying how the vector does not fit
    rows = np.stack(arrays) if arrays else np.empty((0, spec.width), dtype=spec.dtype)
    if spec.kind == HAMMING:
        return rows.astype(np.uint64)
    wide = rows.astype(np.float64)
    norms = np.linalg.norm(wide, axis=1, keepdims=True)
    if len(norms) and (~np.isfinite(norms) | (norms == 0.0)).any():
        raise ValueError("a template with no direction (all zeros, or not finite)")
    normed: np.ndarray = (wide / norms).astype(np.float32)
    return normed


def _odd_ones(arrays: Sequence[np.ndarray], spec: VectorSpec) -> list[np.ndarray]:
    """The arrays whose dtype kind or shape differs from the column's (cheap to test)."""
    kind = "f" if spec.kind == COSINE else "u"
    return [
        array
        for array in arrays
        if array.shape != (spec.width,)
        or array.dtype.kind != kind
        or (spec.kind == HAMMING and array.dtype != np.uint64)
    ]


@cache
def projection(width: int) -> np.ndarray:
    """The 256 random hyperplanes of a width, the same in every segment and every build.

    `RandomState` because its stream is frozen (NEP 19): a later numpy draws the same
    planes, so signatures of old and new segments agree. The file stores them anyway.
    """
    planes = np.random.RandomState(PROJECTION_SEED + width).standard_normal((SIGNATURE_BITS, width))
    frozen = planes.astype(np.float32)
    frozen.flags.writeable = False
    return frozen


def signatures(rows: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """Bit i of a row's signature is set when the row lies on the positive side of plane i."""
    positive = (np.asarray(rows, dtype=np.float32) @ planes.T) > 0
    packed = np.packbits(positive, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").reshape(len(rows), SIGNATURE_WORDS)


@cache
def distance_bound(threshold: float, bits: int = SIGNATURE_BITS, miss: float = MISS_BOUND) -> int:
    """The largest signature distance a pair of cosine >= threshold has, but for `miss`.

    For one random hyperplane, two vectors at angle theta fall on different sides with
    probability theta / pi; over `bits` independent planes the distance is Binomial(bits,
    p). The bound is the smallest h with P(distance > h) <= miss at the threshold's angle;
    closer pairs (smaller angle) exceed it even less often.
    """
    cosine = min(1.0, max(-1.0, threshold))
    p = math.acos(cosine) / math.pi
    if p <= 0.0:
        return 0
    tail = 1.0
    for h in range(bits + 1):
        tail -= math.comb(bits, h) * p**h * (1 - p) ** (bits - h)
        if tail <= miss:
            return h
    return bits


def signature_stages(threshold: float) -> list[tuple[int, int]]:
    """(words read, largest distance kept) of the two passes; each may miss MISS_BOUND / 2."""
    return [
        (FIRST_WORDS, distance_bound(threshold, 64 * FIRST_WORDS, MISS_BOUND / 2)),
        (SIGNATURE_WORDS, distance_bound(threshold, SIGNATURE_BITS, MISS_BOUND / 2)),
    ]


class VectorSpool:
    """The builder's side: rows and signatures streamed to temp files, one row a record.

    A record without a vector gets a zero row and its number in `missing`, so row r is
    always record r and the scan needs no mapping. Each signature word has its own spool:
    the section is word-major.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self._directory = directory
        self._name = name
        self.spec: VectorSpec | None = None
        self.rows = 0
        self.missing = BitMap()
        self._rows: Any = None
        self._words: list[Any] = []

    def add(self, first: int, vectors: Sequence[np.ndarray | None]) -> None:
        """Rows for records first, first + 1, ...; None is a record without a vector."""
        present = [(at, vector) for at, vector in enumerate(vectors) if vector is not None]
        if not present and self.spec is None:
            return
        if self.spec is None:
            self._start(VectorSpec.of(np.asarray(present[0][1])))
        spec = self._spec()
        rows = np.zeros((len(vectors), spec.width), dtype=spec.dtype)
        rows[[at for at, _ in present]] = rows_of(spec, [vector for _, vector in present])
        absent = BitMap(range(len(vectors))) - BitMap(at for at, _ in present)
        self._append(first, rows, [first + at for at in absent], None)

    def copy(self, first: int, source: VectorColumn, start: int, stop: int) -> None:
        """Append records start..stop-1 of a mapped column (compaction), signatures too."""
        if self.spec is None:
            self._start(source.spec)
        if source.spec != self.spec:
            raise ValueError(f"cannot merge a {source.spec} column into a {self.spec} one")
        absent = [first + r - start for r in source.missing.to_array() if start <= r < stop]
        sigs = None
        planes = source.planes
        same_planes = planes is not None and np.array_equal(planes, self._planes())
        if source.signatures is not None and same_planes:
            sigs = source.signatures[:, start:stop].T
        self._append(first, source.rows[start:stop], absent, sigs)

    def _spec(self) -> VectorSpec:
        if self.spec is None:
            raise RuntimeError("no vector added yet")
        return self.spec

    def _planes(self) -> np.ndarray:
        return projection(self._spec().width)

    def _start(self, spec: VectorSpec) -> None:
        self.spec = spec
        # Held across calls and closed by close(): no `with` can span that.
        self._rows = self._spool()
        if spec.kind == COSINE:
            self._words = [self._spool() for _ in range(SIGNATURE_WORDS)]

    def _spool(self) -> Any:
        return tempfile.TemporaryFile(dir=self._directory, prefix=f".{self._name}.spool-")

    def _append(
        self, first: int, rows: np.ndarray, absent: Sequence[int], sigs: np.ndarray | None
    ) -> None:
        """`sigs`: the rows' signatures, (rows, words), when known (copied), else computed."""
        self.pad(first)
        self._rows.write(np.ascontiguousarray(rows).data)
        if self._words:
            if sigs is None:
                sigs = signatures(rows, self._planes())
            for word, spool in enumerate(self._words):
                spool.write(np.ascontiguousarray(sigs[:, word]).data)
        self.missing.update(absent)
        self.rows += len(rows)

    def pad(self, records: int) -> None:
        """Zero rows, as missing, for records added before the first vector or without one."""
        if self.spec is None or records <= self.rows:
            return
        count = records - self.rows
        spec = self.spec
        for start in range(0, count, BLOCK_ROWS):
            size = min(BLOCK_ROWS, count - start)
            self._rows.write(np.zeros((size, spec.width), dtype=spec.dtype).data)
            for spool in self._words:
                spool.write(np.zeros(size, dtype="<u8").data)
        self.missing.update(range(self.rows, records))
        self.rows = records

    def sections(self, records: int) -> list[tuple[str, object]]:
        """The column's sections for a segment of `records` records ([] if no vector)."""
        if self.spec is None:
            return []
        self.pad(records)
        self.missing.run_optimize()
        sections: list[tuple[str, object]] = [("vectors", _chunks([self._rows]))]
        if self._words:
            sections += [("vecsigs", _chunks(self._words)), ("vecproj", self._planes())]
        sections.append(("novector", self.missing.serialize()))
        return sections

    def close(self) -> None:
        for spool in [self._rows, *self._words]:
            if spool is not None:
                spool.close()


def _chunks(spools: Sequence[Any]) -> Iterator[bytes]:
    """The spools' bytes one after the other, read in chunks."""
    for spool in spools:
        spool.flush()
        spool.seek(0)
        while chunk := spool.read(SPOOL_CHUNK):
            yield chunk


class VectorColumn:
    """A segment's mapped vectors: zero-copy numpy views of its sections."""

    def __init__(self, file: Container, meta: Any, records: int) -> None:
        self.spec = VectorSpec.from_meta(meta)
        width = self.spec.width
        self.rows = file.array("vectors", self.spec.dtype, records * width).reshape(records, width)
        self.signatures: np.ndarray | None = None
        """Word-major: signatures[w] is word w of every record's signature."""
        self.planes: np.ndarray | None = None
        if self.spec.kind == COSINE:
            self.signatures = file.array("vecsigs", np.uint64, SIGNATURE_WORDS * records).reshape(
                SIGNATURE_WORDS, records
            )
            self.planes = file.array("vecproj", np.float32, SIGNATURE_BITS * width).reshape(
                SIGNATURE_BITS, width
            )
        self._file = file
        file.require("novector")

    @cached_property
    def missing(self) -> FrozenBitMap:
        """Records without a vector. Decoded on first use, as the visibility bitmaps are:
        opening a segment reads no section."""
        try:
            return FrozenBitMap.deserialize(bytes(self._file.raw("novector")))
        except (ValueError, TypeError) as error:
            path = self._file.path
            raise CorruptFileError(path, 0, f"unreadable novector bitmap: {error}") from None

    @cached_property
    def _missing_sorted(self) -> np.ndarray:
        return np.frombuffer(self.missing.to_array(), dtype=np.uint32)

    def vector(self, record: int) -> np.ndarray | None:
        """The stored row of a record (a template as normalised), or None."""
        if record in self.missing:
            return None
        return np.array(self.rows[record])

    def present(self, records: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `records` have a vector."""
        if not len(self._missing_sorted):
            return np.ones(len(records), dtype=bool)
        where = np.minimum(np.searchsorted(self._missing_sorted, records), len(self.missing) - 1)
        absent: np.ndarray = self._missing_sorted[where] == records
        return ~absent

    def scan(
        self, queries: np.ndarray, threshold: float, exact: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query, record, score) of every row scoring >= threshold against a query.

        `queries` are rows as `row_of` makes them. Scores are cosines (templates) or
        1 - distance / bits (hashes). Missing rows are the caller's to drop (`present`).
        """
        if self.spec.kind == HAMMING:
            return self._scan_hamming(queries, threshold)
        stages = signature_stages(threshold)
        first_words, first_bound = stages[0]
        if exact or first_bound > SELECTIVE * 64 * first_words or self.signatures is None:
            return self._scan_exact(queries, threshold)
        return self._scan_signatures(queries, threshold, stages)

    def _scan_exact(
        self, queries: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = _Found()
        transposed = np.ascontiguousarray(queries.T)
        step = max(256, BLOCK_ROWS // 4)
        for start in range(0, len(self.rows), step):
            scores = self.rows[start : start + step] @ transposed
            rows, columns = np.nonzero(scores >= threshold)
            found.add(columns, rows + start, np.minimum(scores[rows, columns], 1.0))
        return found.arrays()

    def _scan_signatures(
        self, queries: np.ndarray, threshold: float, stages: list[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert self.signatures is not None and self.planes is not None
        wanted = signatures(queries, self.planes)
        near_queries, near_records = _near(self.signatures, wanted, stages)
        scores = np.einsum(
            "ij,ij->i", self.rows[near_records], queries[near_queries], dtype=np.float32
        )
        keep = scores >= threshold
        return near_queries[keep], near_records[keep], np.minimum(scores[keep], 1.0)

    def _scan_hamming(
        self, queries: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bits = self.spec.bits
        bound = math.floor((1.0 - threshold) * bits + 1e-9)
        if bound < 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0, dtype=np.float32)
        words = self.spec.width
        near_queries, near_records = _near(self.rows.T, queries, [(min(words, 3), bound)])
        distances = _distances(self.rows[near_records], queries[near_queries])
        keep = distances <= bound
        similarity = (1.0 - distances[keep] / bits).astype(np.float32)
        return near_queries[keep], near_records[keep], similarity


class _Found:
    def __init__(self) -> None:
        self.queries: list[np.ndarray] = []
        self.records: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []

    def add(self, queries: np.ndarray, records: np.ndarray, scores: np.ndarray) -> None:
        if len(queries):
            self.queries.append(queries.astype(np.int64))
            self.records.append(records.astype(np.int64))
            self.scores.append(scores.astype(np.float32))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.queries:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0, dtype=np.float32)
        return (
            np.concatenate(self.queries),
            np.concatenate(self.records),
            np.concatenate(self.scores),
        )


def _near(
    words: np.ndarray, wanted: np.ndarray, stages: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(query, record) of the records within each stage's bound of a query, in passes.

    `words[w]` is word w of every record (word-major); `wanted[q, w]` the query's. The
    first pass reads its first words of every record block by block; each later pass
    reads more words of the survivors only.
    """
    count, bound = stages[0]
    queries, records = _first_pass(words[:count], wanted[:, :count], bound)
    for count, bound in stages[1:]:
        distance = np.zeros(len(records), dtype=np.int64)
        for word in range(count):
            distance += np.bitwise_count(words[word][records] ^ wanted[queries, word])
        keep = distance <= bound
        queries, records = queries[keep], records[keep]
    return queries, records


def _first_pass(words: np.ndarray, wanted: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block of records and per query: XOR every word at once, popcount (numpy 2's
    bitwise_count), add the words' counts, compare. At most 3 words, so the uint8 sum
    cannot overflow. The temporaries are allocated once and reused (`out=`): a fresh
    512 KiB array per step costs page faults that would double the scan's time."""
    count, total = words.shape
    found_queries: list[np.ndarray] = []
    found_records: list[np.ndarray] = []
    limit = np.uint8(bound)
    size = min(BLOCK_ROWS, total)
    xored = np.empty((count, size), dtype=np.uint64)
    bits = np.empty((count, size), dtype=np.uint8)
    near = np.empty(size, dtype=bool)
    for start in range(0, total, size):
        block = words[:, start : start + size]
        rows = block.shape[1]
        x, b, n = xored[:, :rows], bits[:, :rows], near[:rows]
        for query, row in enumerate(wanted):
            np.bitwise_xor(block, row[:, None], out=x)
            np.bitwise_count(x, out=b)
            distance = b[0]
            for word in range(1, count):
                np.add(distance, b[word], out=distance)
            np.less_equal(distance, limit, out=n)
            hits = np.flatnonzero(n)
            if len(hits):
                found_records.append(hits + start)
                found_queries.append(np.full(len(hits), query, dtype=np.int64))
    if not found_queries:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(found_queries), np.concatenate(found_records).astype(np.int64)


def _distances(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Differing bits of each pair of rows."""
    if not len(left):
        return np.empty(0, dtype=np.int64)
    counts: np.ndarray = np.bitwise_count(left ^ right).sum(axis=1, dtype=np.int64)
    return counts

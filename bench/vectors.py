"""The vector and profile matchers at N records: templates, perceptual hashes, DNA.

Builds three databases in WORK/vectors-N with the engine's own Writer (random unit
templates of AFIS's width, random 64-bit hashes, DNA profiles drawn from per-locus allele
frequencies), then measures, in process and on one core:

- cosine search: ms per query (median and p99), half the queries a stored template with
  noise (cosine ~0.95, a hit), half unrelated; queries/s in batches; the exact scan (every
  float row read) beside it, and whether both found the same records;
- Hamming search over the hashes: ms per query, queries/s in batches;
- DNA profile queries/s through the `profile` matcher (screening/profile_match.py): the
  query's rarest genotype lists, then each candidate recounted from its stored record.

Targets from the issue are printed beside the figures; nothing asserts them.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from indexes import Record, Writer, open_snapshot
from indexes.snapshot import Snapshot
from loaders.biometrics import STR_LOCI
from loaders.catalog import DNA
from loaders.profile_keys import genotype_keys
from screening.profile_match import MATCHER as PROFILE
from screening.profile_match import ProfileQuery

WIDTH = 256  # AFIS templates (loaders/catalog.py)
THRESHOLD = 0.9
HASH_THRESHOLD = 1 - 6 / 64
LOCI = 21
PROFILE_LOCI = list(STR_LOCI.items())[:LOCI]
BATCH = 64
CHUNK = 50_000
TARGET_MS = 20.0
T = TypeVar("T")


def build(directory: Path, db: str, records: int, make: Callable[[int, int], list[Record]]) -> None:
    """Write `records` records in chunks (each chunk's vectors spooled, never all in RAM)."""
    if (directory / db / "MANIFEST").exists():
        return
    started = time.perf_counter()
    with Writer(directory / db, db) as writer:
        for start in range(0, records, CHUNK):
            writer.upsert(make(start, min(start + CHUNK, records) - start))
        writer.commit()
    print(
        f"built {db}: {records:,} records in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )


def templates(start: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(start)
    return rng.standard_normal((count, WIDTH), dtype=np.float32)


def template_records(start: int, count: int) -> list[Record]:
    rows = templates(start, count)
    return [
        Record(f"t{start + i}".encode(), (f"reference:t{start + i}".encode(),), {}, None, row)
        for i, row in enumerate(rows)
    ]


def hashes(start: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(10_000_000 + start)
    return rng.integers(0, 2**64 - 1, count, dtype=np.uint64, endpoint=True)


def hash_records(start: int, count: int) -> list[Record]:
    return [
        Record(f"h{start + i}".encode(), (f"sha:h{start + i}".encode(),), {}, None, value[None])
        for i, value in enumerate(hashes(start, count))
    ]


def genotypes(start: int, count: int) -> np.ndarray:
    """(count, LOCI, 2) allele indexes, each locus with 12 alleles of decaying frequency."""
    rng = np.random.default_rng(20_000_000 + start)
    weights = 0.75 ** np.arange(12)
    alleles = rng.choice(12, size=(count, LOCI, 2), p=weights / weights.sum())
    alleles.sort(axis=2)
    return alleles


def profile(alleles: np.ndarray) -> dict[str, list[str]]:
    """A stored profile (loaders.biometrics.loci's form) of real locus names, allele k of a
    locus being its lowest repeat number + k (the bench's queries skip range checks)."""
    return {
        locus: [str(low + a) for a in sorted({a, b})]
        for (locus, (low, _)), (a, b) in zip(PROFILE_LOCI, alleles.tolist(), strict=True)
    }


def profile_records(start: int, count: int) -> list[Record]:
    """DNA records as the loader stores them: the catalog's fields, owner, viewers, extras."""
    records = []
    for i, alleles in enumerate(genotypes(start, count)):
        loci, reference = profile(alleles), f"p{start + i}"
        data = [loci, reference, "person", "BENCH", None, None]
        keys = (f"reference:{reference}".encode(), *genotype_keys(loci))
        records.append(Record(reference.encode(), keys, data))
    return records


def profile_queries(records: int, count: int) -> list[ProfileQuery]:
    """Half the profiles of stored records (each a hit), half new ones (almost never)."""
    rng = np.random.default_rng(6)
    starts = rng.integers(records, size=count)
    stored = [genotypes(int(s) // CHUNK * CHUNK, CHUNK)[int(s) % CHUNK] for s in starts]
    stored[count // 2 :] = list(genotypes(77_000_000, count - count // 2))
    return [ProfileQuery(DNA, profile(a), genotype_keys(profile(a))) for a in stored]


def each(items: Sequence[T], run: Callable[[T], object]) -> tuple[list[float], list[float]]:
    """Milliseconds of `run(item)` for each item: wall clock, and this process's CPU time
    (on a shared machine the wall clock also counts the time other processes ran)."""
    wall, cpu = [], []
    for item in items:
        started, started_cpu = time.perf_counter(), time.process_time()
        run(item)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def timed(run: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p99(times: Sequence[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def cosine_queries(records: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(99)
    stored = [int(rng.integers(records)) for _ in range(count // 2)]
    near = []
    for record in stored:
        row = templates(record // CHUNK * CHUNK, CHUNK)[record % CHUNK]
        row /= np.linalg.norm(row)
        noise = rng.standard_normal(WIDTH).astype(np.float32)
        noise /= np.linalg.norm(noise)
        near.append(row + 0.33 * noise)  # cosine ~0.95
    far = list(rng.standard_normal((count - len(near), WIDTH), dtype=np.float32))
    return near + far


def measure_cosine(snapshot: Snapshot, records: int, quick: bool) -> list[tuple[str, str, str]]:
    queries = cosine_queries(records, 20 if quick else 100)
    for query in queries[:3]:
        snapshot.nearest([query], THRESHOLD)
    single, cpu = each(queries, lambda query: snapshot.nearest([query], THRESHOLD))
    found = snapshot.nearest(queries, THRESHOLD)
    exact_times = timed(lambda: snapshot.nearest(queries[:1], THRESHOLD, exact=True), 3)
    exact = snapshot.nearest(queries[:10], THRESHOLD, exact=True)
    same = all(np.array_equal(a.records, b.records) for a, b in zip(found[:10], exact, strict=True))
    hits = sum(bool(len(result.records)) for result in found)
    batch = queries[:BATCH] * (BATCH // len(queries[:BATCH]))
    batch_ms = min(timed(lambda: snapshot.nearest(batch, THRESHOLD), 3))
    return [
        ("cosine, 1 query: median ms", f"{statistics.median(single):.1f}", f"< {TARGET_MS:g}"),
        ("cosine, 1 query: p99 ms", f"{p99(single):.1f}", ""),
        ("cosine, 1 query: median CPU ms", f"{statistics.median(cpu):.1f}", ""),
        (f"cosine, batches of {len(batch)}: queries/s", f"{len(batch) / batch_ms * 1000:,.0f}", ""),
        ("cosine, exact scan (every row): ms", f"{min(exact_times):.0f}", ""),
        ("cosine: hits / queries (half planted)", f"{hits} / {len(queries)}", ""),
        ("cosine: signature scan = exact scan", "yes" if same else "NO", "yes"),
    ]


def measure_hamming(snapshot: Snapshot, records: int, quick: bool) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(5)
    count = 20 if quick else 100
    stored = [
        hashes(r // CHUNK * CHUNK, CHUNK)[r % CHUNK] for r in rng.integers(records, size=count // 2)
    ]
    flips = [np.uint64(1 << int(bit)) for bit in rng.integers(64, size=len(stored))]
    near = [
        np.array([value ^ flip], dtype=np.uint64) for value, flip in zip(stored, flips, strict=True)
    ]
    far = [
        np.array([value], dtype=np.uint64)
        for value in rng.integers(0, 2**63, size=count - len(near), dtype=np.uint64)
    ]
    queries = near + far
    single, cpu = each(queries, lambda query: snapshot.nearest([query], HASH_THRESHOLD))
    batch = queries[:BATCH]
    batch_ms = min(timed(lambda: snapshot.nearest(batch, HASH_THRESHOLD), 3))
    hits = sum(bool(len(result.records)) for result in snapshot.nearest(queries, HASH_THRESHOLD))
    return [
        ("phash, 1 query: median ms", f"{statistics.median(single):.1f}", f"< {TARGET_MS:g}"),
        ("phash, 1 query: median CPU ms", f"{statistics.median(cpu):.1f}", ""),
        (f"phash, batches of {len(batch)}: queries/s", f"{len(batch) / batch_ms * 1000:,.0f}", ""),
        ("phash: hits / queries (half planted)", f"{hits} / {len(queries)}", ""),
    ]


def measure_profiles(snapshot: Snapshot, records: int, quick: bool) -> list[tuple[str, str, str]]:
    """The `profile` matcher's own path (screening/profile_match.py): rarest postings,
    then candidates recounted from their stored profiles."""
    queries = profile_queries(records, 10 if quick else 100)
    for query in queries[:3]:
        PROFILE.screen(snapshot, DNA, [query], None)
    times, cpu = each(queries, lambda query: PROFILE.screen(snapshot, DNA, [query], None))
    hits = sum(result["hit"] for result in PROFILE.screen(snapshot, DNA, queries, None))
    return [
        ("DNA profile, 1 query: median ms", f"{statistics.median(times):.2f}", ""),
        ("DNA profile, 1 query: p99 ms", f"{p99(times):.2f}", ""),
        ("DNA profile, 1 query: median CPU ms", f"{statistics.median(cpu):.2f}", ""),
        ("DNA profile: queries/s", f"{1000 / statistics.mean(times):,.0f}", "> 100"),
        ("DNA: hits / queries (half stored)", f"{hits} / {len(queries)}", ""),
    ]


def main(records: int, work: Path, quick: bool) -> int:
    directory = work / f"vectors-{records}"
    build(directory, "AFIS", records, template_records)
    build(directory, "ICSE", records, hash_records)
    profiles = records if not quick else min(records, 200_000)
    build(directory / f"profiles-{profiles}", "DNA", profiles, profile_records)
    rows: list[tuple[str, str, str]] = []
    for db, measure, count in (
        ("AFIS", measure_cosine, records),
        ("ICSE", measure_hamming, records),
    ):
        snapshot = open_snapshot(directory / db, db)
        snapshot.warm()
        rows += measure(snapshot, count, quick)
    dna = open_snapshot(directory / f"profiles-{profiles}" / "DNA", "DNA")
    dna.warm()
    rows += measure_profiles(dna, profiles, quick)
    print(f"\nvector and profile matchers: {records:,} templates of {WIDTH} floats, "
          f"{records:,} hashes, {profiles:,} DNA profiles of {LOCI} loci; one core; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"| {'measure':<44} | {'value':>10} | {'target':>8} |")
    print(f"| {'-' * 44} | {'-' * 10} | {'-' * 8} |")
    for name, value, target in rows:
        print(f"| {name:<44} | {value:>10} | {target:>8} |")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--work", default=".bench")
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    sys.exit(main(arguments.records, Path(arguments.work), arguments.quick))

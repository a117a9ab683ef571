"""`screening bench`: SLTD at N records, ours beside a dict and py-lmdb, in one table.

The load runs as a real `screening load` subprocess so its wall time and peak memory are
what an NCB would see. Targets come from the issue and are printed beside the figures;
nothing here asserts them: the machines are shared and noisy.
"""

from __future__ import annotations

import csv
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgpack

from bench.candidates import Candidate, Lmdb, Ours, PlainDict
from bench.rounds import interleaved, keys_per_second, per_call_ns, spread
from indexes.hash_index import use_compiled
from loaders.normalise import document_number

SINGLE_LOOKUPS = 200_000
SINGLE_ROUNDS = 5
"""Interleaved rounds of single lookups (bench/rounds.py); the table shows their median."""
QUICK_SINGLE_ROUNDS = 3
CHECKED = 1_000
"""Hits and misses of each candidate checked to hit and to miss before the clock starts."""
VECTOR_RECORDS = 1_000_000
"""Templates, hashes and DNA profiles of the vector table: the issue's target is at 1M."""
BATCH_KEYS = 1_000_000
PEERS_UP_TO = 10_000_000
"""Records up to which the dict and py-lmdb are built beside ours: at 100M, a dict of the
keys takes ~10 GB of this 24 GiB machine and py-lmdb ~27 GB of disk, beside ours."""


def main(records: int, work: Path, quick: bool, http: bool = True) -> int:
    work.mkdir(parents=True, exist_ok=True)
    upload = _upload(work, records)
    data = work / f"data-{records}"
    build = _build(upload, data, reuse=quick)
    keys = _keys(upload)
    rows = _measure_all(data, keys, build, work, quick)
    _print(records, rows)
    if records > PEERS_UP_TO:
        print(f"(dict and py-lmdb are measured up to {PEERS_UP_TO:,} records: PEERS_UP_TO)")
    del keys
    from bench.vectors import main as vectors_main  # AFIS, ICSE phash, DNA (bench/vectors.py)

    vectors_main(min(records, VECTOR_RECORDS), work, quick)
    from bench.exact_all import EXACT_ALL_RECORDS
    from bench.exact_all import main as exact_all_main  # every exact database beside SLTD

    exact_all_main(min(records, EXACT_ALL_RECORDS), work, quick)
    if not http:
        return 0
    from bench.exact_http import main as exact_http_main  # the same, as a terminal sees it

    sys.stdout.flush()
    exact_http_main(min(records, EXACT_ALL_RECORDS), work, quick)
    from bench.http import QUICK, HttpOptions, run_http  # wrk and nginx only when asked

    sys.stdout.flush()
    return run_http(data, work, records, QUICK if quick else HttpOptions())


def _upload(work: Path, records: int) -> Path:
    path = work / f"sltd-{records}.csv"
    if not path.exists():
        from loaders.generate import generate

        started = time.perf_counter()
        generate("SLTD", records, path, seed=1)
        print(f"generated {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def _build(upload: Path, data: Path, reuse: bool) -> dict[str, float]:
    """Run `screening load` in a child: wall time and the child's peak RSS."""
    if reuse and (data / "SLTD" / "MANIFEST").exists():
        return {}
    subprocess.run(["rm", "-rf", str(data)], check=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "screening.cli", "load", "--data", str(data),
               "--db", "SLTD", "--owner", "FRA", str(upload)]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "peak_gib": peak_kib / (1 << 20)}


def _keys(upload: Path) -> list[bytes]:
    with open(upload, newline="") as handle:
        reader = csv.DictReader(handle)
        return [document_number(row["number"]).encode() for row in reader]


def _misses(count: int) -> list[bytes]:
    """Numbers no NCB reported, as long as most stored ones (9 bytes: a key longer than
    any of a segment's is refused before its slots are read, which would flatter the
    probe). Lower case, which normalised keys never are: certainly absent."""
    chance = random.Random(7)
    return [f"zz{chance.randrange(10**7):07d}".encode() for _ in range(count)]


def _measure_all(
    data: Path, keys: list[bytes], build: dict[str, float], work: Path, quick: bool
) -> dict[str, dict[str, str]]:
    sample, misses, batch = _workload(keys)
    ours = Ours(data / "SLTD")
    verify_seconds = Ours(data / "SLTD", verify=True).open()
    others = _others(keys, work, quick)
    candidates: list[Candidate] = [ours, *others]
    opened = {candidate.name: candidate.open() for candidate in candidates}
    # A lookup that names no viewer sees no restricted record (~3% of them: `visible_to`):
    # such a key is no hit of ours, so it is not timed as one.
    hits = [key for key in sample if ours.finds(key)]
    for candidate in candidates:
        _check_answers(candidate, hits, misses)
    rounds = QUICK_SINGLE_ROUNDS if quick else SINGLE_ROUNDS
    single = _single_lookups(candidates, hits, misses, rounds)
    rows = {
        candidate.name: {
            "open ms": f"{opened[candidate.name] * 1e3:.1f}",
            "hit ns": spread(single[candidate.name, "hit"]),
            "miss ns": spread(single[candidate.name, "miss"]),
            "batch keys/s": f"{keys_per_second(candidate.get_many, batch):,.0f}",
            "disk B/record": f"{candidate.disk_bytes() / len(keys):.1f}",
        }
        for candidate in candidates
    }
    if others:
        rows[ours.name] |= {
            f"{kind} x dict, x lmdb": _ratios(single, ours, others, kind)
            for kind in ("hit", "miss")
        }
    rows[ours.name] |= _our_figures(ours, build, verify_seconds, len(keys))
    for other in others:
        rows[other.name]["build rec/s"] = f"{len(keys) / other.build_seconds:,.0f} (in memory)"
    return rows


def _our_figures(
    ours: Ours, build: dict[str, float], verify_seconds: float, records: int
) -> dict[str, str]:
    """What only ours has: index size, a verified open, the probe, the build from CSV."""
    figures = {
        "index B/record": f"{ours.index_bytes() / records:.1f}",
        "open + verify ms": f"{verify_seconds * 1e3:.0f}",
        "probe": "C (indexes._probe)" if use_compiled() else "Python (reference)",
    }
    if build:
        figures["build rec/s"] = f"{records / build['seconds']:,.0f} (from CSV)"
        figures["peak GiB"] = f"{build['peak_gib']:.2f}"
    return figures


def _workload(keys: list[bytes]) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Stored keys for single lookups, as many absent ones, and a batch of half each."""
    chance = random.Random(3)
    sample = chance.sample(keys, min(SINGLE_LOOKUPS, len(keys)))
    batch = chance.sample(keys, min(BATCH_KEYS // 2, len(keys))) + _misses(BATCH_KEYS // 2)
    chance.shuffle(batch)
    # A batch arrives as a decoded request: fresh objects, laid out in memory in order.
    return sample, _misses(len(sample)), msgpack.unpackb(msgpack.packb(batch))


def _others(keys: list[bytes], work: Path, quick: bool) -> list[PlainDict | Lmdb]:
    """A dict, then py-lmdb unless `quick`; neither above PEERS_UP_TO records. py-lmdb is
    built first, so that its build's copies of the keys are freed before the dict's."""
    if len(keys) > PEERS_UP_TO:
        return []
    store = None if quick else _lmdb(keys, work)
    plain = PlainDict(keys)
    return [plain] if store is None else [plain, store]


def _lmdb(keys: list[bytes], work: Path) -> Lmdb:
    """py-lmdb holding the same normalised keys (a key reported twice is stored once)."""
    values = [b"%060d" % number for number in range(len(keys))]
    unique = dict(zip(keys, values, strict=True))
    return Lmdb(work / "lmdb", list(unique), list(unique.values()))


def _check_answers(candidate: Candidate, hits: list[bytes], misses: list[bytes]) -> None:
    """Refuse to time lookups that do not do what the table says they do."""
    if not all(map(candidate.finds, hits[:CHECKED])) or any(map(candidate.finds, misses[:CHECKED])):
        raise RuntimeError(f"{candidate.name}: a stored key was not found, or an absent one was")


def _single_lookups(
    candidates: Sequence[Candidate], hits: list[bytes], misses: list[bytes], rounds: int
) -> dict[tuple[str, str], list[float]]:
    """ns a lookup, per (candidate, "hit" or "miss"), in `rounds` interleaved rounds
    (bench/rounds.py): one pass of each over the same keys, the machine's drift shared."""

    def timer(candidate: Candidate, keys: list[bytes]) -> Callable[[], float]:
        return lambda: per_call_ns(candidate.get(), keys)

    measures = {
        (candidate.name, kind): timer(candidate, keys)
        for candidate in candidates
        for kind, keys in (("hit", hits), ("miss", misses))
    }
    return interleaved(measures, rounds)


def _ratios(
    single: dict[tuple[str, str], list[float]],
    ours: Candidate,
    others: Sequence[Candidate],
    kind: str,
) -> str:
    """Our median over each other's (dict's, then py-lmdb's when it ran): `0.71, 0.38`."""
    mine = statistics.median(single[ours.name, kind])
    return ", ".join(
        f"{mine / statistics.median(single[other.name, kind]):.2f}" for other in others
    )


TARGETS = {
    "hit ns": "median (range) of the rounds",
    "miss ns": "median (range) of the rounds",
    "hit x dict, x lmdb": "<= 1.5, < 0.5",
    "miss x dict, x lmdb": "<= 1.5, < 0.5",
    "batch keys/s": ">= 5,000,000 (one core)",
    "build rec/s": ">= 500,000 from CSV",
    "peak GiB": "< 12 at 100M records",
    "index B/record": "<= 40",
    "open ms": "< 50 whatever the size",
}


def _print(records: int, rows: dict[str, dict[str, str]]) -> None:
    columns = list(dict.fromkeys(column for row in rows.values() for column in row))
    names = list(rows)
    width = max(len(column) for column in columns) + 2
    cell = max(26, *(len(name) + 2 for name in names))
    print(f"SLTD, {records:,} records ({_machine()})")
    print("".ljust(width) + "".join(name.ljust(cell) for name in names) + "target")
    for column in columns:
        values = "".join(rows[name].get(column, "-").ljust(cell) for name in names)
        print(column.ljust(width) + values + TARGETS.get(column, ""))


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {when}"

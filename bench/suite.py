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
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgpack

from bench.candidates import Lmdb, Ours, PlainDict
from indexes.hash_index import use_compiled
from loaders.normalise import document_number

SINGLE_LOOKUPS = 200_000
VECTOR_RECORDS = 1_000_000
"""Templates, hashes and DNA profiles of the vector table: the issue's target is at 1M."""
BATCH_KEYS = 1_000_000


def main(records: int, work: Path, quick: bool, http: bool = True) -> int:
    work.mkdir(parents=True, exist_ok=True)
    upload = _upload(work, records)
    data = work / f"data-{records}"
    build = _build(upload, data, reuse=quick)
    keys = _keys(upload)
    rows = _measure_all(data, keys, build, work, quick)
    _print(records, rows)
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


def _per_call_ns(get: Callable[[bytes], object], keys: Sequence[bytes]) -> float:
    started = time.perf_counter()
    for key in keys:
        get(key)
    return (time.perf_counter() - started) / len(keys) * 1e9


def _keys_per_second(get_many: Callable[[Sequence[bytes]], object], keys: list[bytes]) -> float:
    started = time.perf_counter()
    get_many(keys)
    return len(keys) / (time.perf_counter() - started)


def _measure_all(
    data: Path, keys: list[bytes], build: dict[str, float], work: Path, quick: bool
) -> dict[str, dict[str, str]]:
    chance = random.Random(3)
    hits = chance.sample(keys, min(SINGLE_LOOKUPS, len(keys)))
    misses = _misses(len(hits))
    batch = chance.sample(keys, min(BATCH_KEYS // 2, len(keys))) + _misses(BATCH_KEYS // 2)
    chance.shuffle(batch)
    # A batch arrives as a decoded request: fresh objects, laid out in memory in order.
    batch = msgpack.unpackb(msgpack.packb(batch))
    rows: dict[str, dict[str, str]] = {}

    ours = Ours(data / "SLTD")
    verified = Ours(data / "SLTD", verify=True)
    verify_seconds = verified.open()
    rows[ours.name] = _measure(ours, hits, misses, batch, len(keys))
    index_bytes = ours.index_bytes() / len(keys)
    rows[ours.name]["index B/record"] = f"{index_bytes:.1f}"
    rows[ours.name]["open + verify ms"] = f"{verify_seconds * 1e3:.0f}"
    rows[ours.name]["probe"] = "C (indexes._probe)" if use_compiled() else "Python (reference)"
    if build:
        rows[ours.name]["build rec/s"] = f"{len(keys) / build['seconds']:,.0f} (from CSV)"
        rows[ours.name]["peak GiB"] = f"{build['peak_gib']:.2f}"

    plain = PlainDict(keys)
    rows[plain.name] = _measure(plain, hits, misses, batch, len(keys))
    rows[plain.name]["build rec/s"] = f"{len(keys) / plain.build_seconds:,.0f} (in memory)"
    del plain

    if not quick:
        values = [b"%060d" % number for number in range(len(keys))]
        unique = dict(zip(keys, values, strict=True))
        store = Lmdb(work / "lmdb", list(unique), list(unique.values()))
        rows[store.name] = _measure(store, hits, misses, batch, len(keys))
        rows[store.name]["build rec/s"] = f"{len(keys) / store.build_seconds:,.0f} (in memory)"
    return rows


def _measure(
    candidate: Ours | PlainDict | Lmdb,
    hits: list[bytes],
    misses: list[bytes],
    batch: list[bytes],
    records: int,
) -> dict[str, str]:
    opened = candidate.open()
    get = candidate.get()
    return {
        "open ms": f"{opened * 1e3:.1f}",
        "hit ns": f"{_per_call_ns(get, hits):,.0f}",
        "miss ns": f"{_per_call_ns(get, misses):,.0f}",
        "batch keys/s": f"{_keys_per_second(candidate.get_many, batch):,.0f}",
        "disk B/record": f"{candidate.disk_bytes() / records:.1f}",
    }


TARGETS = {
    "hit ns": "<= 1.5 x dict, < lmdb / 2",
    "miss ns": "<= 1.5 x dict, < lmdb / 2",
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

"""Every exact database at N records, each lookup beside SLTD's (issue 6: "as fast as SLTD").

For each of the databases the `exact` matcher serves, a file is generated
(`loaders.generate`, seed 1) and loaded by the real loader into WORK/exact-N/data (both
kept for the next run). Then, per lookup (SMV by VIN and by plate + country, VESSELS by
HIN and by IMO, ICSE by SHA-256 and by MD5), on one core:

- `hit ns` / `miss ns`: one `Snapshot.find` of a stored record's key / of a key no record
  has (the compiled probe where built), the single lookup every exact query ends in;
- `batch keys/s`: `Snapshot.find_many` over all those keys at once, hits and misses mixed;
- `x SLTD`: hit ns over SLTD's;
- `screen hit us`: one query through `Data.screen` (route, normalise, probe, decode the
  record, compare its fields), the whole single-document path a terminal takes: the
  median of SCREEN_ROUNDS rounds, each of which times every lookup in turn, so that the
  machine's drift (15-25% in minutes here) falls on all of them alike;
- `records a hit`: how many records a hit returns (a DIALDOC document model is alerted
  on more than once, a PIRACY vessel attacked more than once): each costs its decoding;
- `screen x SLTD`: screen hit us over SLTD's, what a terminal sees.

The keys are those of records sampled from the loaded snapshot: a record's normalised
fields make the query, so each hit is a real stored record. Nothing asserts a target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgpack

from bench.rounds import interleaved, keys_per_second, per_call_ns
from indexes import Snapshot, open_snapshot
from loaders.catalog import DATABASES, Database, Lookup
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload
from loaders.records import decode
from screening import open_data
from screening.data import Data

EXACT_ALL_RECORDS = 1_000_000
"""The size `screening bench` loads each database at (at most its `--records`)."""
SAMPLES = 20_000
QUICK_SAMPLES = 2_000
OWNER = "FRA"
SCREEN_ROUNDS = 5
COLUMNS = (
    "records", "hit ns", "miss ns", "batch keys/s", "x SLTD",
    "screen hit us", "records a hit", "screen x SLTD",
)  # fmt: skip


def exact_databases() -> list[Database]:
    """The databases the `exact` matcher serves, SLTD first, in the catalog's order."""
    return [db for db in DATABASES.values() if "exact" in db.matchers]


@dataclass(frozen=True)
class Probes:
    """One lookup's keys and queries, from records sampled out of the snapshot."""

    hits: list[bytes]
    misses: list[bytes]
    queries: list[dict[str, object]]


def main(records: int, work: Path, quick: bool = False) -> int:
    directory = work / f"exact-{records}"
    data_dir = directory / "data"
    for db in exact_databases():
        prepare(db, records, directory, data_dir)
    data = open_data(data_dir)
    rows: list[tuple[str, dict[str, str]]] = []
    screened: dict[str, list[dict[str, object]]] = {}
    try:
        for db in exact_databases():
            snapshot = open_snapshot(data_dir / db.code, db.code)
            snapshot.warm()
            for lookup in db.indexed_lookups:
                probes = probes_of(snapshot, db, lookup, QUICK_SAMPLES if quick else SAMPLES)
                name = f"{db.code} by {lookup.name}"
                rows.append((name, _measure(snapshot, probes)))
                screened[name] = probes.queries[: max(1, len(probes.queries) // 10)]
        measured = dict(rows)
        for name, row in measured.items():
            row.update(_screen_measures(data, screened[name]))
        for name, micros in _screen_rounds(data, screened).items():
            measured[name]["screen hit us"] = f"{micros:.1f}"
    finally:
        data.close()
    _print(records, rows)
    return 0


def prepare(db: Database, records: int, directory: Path, data_dir: Path) -> None:
    """Generate and load `db` unless an earlier run left it loaded."""
    if (data_dir / db.code / "MANIFEST").exists():
        return
    directory.mkdir(parents=True, exist_ok=True)
    upload = directory / f"{db.code.lower()}.csv"
    started = time.perf_counter()
    if not upload.exists():
        generate(db.code, records, upload, seed=1)
    result = load(data_dir, db.code, OWNER, [Upload.of(str(upload))])
    if result.rejected:
        raise RuntimeError(f"{db.code}: generated rows rejected: {result.summary()}")
    seconds = time.perf_counter() - started
    print(f"generated and loaded {db.code}: {records:,} in {seconds:.0f} s", file=sys.stderr)


def probes_of(snapshot: Snapshot, db: Database, lookup: Lookup, samples: int) -> Probes:
    """Keys and queries of records sampled from the snapshot that have this lookup."""
    chance = random.Random(f"{db.code}/{lookup.name}")
    hits: list[bytes] = []
    misses: list[bytes] = []
    queries: list[dict[str, object]] = []
    for _ in range(samples * 4):
        if len(hits) >= samples:
            break
        part = chance.randrange(len(snapshot.parts))
        segment = snapshot.parts[part].segment
        if not segment.records:
            continue
        values = decode(db, snapshot.record(part, chance.randrange(segment.records))[1])
        if not lookup.present(values):
            continue
        hits.append(db.lookup_key(lookup, values))
        absent = {**values, lookup.fields[0]: f"ZZ{chance.randrange(10**12):012d}"}
        misses.append(db.lookup_key(lookup, absent))
        queries.append(
            {"db": db.code, **{name: values[name] for name in lookup.fields if name in values}}
        )
    return Probes(hits, misses, queries)


def _measure(snapshot: Snapshot, probes: Probes) -> dict[str, str]:
    """The index alone: a hit, a miss, a batch."""
    if not probes.hits:
        return {"records": f"{snapshot.count():,}"}
    batch = probes.hits + probes.misses
    random.Random(3).shuffle(batch)
    batch = msgpack.unpackb(msgpack.packb(batch))  # fresh objects, as a decoded request
    return {
        "records": f"{snapshot.count():,}",
        "hit ns": f"{per_call_ns(snapshot.find, probes.hits):,.0f}",
        "miss ns": f"{per_call_ns(snapshot.find, probes.misses):,.0f}",
        "batch keys/s": f"{keys_per_second(snapshot.find_many, batch):,.0f}",
    }


def _screen_measures(data: Data, queries: list[dict[str, object]]) -> dict[str, str]:
    """What a hit through `Data.screen` returns; refuses to time a query that misses."""
    if not queries:
        return {}
    returned = [len(data.screen([query], OWNER)[0].get("matches", ())) for query in queries]
    if not all(returned):
        raise RuntimeError(f"a stored record was not found by its query: {queries[0]['db']}")
    return {"records a hit": f"{sum(returned) / len(returned):.2f}"}


def _screen_rounds(data: Data, screened: dict[str, list[dict[str, object]]]) -> dict[str, float]:
    """Median us a query of each lookup, timed in SCREEN_ROUNDS interleaved rounds."""

    def screen(query: dict[str, object]) -> object:
        return data.screen([query], OWNER)

    def timer(queries: list[dict[str, object]]) -> Callable[[], float]:
        return lambda: per_call_ns(screen, queries) / 1e3

    measures = {name: timer(queries) for name, queries in screened.items() if queries}
    times = interleaved(measures, SCREEN_ROUNDS)
    return {name: statistics.median(values) for name, values in times.items()}


def _print(records: int, rows: list[tuple[str, dict[str, str]]]) -> None:
    for measure, ratio in (("hit ns", "x SLTD"), ("screen hit us", "screen x SLTD")):
        sltd = _number(rows[0][1].get(measure)) if rows else None
        for _, row in rows:
            value = _number(row.get(measure))
            if sltd and value:
                row[ratio] = f"{value / sltd:.2f}"
    width = max(len(name) for name, _ in rows) if rows else 10
    print(f"\nexact databases, {records:,} generated records each; one core; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"| {'lookup':<{width}} | " + " | ".join(f"{c:>13}" for c in COLUMNS) + " |")
    print(f"| {'-' * width} | " + " | ".join("-" * 13 for _ in COLUMNS) + " |")
    for name, row in rows:
        cells = " | ".join(f"{row.get(column, '-'):>13}" for column in COLUMNS)
        print(f"| {name:<{width}} | {cells} |")


def _number(text: str | None) -> float | None:
    return float(text.replace(",", "")) if text else None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=EXACT_ALL_RECORDS)
    parser.add_argument("--work", default=".bench")
    parser.add_argument("--quick", action="store_true", help="fewer lookups")
    arguments = parser.parse_args()
    sys.exit(main(arguments.records, Path(arguments.work), arguments.quick))

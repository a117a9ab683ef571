"""Every exact database over HTTP, one query a request, beside SLTD: issue 6's "as fast as
SLTD" as a terminal sees it, the time from its request to its answer.

The databases bench/exact_all.py generates and loads (WORK/exact-N/data) are served by
`screening serve` from a hard-linked copy (the server writes its audit trail beside the
data), one worker. Each lookup's bodies are queries made from records sampled out of the
loaded snapshot, so every request is a hit, checked before anything is timed. wrk then
sends them over one connection (a terminal waits for its answer before the next) for
PLAN's seconds a lookup, every lookup in turn, PLAN's rounds, so that the machine's drift
(15-25% within minutes here) falls on all lookups alike. The table gives each lookup's
median p50, p99 and requests/s over the rounds, and its p50 over SLTD's.

    python -m bench.exact_http --records 200000 [--work .bench] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.exact_all import EXACT_ALL_RECORDS, OWNER, exact_databases, prepare, probes_of
from bench.http import check_answers, private_copy
from bench.http_bodies import BodySet, write_bodies
from bench.rounds import round_order
from bench.servers import add_key, our_server
from bench.wrk import WrkResult, WrkSettings, run_wrk
from indexes import open_snapshot

PLAN = (5, 2)
"""Rounds, and seconds a lookup in each."""
QUICK_PLAN = (3, 1)
BODIES = 200
"""Distinct stored records a lookup's requests cycle through."""
COLUMNS = ("records a hit", "requests/s", "p50 us", "p99 us", "p50 x SLTD")


@dataclass(frozen=True)
class Lookup:
    """One lookup's bodies, and how many records a hit on it returns on average."""

    name: str
    bodies: BodySet
    records_a_hit: float


def main(records: int, work: Path, quick: bool = False) -> int:
    directory = work / f"exact-{records}"
    data_dir = directory / "data"
    for db in exact_databases():
        prepare(db, records, directory, data_dir)
    with tempfile.TemporaryDirectory(prefix="exact-http-", dir=work) as scratch:
        folder = Path(scratch)
        served = private_copy(data_dir, folder / "data")
        keys_file = folder / "keys.json"
        key = add_key(keys_file, OWNER)
        lookups = write_lookups(data_dir, folder / "bodies", BODIES)
        with our_server(served, keys_file, 1, folder) as server:
            for lookup in lookups:
                check_answers(server, key, lookup.bodies)
            rounds, seconds = QUICK_PLAN if quick else PLAN
            url = f"{server.base_url}/v1/screen"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            runs = measure_rounds(url, headers, lookups, rounds, seconds)
    print_table(records, lookups, runs, rounds, seconds)
    return 0


def write_lookups(data_dir: Path, folder: Path, count: int) -> list[Lookup]:
    """Single-query JSON bodies per lookup of every exact database, SLTD's first."""
    lookups = []
    for db in exact_databases():
        snapshot = open_snapshot(data_dir / db.code, db.code)
        for lookup in db.indexed_lookups:
            name = f"{db.code} by {lookup.name}"
            probes = probes_of(snapshot, db, lookup, count)
            if not probes.queries:
                continue
            returned = [len(snapshot.find(key, OWNER)) for key in probes.hits]
            bodies = [orjson.dumps({"queries": [query]}) for query in probes.queries]
            written = write_bodies(folder, f"{db.code}-{lookup.name}", ".json", bodies,
                                   [[True]] * len(bodies), 1, "application/json")  # fmt: skip
            lookups.append(Lookup(name, written, sum(returned) / len(returned)))
    return lookups


def measure_rounds(
    url: str, headers: Mapping[str, str], lookups: Sequence[Lookup], rounds: int, seconds: int
) -> dict[str, list[WrkResult]]:
    """`rounds` wrk runs a lookup, the lookups interleaved, each round starting further
    down the list (`round_order`); a run with errors fails it."""
    settings = WrkSettings(threads=1, connections=1, seconds=seconds)
    runs: dict[str, list[WrkResult]] = {lookup.name: [] for lookup in lookups}
    run_wrk(url, lookups[0].bodies.listing, headers, settings)  # warm-up, not counted
    for number in range(rounds):
        for lookup in round_order(lookups, number, rounds):
            result = run_wrk(url, lookup.bodies.listing, headers, settings)
            if result.errors:
                raise RuntimeError(f"{lookup.name}: {result.errors} failed requests under wrk")
            runs[lookup.name].append(result)
    return runs


def table_rows(
    lookups: Sequence[Lookup], runs: Mapping[str, Sequence[WrkResult]]
) -> list[tuple[str, dict[str, str]]]:
    """Per lookup, medians over its runs; p50 x SLTD against the first lookup's (SLTD's)."""
    rows = []
    first_p50 = None
    for lookup in lookups:
        results = runs[lookup.name]
        p50 = statistics.median(result.p50_us for result in results)
        first_p50 = first_p50 or p50
        rows.append((lookup.name, {
            "records a hit": f"{lookup.records_a_hit:.2f}",
            "requests/s": f"{statistics.median(r.requests_per_second for r in results):,.0f}",
            "p50 us": f"{p50:.0f}",
            "p99 us": f"{statistics.median(result.p99_us for result in results):.0f}",
            "p50 x SLTD": f"{p50 / first_p50:.2f}",
        }))  # fmt: skip
    return rows


def print_table(
    records: int,
    lookups: Sequence[Lookup],
    runs: Mapping[str, Sequence[WrkResult]],
    rounds: int,
    seconds: int,
) -> None:
    rows = table_rows(lookups, runs)
    width = max(len(name) for name, _ in rows)
    print(f"\nevery exact database over HTTP, {records:,} generated records each: one worker, "
          f"one connection, one query a request (all hits); medians of {rounds} interleaved "
          f"rounds of {seconds} s")  # fmt: skip
    print(f"| {'lookup':<{width}} | " + " | ".join(f"{c:>13}" for c in COLUMNS) + " |")
    print(f"| {'-' * width} | " + " | ".join("-" * 13 for _ in COLUMNS) + " |")
    for name, row in rows:
        print(f"| {name:<{width}} | " + " | ".join(f"{row[c]:>13}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=EXACT_ALL_RECORDS)
    parser.add_argument("--work", type=Path, default=Path(".bench"))
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    arguments = parser.parse_args()
    sys.exit(main(arguments.records, arguments.work, arguments.quick))

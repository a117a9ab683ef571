"""The soak: minutes of steady traffic while NCBs load and the data is compacted.

The HTTP table measures each route alone, for seconds. A service that runs for months
must also not leak, not drop a request when the data under it changes, and not slow
down as generations come and go. So, on 127.0.0.1:

  - `screening serve --workers 2` over a private hard-linked copy of a demo-sized data
    directory (WORK/data-1000000 by default, built once as the bench builds it);
  - a steady rate of mixed requests (bench/soak_mix.py: single checks, MRZ scans, small
    batches), by wrk paced with Lua or, without wrk, an open-loop Python client
    (bench/soak_driver.py says which and why);
  - meanwhile, on a schedule, `screening load` of new NCB uploads and `screening
    compact`, in turn (bench/soak_maintenance.py);
  - per slice (10 s by default): requests, errors, p50, p99, max, and which writes ran;
  - the memory of the supervisor and of every worker at the start and the end
    (bench/soak_memory.py), growth of anonymous memory beyond the noise flagged.

The run fails (exit 1) on any error (non-2xx answer or socket error), a load or
compaction that failed, a process that ended, or loads that /v1/databases does not show.
Memory growth is flagged in the table, not failed: on a shared 2-core machine one short
run is evidence to look at, not a verdict.

Run: `screening bench --soak` (the soak alone), `make soak`, or as part of `make bench`;
alone with every knob: `python -m bench.soak --help`.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.http import COUNTRY, check_answers, latency, prepare_data, private_copy
from bench.loading import LoadingError, records_served
from bench.servers import Running, ServerError, add_key, our_server
from bench.soak_driver import DRIVERS, Driver, Pace, make_driver
from bench.soak_maintenance import (
    OPERATION_TIMEOUT,
    Maintenance,
    Operation,
    loads_among,
    operations_due,
    prepare_uploads,
)
from bench.soak_memory import NOISE_KIB, NOISE_SHARE, Change, Footprint, footprint, mib
from bench.soak_mix import Mix, write_mix
from bench.wrk import Slice, WrkError

LANDED_TIMEOUT = 15.0
"""Seconds after the last slice for every worker to count the loaded records."""
LANDED_POLL = 0.1


@dataclass(frozen=True)
class SoakOptions:
    seconds: int = 180
    """The soak itself, after the warm-up (SOAK_SECONDS in the Makefile)."""
    slice_seconds: int = 10
    warmup: int = 5
    """Unmeasured traffic first, so the start memory is that of a server in service."""
    rate: float = 500.0
    """Requests per second offered, all routes together: well under what 2 workers take
    on 2 cores, so that a slowdown shows as latency and not as a server at its limit."""
    connections: int = 8
    threads: int = 2
    workers: int = 2
    every: float = 20.0
    """Seconds between writes: a load, then a compaction, then a load..."""
    load_records: int = 20_000
    records: int = 1_000_000
    """The data set's size when it is built here: the demo's (`serve --demo`)."""
    driver: str = "auto"


@dataclass
class SoakResult:
    options: SoakOptions
    driver: str
    mix: str
    started: float
    """When the soak's clock started (monotonic): slices and writes are shown from it."""
    slices: list[Slice]
    operations: list[Operation]
    memory: list[Change]
    records_before: int
    records_after: int

    @property
    def errors(self) -> int:
        return sum(piece.result.errors for piece in self.slices)

    @property
    def accepted(self) -> int:
        return sum(operation.accepted for operation in self.operations)

    def failures(self) -> list[str]:
        """Why the run failed; empty when it passed."""
        failed = [f"{self.errors:,} errors (non-2xx or socket)"] if self.errors else []
        failed += [operation.label() for operation in self.operations if not operation.ok]
        failed += [f"{change.role} (PID {change.pid}) ended" for change in self.memory
                   if change.end is None]  # fmt: skip
        grew = self.records_after - self.records_before
        if grew != self.accepted:
            failed.append(f"/v1/databases grew by {grew:,}, the loads accepted {self.accepted:,}")
        return failed


def run_soak(work: Path, options: SoakOptions, data_dir: Path | None = None) -> int:
    """Build or reuse the data, soak, print the table; 0 if the run passed, else 1."""
    if options.driver == "wrk" and shutil.which("wrk") is None:
        print("soak not run: wrk is not installed (`make bench-tools`, or --driver python)")
        return 1
    busy = os.getloadavg()[0]
    started = time.monotonic()
    data = (data_dir or prepare_data(options.records, work)).resolve()
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="soak-") as temporary:
        try:
            result = soak(data, Path(temporary).resolve(), options)
        except (WrkError, ServerError, LoadingError) as error:
            print(f"soak failed: {error}", file=sys.stderr)
            return 1
    print_report(result, _records_in(data), busy, time.monotonic() - started)
    return 1 if result.failures() else 0


@dataclass(frozen=True)
class Target:
    """A running server, the key the soak uses, the bodies it sends, the directory served."""

    server: Running
    key: str
    mix: Mix
    served: Path


def soak(data_dir: Path, folder: Path, options: SoakOptions) -> SoakResult:
    """Serve a copy of `data_dir` from `folder`, soak it, stop it; see the module."""
    with serving(data_dir, folder, options.workers) as target:
        return soak_on(target, folder, options)


@contextmanager
def serving(data_dir: Path, folder: Path, workers: int) -> Iterator[Target]:
    """`screening serve` over a private copy of `data_dir`, with a key and the mix."""
    served = private_copy(data_dir, folder / "data")
    key = add_key(folder / "keys.json", COUNTRY)
    mix = write_mix(served, folder / "bodies", COUNTRY)
    with our_server(served, folder / "keys.json", workers, folder) as server:
        yield Target(server, key, mix, served)


def soak_on(target: Target, folder: Path, options: SoakOptions) -> SoakResult:
    """The soak itself, on a running server (another soak may have run on it before)."""
    server, key, served = target.server, target.key, target.served
    for bodies in target.mix.kinds.values():
        check_answers(server, key, bodies)
    pace = Pace(options.rate, options.connections, options.threads)
    driver = make_driver(options.driver, server.base_url, target.mix, key, pace)
    if options.warmup > 0:
        driver.run(options.warmup)
    before = records_served(server, key)
    operations = operations_due(options.seconds, options.every)
    uploads = tempfile.mkdtemp(dir=folder, prefix="uploads-")
    # Seeded from the count served: a second soak on the same data uploads new records.
    loads = prepare_uploads(Path(uploads), loads_among(operations), options.load_records, before)
    processes = _processes(server)
    start_memory = {pid: footprint(pid, served) for pid in processes.values()}
    maintenance = Maintenance(served, loads, COUNTRY, options.every, Path(uploads))
    started = time.monotonic()
    maintenance.start(started, operations)
    try:
        slices = _slices(driver, maintenance, started, options)
    finally:
        maintenance.wait()
    accepted = sum(operation.accepted for operation in maintenance.operations)
    after = _landed(server, key, before + accepted, len(server.workers))
    memory = _changes(processes, start_memory, served)
    return SoakResult(
        options, driver.name, target.mix.describe(), started, slices,
        maintenance.operations, memory, before, after,
    )  # fmt: skip


def _processes(server: Running) -> dict[str, int]:
    """Role -> PID: the supervisor (the PID we started) and each worker."""
    workers = {f"worker {number}": pid for number, pid in enumerate(server.workers, 1)}
    return {"supervisor": server.process.pid, **workers}


def _slices(
    driver: Driver, maintenance: Maintenance, started: float, options: SoakOptions
) -> list[Slice]:
    """Slices back to back for `options.seconds`, then on until the last write has ended
    and a slice has run entirely after it (that one covers the workers' swap)."""
    slices: list[Slice] = []
    deadline = started + options.seconds
    while (remaining := math.floor(deadline - time.monotonic())) >= 1:
        slices.append(driver.run(min(options.slice_seconds, remaining)))
    maintenance.stop()
    while not _swap_covered(maintenance, slices):
        if time.monotonic() - deadline > OPERATION_TIMEOUT:
            break  # the write has timed out by now: its Operation says so
        slices.append(driver.run(options.slice_seconds))
    return slices


def _swap_covered(maintenance: Maintenance, slices: list[Slice]) -> bool:
    if maintenance.running:
        return False
    if not maintenance.operations:
        return True
    return bool(slices) and slices[-1].started > maintenance.operations[-1].ended


def _landed(server: Running, key: str, expected: int, workers: int) -> int:
    """SLTD's record count once `2 x workers` answers in a row (fresh connections, so the
    kernel spreads them over the workers) say `expected`, or the last count after
    LANDED_TIMEOUT."""
    deadline = time.monotonic() + LANDED_TIMEOUT
    in_a_row, count = 0, -1
    while in_a_row < 2 * workers and time.monotonic() < deadline:
        count = records_served(server, key)
        in_a_row = in_a_row + 1 if count == expected else 0
        if count != expected:
            time.sleep(LANDED_POLL)
    return count


def _changes(
    processes: dict[str, int], start: dict[int, Footprint | None], served: Path
) -> list[Change]:
    changes = []
    for role, pid in processes.items():
        before = start[pid]
        if before is None:
            raise ServerError(f"{role} (PID {pid}) was gone before the soak started")
        changes.append(Change(role, pid, before, footprint(pid, served)))
    return changes


def _records_in(data_dir: Path) -> int:
    from bench.http_bodies import open_sltd

    return sum(part.segment.records for part in open_sltd(data_dir).parts)


# --- the table ---------------------------------------------------------------------------


def slice_rows(result: SoakResult) -> list[list[str]]:
    """One row per slice: time span, requests, req/s, errors, p50, p99, max, writes."""
    rows = []
    for piece in result.slices:
        begin, end = piece.started - result.started, piece.ended - result.started
        during = [op.label() for op in result.operations if _overlap(op, piece)]
        outcome = piece.result
        rows.append([
            f"{begin:.1f}-{end:.1f}", f"{outcome.requests:,}",
            f"{outcome.requests_per_second:,.0f}", f"{outcome.errors:,}",
            latency(outcome.p50_us), latency(outcome.p99_us), latency(outcome.max_us),
            "; ".join(during),
        ])  # fmt: skip
    return rows


def total_row(result: SoakResult) -> list[str]:
    """All slices: totals, and the worst slice's p99 (wrk cannot merge runs)."""
    requests = sum(piece.result.requests for piece in result.slices)
    seconds = sum(piece.result.seconds for piece in result.slices)
    worst = max((piece.result.p99_us for piece in result.slices), default=0.0)
    slowest = max((piece.result.max_us for piece in result.slices), default=0.0)
    rate = requests / seconds if seconds else 0.0
    return ["all", f"{requests:,}", f"{rate:,.0f}", f"{result.errors:,}", "-",
            f"worst {latency(worst)}", latency(slowest), ""]  # fmt: skip


def _overlap(operation: Operation, piece: Slice) -> bool:
    return operation.started < piece.ended and operation.ended > piece.started


RATE_HELD = 0.9
"""A slice whose rate fell below this share of the offered one is named in the notes."""


def _rate_not_held(result: SoakResult) -> int:
    floor = RATE_HELD * result.options.rate
    return sum(piece.result.requests_per_second < floor for piece in result.slices)


SLICE_HEADER = ["t (s)", "requests", "req/s", "errors", "p50", "p99", "max", "writes during it"]
MEMORY_HEADER = ["process", "PID", "RSS start", "RSS end", "PSS start", "PSS end",
                 "anon start", "anon end", "verdict"]  # fmt: skip


def memory_rows(result: SoakResult) -> list[list[str]]:
    rows = []
    for change in result.memory:
        end = change.end
        rows.append([
            change.role, str(change.pid),
            mib(change.start.rss_kib), mib(end.rss_kib) if end else "-",
            mib(change.start.pss_kib), mib(end.pss_kib) if end else "-",
            mib(change.start.anon_kib), mib(end.anon_kib) if end else "-",
            change.verdict(),
        ])  # fmt: skip
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in [header, *rows]) + 2 for column in range(len(header))]
    lines = ["".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    return "\n".join(lines)


def print_report(result: SoakResult, records: int, busy: float, wall: float) -> None:
    """The soak's table, like the rest of the bench: a title, the figures, notes."""
    from bench.suite import _machine

    options = result.options
    print()
    print(
        f"Soak, SLTD {records:,} records: {options.seconds} s at {options.rate:,.0f} req/s"
        f" over {options.connections} connections, {options.workers} server workers"
        f" ({_machine()})"
    )
    print(f"driver: {result.driver}; mix: {result.mix}")
    print(
        f"writes: every {options.every:.0f} s a `screening load` of {options.load_records:,}"
        f" new records (owner {COUNTRY}) or a `screening compact`, in turn"
    )
    print(_table(SLICE_HEADER, [*slice_rows(result), total_row(result)]))
    print(_table(MEMORY_HEADER, memory_rows(result)))
    print(_summary(result, busy, wall))
    sys.stdout.flush()


def _summary(result: SoakResult, busy: float, wall: float) -> str:
    loads = [operation for operation in result.operations if operation.kind == "load"]
    compactions = [operation for operation in result.operations if operation.kind == "compact"]
    grew = sum(change.grew for change in result.memory)
    noise = f"max({mib(NOISE_KIB)}, {NOISE_SHARE:.0%})"
    lines = [
        f"writes: {len(loads)} load(s) accepted {result.accepted:,} records, /v1/databases grew"
        f" by {result.records_after - result.records_before:,}; {len(compactions)} compaction(s)",
        f"memory: anonymous growth beyond {noise} is flagged, not failed ({grew} flagged);"
        f" RSS and PSS include mapped data pages (bench/README.md)",
        f"load average before: {busy:.2f}; soak: {wall:.0f} s wall with setup",
    ]
    short = _rate_not_held(result)
    if short:
        lines.append(
            f"rate: {short} slice(s) below {RATE_HELD:.0%} of {result.options.rate:,.0f} req/s:"
            " the server or the machine was at its limit there (not failed)"
        )
    failures = result.failures()
    if failures:
        lines.append("result: FAILED: " + "; ".join(failures))
    else:
        lines.append("result: passed (0 errors, every write served, every process still there)")
    return "\n".join(lines)


# --- standalone --------------------------------------------------------------------------


def options_from(args: argparse.Namespace) -> SoakOptions:
    return SoakOptions(
        seconds=args.seconds, slice_seconds=args.slice, warmup=args.warmup, rate=args.rate,
        connections=args.connections, workers=args.workers, every=args.every,
        load_records=args.load_records, records=args.records, driver=args.driver,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    defaults = SoakOptions()
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=int, default=defaults.seconds)
    parser.add_argument("--slice", type=int, default=defaults.slice_seconds, help="seconds")
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="seconds")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="requests/s")
    parser.add_argument("--connections", type=int, default=defaults.connections)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--every", type=float, default=defaults.every, help="s between writes")
    parser.add_argument("--load-records", type=int, default=defaults.load_records)
    parser.add_argument("--records", type=int, default=defaults.records, help="data set size")
    parser.add_argument("--driver", choices=DRIVERS, default=defaults.driver)
    parser.add_argument("--work", type=Path, default=Path(".bench"))
    parser.add_argument("--data", type=Path, help="a loaded data directory (default WORK/data-N)")
    args = parser.parse_args(argv)
    return run_soak(args.work, options_from(args), args.data)


if __name__ == "__main__":
    sys.exit(main())

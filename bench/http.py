"""The HTTP half of `screening bench`: the real server under wrk, beside two references.

Seven columns, the same wrk command line for each (bench/README.md says how to read them):

  1. `screening serve`, one SLTD query per request (JSON), half hits, half misses;
  1b. `screening serve`, one passport scan per request (POST /v1/screen/mrz: a TD3 zone
     parsed, check digits verified, screened against SLTD and TDAWN);
  2. `screening serve`, 1,000 queries per request (msgpack), through the batch path;
  2b. the same 1,000 rows as a columnar batch (`{"db", "columns"}`, msgpack);
  2c. columnar batches of a border's mix: 1 hit in 1,000 rows (a hit costs its record,
     its answer and its owner's notice, ~20 us; a miss ~2 us all-in);
  3. a bare aiohttp + uvloop handler doing a dict lookup (bench/bare_app.py): the ceiling
     for any Python service, the yardstick of column 1 (`% of bare` comes from short runs
     of the two alternated while both servers run: `paired_ratios`);
  4. nginx `return 200`: what the loopback and wrk cost by themselves.

Then `p99 while loading` (bench/loading.py). The server serves a hard-linked copy of the
data directory (segments are immutable, a publish only adds files and renames the
manifest), so the load lands in the copy and the engine bench's directory stays as built.

Run alone: `python -m bench.http --records 1000000` (generates and loads the data into
WORK/data-N unless it is there, the same directory `screening bench` uses).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
import orjson

from bench import cpu
from bench.http_bodies import (
    BodySet,
    open_sltd,
    sample_queries,
    write_batches,
    write_columns,
    write_mrz,
    write_numbers,
    write_singles,
)
from bench.loading import LoadingError, LoadingResult, measure_while_loading
from bench.servers import (
    Running,
    ServerError,
    add_key,
    bare_server,
    nginx,
    nginx_path,
    our_server,
    post,
)
from bench.wrk import WrkError, WrkResult, WrkSettings, run_wrk, wrk_path

COUNTRY = "GBR"
"""The bench key's country: a foreign terminal screening FRA's records (the engine bench
loads them as FRA), and the owner of the upload of `p99 while loading`."""
IDLE_SHARE = 0.05
"""A worker that did less than this share of the CPU work of a run got no connection:
the kernel's SO_REUSEPORT hash put them all on the other one (1 chance in 8 at 4
connections). Such a run measures one worker, so it is run again (at most RERUNS times)."""
RERUNS = 2
PAIRED_ROUNDS = 3
"""Alternated pairs of short runs, ours then bare then ours ..., behind `% of bare`: this
machine's speed drifts by 20% within minutes, and the long runs of the two columns are
half a minute apart, so their ratio moved 45-74% between runs of the same code."""
PAIRED_SECONDS = 2
CHECKED_BODIES = 20
BORDER_HIT_SHARE = 0.001
"""Hits among the rows of column 2c: at a border nearly every document is clean."""


@dataclass(frozen=True)
class HttpOptions:
    seconds: int = 10
    """Each measured wrk run."""
    warmup: int = 2
    """An unmeasured wrk run per server first: page faults, aiohttp's first requests."""
    threads: int = 2
    connections: tuple[int, ...] = (4, 32)
    workers: int = 2
    singles: int = 400
    batches: int = 16
    batch_size: int = 1000
    load_records: int = 100_000
    slice_seconds: int = 1
    loading_connections: int = 4


QUICK = HttpOptions(seconds=3, warmup=1)


@dataclass(frozen=True)
class Run:
    """One measured wrk run and how the server's workers shared its CPU time."""

    result: WrkResult
    queries_per_request: int
    worker_cpu: list[float]
    reruns: int = 0
    other_cpu: float = 0.0
    """CPU seconds used during the run by processes neither the server's nor wrk."""

    @property
    def checks_per_second(self) -> float:
        return self.result.requests_per_second * self.queries_per_request

    @property
    def other_cores(self) -> float:
        """Cores' worth of CPU that other work took during the run (0 on a quiet machine)."""
        return self.other_cpu / self.result.seconds if self.result.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU time (all workers, user + system) per request: what a request costs
        the server whatever wrk, sharing the machine, leaves it."""
        return sum(self.worker_cpu) / max(1, self.result.requests) * 1e6


@dataclass
class Bodies:
    singles: BodySet
    batches: BodySet
    numbers: Path
    mrz: BodySet
    columns: BodySet
    border: BodySet


COLUMNS = {
    "ours": "screening, 1 query (JSON)",
    "mrz": "screening, MRZ scan (JSON)",
    "batch": "screening, 1,000/request (msgpack)",
    "columns": "columnar, 1,000/request (msgpack)",
    "border": "columnar, 1 hit in 1,000 (msgpack)",
    "bare": "bare aiohttp + dict (JSON)",
    "nginx": "nginx return 200",
}


def run_http(data_dir: Path, work: Path, records: int, options: HttpOptions) -> int:
    """Measure and print the HTTP table; 1 (with the reason) if wrk or nginx is missing."""
    try:
        wrk_path(), nginx_path()
    except (WrkError, ServerError) as error:
        print(f"HTTP bench not run: {error} (or pass --no-http)", file=sys.stderr)
        return 1
    started = time.monotonic()
    busy = os.getloadavg()[0]
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="http-") as temporary:
        folder = Path(temporary).resolve()  # nginx reads relative paths from its prefix
        try:
            runs, paired, loading = _measure_all(data_dir.resolve(), folder, options)
        except (WrkError, ServerError) as error:
            print(f"HTTP bench failed: {error}", file=sys.stderr)
            return 1
    _print(records, options, runs, paired, loading, time.monotonic() - started, busy)
    return 0


def _measure_all(
    data_dir: Path, folder: Path, options: HttpOptions
) -> tuple[dict[str, dict[int, Run]], dict[int, list[float]], LoadingResult | None]:
    served = private_copy(data_dir, folder / "data")
    key = add_key(folder / "keys.json", COUNTRY)
    bodies = build_bodies(served, folder / "bodies", options)
    runs: dict[str, dict[int, Run]] = {}
    with (
        our_server(served, folder / "keys.json", options.workers, folder) as server,
        bare_server(bodies.numbers, options.workers, folder) as bare,
    ):
        ours_bodies = (bodies.singles, bodies.batches, bodies.mrz, bodies.columns, bodies.border)
        for checked in ours_bodies:
            check_answers(server, key, checked)
        check_answers(bare, key, bodies.singles)
        runs["ours"] = measure(server, key, bodies.singles, options)
        runs["mrz"] = measure(server, key, bodies.mrz, options)
        runs["batch"] = measure(server, key, bodies.batches, options)
        runs["columns"] = measure(server, key, bodies.columns, options)
        runs["border"] = measure(server, key, bodies.border, options)
        runs["bare"] = measure(bare, key, bodies.singles, options)
        paired = paired_ratios(server, bare, key, bodies.singles, options)
        loading = _loading(server, key, bodies.singles, served, folder, options)
    with nginx(options.workers, folder) as server:
        runs["nginx"] = measure(server, key, bodies.singles, options)
    return runs, paired, loading


def paired_ratios(
    ours: Running, bare: Running, key: str, bodies: BodySet, options: HttpOptions
) -> dict[int, list[float]]:
    """Per connection count, our req/s over bare aiohttp's in PAIRED_ROUNDS pairs of
    PAIRED_SECONDS runs, alternated (ours first, then bare first, ...) so that the
    machine's drift falls on both sides alike."""
    headers = {"Content-Type": bodies.content_type, "Authorization": f"Bearer {key}"}
    ratios: dict[int, list[float]] = {}
    for connections in options.connections:
        settings = _wrk_settings(options, connections, PAIRED_SECONDS)
        found = []
        for round_number in range(PAIRED_ROUNDS):
            pair = (ours, bare) if round_number % 2 == 0 else (bare, ours)
            speeds = {
                server.name: _balanced_run(
                    server, f"{server.base_url}{bodies.path}", bodies, headers, settings
                ).result.requests_per_second
                for server in pair
            }
            found.append(speeds[ours.name] / speeds[bare.name])
        ratios[connections] = found
    return ratios


def _loading(
    server: Running, key: str, bodies: BodySet, served: Path, folder: Path, options: HttpOptions
) -> LoadingResult | None:
    """`p99 while loading`, or None (reason on stderr) if the load itself failed."""
    if options.load_records <= 0:
        return None
    settings = _wrk_settings(options, options.loading_connections, options.slice_seconds)
    try:
        return measure_while_loading(
            server, key, bodies, served, folder, options.load_records, COUNTRY, settings
        )
    except LoadingError as error:
        print(f"p99 while loading not measured: {error}", file=sys.stderr)
        return None


def private_copy(source: Path, target: Path) -> Path:
    """`source` hard-linked into `target` (copied where links cannot cross devices)."""

    def link(from_path: str, to_path: str) -> None:
        try:
            os.link(from_path, to_path)
        except OSError:
            shutil.copy2(from_path, to_path)

    shutil.copytree(source, target, copy_function=link, ignore=shutil.ignore_patterns("LOCK"))
    return target


def build_bodies(data_dir: Path, folder: Path, options: HttpOptions) -> Bodies:
    """Single and batch bodies from the served data, and the numbers for bare_app."""
    snapshot = open_sltd(data_dir)
    singles = sample_queries(snapshot, options.singles, COUNTRY, seed=1)
    batch_queries = sample_queries(snapshot, options.batches * options.batch_size, COUNTRY, seed=2)
    border_queries = sample_queries(
        snapshot, options.batches * options.batch_size, COUNTRY, seed=3, hit_share=BORDER_HIT_SHARE
    )
    numbers = folder / "numbers.txt"
    folder.mkdir(parents=True, exist_ok=True)
    write_numbers(snapshot, numbers)
    return Bodies(
        write_singles(singles, folder),
        write_batches(batch_queries, options.batch_size, folder),
        numbers,
        write_mrz(singles, folder),
        write_columns(batch_queries, options.batch_size, folder, "columns"),
        write_columns(border_queries, options.batch_size, folder, "border"),
    )


def check_answers(server: Running, key: str, bodies: BodySet) -> None:
    """Before measuring: some bodies get 200 and exactly the hits they were built with,
    so the table never shows the speed of 401s or of wrong answers."""
    headers = {"Content-Type": bodies.content_type, "Authorization": f"Bearer {key}"}
    msgpack_reply = bodies.content_type == "application/msgpack"
    checked = zip(bodies.paths[:CHECKED_BODIES], bodies.expected_hits, strict=False)
    for path, expected in checked:
        status, raw = post(server.port, bodies.path, path.read_bytes(), headers)
        if status != 200:
            raise ServerError(f"{server.name}: {path.name} answered {status}: {raw[:300]!r}")
        reply = msgpack.unpackb(raw) if msgpack_reply else orjson.loads(raw)
        hits = _hits_of(reply, bodies)
        if hits != expected:
            wrong = sum(got != want for got, want in zip(hits, expected, strict=False))
            raise ServerError(
                f"{server.name}: {path.name}: {wrong} of {len(expected)} answers differ"
                f" from the data ({len(hits)} results)"
            )


def _hits_of(reply: dict[str, Any], bodies: BodySet) -> list[bool]:
    """Each query's `hit`, whichever shape the answer has (per query, MRZ, columnar)."""
    if bodies.path.endswith("/mrz"):
        return [bool(reply.get("hit"))]
    if bodies.columnar:
        return [hit is True for hit in reply["hit"]]
    return [bool(result.get("hit")) for result in reply["results"]]


def _wrk_settings(options: HttpOptions, connections: int, seconds: int) -> WrkSettings:
    """wrk refuses fewer connections than threads: a 1-connection run gets 1 thread."""
    threads = min(options.threads, connections)
    return WrkSettings(threads=threads, connections=connections, seconds=seconds)


def measure(server: Running, key: str, bodies: BodySet, options: HttpOptions) -> dict[int, Run]:
    """A warm-up run, then one run per connection count."""
    url = f"{server.base_url}{bodies.path}"
    headers = {"Content-Type": bodies.content_type, "Authorization": f"Bearer {key}"}
    if options.warmup > 0:
        busiest = max(options.connections)
        run_wrk(url, bodies.listing, headers, _wrk_settings(options, busiest, options.warmup))
    runs = {}
    for connections in options.connections:
        settings = _wrk_settings(options, connections, options.seconds)
        runs[connections] = _balanced_run(server, url, bodies, headers, settings)
    return runs


def _balanced_run(
    server: Running, url: str, bodies: BodySet, headers: dict[str, str], settings: WrkSettings
) -> Run:
    """One run, repeated (RERUNS at most) while a worker sat idle through it."""
    for attempt in range(RERUNS + 1):
        start = cpu.mark(server.workers)
        result = run_wrk(url, bodies.listing, headers, settings)
        use = cpu.since(start, server.workers)
        run = Run(result, bodies.queries_per_body, use.workers, attempt, use.other)
        if min(use.workers) >= IDLE_SHARE * sum(use.workers):
            break
    return run


# --- the table ---------------------------------------------------------------------------


TARGETS = {
    "% of bare aiohttp req/s": ">= 90% (single query)",
    "checks/s": ">= 1,000,000 via the batch endpoint, 2 cores",
    "p99 while loading": "< 2 ms at 4 conn during a 100,000-record load",
}


def latency(us: float) -> str:
    if us < 1000:
        return f"{us:.0f} us"
    if us < 1_000_000:
        return f"{us / 1000:.2f} ms"
    return f"{us / 1e6:.2f} s"


def _cpu_split(run: Run) -> str:
    total = sum(run.worker_cpu) or 1.0
    shares = "/".join(f"{share / total:.0%}".removesuffix("%") for share in run.worker_cpu)
    rerun = f" ({run.reruns} rerun)" if run.reruns else ""
    return f"{shares} %{rerun}"


def table_rows(
    runs: dict[str, dict[int, Run]],
    loading: LoadingResult | None,
    paired: dict[int, list[float]] | None = None,
) -> dict[str, dict[str, str]]:
    """Row label -> column key -> cell."""
    rows: dict[str, dict[str, str]] = {}
    connections = sorted({count for per in runs.values() for count in per})
    for count in connections:
        suffix = f", {count} conn"
        for name, per in runs.items():
            run = per.get(count)
            if run is None:
                continue
            rows.setdefault("req/s" + suffix, {})[name] = f"{run.result.requests_per_second:,.0f}"
            rows.setdefault("p50" + suffix, {})[name] = latency(run.result.p50_us)
            rows.setdefault("p99" + suffix, {})[name] = latency(run.result.p99_us)
            rows.setdefault("checks/s" + suffix, {})[name] = f"{run.checks_per_second:,.0f}"
            rows.setdefault("server CPU/request" + suffix, {})[name] = latency(run.cpu_us)
            rows.setdefault("worker CPU split" + suffix, {})[name] = _cpu_split(run)
            rows.setdefault("other CPU load" + suffix, {})[name] = f"{run.other_cores:.2f} cores"
        ratios = (paired or {}).get(count)
        if ratios:
            middle = statistics.median(ratios)
            spread = f"{min(ratios):.0%}-{max(ratios):.0%}"
            cell = f"{middle:.0%} ({spread}, {len(ratios)} pairs)"
            rows.setdefault("% of bare aiohttp req/s" + suffix, {})["ours"] = cell
        elif "ours" in runs and "bare" in runs and count in runs["ours"] and count in runs["bare"]:
            ours = runs["ours"][count].result.requests_per_second
            bare = runs["bare"][count].result.requests_per_second
            rows.setdefault("% of bare aiohttp req/s" + suffix, {})["ours"] = f"{ours / bare:.0%}"
    errors = {name: sum(run.result.errors for run in per.values()) for name, per in runs.items()}
    rows["errors (non-2xx, socket)"] = {name: f"{count:,}" for name, count in errors.items()}
    if loading is not None:
        rows.update(_loading_rows(loading))
    return rows


def _loading_rows(loading: LoadingResult) -> dict[str, dict[str, str]]:
    landed = "NO" if loading.landed_s is None else f"yes, at {loading.landed_s:.1f} s"
    return {
        "p99 while loading": {"ours": latency(loading.worst_p99_us)},
        "p99 just before it": {"ours": latency(loading.baseline_p99_us)},
        "req/s while loading": {"ours": f"{loading.requests_per_second:,.0f}"},
        "load landed": {"ours": landed},
    }


def loading_note(loading: LoadingResult | None, options: HttpOptions) -> str:
    if loading is None:
        return "p99 while loading: not measured (see above)"
    grew = loading.records_after - loading.records_before
    return (
        f"while loading: `screening load` of {loading.accepted:,} records ran"
        f" {loading.load_seconds:.1f} s; p99 is the worst of {len(loading.during)}"
        f" {options.slice_seconds} s wrk slices at {options.loading_connections} conn"
        f" (before it: of {len(loading.baseline)});"
        f" /v1/databases grew by {grew:,}. Slices from the load's start, p99 ms:"
        f" {loading.timeline()}"
    )


def _print(
    records: int,
    options: HttpOptions,
    runs: dict[str, dict[int, Run]],
    paired: dict[int, list[float]],
    loading: LoadingResult | None,
    wall: float,
    busy: float,
) -> None:
    """The table; `busy` (the 1-minute load average before the run) says whether other
    work shared the machine, which on 2 cores moves every figure."""
    from bench.suite import _machine

    rows = table_rows(runs, loading, paired)
    names = list(runs)
    label_width = max(len(label) for label in rows) + 2
    cell = max(24, *(len(COLUMNS[name]) + 2 for name in names))
    print()
    print(
        f"HTTP, SLTD {records:,} records: wrk -t{options.threads} -d{options.seconds}s,"
        f" {options.workers} server workers ({_machine()})"
    )
    print("".ljust(label_width) + "".join(COLUMNS[name].ljust(cell) for name in names) + "target")
    for label, row in rows.items():
        values = "".join(row.get(name, "-").ljust(cell) for name in names)
        target = next((text for prefix, text in TARGETS.items() if label.startswith(prefix)), "")
        print(label.ljust(label_width) + values + target)
    print(loading_note(loading, options))
    print(
        f"bodies: {options.singles} single queries, {options.batches} batches of"
        f" {options.batch_size:,}, half hits; answers checked before measuring."
        f" % of bare: the median of {PAIRED_ROUNDS} alternated pairs of {PAIRED_SECONDS} s runs."
        f" Load average before: {busy:.2f}. HTTP part: {wall:.0f} s wall"
    )
    sys.stdout.flush()


# --- standalone --------------------------------------------------------------------------


def prepare_data(records: int, work: Path) -> Path:
    """WORK/data-N with N generated SLTD records, built unless it exists (as the engine
    bench builds it: the same upload file and seed, loaded as FRA)."""
    from loaders.generate import generate
    from loaders.load import load
    from loaders.readers import Upload

    work.mkdir(parents=True, exist_ok=True)
    data = work / f"data-{records}"
    if (data / "SLTD" / "MANIFEST").exists():
        return data
    upload = work / f"sltd-{records}.csv"
    if not upload.exists():
        generate("SLTD", records, upload, seed=1)
    shutil.rmtree(data, ignore_errors=True)
    result = load(data, "SLTD", "FRA", [Upload.of(str(upload))])
    print(result.summary(), file=sys.stderr)
    return data


def _options(args: argparse.Namespace) -> HttpOptions:
    options = QUICK if args.quick else HttpOptions()
    if args.seconds is not None:
        options = replace(options, seconds=args.seconds)
    if args.warmup is not None:
        options = replace(options, warmup=args.warmup)
    if args.connections is not None:
        counts = tuple(int(count) for count in args.connections.split(","))
        options = replace(options, connections=counts)
    return replace(options, load_records=args.load_records)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path(".bench"))
    parser.add_argument("--data", type=Path, help="a loaded data directory (default WORK/data-N)")
    parser.add_argument("--seconds", type=int, help="each wrk run (default 10, --quick 3)")
    parser.add_argument("--warmup", type=int, help="unmeasured run per server (default 2)")
    parser.add_argument("--connections", help="comma-separated, default 4,32")
    parser.add_argument("--load-records", type=int, default=100_000, help="0: no loading row")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args(argv)
    data = args.data or prepare_data(args.records, args.work)
    return run_http(data, args.work, args.records, _options(args))


if __name__ == "__main__":
    sys.exit(main())

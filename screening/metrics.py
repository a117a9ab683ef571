"""The service's Prometheus metrics, right with N worker processes (`GET /metrics` serves
them: metrics_view.py).

What is measured (screening/SERVING.md lists it for operators):

- `screening_requests_total{route, code}`: requests answered, by route template and status.
- `screening_request_duration_seconds{route}`: a histogram, 100 us .. 1 s.
- `screening_hits_total{db}`: results with `hit: true`, from `/v1/screen` and
  `/v1/screen/mrz` (counted where the results are made: `count_hits`).
- `screening_records{db, pid}` and `screening_generation{db, pid}`: the live records and
  the generation each worker serves (0: nothing), set when its data changes.
- `process_*{pid}`: memory, CPU, file descriptors and start time of every live worker.

Multiprocess: the supervisor gives the workers a private directory in
PROMETHEUS_MULTIPROC_DIR (it must be set before prometheus_client is imported, which
`spawn` ensures); each worker writes its values there and the one that answers a scrape
adds them all up (`MultiProcessCollector`), so counters and histograms are fleet totals.
The two gauges are `liveall`: one series per live worker (a `pid` label), so a worker
left on an old generation shows; the supervisor removes a dead worker's gauges
(`mark_process_dead`). Without the variable (tests, in process) the usual single-process
registry is used, with prometheus_client's own process and platform metrics.
"""

from __future__ import annotations

import os
import re
import threading
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from loaders.catalog import DATABASES

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
"""Seconds: 100 us .. 1 s (a single lookup takes tens of microseconds)."""
UNMATCHED = "unmatched"
"""The `route` label of a request no route matched (404s): paths are never labels."""

REQUESTS = Counter(
    "screening_requests", "Requests answered, by route and status code.", ["route", "code"]
)
LATENCY = Histogram(
    "screening_request_duration_seconds",
    "Time to answer a request, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
HITS = Counter("screening_hits", "Screening results with hit: true, by database.", ["db"])
RECORDS = Gauge(
    "screening_records",
    "Live records in the generation served, by database (0: nothing served).",
    ["db"],
    multiprocess_mode="liveall",
)
GENERATION = Gauge(
    "screening_generation",
    "Generation served, by database (0: nothing served).",
    ["db"],
    multiprocess_mode="liveall",
)
FROZEN_OBJECTS = Gauge(
    "screening_heap_frozen_objects",
    "Objects a worker keeps out of full garbage collections (screening/heap.py): grows "
    "with its caches, then stays; steady growth would be garbage it cannot free.",
    multiprocess_mode="liveall",
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR) or None


def route_of(request: web.Request) -> str:
    """The route template (`/v1/screen`), or UNMATCHED: never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


class Pending:
    """This worker's counts since the last flush, in plain Python.

    In multiprocess mode every prometheus_client increment is a locked write to a mapped
    file: per request (a counter, a histogram bucket, its sum, its count) that cost ~40 us,
    a quarter of a single query's budget. Requests add to these tallies instead, and
    `flush` hands them over in bulk every poll interval and before every scrape.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # hits also come from the batch executor's thread
        self._reset()

    def _reset(self) -> None:
        self.requests: Tally[tuple[str, str]] = Tally()
        self.buckets: dict[str, list[int]] = {}
        self.seconds: dict[str, float] = {}
        self.hits: dict[str, int] = {}

    def add_hits(self, dbs: Iterable[str]) -> None:
        """One hit for each database code in `dbs` (a plain dict: Counter.update costs
        an ABC check and a Python loop, ~5 us a hit)."""
        with self._lock:
            hits = self.hits
            for db in dbs:
                hits[db] = hits.get(db, 0) + 1

    def request(self, route: str, code: int, seconds: float) -> None:
        self.requests[(route, str(code))] += 1
        counts = self.buckets.get(route)
        if counts is None:
            counts = self.buckets[route] = [0] * (len(LATENCY_BUCKETS) + 1)
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # observe(): first bound >= value
        self.seconds[route] = self.seconds.get(route, 0.0) + seconds

    def flush(self) -> None:
        with self._lock:
            requests, buckets, seconds, hits = self.requests, self.buckets, self.seconds, self.hits
            self._reset()
        for (route, code), count in requests.items():
            REQUESTS.labels(route, code).inc(count)
        for route, counts in buckets.items():
            _observe_many(LATENCY.labels(route), counts, seconds[route])
        for db, count in hits.items():
            HITS.labels(db).inc(count)


def _observe_many(child: Histogram, counts: list[int], total: float) -> None:
    """`observe` for many values at once: prometheus_client keeps one non-cumulative
    value per bucket (`_buckets`, the last for +Inf) and their `_sum`."""
    for bucket, count in zip(child._buckets, counts, strict=True):
        if count:
            bucket.inc(count)
    child._sum.inc(total)


PENDING = Pending()


def flush() -> None:
    PENDING.flush()


def count_hits(results: Iterable[Mapping[str, Any]]) -> None:
    """Count the hits of screening results (one pass; a hit has its database in
    `db`, or, in a /v1/screen result, in its matches)."""
    dbs = [
        result.get("db") or result["matches"][0]["db"]
        for result in results
        if result.get("hit") is True
    ]
    if dbs:
        PENDING.add_hits(dbs)


def observe_data(snapshots: Mapping[str, Any]) -> None:
    """Set this worker's record and generation gauges from what it now serves."""
    for code in DATABASES:
        snapshot = snapshots.get(code)
        RECORDS.labels(code).set(snapshot.manifest.records if snapshot else 0)
        GENERATION.labels(code).set(snapshot.generation if snapshot else 0)


class WorkerProcesses(Collector):
    """`process_*{pid}` of each live worker, read from /proc by whichever one is scraped.

    The live workers are those with a `liveall` gauge file in `directory`."""

    FILE = re.compile(r"gauge_liveall_(\d+)\.db")

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def pids(self) -> list[int]:
        found = (self.FILE.fullmatch(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for pid in self.pids():
            for family in ProcessCollector(pid=_constant(pid), registry=None).collect():
                labelled = [
                    sample._replace(labels={**sample.labels, "pid": str(pid)})
                    for sample in family.samples
                ]
                merged = families.setdefault(family.name, family)
                if merged is family:
                    family.samples = labelled
                else:
                    merged.samples.extend(labelled)
        yield from families.values()


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def exposition() -> bytes:
    """The text format: every worker's values added up, or this process's alone."""
    flush()
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    registry.register(WorkerProcesses(directory))
    return generate_latest(registry)


def worker_gone(pid: int, directory: str | None) -> None:
    """The supervisor's bookkeeping when a worker dies: drop its live gauges."""
    if directory is not None:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]

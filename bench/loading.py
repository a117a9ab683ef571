"""`p99 while loading`: single queries at 4 connections while an NCB upload lands.

A `screening load` of generated SLTD records runs into the directory being served, as an
NCB's batch upload would, while wrk sends single queries. The server should not notice:
the load is another process, and each worker maps the new generation on a thread and
swaps it in between requests.

wrk reports percentiles for a whole run and cannot merge runs, so the load is covered by
a series of short runs (slices, 1 s by default): BASELINE_SLICES before the load, then
back to back until one has run entirely after the load ended (that one covers the
workers' swap, within `--poll-interval` of the publish). The figure reported is the worst
slice's p99, beside the worst of the slices before: the worst of a few 1 s runs is
noisier than one 10 s run, so it is compared with the same statistic. /v1/databases must
then show the records: the load landed.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.http_bodies import DB, BodySet
from bench.servers import Running, get
from bench.wrk import Slice, WrkSettings, run_slice, worst_slice_p99_us
from loaders.generate import generate

LOAD_TIMEOUT = 600.0
"""Seconds after which a load that has not finished is stopped (by its PID) and reported."""
LANDED_TIMEOUT = 10.0
"""Seconds after the last slice that the count may still take to grow."""
LANDING_POLL = 0.05
BASELINE_SLICES = 3


class LoadingError(RuntimeError):
    """The load failed or never finished."""


@dataclass(frozen=True)
class LoadingResult:
    baseline: list[Slice]
    during: list[Slice]
    load_seconds: float
    accepted: int
    records_before: int
    records_after: int
    landed_s: float | None
    """Seconds from the load's start until /v1/databases counted the new records (the load
    process exits a little after its publish); None if it never did."""
    load_started: float
    """When the load began (time.monotonic), for placing each slice against it."""

    @property
    def worst_p99_us(self) -> float:
        return worst_slice_p99_us(self.during)

    @property
    def baseline_p99_us(self) -> float:
        return worst_slice_p99_us(self.baseline)

    def timeline(self) -> str:
        """Each slice's start from the load's start, and its p99: where the worst one fell
        (the load's first instants, its landing, or neither)."""
        return ", ".join(
            f"{piece.started - self.load_started:+.1f} s {piece.result.p99_us / 1e3:.2f}"
            for piece in self.during
        )

    @property
    def requests_per_second(self) -> float:
        requests = sum(piece.result.requests for piece in self.during)
        seconds = sum(piece.result.seconds for piece in self.during)
        return requests / seconds if seconds else 0.0


class LoadProcess:
    """`screening load` in a child; a thread stamps the moment it exits."""

    def __init__(self, data_dir: Path, upload: Path, owner: str, log: Path) -> None:
        command = [sys.executable, "-m", "screening", "load", "--data", str(data_dir),
                   "--db", DB, "--owner", owner, str(upload)]  # fmt: skip
        self.log = log
        with open(log, "wb") as out:
            self.started = time.monotonic()
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.ended: float | None = None
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.process.wait()
        self.ended = time.monotonic()

    def stop(self) -> None:
        """Stop the load by its PID if it is still running (it overran, or we failed)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def accepted(self) -> int:
        """The accepted count `screening load` printed; exit 0 or 3 (some rejects) is fine."""
        output = self.log.read_text(errors="replace")
        if self.process.returncode not in (0, 3):
            raise LoadingError(f"screening load exited {self.process.returncode}: {output}")
        match = re.search(r"([\d,]+) accepted", output)
        if match is None:
            raise LoadingError(f"screening load printed no accepted count: {output}")
        return int(match.group(1).replace(",", ""))


def records_served(server: Running, key: str) -> int:
    """SLTD's `records` in /v1/databases, as the key's country sees them."""
    status, body = get(server.port, "/v1/databases", {"Authorization": f"Bearer {key}"})
    if status != 200:
        raise LoadingError(f"/v1/databases answered {status}: {body[:200]!r}")
    entries = orjson.loads(body)["databases"]
    return int(next(entry["records"] for entry in entries if entry["code"] == DB))


def measure_while_loading(
    server: Running,
    key: str,
    bodies: BodySet,
    data_dir: Path,
    folder: Path,
    records: int,
    owner: str,
    settings: WrkSettings,
) -> LoadingResult:
    """Slices before, then slices until the load is over and swapped in; see the module.

    `owner` is the NCB the upload is made as: the key's own country, so every accepted
    record is one the key may see and the count must grow by exactly the accepted rows.
    """
    upload = folder / f"load-{records}.csv"
    generate(DB, records, upload, seed=11)  # before the clock: not part of the load
    url = f"{server.base_url}/v1/screen"
    headers = {"Content-Type": bodies.content_type, "Authorization": f"Bearer {key}"}
    before = records_served(server, key)

    def one_slice() -> Slice:
        return run_slice(url, bodies.listing, headers, settings)

    baseline = [one_slice() for _ in range(BASELINE_SLICES)]
    load = LoadProcess(data_dir, upload, owner, folder / "load.log")
    watch = LandingWatch(server, key, before)
    try:
        during = _slices_through(load, one_slice)
        accepted = load.accepted()
        watch.wait(LANDED_TIMEOUT)
    finally:
        load.stop()  # only if a wrk run failed while it ran: a finished load has no PID
        watch.wait(0)
    landed = None if watch.landed is None else watch.landed - load.started
    assert load.ended is not None
    return LoadingResult(
        baseline,
        during,
        load.ended - load.started,
        accepted,
        before,
        watch.count,
        landed,
        load.started,
    )


def _slices_through(load: LoadProcess, one_slice: Callable[[], Slice]) -> list[Slice]:
    """Slices back to back until one started after the load ended (LOAD_TIMEOUT at most)."""
    during: list[Slice] = []
    while True:
        during.append(one_slice())
        if load.ended is not None and during[-1].started > load.ended:
            return during
        if time.monotonic() - load.started > LOAD_TIMEOUT:
            raise LoadingError(f"screening load still running after {LOAD_TIMEOUT:.0f} s")


class LandingWatch:
    """Polls /v1/databases on a thread (every LANDING_POLL s, a few requests among
    thousands) and stamps the moment the count first grows: the load is served."""

    def __init__(self, server: Running, key: str, before: int) -> None:
        self.server, self.key, self.before = server, key, before
        self.count = before
        self.landed: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            # A failed poll is tried again; one that never answers reports 'not landed'.
            with contextlib.suppress(OSError, LoadingError):
                self.count = records_served(self.server, self.key)
            if self.count > self.before:
                self.landed = time.monotonic()
                return
            self._stop.wait(LANDING_POLL)

    def wait(self, timeout: float) -> None:
        """Until the count grew or `timeout` passed; then stop polling."""
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join()

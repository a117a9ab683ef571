"""What sends the soak's requests at a steady rate: wrk paced by Lua, or a Python client.

Both run one slice at a time (a wrk run, or one client session, of `seconds`) and hand
back the same `Slice` of bench/wrk.py, so the soak's table does not care which ran.

- `PacedWrk` (the default when wrk is installed): wrk with bench/soak_paced.lua, whose
  delay() keeps each wrk thread on a fixed schedule. wrk costs little CPU, which matters
  on 2 cores shared with the server. It is paced per connection, though: a request whose
  slot came while its connection still waited for an answer goes late, and wrk counts
  its latency from when it went, not from its slot, so a stall is under-counted in the
  percentiles (the table also shows each slice's real rate and max latency for that).
- `PythonDriver` (when wrk is missing, so that `make test` needs no apt): an open-loop
  asyncio + aiohttp client. Request i is due at start + i / rate whatever happened to
  the ones before, and its latency counts from that moment: a stall shows in full. It
  spends more CPU per request than wrk, which is why it is not the default.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp

from bench.soak_mix import Mix, MixRequest
from bench.wrk import Slice, WrkResult, WrkSettings, run_slice

PACED_SCRIPT = "soak_paced.lua"
REQUEST_TIMEOUT = 10.0
"""Seconds before a request counts as a socket error (wrk's --timeout in the bench)."""
PERCENTILES = (50, 75, 90, 99)


class Driver(Protocol):
    name: str

    def run(self, seconds: int) -> Slice:
        """Send the mix at the driver's rate for `seconds`, then report."""
        ...


@dataclass(frozen=True)
class Pace:
    """The load the soak offers: `rate` requests per second over `connections`."""

    rate: float
    connections: int
    threads: int = 2


class PacedWrk:
    """wrk with bench/soak_paced.lua: `threads` schedules of rate / threads each."""

    name = "wrk, paced by Lua delay()"

    def __init__(self, base_url: str, mix: Mix, key: str, pace: Pace) -> None:
        self.url = base_url + "/"
        self.mix = mix
        self.headers = {"Authorization": f"Bearer {key}"}
        self.threads = min(pace.threads, pace.connections)
        self.connections = pace.connections
        self.spacing_us = self.threads * 1e6 / pace.rate

    def run(self, seconds: int) -> Slice:
        settings = WrkSettings(self.threads, self.connections, seconds)
        script = Path(__file__).with_name(PACED_SCRIPT)
        spacing = [f"{self.spacing_us:.1f}"]
        return run_slice(self.url, self.mix.listing, self.headers, settings, script, spacing)


class PythonDriver:
    """Open-loop: request i is due at start + i / rate, its latency counts from then."""

    name = "Python (asyncio + aiohttp), open loop"

    def __init__(self, base_url: str, mix: Mix, key: str, pace: Pace) -> None:
        self.base_url = base_url
        self.requests = mix.requests()
        self.key = key
        self.pace = pace

    def run(self, seconds: int) -> Slice:
        started = time.monotonic()
        result = asyncio.run(self._slice(seconds))
        return Slice(started, time.monotonic(), result)

    async def _slice(self, seconds: int) -> WrkResult:
        connector = aiohttp.TCPConnector(limit=self.pace.connections)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(
            self.base_url, connector=connector, timeout=timeout
        ) as session:
            loop = asyncio.get_running_loop()
            start = loop.time()
            sent = [
                asyncio.create_task(self._send(session, request, due))
                async for request, due in self._schedule(start, seconds)
            ]
            outcomes = await asyncio.gather(*sent)
            return summarise(outcomes, loop.time() - start)

    async def _schedule(
        self, start: float, seconds: int
    ) -> AsyncIterator[tuple[MixRequest, float]]:
        """(request, due time) pairs, each yielded when it is due."""
        loop = asyncio.get_running_loop()
        count = math.floor(seconds * self.pace.rate)
        for number in range(count):
            due = start + number / self.pace.rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            yield self.requests[number % len(self.requests)], due

    async def _send(
        self, session: aiohttp.ClientSession, request: MixRequest, due: float
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        headers = {"Content-Type": request.content_type, "Authorization": f"Bearer {self.key}"}
        try:
            async with session.post(request.route, data=request.body, headers=headers) as reply:
                body = await reply.read()
                status = reply.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return Outcome(0, (loop.time() - due) * 1e6, 0)
        return Outcome(status, (loop.time() - due) * 1e6, len(body))


@dataclass(frozen=True)
class Outcome:
    status: int
    """0: no answer (connection refused, reset, timed out)."""
    latency_us: float
    bytes_read: int


def summarise(outcomes: Sequence[Outcome], seconds: float) -> WrkResult:
    """The Python driver's slice in wrk's terms (wrk also counts non-2xx in its latencies)."""
    answered = sorted(outcome.latency_us for outcome in outcomes if outcome.status)
    percentiles = {percent: _percentile(answered, percent) for percent in PERCENTILES}
    return WrkResult(
        requests=len(outcomes),
        seconds=seconds,
        requests_per_second=len(outcomes) / seconds if seconds else 0.0,
        p50_us=percentiles[50],
        p75_us=percentiles[75],
        p90_us=percentiles[90],
        p99_us=percentiles[99],
        bytes_read=sum(outcome.bytes_read for outcome in outcomes),
        non_2xx=sum(1 for outcome in outcomes if outcome.status and outcome.status // 100 != 2),
        socket_errors=sum(1 for outcome in outcomes if not outcome.status),
        max_us=answered[-1] if answered else 0.0,
    )


def _percentile(ordered: Sequence[float], percent: int) -> float:
    """Nearest rank, as wrk's histogram reports it; 0 when nothing was answered."""
    if not ordered:
        return 0.0
    rank = math.ceil(percent / 100 * len(ordered))
    return ordered[max(0, rank - 1)]


DRIVERS = ("auto", "wrk", "python")


def make_driver(name: str, base_url: str, mix: Mix, key: str, pace: Pace) -> Driver:
    """`auto`: wrk when it is installed, else the Python driver."""
    if name not in DRIVERS:
        raise ValueError(f"driver: {name!r} is not one of {', '.join(DRIVERS)}")
    if name == "wrk" or (name == "auto" and shutil.which("wrk")):
        return PacedWrk(base_url, mix, key, pace)
    return PythonDriver(base_url, mix, key, pace)

"""The ceiling of the HTTP bench: the least a Python service can do per request.

aiohttp on uvloop, 2 worker processes sharing the port with SO_REUSEPORT (as
`screening serve` does), the same request (POST /v1/screen, JSON `{"queries": [...]}`,
a Bearer header) and the same answer shape; but behind it only a dict of the stored
numbers, no key check beyond the header's presence, no normalisation, no record. Our
single-query requests/s is judged against this, not against nginx: the gap between this
and nginx is aiohttp and Python, which no work of ours can remove.

    python -m bench.bare_app --port P --numbers FILE [--workers 2]

FILE holds one stored number per line (bench/http_bodies.py writes it). The dict is
built before the workers fork, so they start at once and share its pages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import uvloop
from aiohttp import web

TABLE = web.AppKey("table", dict[str, str])
ORPHAN_CHECK = 1.0
"""Seconds between a worker's checks that its parent is alive (a killed bench leaks none)."""


def read_table(path: Path) -> dict[str, str]:
    """number -> the `id` a hit answers with."""
    numbers = path.read_text().split()
    return {number: f"SLTD/{number}" for number in numbers}


async def screen(request: web.Request) -> web.Response:
    """Look each query's number up in the dict; answer like /v1/screen."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return web.json_response({"error": {"code": "unauthorized"}}, status=401)
    table = request.app[TABLE]
    body = orjson.loads(await request.read())
    results = []
    for query in body["queries"]:
        found = table.get(query["number"])
        if found is None:
            results.append({"hit": False, "matches": []})
        else:
            match = {"db": "SLTD", "id": found, "match": "exact", "score": 1.0}
            results.append({"hit": True, "matches": [match]})
    payload = orjson.dumps({"results": results, "took_us": 0})
    return web.Response(body=payload, content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    """The worker's pid, so the bench can wait until every worker listens."""
    return web.json_response({"status": "ok", "pid": os.getpid()})


def make_app(table: dict[str, str]) -> web.Application:
    app = web.Application()
    app[TABLE] = table
    app.router.add_post("/v1/screen", screen)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(table: dict[str, str], host: str, port: int) -> None:
    """Listen (reuse_port) until SIGTERM/SIGINT or until the parent is gone."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(table), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=True, backlog=1024)
    await site.start()
    parent = os.getppid()
    while not stop.is_set() and os.getppid() == parent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), ORPHAN_CHECK)
    await runner.cleanup()


def worker(table: dict[str, str], host: str, port: int) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(table, host, port))


def run(table: dict[str, str], host: str, port: int, workers: int) -> int:
    """Fork the workers, then wait for SIGTERM/SIGINT (or a dead worker or parent)."""
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=worker, args=(table, host, port)) for _ in range(workers)]
    for process in processes:
        process.start()
    parent = os.getppid()
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # after the fork: workers keep theirs
    stopped = False
    while all(process.is_alive() for process in processes) and os.getppid() == parent:
        if signal.sigtimedwait(stop_signals, ORPHAN_CHECK) is not None:
            stopped = True
            break
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(10)
    return 0 if stopped else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--numbers", type=Path, required=True, help="one number per line")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    return run(read_table(args.numbers), args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())

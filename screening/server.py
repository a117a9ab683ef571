"""`screening serve`: a supervisor process and N workers sharing one port.

The supervisor checks the settings, reserves the port, starts the workers and restarts
any that dies (logging how it died, backing off if it keeps dying young). It holds no
data and answers nothing. On SIGTERM or SIGINT it tells every worker to stop, waits for
them, and exits 0.

Each worker is a fresh interpreter (multiprocessing's `spawn`: no state inherited from
the supervisor) running aiohttp on uvloop. It maps the data directory before it listens,
so a new or restarted worker never answers 503 to traffic, then binds the port with
SO_REUSEPORT: the kernel spreads connections over the workers, and all of them map the
same files, so the page cache holds one copy. The workers write their metrics to a
private directory the supervisor makes (PROMETHEUS_MULTIPROC_DIR) and removes at exit.
On SIGTERM a worker stops accepting, lets the requests in flight finish (up to
`--shutdown-timeout`) and exits 0.

With `--rate`, the supervisor also makes the token-bucket table the workers share
(rate_limit.py) in that directory; with `--tls-cert`/`--tls-key` it checks the files once
and each worker serves HTTPS with its own context (tls.py). Idle and slow connections
are closed after `--request-timeout` (slow_clients.py).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path

import uvloop
from aiohttp import web

from screening import heap, matchers
from screening.app import make_app
from screening.demo import instructions, prepare_demo
from screening.keys import read_keys
from screening.metrics import MULTIPROC_DIR, worker_gone
from screening.metrics import flush as flush_metrics
from screening.rate_limit import BucketTable, RateLimiter, create_table
from screening.settings import ServeError, Settings
from screening.state import make_service
from screening.tls import tls_context

log = logging.getLogger("screening.server")

EXIT_CANNOT_START = 78
"""A worker's exit status when it cannot map the data or bind the port: the supervisor
stops instead of restarting it forever (EX_CONFIG)."""
YOUNG = 5.0
"""Seconds: a worker that dies younger than this is restarted after a growing delay."""
MAX_RESTART_DELAY = 10.0
ORPHAN_CHECK = 1.0
"""Seconds between a worker's checks that its supervisor is alive."""
RATE_TABLE = "rate-limits.table"
"""The shared token buckets' file, in the supervisor's private directory."""
LOG_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s"


def configure_logging() -> None:
    """INFO and up to stderr, one line each, unless the process configured logging itself."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)


def serve(settings: Settings) -> int:
    """Supervise the workers until SIGTERM or SIGINT; returns the exit status (0).

    With `--demo`, first builds (once) the demo data set and prints its keys and a curl line.
    """
    configure_logging()
    demo = prepare_demo(settings.data_dir, settings.demo_records) if settings.demo else None
    if not settings.data_dir.is_dir():
        raise ServeError(f"{settings.data_dir}: no such data directory")
    read_keys(settings.keys_file)  # a broken key file is an error now, not 401s later
    tls_context(settings)  # and so are TLS files that cannot serve, not a worker crash loop
    reservation = reserve_port(settings.host, settings.port)
    try:
        settings = replace(settings, port=reservation.getsockname()[1])
        if demo is not None:
            print(instructions(demo, settings.host, settings.port, settings.scheme), flush=True)
        log.info(
            "serving %s on %s://%s:%d with %d worker(s); keys from %s",
            settings.data_dir,
            settings.scheme,
            settings.host,
            settings.port,
            settings.workers,
            settings.keys_file,
        )
        return Supervisor(settings).run()
    finally:
        reservation.close()


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (not listen) a SO_REUSEPORT socket: it fails now if another program holds the
    port, keeps the port ours while workers restart, and picks one for `--port 0`."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


@dataclass
class Slot:
    """One worker position: its current process and how its previous ones died."""

    index: int
    process: BaseProcess | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.slots = [Slot(index) for index in range(settings.workers)]
        self.stopping = False
        self.metrics_dir: str | None = None
        self.rate_table: Path | None = None

    def run(self) -> int:
        """Serve with a private metrics directory and rate table, removed at exit."""
        previous = os.environ.get(MULTIPROC_DIR)
        self.metrics_dir = tempfile.mkdtemp(prefix="screening-metrics-")
        os.environ[MULTIPROC_DIR] = self.metrics_dir  # the spawned workers inherit it
        if self.settings.rate > 0:
            self.rate_table = Path(self.metrics_dir) / RATE_TABLE
            create_table(self.rate_table)
        try:
            return self._run()
        finally:
            if previous is None:
                os.environ.pop(MULTIPROC_DIR, None)
            else:
                os.environ[MULTIPROC_DIR] = previous
            shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _run(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous = signal.set_wakeup_fd(wake_write)
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            for slot in self.slots:
                self._start(slot)
            status = self._supervise(wake_read)
        finally:
            self._stop_all()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous)
            os.close(wake_read)
            os.close(wake_write)
        log.info("stopped")
        return status

    def _on_signal(self, number: int, frame: object) -> None:
        if not self.stopping:
            log.info("%s: stopping the workers", signal.Signals(number).name)
        self.stopping = True

    def _start(self, slot: Slot) -> None:
        process = self.context.Process(
            target=worker_main,
            args=(self.settings, slot.index, self.rate_table),
            name=f"worker-{slot.index}",
        )
        process.start()
        slot.process, slot.started, slot.restart_at = process, time.monotonic(), None

    def _supervise(self, wake: int) -> int:
        while not self.stopping:
            running = [slot.process.sentinel for slot in self.slots if slot.process]
            wait([*running, wake], timeout=self._next_timeout())
            _drain(wake)
            for slot in self.slots:
                if slot.process is not None and not slot.process.is_alive() and self._buried(slot):
                    return 1
                if slot.restart_at is not None and time.monotonic() >= slot.restart_at:
                    self._start(slot)
        return 0

    def _next_timeout(self) -> float:
        due = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        return max(0.0, min(due) - time.monotonic()) if due else 1.0

    def _buried(self, slot: Slot) -> bool:
        """Record a worker's death and schedule its restart; True if it cannot start."""
        assert slot.process is not None
        process, slot.process = slot.process, None
        process.join()
        if process.pid is not None:
            worker_gone(process.pid, self.metrics_dir)
        if self.stopping:
            return False
        code = process.exitcode
        if code == EXIT_CANNOT_START:
            log.error(
                "worker %d (pid %s) cannot start (see above): stopping", slot.index, process.pid
            )
            return True
        how = (
            f"exited with status {code}"
            if code is not None and code >= 0
            else f"was killed by {signal.Signals(-(code or 0)).name}"
        )
        young = time.monotonic() - slot.started < YOUNG
        slot.failures = slot.failures + 1 if young else 0
        delay = min(MAX_RESTART_DELAY, 0.1 * 2**slot.failures) if young else 0.0
        log.error(
            "worker %d (pid %s) %s; restarting it in %.1f s", slot.index, process.pid, how, delay
        )
        slot.restart_at = time.monotonic() + delay
        return False

    def _stop_all(self) -> None:
        alive = [slot.process for slot in self.slots if slot.process and slot.process.is_alive()]
        for process in alive:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_timeout + 5
        for process in alive:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker pid %s did not stop in time: killing it", process.pid)
                process.kill()
                process.join()


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _drain(descriptor: int) -> None:
    try:
        while os.read(descriptor, 512):
            pass
    except BlockingIOError:
        pass


def worker_main(settings: Settings, index: int, rate_table: Path | None = None) -> None:
    """The body of a worker process."""
    configure_logging()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        status = runner.run(run_worker(settings, index, rate_table))
    sys.exit(status)


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """A worker whose supervisor died (SIGKILL) stops too, instead of holding the port."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(ORPHAN_CHECK)
    log.error("the supervisor (pid %d) is gone: stopping", parent)
    stop.set()


async def run_worker(settings: Settings, index: int, rate_table: Path | None = None) -> int:
    """Map, listen, serve until SIGTERM/SIGINT, drain; returns the exit status.

    `rate_table` is the supervisor's bucket table, shared by the workers (rate_limit.py).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        service = make_service(settings, index)
        if rate_table is not None:
            service.limiter = RateLimiter(settings.rate, table=BucketTable(rate_table))
        await service.live.refresh()
        ssl_context = tls_context(settings)
    except OSError as error:
        log.error("worker %d: cannot map %s: %s", index, settings.data_dir, error)
        return EXIT_CANNOT_START
    except ServeError as error:
        log.error("worker %d: %s", index, error)
        return EXIT_CANNOT_START
    runner = web.AppRunner(
        make_app(service),
        access_log=None,
        shutdown_timeout=settings.shutdown_timeout,
        keepalive_timeout=settings.request_timeout,  # slow_clients.py: the header deadline
        lingering_time=settings.request_timeout,
    )
    await runner.setup()
    for name, why in matchers.load_all().items():  # imported now, not by a query on the loop
        log.error("worker %d: the %s matcher cannot be imported: %s", index, name, why)
    frozen = heap.settle()  # before it listens: the first requests wait for no full pass
    site = web.TCPSite(
        runner,
        settings.host,
        settings.port,
        reuse_port=True,
        backlog=1024,
        ssl_context=ssl_context,
    )
    try:
        await site.start()
    except OSError as error:
        log.error(
            "worker %d: cannot listen on %s:%d: %s",
            index,
            settings.host,
            settings.port,
            error.strerror,
        )
        await runner.cleanup()
        return EXIT_CANNOT_START
    watcher = asyncio.create_task(service.live.watch(settings.poll_interval))
    orphan = asyncio.create_task(_stop_when_orphaned(stop))
    settling = asyncio.create_task(heap.keep_settled())
    log.info("worker %d listening (%d start-up objects frozen)", index, frozen)
    await stop.wait()
    orphan.cancel()
    settling.cancel()
    service.stopping = True
    log.info("worker %d stopping: %d request(s) in flight", index, service.in_flight)
    watcher.cancel()
    await runner.cleanup()
    service.live.close()
    flush_metrics()  # the last requests' counts, before this worker's files are left
    log.info("worker %d stopped", index)
    return 0

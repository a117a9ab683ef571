"""Running the service in tests: in process (`LocalClient`) or as real processes
(`ServerProcess`). Both answer `Reply`s, decoded from JSON or msgpack.

`LocalClient` drives an aiohttp test server on its own event loop from synchronous code,
so hypothesis can throw thousands of bodies at the real application quickly.
`ServerProcess` runs `python -m screening.cli serve ...` and talks to it over fresh
connections (`Connection: close`), so the kernel spreads requests over the workers.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgpack
import orjson
import uvloop
from aiohttp.test_utils import TestClient, TestServer

from screening.app import make_app
from screening.codec import MSGPACK_TYPE
from screening.settings import Settings
from screening.state import Service, make_service


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    raw: bytes
    body: Any = field(default=None)

    @property
    def error(self) -> dict[str, Any]:
        """The `error` object of an error reply."""
        assert isinstance(self.body, dict) and "error" in self.body, self
        error: dict[str, Any] = self.body["error"]
        return error


def decode_reply(status: int, headers: Mapping[str, str], raw: bytes) -> Reply:
    kind = headers.get("Content-Type", "")
    body: Any = None
    if raw and kind.startswith(MSGPACK_TYPE):
        body = msgpack.unpackb(raw, raw=False)
    elif raw and kind.startswith("application/json"):
        body = orjson.loads(raw)
    return Reply(status, headers, raw, body)


def request_parts(
    key: str | None,
    json: object,
    packed: object,
    data: bytes | None,
    headers: Mapping[str, str] | None,
) -> tuple[bytes | None, dict[str, str]]:
    """The body and headers of a request: `json=`, `packed=` (msgpack) or raw `data=`."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    body = data
    if json is not None:
        body = orjson.dumps(json)
        sent.setdefault("Content-Type", "application/json")
    if packed is not None:
        body = msgpack.packb(packed, use_bin_type=True)
        sent.setdefault("Content-Type", MSGPACK_TYPE)
    return body, sent


class LocalClient:
    """The application of `settings`, served in this process on a private event loop."""

    def __init__(self, settings: Settings) -> None:
        self.loop = uvloop.new_event_loop()
        self.service: Service = make_service(settings)
        self.loop.run_until_complete(self.service.live.refresh())
        self.client: TestClient[Any, Any] = self.loop.run_until_complete(self._start())

    async def _start(self) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(TestServer(make_app(self.service)))
        await client.start_server()
        return client

    def refresh(self) -> None:
        """What the worker's watcher does every poll interval."""
        self.loop.run_until_complete(self.service.live.refresh())

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: object = None,
        packed: object = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        chunked: bool = False,
    ) -> Reply:
        """One request; `chunked` sends the body without a Content-Length."""
        body, sent = request_parts(key, json, packed, data, headers)
        return self.loop.run_until_complete(self._request(method, path, body, sent, chunked))

    async def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], chunked: bool
    ) -> Reply:
        payload: object = _chunks(body) if chunked and body is not None else body
        async with self.client.request(method, path, data=payload, headers=headers) as response:
            raw = await response.read()
            return decode_reply(response.status, response.headers, raw)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.service.live.close()
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


async def _chunks(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


MakeClient = Callable[..., LocalClient]
"""The `make_client(**settings)` fixture's type."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """`screening serve ARGS` on a free loopback port; stdout and stderr go to files."""

    def __init__(self, args: Sequence[str], logs: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = logs / "stdout.txt", logs / "stderr.txt"
        self._out: IO[bytes] = open(self.out_path, "ab")  # noqa: SIM115 (closed in stop)
        self._err: IO[bytes] = open(self.err_path, "ab")  # noqa: SIM115
        command = [sys.executable, "-m", "screening.cli", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), *args], stdout=self._out, stderr=self._err
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: object = None,
        packed: object = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """One request on a fresh connection (`Connection: close`)."""
        body, sent = request_parts(key, json, packed, data, headers)
        sent["Connection"] = "close"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            return decode_reply(response.status, dict(response.getheaders()), raw)
        finally:
            connection.close()

    def wait_until(
        self, done: Callable[[], bool], timeout: float = 30.0, what: str = "the server"
    ) -> float:
        """Poll `done` until it is true; returns the seconds it took."""
        started = time.monotonic()
        while not done():
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log}")
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{what}: not done after {timeout} s:\n{self.log}")
            time.sleep(0.02)
        return time.monotonic() - started

    def health(self) -> Reply | None:
        try:
            return self.request("GET", "/healthz", timeout=5)
        except OSError:
            return None

    def wait_for_workers(self, workers: int, timeout: float = 30.0) -> set[int]:
        """Ask /healthz on fresh connections until `workers` distinct pids answered ok."""
        pids: set[int] = set()

        def all_seen() -> bool:
            reply = self.health()
            if reply is not None and reply.status == 200:
                pids.add(reply.body["pid"])
            return len(pids) >= workers

        self.wait_until(all_seen, timeout, f"{workers} workers answering /healthz")
        return pids

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the supervisor and wait; returns its exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._out.close()
        self._err.close()

    @property
    def log(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")


Serve = Callable[..., ServerProcess]
"""The `serve(*args)` fixture's type."""

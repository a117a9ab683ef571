"""The servers the HTTP bench measures: started as child processes, stopped by their PID.

Each is started on 127.0.0.1 and a port picked for it, and is ready only when every one
of its worker processes listens: with SO_REUSEPORT the kernel spreads new connections
over the sockets that exist when they connect, so measuring before the second worker
listens would measure one worker. Every process is stopped by the PID we started it with
(SIGTERM, then SIGKILL if it does not go), never by name.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

HOST = "127.0.0.1"
READY_TIMEOUT = 120.0
"""Seconds a server may take to listen on every worker (ours maps the data first)."""
STOP_TIMEOUT = 15.0
NGINX_TEMPLATE = "nginx.conf"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class ServerError(RuntimeError):
    """A server of the bench did not start; the message ends with its log."""


@dataclass
class Running:
    """A started server: its process, its port, the PIDs of its workers, its log."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    workers: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick; the race with others is benign
    here: a server that cannot bind fails at once, with its log)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One GET on a fresh connection (so the kernel may pick another worker each time)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path, headers={"Connection": "close", **(headers or {})})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Connection": "close", **headers})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def start(name: str, command: Sequence[str], port: int, log: Path) -> Running:
    """Start `command` with its output going to `log`."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    return Running(name, process, port, log)


def stop(server: Running) -> None:
    """SIGTERM to the PID we started, then SIGKILL to that PID if it outlives STOP_TIMEOUT."""
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _log_tail(server: Running, lines: int = 20) -> str:
    try:
        text = server.log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _check_alive(server: Running) -> None:
    if server.process.poll() is not None:
        raise ServerError(
            f"{server.name} exited with status {server.process.returncode}:\n{_log_tail(server)}"
        )


def wait_for_worker_pids(server: Running, workers: int) -> None:
    """Poll /healthz until `workers` different PIDs have answered 200 (ours and bare_app
    name their PID there)."""
    seen: set[int] = set()
    deadline = time.monotonic() + READY_TIMEOUT
    while len(seen) < workers:
        _check_alive(server)
        if time.monotonic() > deadline:
            raise ServerError(
                f"{server.name}: {len(seen)} of {workers} workers answered /healthz"
                f" within {READY_TIMEOUT:.0f} s:\n{_log_tail(server)}"
            )
        try:
            status, body = get(server.port, "/healthz")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            seen.add(int(orjson.loads(body)["pid"]))
        else:
            time.sleep(0.05)
    server.workers = sorted(seen)


def wait_for_children(server: Running, workers: int) -> None:
    """For nginx (no /healthz of its own): the port answers and `workers` children run."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        _check_alive(server)
        children = children_of(server.process.pid)
        try:
            status, _ = get(server.port, "/healthz")
        except OSError:
            status = 0
        if status == 200 and len(children) >= workers:
            server.workers = children
            return
        if time.monotonic() > deadline:
            raise ServerError(f"{server.name} did not come up:\n{_log_tail(server)}")
        time.sleep(0.05)


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (from /proc: no psutil needed)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


# --- the three kinds of server --------------------------------------------------------------


def add_key(keys_file: Path, country: str) -> str:
    """A frontline key made by `screening keys add` into `keys_file`; returns the token."""
    command = [sys.executable, "-m", "screening.cli", "keys", "add", "--keys", str(keys_file),
               "--name", "bench", "--country", country, "--role", "frontline"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def our_server(data_dir: Path, keys_file: Path, workers: int, folder: Path) -> Iterator[Running]:
    """`screening serve --data DIR --workers N --keys FILE --port P` on 127.0.0.1."""
    port = free_port()
    command = [sys.executable, "-m", "screening.cli", "serve", "--data", str(data_dir),
               "--workers", str(workers), "--keys", str(keys_file), "--host", HOST,
               "--port", str(port), "--shutdown-timeout", "5"]  # fmt: skip
    with _workers_ready("screening serve", command, port, folder / "serve.log", workers) as ours:
        yield ours


@contextmanager
def bare_server(numbers: Path, workers: int, folder: Path) -> Iterator[Running]:
    """bench/bare_app.py: aiohttp + uvloop + a dict, `workers` processes, reuse_port."""
    port = free_port()
    command = [sys.executable, "-m", "bench.bare_app", "--host", HOST, "--port", str(port),
               "--numbers", str(numbers), "--workers", str(workers)]  # fmt: skip
    with _workers_ready("bare aiohttp", command, port, folder / "bare.log", workers) as bare:
        yield bare


@contextmanager
def _workers_ready(
    name: str, command: Sequence[str], port: int, log: Path, workers: int
) -> Iterator[Running]:
    """Start a multi-worker server, yield it once every worker answers, stop it by PID."""
    server = start(name, command, port, log)
    try:
        wait_for_worker_pids(server, workers)
        yield server
    finally:
        stop(server)


def nginx_path() -> str:
    for candidate in NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise ServerError("nginx is not installed: run `make bench-tools` (Debian nginx-light)")


def nginx_config(folder: Path, port: int, workers: int) -> str:
    """bench/nginx.conf with its temp dir and port filled in."""
    template = Path(__file__).with_name(NGINX_TEMPLATE).read_text()
    text = template.replace("@DIR@", str(folder.resolve())).replace("@PORT@", str(port))
    return text.replace("worker_processes 2;", f"worker_processes {workers};")


@contextmanager
def nginx(workers: int, folder: Path) -> Iterator[Running]:
    """nginx `return 200` from a temp nginx.conf (`daemon off;`: the PID we hold is the
    master's, and SIGTERM to it stops the workers too)."""
    port = free_port()
    home = (folder / "nginx").resolve()  # nginx takes relative paths from its prefix
    home.mkdir(parents=True, exist_ok=True)
    config = home / "nginx.conf"
    config.write_text(nginx_config(home, port, workers))
    command = [nginx_path(), "-p", str(home), "-c", str(config), "-e", str(home / "error.log")]
    server = start("nginx", command, port, home / "stderr.log")
    try:
        wait_for_children(server, workers)
        yield server
    finally:
        stop(server)

"""Hostile and broken clients against the real server: rate limits that hold across worker
processes, and slow, stalled or idle connections cut off while everyone else is served.

Strategy: the shared bucket table is checked in process with a fake clock (two limiters
on one file stand for two workers), then end to end with `screening serve --workers 2`,
where fresh connections spread over both workers. Slow clients are raw sockets against one
worker (so they and the well-behaved requests share one event loop) with a short
`--request-timeout`. Waits are bounded generously; nothing asserts a speed.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from screening.cli import main
from screening.http_errors import RateLimitedError
from screening.keys import ApiKey, add_key
from screening.rate_limit import SLOTS, BucketTable, RateLimiter, create_table
from screening.testing import Serve, ServerProcess

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}
PATIENCE = 15.0
"""Seconds a test waits for something that should take about one timeout."""


def api_key(name: str) -> ApiKey:
    return ApiKey(id=name, name=name, country="FRA", role="frontline", sha256="", created="")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the shared bucket table, in process --------------------------------------------------


def test_two_workers_share_one_bucket(tmp_path: Path) -> None:
    create_table(tmp_path / "rates")
    clock = Clock()
    one, two = (
        RateLimiter(2, clock, BucketTable(tmp_path / "rates")),
        RateLimiter(2, clock, BucketTable(tmp_path / "rates")),
    )
    gate = api_key("gate-1")
    one.take(gate)
    two.take(gate)  # the burst of 2 is spent, one request through each worker
    with pytest.raises(RateLimitedError) as refused:
        one.take(gate)
    with pytest.raises(RateLimitedError):
        two.take(gate)
    assert refused.value.headers == {"Retry-After": "1"}
    one.take(api_key("gate-2"))  # another key has its own bucket
    clock.now += 0.5  # one token back, for whichever worker asks first
    two.take(gate)
    with pytest.raises(RateLimitedError):
        one.take(gate)


@pytest.mark.parametrize(
    ("rate", "elapsed", "retry_after"),
    [(0.1, 0, "10"), (0.1, 9.5, "1"), (0.3, 0, "4"), (50, 0, "1")],
)
def test_retry_after_is_whole_seconds_never_zero(
    rate: float, elapsed: float, retry_after: str
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, clock)
    gate = api_key("gate")
    for _ in range(int(max(rate, 1))):
        limiter.take(gate)
    clock.now += elapsed
    with pytest.raises(RateLimitedError) as refused:
        limiter.take(gate)
    assert refused.value.headers["Retry-After"] == retry_after


def test_a_refilled_bucket_gives_its_slot_up_and_a_crowd_evicts_the_fullest() -> None:
    table = BucketTable()
    # keys that differ by a multiple of SLOTS start probing at the same slot
    crowd = [7 + SLOTS * n for n in range(1, 18)]
    for key in crowd[:16]:
        assert table.spend(key, rate=1, burst=1, now=0.0) == 0.0  # fills the 16 probe slots
    assert table.spend(crowd[0], rate=1, burst=1, now=0.5) == pytest.approx(0.5)  # remembered
    # every slot still refilling: the 17th key takes the fullest one's slot, never a refusal
    assert table.spend(crowd[16], rate=1, burst=1, now=0.5) == 0.0
    assert table.spend(crowd[16], rate=1, burst=1, now=0.5) == pytest.approx(1.0)
    # once refilled, a bucket is as good as none: its slot goes to the next newcomer
    assert table.spend(SLOTS * 40 + 7, rate=1, burst=1, now=5.0) == 0.0
    assert table.spend(crowd[3], rate=1, burst=1, now=5.0) == 0.0


# --- end to end -----------------------------------------------------------------------------


def keys_for(tmp_path: Path, *names: str) -> tuple[Path, list[str]]:
    path = tmp_path / "keys.json"
    return path, [add_key(path, name, "FRA", "frontline")[0] for name in names]


def screen(server: ServerProcess, key: str) -> int:
    return server.request("POST", "/v1/screen", key=key, json={"queries": [SPECIMEN]}).status


def test_the_rate_holds_across_workers(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    keys, (gate, other) = keys_for(tmp_path, "gate-1", "gate-2")
    server = serve("--data", str(loaded), "--keys", str(keys), "--workers", "2", "--rate", "0.1")
    server.wait_for_workers(2)
    # 0.1 per second: a burst of 1, the next token in 10 s. 20 fresh connections reach both
    # workers (all on one would be a 1 in 500,000 chance); per-worker buckets would let 2 in.
    replies = [
        server.request("POST", "/v1/screen", key=gate, json={"queries": [SPECIMEN]})
        for _ in range(20)
    ]
    assert sorted(reply.status for reply in replies) == [200] + [429] * 19
    for reply in replies[1:]:
        assert reply.error["code"] == "rate_limited"
        assert 1 <= int(reply.headers["Retry-After"]) <= 10
    assert screen(server, other) == 200
    assert screen(server, other) == 429
    assert server.stop() == 0


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return read_to_end(sock) == b""
    except ConnectionResetError:
        return True


def head(key: str, length: int) -> bytes:
    return (
        f"POST /v1/screen HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def trickle_until_cut(sock: socket.socket, interval: float = 0.2) -> bool:
    """Send a request head a byte at a time; True once the server closed the connection."""
    deadline = time.monotonic() + PATIENCE
    for byte in (b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 1000)[: int(PATIENCE / interval)]:
        readable, _, _ = select.select([sock], [], [], interval)
        if readable:
            return closed_by_server(sock)
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return True
        if time.monotonic() > deadline:
            break
    return False


@pytest.fixture(scope="module")
def one_worker(
    served_data: Path, api_keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    """One worker, so that stalled clients and the others share one event loop."""
    server = ServerProcess(
        ["--data", str(served_data), "--workers", "1", "--request-timeout", "2",
         "--max-batch", "5", "--max-body", "4096"],
        tmp_path_factory.mktemp("hostile") / "logs",
    )  # fmt: skip
    try:
        server.wait_for_workers(1)
        yield server, api_keys["fra"]
    finally:
        server.stop(timeout=15)


def test_stalled_clients_are_cut_off_while_others_are_served(
    one_worker: tuple[ServerProcess, str],
) -> None:
    server, gate = one_worker
    idle = connect(server.port)
    half_head = connect(server.port)
    half_head.sendall(head(gate, 40)[:30])
    half_body = connect(server.port)
    body = b'{"queries": [{"db": "SLTD", "number": "L1"}]}'
    half_body.sendall(head(gate, len(body)) + body[:10])
    # the one worker's event loop answers everyone else meanwhile
    assert [screen(server, gate) for _ in range(10)] == [200] * 10
    answer = read_to_end(half_body)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"code":"request_timeout"' in answer and b"within 2 s" in answer
    assert closed_by_server(half_head)
    assert closed_by_server(idle)
    trickler = connect(server.port)
    assert trickle_until_cut(trickler), "a head sent a byte at a time was never cut off"
    assert screen(server, gate) == 200
    for sock in (idle, half_head, half_body, trickler):
        sock.close()


def test_many_idle_keep_alive_connections(one_worker: tuple[ServerProcess, str]) -> None:
    server, gate = one_worker
    idle = []
    for _ in range(300):
        sock = connect(server.port)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        idle.append(sock)
    for sock in idle:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")  # then kept alive, unused
    assert [screen(server, gate) for _ in range(10)] == [200] * 10
    assert all(closed_by_server(sock) for sock in idle)  # after --request-timeout
    assert screen(server, gate) == 200
    for sock in idle:
        sock.close()


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
def test_limits_over_the_wire(encoding: str, one_worker: tuple[ServerProcess, str]) -> None:
    server, gate = one_worker

    def sent(body: object) -> dict[str, Any]:
        return {"packed" if encoding == "msgpack" else "json": body}

    kind = "application/msgpack" if encoding == "msgpack" else "application/json"
    batch = server.request("POST", "/v1/screen", key=gate, **sent({"queries": [SPECIMEN] * 6}))
    assert (batch.status, batch.error["code"]) == (413, "batch_too_large")
    assert batch.headers["Content-Type"].startswith(kind)
    queries = [{"db": "SLTD", "number": f"N{i:05d}", "country": "UTO"} for i in range(5)]
    padded = {"queries": queries, "padding": "x" * 5000}
    body = server.request("POST", "/v1/screen", key=gate, **sent(padded))
    assert (body.status, body.error["code"]) == (413, "body_too_large")
    assert "limit 4,096 bytes" in body.error["message"]
    # the same body chunked, without a Content-Length: refused while it is read
    raw = orjson.dumps(padded)
    sock = connect(server.port)
    sock.sendall(
        f"POST /v1/screen HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {gate}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        + b"".join(b"%x\r\n%s\r\n" % (len(raw[i : i + 1000]), raw[i : i + 1000])
                   for i in range(0, len(raw), 1000))
        + b"0\r\n\r\n"
    )  # fmt: skip
    answer = read_to_end(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ") and b"body_too_large" in answer, answer
    assert screen(server, gate) == 200


def test_the_request_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data", ".", "--request-timeout", "0"]) == 2
    assert "--request-timeout: must be positive" in capsys.readouterr().err

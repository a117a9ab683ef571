"""`screening serve` as real processes: a supervisor and 2 workers on one loopback port.

Requests go on fresh connections (`Connection: close`), so SO_REUSEPORT spreads them
over both workers; /healthz names the worker (pid) that answered and the generation it
serves, which is how these tests see every worker pick up a change.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from indexes.manifest import read_manifest, write_manifest
from loaders.load import load
from loaders.readers import Upload
from screening.testing import Reply, Serve, ServerProcess

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}
WORKERS = 2


def start(serve: Serve, data: Path, *args: str) -> tuple[ServerProcess, set[int]]:
    server = serve("--data", str(data), "--workers", str(WORKERS), *args)
    return server, server.wait_for_workers(WORKERS)


def healths(server: ServerProcess, count: int) -> list[dict[str, Any]]:
    replies = [server.health() for _ in range(count)]
    return [reply.body for reply in replies if reply is not None and reply.status == 200]


def wait_all_workers(
    server: ServerProcess, pids: set[int], ready: Any, timeout: float = 5.0
) -> float:
    """Seconds until every worker in `pids` answered /healthz with `ready(body)` true."""
    done: set[int] = set()

    def check() -> bool:
        reply = server.health()
        if reply is not None and reply.status == 200:
            if ready(reply.body):
                done.add(reply.body["pid"])
            else:
                assert reply.body["pid"] not in done, "a worker went back to the old data"
        return done >= pids

    return server.wait_until(check, timeout, "every worker seeing the change")


def screen(server: ServerProcess, key: str, *queries: object, packed: bool = False) -> Reply:
    body = {"queries": list(queries)}
    if packed:
        return server.request("POST", "/v1/screen", key=key, packed=body)
    return server.request("POST", "/v1/screen", key=key, json=body)


def test_screens_over_http(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    from screening.keys import add_key

    keys = tmp_path / "keys.json"
    fra = add_key(keys, "gate-fra", "FRA", "frontline")[0]
    gbr = add_key(keys, "gate-gbr", "GBR", "frontline")[0]
    server, pids = start(
        serve, loaded, "--keys", str(keys), "--max-batch", "5", "--max-body", "4096"
    )
    assert len(pids) == WORKERS and server.pid not in pids
    one = screen(server, fra, SPECIMEN)
    assert one.status == 200 and one.body["results"][0]["hit"] is True
    batch = [SPECIMEN, {"db": "SLTD", "number": "R1", "country": "UTO"}, {"db": "SLTD"}, "x"]
    as_json = screen(server, fra, *batch)
    as_msgpack = screen(server, fra, *batch, packed=True)
    assert as_msgpack.headers["Content-Type"] == "application/msgpack"
    assert as_json.body["results"] == as_msgpack.body["results"]
    hits = [result.get("hit") for result in as_json.body["results"]]
    assert hits == [True, False, None, None]  # R1 is restricted to GBR (and its owner UTO)
    assert screen(server, gbr, *batch).body["results"][1]["hit"] is True
    too_many = screen(server, fra, *[SPECIMEN] * 6)
    assert too_many.status == 413 and "(limit: 5)" in too_many.error["message"]
    too_big = server.request("POST", "/v1/screen", key=fra, data=b" " * 5000)
    assert too_big.status == 413 and too_big.error["code"] == "body_too_large"
    assert server.request("GET", "/v1/databases").status == 401
    assert server.request("GET", "/v1/databases", key="scr_nope").status == 401
    listed = server.request("GET", "/v1/databases", key=fra).body["databases"]
    assert len(listed) == 19 and listed[0]["code"] == "SLTD" and listed[0]["records"] == 154
    assert server.stop() == 0
    assert "worker 0 stopped" in server.log and "worker 1 stopped" in server.log


def test_every_worker_sees_a_load_within_a_second(
    serve: Serve, loaded: Path, tmp_path: Path
) -> None:
    from screening.keys import add_key

    key = add_key(tmp_path / "keys.json", "gate", "UTO", "frontline")[0]
    server, pids = start(serve, loaded, "--keys", str(tmp_path / "keys.json"))
    assert {body["generations"]["SLTD"] for body in healths(server, 10)} == {2}
    upload = tmp_path / "new.csv"
    upload.write_text("number,country,status\nNEW77,UTO,stolen\n", encoding="utf-8")
    load(loaded, "SLTD", "UTO", [Upload.of(str(upload))])
    took = wait_all_workers(server, pids, lambda body: body["generations"]["SLTD"] == 3)
    assert took < 1.0, f"{took:.2f} s"
    for _ in range(10):  # fresh connections: both workers answer, both with the new record
        assert screen(server, key, {**SPECIMEN, "number": "NEW77"}).body["results"][0]["hit"]


def test_a_corrupt_generation_is_refused_and_the_old_one_serves(
    serve: Serve, loaded: Path, tmp_path: Path
) -> None:
    from screening.keys import add_key

    key = add_key(tmp_path / "keys.json", "gate", "UTO", "frontline")[0]
    server, pids = start(serve, loaded, "--keys", str(tmp_path / "keys.json"))
    folder = loaded / "SLTD"
    good = read_manifest(folder, "SLTD")
    bad = folder / "seg-000042.seg"
    raw = bytearray((folder / f"{good.segments[0].name}.seg").read_bytes())
    raw[-20] ^= 0xFF  # one flipped bit in the record store: the checksum catches it
    bad.write_bytes(bytes(raw))
    entry = type(good.segments[0])("seg-000042", good.segments[0].records)
    write_manifest(folder, good.successor((*good.segments, entry), good.next_segment))
    wait_all_workers(server, pids, lambda body: "SLTD" in body["refused"])
    time.sleep(0.6)  # three more polls: still one line per worker
    refusals = [line for line in server.log.splitlines() if "new data refused" in line]
    assert len(refusals) == WORKERS, refusals
    for line in refusals:
        assert str(bad) in line and "fails its checksum" in line
        assert line.endswith("still serving generation 2")
    for body in healths(server, 10):
        assert body["generations"] == {"SLTD": 2}
    assert screen(server, key, SPECIMEN).body["results"][0]["hit"] is True
    # the next publish is tried afresh
    write_manifest(folder, good.successor(good.segments, good.next_segment))
    wait_all_workers(
        server, pids, lambda body: body["generations"] == {"SLTD": 3} and not body["refused"]
    )


def test_sigterm_lets_a_batch_in_flight_finish(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    from screening.keys import add_key

    key = add_key(tmp_path / "keys.json", "gate", "UTO", "frontline")[0]
    size = 100_000
    server = serve(
        "--data", str(loaded), "--workers", "1", "--keys", str(tmp_path / "keys.json"),
        "--max-batch", str(size),
    )  # fmt: skip
    server.wait_for_workers(1)
    queries = [{"db": "SLTD", "number": f"N{i % 300:03d}", "country": "UTO"} for i in range(size)]
    answer: list[Reply] = []
    sender = threading.Thread(target=lambda: answer.append(screen(server, key, *queries)))
    sender.start()
    server.wait_until(lambda: "stopping" in server.log or _busy(server), 10, "the batch")
    os.kill(server.pid, signal.SIGTERM)
    sender.join(30)
    assert server.process.wait(30) == 0
    [reply] = answer
    assert reply.status == 200
    assert len(reply.body["results"]) == size
    expected = sum(i % 300 < 150 for i in range(size))
    assert sum(result["hit"] for result in reply.body["results"]) == expected
    assert "stopping: 1 request(s) in flight" in server.log
    assert server.health() is None  # not listening any more


def _busy(server: ServerProcess) -> bool:
    """True once the worker has the request: its connection is accepted and being read."""
    time.sleep(0.05)
    return len(_established(server.port)) > 0


def _established(port: int) -> list[str]:
    """Server-side ESTABLISHED TCP connections on 127.0.0.1:port (Linux /proc)."""
    local = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return [row for row in rows if row.split()[1] == local and row.split()[3] == "01"]


def test_a_crashed_worker_is_restarted(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    server, pids = start(serve, loaded)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    server.wait_until(lambda: "was killed by SIGKILL" in server.log, 10, "the supervisor")
    new = server.wait_for_workers(WORKERS) - {victim}
    assert len(new) >= 1 and victim not in new
    assert f"worker 0 (pid {victim}) was killed by SIGKILL; restarting" in server.log or (
        f"worker 1 (pid {victim}) was killed by SIGKILL; restarting" in server.log
    )
    assert server.stop() == 0


def test_serve_demo(serve: Serve, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    server = serve("--demo", "--demo-records", "2000", "--data", str(demo), "--workers", "1")
    server.wait_for_workers(1, timeout=60)
    keys = _demo_keys(server.output)
    assert set(keys) == {"frontline", "ncb", "ops"}
    assert "built now" in server.output and "curl -s http://127.0.0.1:" in server.output
    reply = screen(server, keys["frontline"], SPECIMEN)
    [match] = reply.body["results"][0]["matches"]
    assert match["record"]["status"] == "stolen" and match["record"]["owner"] == "UTO"
    listed = server.request("GET", "/v1/databases", key=keys["ops"]).body["databases"]
    assert 1000 < listed[0]["records"] <= 2001  # restricted records are hidden from XPO
    assert server.stop() == 0
    again = serve("--demo", "--demo-records", "2000", "--data", str(demo), "--workers", "1")
    again.wait_for_workers(1)
    assert "reused" in again.output and _demo_keys(again.output) == keys
    assert again.stop() == 0


def _demo_keys(output: str) -> dict[str, str]:
    keys = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3].startswith("scr_"):
            keys[parts[0]] = parts[3]
    return keys

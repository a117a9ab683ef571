"""`GET /metrics` (screening/metrics.py, screening/metrics_view.py): in process, where the
single-process registry serves (values are process-wide, so these tests compare before and
after), and as real processes, where every worker's values are added up on one scrape.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from screening.keys import add_key
from screening.metrics import LATENCY_BUCKETS, UNMATCHED
from screening.testing import LocalClient, Serve, ServerProcess

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}
MISS = {"db": "SLTD", "number": "NOSUCH1", "country": "UTO"}
ZONE = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
RECORDS = 155
"""Rows of conftest.UPLOADS: 153 loaded by UTO, 2 by FRA."""
WORKERS = 2

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    """pid -> value of the `liveall` series `name{labels, pid}`."""
    found: dict[str, float] = {}
    for (sample, sample_labels), number in samples.items():
        named = dict(sample_labels)
        pid = named.pop("pid", None)
        if sample == name and named == labels and pid is not None:
            found[pid] = number
    return found


def scrape(client: LocalClient | ServerProcess, key: str) -> Samples:
    reply = client.request("GET", "/metrics", key=key)
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    return parse(reply.raw.decode())


def requests(samples: Samples, route: str, code: str = "200") -> float:
    return value(samples, "screening_requests_total", route=route, code=code)


def test_metrics_needs_an_ops_key(http: LocalClient, api_keys: dict[str, str]) -> None:
    assert http.request("GET", "/metrics").status == 401
    assert http.request("GET", "/metrics", key="scr_nope").status == 401
    for name in ("fra", "ncb_fra"):
        reply = http.request("GET", "/metrics", key=api_keys[name])
        assert reply.status == 403
        assert reply.error["code"] == "forbidden"
        assert "ops keys may" in reply.error["message"]
    assert http.request("GET", "/metrics", key=api_keys["ops"]).status == 200


def test_requests_are_counted_by_route_and_status(
    http: LocalClient, api_keys: dict[str, str]
) -> None:
    key = api_keys["fra"]
    before = scrape(http, api_keys["ops"])
    for _ in range(3):
        assert http.request("POST", "/v1/screen", key=key, json={"queries": [MISS]}).status == 200
    assert http.request("POST", "/v1/screen", key=key, json={"nope": 1}).status == 400
    assert http.request("POST", "/v1/screen", json={"queries": []}).status == 401
    assert http.request("GET", "/healthz").status == 200
    assert http.request("GET", "/no/such/path/123", key=key).status == 404
    after = scrape(http, api_keys["ops"])

    def moved(route: str, code: str) -> float:
        return requests(after, route, code) - requests(before, route, code)

    assert moved("/v1/screen", "200") == 3
    assert moved("/v1/screen", "400") == 1
    assert moved("/v1/screen", "401") == 1
    assert moved("/healthz", "200") == 1
    assert moved(UNMATCHED, "404") == 1  # the raw path is never a label
    assert moved("/metrics", "200") == 1  # the first scrape
    assert not any("/no/such" in str(labels) for _, labels in after)


def test_latency_histogram(http: LocalClient, api_keys: dict[str, str]) -> None:
    name = "screening_request_duration_seconds"
    before = scrape(http, api_keys["ops"])
    http.request("POST", "/v1/screen", key=api_keys["fra"], json={"queries": [SPECIMEN]})
    after = scrape(http, api_keys["ops"])
    route = "/v1/screen"
    count = value(after, f"{name}_count", route=route)
    assert count == value(before, f"{name}_count", route=route) + 1
    assert value(after, f"{name}_sum", route=route) > value(before, f"{name}_sum", route=route)
    assert value(after, f"{name}_bucket", route=route, le="+Inf") == count
    bounds = [float(dict(labels)["le"]) for sample, labels in after if sample == f"{name}_bucket"]
    assert min(bounds) == 0.0001 and max(b for b in bounds if b != float("inf")) == 1.0
    assert len(set(bounds)) == len(LATENCY_BUCKETS) + 1


def test_hits_are_counted_per_database(http: LocalClient, api_keys: dict[str, str]) -> None:
    key = api_keys["uto"]
    before = scrape(http, api_keys["ops"])
    one = http.request("POST", "/v1/screen", key=key, json={"queries": [SPECIMEN]})
    assert one.body["results"][0]["hit"] is True
    big = [SPECIMEN, MISS, {"db": "SLTD"}] * 30  # over INLINE_QUERIES: screened on a thread
    batch = http.request("POST", "/v1/screen", key=key, json={"queries": big})
    assert sum(1 for result in batch.body["results"] if result.get("hit")) == 30
    tdawn = {"db": "TDAWN", "number": "X", "country": "UTO"}
    assert http.request("POST", "/v1/screen", key=key, json={"queries": [tdawn]}).status == 200
    scanned = http.request("POST", "/v1/screen/mrz", key=key, json={"mrz": ZONE})
    assert scanned.status == 200 and scanned.body["hit"] is True
    after = scrape(http, api_keys["ops"])
    hits = "screening_hits_total"
    assert value(after, hits, db="SLTD") - value(before, hits, db="SLTD") == 1 + 30 + 1
    assert value(after, hits, db="TDAWN") == value(before, hits, db="TDAWN")


def test_record_gauges_follow_the_served_data(http: LocalClient, api_keys: dict[str, str]) -> None:
    http.refresh()  # another module's client may have set the process-wide gauges
    samples = scrape(http, api_keys["ops"])
    snapshot = http.service.live.data.snapshots["SLTD"]
    assert snapshot.manifest.records == RECORDS
    assert value(samples, "screening_records", db="SLTD") == RECORDS
    assert value(samples, "screening_generation", db="SLTD") == snapshot.generation
    assert value(samples, "screening_records", db="TDAWN") == 0  # nothing served
    assert ("screening_generation", frozenset({("db", "TDAWN")})) in samples
    assert value(samples, "process_resident_memory_bytes") > 0  # single process: no pid


def metrics_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("screening-metrics-*"))


SETTLE = 1.5
"""Seconds: more than two poll intervals (0.5 s), after which every worker has flushed."""


def test_one_scrape_adds_up_every_worker(serve: Serve, loaded: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    gate = add_key(keys, "gate", "UTO", "frontline")[0]
    ops = add_key(keys, "ops", "XPO", "ops")[0]
    before_dirs = metrics_dirs()
    server = serve("--data", str(loaded), "--keys", str(keys), "--workers", str(WORKERS))
    workers = server.wait_for_workers(WORKERS)
    screens = 40
    for _ in range(screens):  # fresh connections: the kernel spreads them over both workers
        reply = server.request("POST", "/v1/screen", key=gate, json={"queries": [SPECIMEN]})
        assert reply.status == 200 and reply.body["results"][0]["hit"] is True
    time.sleep(SETTLE)  # every worker hands its tallies over once a poll interval
    first = scrape(server, ops)
    assert requests(first, "/v1/screen") == screens
    assert value(first, "screening_hits_total", db="SLTD") == screens
    pids = {str(pid) for pid in workers}
    assert series(first, "screening_records", db="SLTD") == dict.fromkeys(pids, RECORDS)
    assert set(series(first, "screening_generation", db="SLTD")) == pids
    assert set(series(first, "process_resident_memory_bytes")) == pids
    frozen = series(first, "screening_heap_frozen_objects")  # screening/heap.py
    assert set(frozen) == pids and min(frozen.values()) > 10_000

    seen: set[int] = set()
    for _ in range(screens):  # /healthz names the worker that answered
        reply = server.request("GET", "/healthz")
        assert reply.status == 200
        seen.add(reply.body["pid"])
    assert seen == workers
    time.sleep(SETTLE)
    second = scrape(server, ops)
    assert requests(second, "/healthz") - requests(first, "/healthz") == screens
    assert requests(second, "/metrics") - requests(first, "/metrics") == 1

    victim = next(iter(workers))
    os.kill(victim, signal.SIGKILL)
    server.wait_until(lambda: "was killed by SIGKILL" in server.log, 10, "the supervisor")
    now = server.wait_for_workers(WORKERS)
    assert victim not in now
    after = scrape(server, ops)
    assert requests(after, "/v1/screen") == screens  # a dead worker's counts stay
    live = {str(pid) for pid in now}
    assert set(series(after, "screening_records", db="SLTD")) == live  # its gauges go

    assert server.stop() == 0
    assert metrics_dirs() - before_dirs == set()  # the private directory is removed

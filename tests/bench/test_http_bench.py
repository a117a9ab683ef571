"""The HTTP bench's machinery, without wrk: bodies, the wrk report parser, the references.

wrk itself is not run here (the house rules allow no test that skips when a tool is
missing); what wrk would send and what we read back from it are checked instead: the
bodies are built from a tiny loaded data set and must get the hits they were built with,
and the parser reads wrk reports captured from real runs (wrk_samples/).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import msgpack
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bench import bare_app
from bench.http import HttpOptions, Run, loading_note, private_copy, table_rows
from bench.http_bodies import (
    BodySet,
    Query,
    json_body,
    open_sltd,
    sample_queries,
    write_batches,
    write_numbers,
    write_singles,
)
from bench.loading import LoadingResult
from bench.servers import nginx_config
from bench.wrk import Slice, WrkError, WrkResult, duration_us, parse_wrk, rotate_script
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload
from screening import open_data

SAMPLES = Path(__file__).with_name("wrk_samples")
RECORDS = 3000
VIEWER = "GBR"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RECORDS generated SLTD records loaded as FRA, as the engine bench loads them."""
    folder = tmp_path_factory.mktemp("http-bench")
    upload = folder / "sltd.csv"
    generate("SLTD", RECORDS, upload, seed=1)
    result = load(folder / "data", "SLTD", "FRA", [Upload.of(str(upload))])
    assert result.accepted == RECORDS
    return folder / "data"


# --- bodies --------------------------------------------------------------------------------


def test_queries_are_half_hits_the_viewer_sees_and_half_real_misses(data_dir: Path) -> None:
    queries = sample_queries(open_sltd(data_dir), 200, VIEWER, seed=1)
    assert sum(query.hit for query in queries) == 100
    data = open_data(data_dir)
    results = data.screen([query.as_json() for query in queries], country=VIEWER)
    assert [result["hit"] for result in results] == [query.hit for query in queries]
    misses = [result for result, query in zip(results, queries, strict=True) if not query.hit]
    assert all(result["matches"] == [] for result in misses), "a miss must not be number_only"


def test_single_bodies_are_one_json_query_each(data_dir: Path, tmp_path: Path) -> None:
    queries = sample_queries(open_sltd(data_dir), 10, VIEWER, seed=3)
    bodies = write_singles(queries, tmp_path)
    assert len(bodies.paths) == 10 and bodies.queries_per_body == 1
    first = orjson.loads(bodies.paths[0].read_bytes())
    assert first == {"queries": [queries[0].as_json()]}
    assert bodies.expected_hits[0] == [queries[0].hit]
    assert bodies.content_type == "application/json"
    _check_listing(bodies)


def test_batch_bodies_are_msgpack_bytes_read_back_unchanged(data_dir: Path, tmp_path: Path) -> None:
    queries = sample_queries(open_sltd(data_dir), 2500, VIEWER, seed=4)
    bodies = write_batches(queries, 1000, tmp_path)
    assert len(bodies.paths) == 2, "only full batches: 2,500 queries make two of 1,000"
    decoded = msgpack.unpackb(bodies.paths[1].read_bytes(), raw=False)
    assert decoded == {"queries": [query.as_json() for query in queries[1000:2000]]}
    assert bodies.expected_hits[1] == [query.hit for query in queries[1000:2000]]
    assert bodies.content_type == "application/msgpack"
    _check_listing(bodies)


def _check_listing(bodies: BodySet) -> None:
    """rotate.lua reads the listing with io.lines: one absolute path per line."""
    lines = bodies.listing.read_text().splitlines()
    assert [Path(line) for line in lines] == [path.resolve() for path in bodies.paths]
    assert all(Path(line).is_absolute() for line in lines)


def test_numbers_file_holds_every_stored_key(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "numbers.txt"
    assert write_numbers(open_sltd(data_dir), out) == RECORDS
    numbers = out.read_text().split("\n")
    assert numbers[-1] == "", "every number ends with a newline"
    assert len(set(numbers[:-1])) == RECORDS
    data = open_data(data_dir)
    for number in numbers[:50]:
        assert data.snapshots["SLTD"].find(number.encode(), "FRA")


def test_rotate_script_reads_bodies_as_bytes() -> None:
    script = rotate_script().read_text()
    assert 'io.open(path, "rb")' in script and 'read("*a")' in script
    for callback in ("function setup(", "function init(", "function request("):
        assert callback in script


# --- the wrk report --------------------------------------------------------------------------


def test_parse_wrk_report() -> None:
    result = parse_wrk((SAMPLES / "nginx_latency.txt").read_text())
    assert result == WrkResult(
        requests=50849,
        seconds=2.01,
        requests_per_second=25326.51,
        p50_us=133.0,
        p75_us=175.0,
        p90_us=287.0,
        p99_us=6790.0,
        bytes_read=round(9.99 * (1 << 20)),
        max_us=15370.0,
    )
    assert result.errors == 0


def test_parse_wrk_counts_non_2xx_answers() -> None:
    result = parse_wrk((SAMPLES / "non_2xx.txt").read_text())
    assert result.non_2xx == result.requests == 16654
    assert result.p99_us == pytest.approx(19430.0)


def test_parse_wrk_counts_socket_errors() -> None:
    result = parse_wrk((SAMPLES / "socket_timeouts.txt").read_text())
    assert result.socket_errors == 35 and result.non_2xx == 0
    assert result.p50_us == pytest.approx(573_970.0)
    assert result.requests_per_second == pytest.approx(62.31)


def test_parse_wrk_refuses_a_report_without_latency_distribution() -> None:
    text = (SAMPLES / "nginx_latency.txt").read_text()
    without = text.split("  Latency Distribution")[0] + "\nRequests/sec:  1.0\n"
    with pytest.raises(WrkError, match="--latency"):
        parse_wrk(without)


@pytest.mark.parametrize(
    ("value", "unit", "micros"),
    [("402.00", "us", 402.0), ("1.04", "ms", 1040.0), ("2.00", "s", 2e6), ("1.50", "m", 90e6)],
)
def test_wrk_time_units(value: str, unit: str, micros: float) -> None:
    assert duration_us(value, unit) == pytest.approx(micros)


# --- the references and the table -------------------------------------------------------


def test_bare_app_answers_like_the_screen_endpoint(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("L898902C3\nX1\n")
    table = bare_app.read_table(numbers)
    hit, miss = Query("L898902C3", "UTO", True), Query("ZZ1", "UTO", False)

    async def exchange() -> tuple[int, object, int]:
        async with TestClient(TestServer(bare_app.make_app(table))) as client:
            headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}
            reply = await client.post("/v1/screen", data=json_body([hit, miss]), headers=headers)
            body = await reply.json()
            refused = await client.post("/v1/screen", data=json_body([hit]))
            return reply.status, body, refused.status

    status, body, refused = asyncio.run(exchange())
    assert status == 200 and refused == 401
    assert isinstance(body, dict)
    assert [result["hit"] for result in body["results"]] == [True, False]
    assert body["results"][0]["matches"][0]["id"] == "SLTD/L898902C3"


def test_nginx_config_is_filled_in(tmp_path: Path) -> None:
    text = nginx_config(tmp_path, 18123, 2)
    assert "@" not in text.replace("'", "")
    assert "listen 127.0.0.1:18123 reuseport;" in text
    assert f"pid {tmp_path.resolve()}/nginx.pid;" in text
    assert "daemon off;" in text and "worker_processes 2;" in text


def test_private_copy_links_and_a_load_into_it_leaves_the_source(
    data_dir: Path, tmp_path: Path
) -> None:
    copy = private_copy(data_dir, tmp_path / "copy")
    manifest = data_dir / "SLTD" / "MANIFEST"
    before = manifest.read_bytes()
    assert os.stat(copy / "SLTD" / "MANIFEST").st_ino == manifest.stat().st_ino
    upload = tmp_path / "more.csv"
    generate("SLTD", 10, upload, seed=99)
    load(copy, "SLTD", VIEWER, [Upload.of(str(upload))])
    assert manifest.read_bytes() == before
    assert open_data(copy).snapshots["SLTD"].manifest.records == RECORDS + 10
    assert open_data(data_dir).snapshots["SLTD"].manifest.records == RECORDS


def _run(requests_per_second: float, per_request: int, cpu: list[float]) -> Run:
    result = WrkResult(1000, 10.0, requests_per_second, 100.0, 150.0, 200.0, 900.0, 0)
    return Run(result, per_request, cpu, other_cpu=2.5)


def test_the_share_of_bare_is_the_median_of_the_alternated_pairs() -> None:
    runs = {"ours": {4: _run(5000.0, 1, [1.0, 1.0])}, "bare": {4: _run(10000.0, 1, [1.0, 1.0])}}
    rows = table_rows(runs, None, {4: [0.62, 0.55, 0.70]})
    assert rows["% of bare aiohttp req/s, 4 conn"] == {"ours": "62% (55%-70%, 3 pairs)"}


def test_table_compares_with_the_bare_handler_and_counts_checks() -> None:
    runs = {
        "ours": {4: _run(9000.0, 1, [1.0, 1.0])},
        "batch": {4: _run(1200.0, 1000, [2.0, 2.0])},
        "bare": {4: _run(10000.0, 1, [1.0, 0.0])},
    }
    rows = table_rows(runs, None)
    assert rows["% of bare aiohttp req/s, 4 conn"] == {"ours": "90%"}
    assert rows["checks/s, 4 conn"]["batch"] == "1,200,000"
    assert rows["p99, 4 conn"]["ours"] == "900 us"
    assert rows["worker CPU split, 4 conn"]["bare"] == "100/0 %"
    assert rows["server CPU/request, 4 conn"]["ours"] == "2.00 ms"
    assert rows["other CPU load, 4 conn"]["ours"] == "0.25 cores"


def test_the_loading_note_places_every_slice_against_the_load() -> None:
    def piece(started: float, p99_us: float) -> Slice:
        result = WrkResult(1000, 1.0, 1000.0, 100.0, 150.0, 200.0, p99_us, 0)
        return Slice(started, started + 1.0, result)

    loading = LoadingResult(
        baseline=[piece(96.0, 1500.0)],
        during=[piece(100.0, 3490.0), piece(101.1, 2400.0), piece(102.2, 7680.0)],
        load_seconds=2.0,
        accepted=100_000,
        records_before=1_000,
        records_after=101_000,
        landed_s=1.9,
        load_started=100.0,
    )
    assert loading.timeline() == "+0.0 s 3.49, +1.1 s 2.40, +2.2 s 7.68"
    note = loading_note(loading, HttpOptions())
    assert note.endswith(
        "Slices from the load's start, p99 ms: +0.0 s 3.49, +1.1 s 2.40, +2.2 s 7.68"
    )
    assert "/v1/databases grew by 100,000" in note

"""bench/exact_http.py without wrk (tests/bench/test_http_bench.py says why): the bodies
of every exact lookup are hits of the data they came from, and the table takes medians
and the ratio to SLTD's."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.exact_all import OWNER, exact_databases, prepare
from bench.exact_http import Lookup, table_rows, write_lookups
from bench.http_bodies import BodySet
from bench.wrk import WrkResult
from screening import open_data

RECORDS = 300


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("exact-http")
    for db in exact_databases():
        prepare(db, RECORDS, directory, directory / "data")
    return directory / "data"


def test_every_lookup_gets_bodies_that_hit(data_dir: Path, tmp_path: Path) -> None:
    lookups = write_lookups(data_dir, tmp_path, 20)
    expected = [f"{db.code} by {lookup.name}" for db in exact_databases()
                for lookup in db.indexed_lookups]  # fmt: skip
    assert [lookup.name for lookup in lookups] == expected
    data = open_data(data_dir)
    try:
        for lookup in lookups:
            assert lookup.records_a_hit >= 1, lookup.name
            bodies = [orjson.loads(path.read_bytes()) for path in lookup.bodies.paths]
            assert bodies and all(len(body["queries"]) == 1 for body in bodies), lookup.name
            results = data.screen([body["queries"][0] for body in bodies], OWNER)
            assert all(result["hit"] for result in results), lookup.name
            listed = lookup.bodies.listing.read_text().split()
            assert listed == [str(path.resolve()) for path in lookup.bodies.paths]
    finally:
        data.close()


def wrk(p50_us: float, requests_per_second: float = 1000.0) -> WrkResult:
    return WrkResult(requests=1000, seconds=1.0, requests_per_second=requests_per_second,
                     p50_us=p50_us, p75_us=p50_us, p90_us=p50_us, p99_us=2 * p50_us,
                     bytes_read=0)  # fmt: skip


def test_the_table_gives_medians_and_the_ratio_to_sltds_p50(tmp_path: Path) -> None:
    bodies = BodySet(tmp_path / "list", [], [], 1, "application/json")
    lookups = [Lookup("SLTD by number", bodies, 1.0), Lookup("PIRACY by imo", bodies, 2.5)]
    runs = {
        "SLTD by number": [wrk(400), wrk(900), wrk(410)],
        "PIRACY by imo": [wrk(440, 2000), wrk(300, 3000), wrk(1000, 1000)],
    }
    rows = dict(table_rows(lookups, runs))
    assert rows["SLTD by number"]["p50 us"] == "410"
    assert rows["SLTD by number"]["p50 x SLTD"] == "1.00"
    assert rows["PIRACY by imo"] == {
        "records a hit": "2.50",
        "requests/s": "2,000",
        "p50 us": "440",
        "p99 us": "880",
        "p50 x SLTD": "1.07",
    }

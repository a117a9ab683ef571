"""The soak (bench/soak.py), short: a few seconds over a tiny data set, with a load and a
compaction, through the real server; and the pieces it is made of.

The soak itself runs once per driver: wrk paced by bench/soak_paced.lua where wrk is
installed (`make bench-tools`), and the pure-Python open-loop driver always, so that
`make test` needs no apt.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bench.soak import (
    SoakOptions,
    Target,
    memory_rows,
    print_report,
    serving,
    slice_rows,
    soak_on,
    total_row,
)
from bench.soak_driver import Outcome, summarise
from bench.soak_maintenance import drop_repeats, loads_among, operations_due
from bench.soak_memory import NOISE_KIB, Change, Footprint, _kib_fields, deleted_mappings
from bench.soak_mix import SHARES, write_mix
from bench.wrk import parse_wrk
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload

SAMPLES = Path(__file__).with_name("wrk_samples")
RECORDS = 2000
SHORT = SoakOptions(
    seconds=3, slice_seconds=1, warmup=0, rate=100, connections=4,
    every=1.0, load_records=100, records=RECORDS,
)  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RECORDS generated SLTD records loaded as FRA, as the bench loads them."""
    folder = tmp_path_factory.mktemp("soak")
    upload = folder / "sltd.csv"
    generate("SLTD", RECORDS, upload, seed=1)
    assert load(folder / "data", "SLTD", "FRA", [Upload.of(str(upload))]).accepted == RECORDS
    return folder / "data"


@pytest.fixture(scope="module")
def target(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One server for both drivers' soaks (starting one is most of a short soak's time)."""
    with serving(data_dir, tmp_path_factory.mktemp("soak-served"), SHORT.workers) as running:
        yield running


DRIVERS = [
    pytest.param(
        "wrk",
        marks=pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
    ),
    "python",
]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_short_soak_serves_every_request_and_every_write(
    target: Target, tmp_path: Path, driver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    options = replace(SHORT, driver=driver)
    result = soak_on(target, tmp_path, options)

    assert result.failures() == []
    assert result.errors == 0
    assert len(result.slices) >= 2
    assert all(piece.result.requests > 0 for piece in result.slices)
    assert [operation.kind for operation in result.operations] == ["load", "compact"]
    assert all(operation.ok for operation in result.operations)
    assert result.accepted == options.load_records
    assert result.records_after - result.records_before == options.load_records
    assert [change.role for change in result.memory] == ["supervisor", "worker 1", "worker 2"]
    for change in result.memory:
        assert change.end is not None, f"{change.role} ended"
        assert change.end.deleted_maps == 0, f"{change.role} still maps compacted files"
        assert change.start.rss_kib > 0 and change.start.pss_kib > 0

    print_report(result, RECORDS, busy=0.0, wall=1.0)
    report = capsys.readouterr().out
    assert "t (s)" in report and "writes during it" in report
    assert "load 100" in report and "compact (" in report
    assert "result: passed" in report
    lines = report.splitlines()
    assert any(line.startswith("all ") for line in lines)
    assert sum(line.startswith("worker ") for line in lines) == 2


# --- the pieces ------------------------------------------------------------------------


def test_the_mix_lists_each_kind_in_its_share(data_dir: Path, tmp_path: Path) -> None:
    mix = write_mix(data_dir, tmp_path, "GBR")
    routes = [request.route for request in mix.requests()]
    assert len(routes) % sum(SHARES.values()) == 0
    tens = len(routes) // sum(SHARES.values())
    assert routes.count("/v1/screen/mrz") == SHARES["mrz"] * tens
    types = {request.route: request.content_type for request in mix.requests()}
    assert types == {"/v1/screen": types["/v1/screen"], "/v1/screen/mrz": "application/json"}
    for kind in ("single", "mrz", "batch"):
        listed = {line.split("\t")[2] for line in mix.listing.read_text().splitlines()}
        assert {str(path.resolve()) for path in mix.kinds[kind].paths} <= listed


def test_writes_take_turns_and_end_before_the_soak_does() -> None:
    assert operations_due(180, 20) == 8  # the last due at 160 s, before 180 - 10
    assert operations_due(3, 1.0) == 2
    assert operations_due(10, 0) == 0
    assert [loads_among(count) for count in (0, 1, 2, 3, 8)] == [0, 1, 1, 2, 4]


def test_the_python_driver_reports_in_wrk_terms() -> None:
    outcomes = [Outcome(200, float(latency), 10) for latency in range(1, 101)]
    outcomes += [Outcome(503, 5.0, 3), Outcome(0, 10_000.0, 0)]
    result = summarise(outcomes, seconds=2.0)
    assert result.requests == 102 and result.requests_per_second == 51
    assert result.non_2xx == 1 and result.socket_errors == 1 and result.errors == 2
    assert result.p50_us == 50 and result.p99_us == 99 and result.max_us == 100
    assert result.bytes_read == 1003
    empty = summarise([], seconds=1.0)
    assert empty.requests == 0 and empty.p99_us == 0


def test_wrk_max_latency_is_read() -> None:
    result = parse_wrk((SAMPLES / "nginx_latency.txt").read_text())
    assert result.max_us == pytest.approx(15_370)


def test_smaps_rollup_fields_and_deleted_data_files(tmp_path: Path) -> None:
    fields = _kib_fields("Rss:                1608 kB\nPss:  259 kB\nAnonymous:  112 kB\n")
    assert fields == {"Rss": 1608, "Pss": 259, "Anonymous": 112}
    served = tmp_path / "data"
    maps = "\n".join([
        f"7f00-7f10 r--s 00000000 00:2a 11  {served}/SLTD/seg-1.seg (deleted)",
        f"7f10-7f20 r--s 00001000 00:2a 11  {served}/SLTD/seg-1.seg (deleted)",
        f"7f20-7f30 r--s 00000000 00:2a 12  {served}/SLTD/seg-2.seg",
        "7f30-7f40 rw-s 00000000 00:05 13  /dev/shm/other (deleted)",
    ])  # fmt: skip
    assert deleted_mappings(maps, served) == 1


def test_only_anonymous_growth_beyond_the_noise_is_flagged() -> None:
    start = Footprint(rss_kib=100_000, pss_kib=50_000, anon_kib=40_000, deleted_maps=0)
    mapped_more = Footprint(rss_kib=300_000, pss_kib=150_000, anon_kib=41_000, deleted_maps=0)
    leaking = Footprint(rss_kib=100_000, pss_kib=50_000, anon_kib=40_000 + NOISE_KIB + 1024,
                        deleted_maps=0)  # fmt: skip
    assert Change("worker 1", 1, start, mapped_more).verdict() == "ok"
    assert Change("worker 1", 1, start, leaking).verdict().startswith("GROWS")
    assert Change("worker 1", 1, start, None).verdict().startswith("GONE")
    holding = Footprint(100_000, 50_000, 40_000, deleted_maps=2)
    assert "MAPS 2" in Change("worker 1", 1, start, holding).verdict()


def test_table_rows_line_up_with_their_headers(data_dir: Path, tmp_path: Path) -> None:
    from bench.soak import MEMORY_HEADER, SLICE_HEADER, SoakResult
    from bench.wrk import Slice

    piece = Slice(10.0, 12.0, summarise([Outcome(200, 800.0, 5)], seconds=2.0))
    footprint = Footprint(1024, 512, 256, 0)
    result = SoakResult(SHORT, "x", "y", 10.0, [piece], [],
                        [Change("supervisor", 1, footprint, footprint)], 5, 5)  # fmt: skip
    assert [len(row) for row in slice_rows(result)] == [len(SLICE_HEADER)]
    assert len(total_row(result)) == len(SLICE_HEADER)
    assert [len(row) for row in memory_rows(result)] == [len(MEMORY_HEADER)]
    assert result.failures() == []


def test_a_document_is_uploaded_once_across_the_soaks_loads(tmp_path: Path) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    header = "number,country,type,status,reported_on,issued_on,expires_on,visible_to\n"
    first.write_text(header + "X1,FRA,P,lost,2024-01-01,,,\nX2,FRA,P,lost,2024-01-01,,,\n")
    second.write_text(header + "x-1,FRA,P,stolen,2024-01-02,,,\nX1,DEU,P,lost,2024-01-01,,,\n")
    seen: set[tuple[str, str]] = set()
    drop_repeats(first, seen)
    drop_repeats(second, seen)
    assert first.read_text().count("\n") == 3, "nothing repeated within the first"
    assert second.read_text().splitlines()[1:] == ["X1,DEU,P,lost,2024-01-01,,,"]

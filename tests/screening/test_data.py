"""In-process screening: screening.open_data(DIR).screen([...]) (screening/data.py)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexes import compact
from loaders.catalog import SLTD
from screening import Data, open_data

LoadRows = Callable[[Path, str, str], None]
MISS: dict[str, Any] = {"hit": False, "matches": []}


@pytest.fixture
def data(loaded: Path) -> Iterator[Data]:
    opened = open_data(loaded)
    yield opened
    opened.close()


def q(number: object, country: object = "UTO", db: object = "SLTD") -> dict[str, object]:
    return {"db": db, "number": number, "country": country}


def kinds(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(m["match"], m["record"]["country"], m["record"]["owner"]) for m in result["matches"]]


def test_open_data_maps_what_was_loaded(data: Data) -> None:
    assert set(data.snapshots) == {"SLTD"}
    assert data.count(SLTD) == 154
    assert data.count(SLTD, "GBR") == 155


def test_open_data_on_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_data(tmp_path / "nowhere")


def test_exact_hit(data: Data) -> None:
    [result] = data.screen([q("L898902C3")], country="FRA")
    assert result == {
        "hit": True,
        "matches": [
            {
                "db": "SLTD",
                "id": "SLTD/L898902C3/UTO/UTO",
                "match": "exact",
                "score": 1.0,
                "record": {
                    "number": "L898902C3",
                    "country": "UTO",
                    "type": "P",
                    "status": "stolen",
                    "owner": "UTO",
                },
            }
        ],
    }


def test_query_is_normalised_like_the_loader(data: Data) -> None:
    for number, country in [("l89 8902-c3", "uto"), ("L898902C3<<", " UTO<"), ("L898902C3", "uto")]:
        [result] = data.screen([q(number, country)])
        assert kinds(result) == [("exact", "UTO", "UTO")]


def test_number_only(data: Data) -> None:
    [result] = data.screen([q("X1", "GBR")])
    assert result["hit"] is False
    assert kinds(result) == [("number_only", "FRA", "FRA")]
    assert result["matches"][0]["score"] == 0.0


def test_exact_before_number_only(data: Data) -> None:
    [result] = data.screen([q("DUP1", "FRA")])
    assert result["hit"] is True
    assert kinds(result) == [("exact", "FRA", "FRA"), ("number_only", "UTO", "UTO")]
    [other] = data.screen([q("DUP1", "GBR")])
    assert other["hit"] is False
    assert sorted(kinds(other)) == [("number_only", "FRA", "FRA"), ("number_only", "UTO", "UTO")]


def test_miss(data: Data) -> None:
    assert data.screen([q("NOTHERE")]) == [MISS]
    assert data.screen([]) == []


def test_restricted_record(data: Data) -> None:
    assert data.screen([q("R1")], country="GBR")[0]["hit"] is True
    assert data.screen([q("R1")], country="UTO")[0]["hit"] is True
    assert data.screen([q("R1")], country="USA") == [MISS]
    assert data.screen([q("R1")]) == [MISS]
    assert data.screen([q("R1", "FRA")], country="USA") == [MISS]


BAD_QUERIES: list[tuple[object, str, str]] = [
    ({"db": "SLTD", "country": "UTO"}, "number", "bad_query"),
    (q(""), "number", "bad_query"),
    (q("L1", None), "country", "bad_query"),
    (q("L1", "ZZZ"), "country", "bad_query"),
    (q("L1/2"), "number", "bad_query"),
    (q(12345), "number", "bad_query"),
    (q("L1", db="NOPE"), "db", "bad_query"),
    ({"number": "L1", "country": "UTO"}, "db", "bad_query"),
    (q("L1", db="NOMINAL"), "db", "not_supported"),
    ("L898902C3", "", "bad_query"),
]


def mixed_queries(count: int, seed: int) -> list[object]:
    pick = random.Random(seed)
    queries: list[object] = []
    for _ in range(count):
        kind = pick.randrange(6)
        if kind == 0:
            queries.append(q(f"N{pick.randrange(200):03d}", pick.choice(["UTO", "uto", "FRA"])))
        elif kind == 1:
            queries.append(q("DUP1", pick.choice(["UTO", "FRA", "GBR"])))
        elif kind == 2:
            queries.append(q(pick.choice(["R1", "L898902C3", "l89 8902 c3"])))
        elif kind == 3:
            queries.append(q(f"MISS{pick.randrange(1000)}", pick.choice(["UTO", "D"])))
        elif kind == 4:
            queries.append(q("X1", pick.choice(["FRA", "GBR"])))
        else:
            queries.append(pick.choice(BAD_QUERIES)[0])
    return queries


@pytest.mark.parametrize("country", [None, "GBR", "USA", "UTO"])
def test_batch_equals_one_by_one(data: Data, country: str | None) -> None:
    queries = mixed_queries(160, seed=hash(country) & 0xFFFF)
    batch = data.screen(queries, country=country)
    assert len(batch) == len(queries)
    for index, (query, result) in enumerate(zip(queries, batch, strict=True)):
        [single] = data.screen([query], country=country)
        if "error" in single:
            assert set(result) == {"error"}
            assert result["error"]["code"] == single["error"]["code"]
            message = result["error"]["message"]
            assert message.startswith(f"queries[{index}]")
            assert message == single["error"]["message"].replace("queries[0]", f"queries[{index}]")
        else:
            assert result == single, (index, query)
    hits = sum(1 for result in batch if result.get("hit"))
    assert 0 < hits < len(queries)


def test_batch_keeps_query_order(data: Data) -> None:
    numbers = [f"N{i:03d}" for i in range(149, -1, -1)]
    results = data.screen([q(number) for number in numbers])
    assert [r["matches"][0]["record"]["number"] for r in results] == numbers


@pytest.mark.parametrize(("query", "field", "code"), BAD_QUERIES)
def test_bad_query_inside_a_batch_gets_its_own_error(
    data: Data, query: object, field: str, code: str
) -> None:
    queries = [q("L898902C3"), q("NOTHERE"), query, q("X1", "FRA")]
    results = data.screen(queries)
    assert results[0]["hit"] is True
    assert results[1] == MISS
    assert results[3]["hit"] is True
    error = results[2]
    assert set(error) == {"error"}
    assert set(error["error"]) == {"code", "message"}
    assert error["error"]["code"] == code
    where = f"queries[2].{field}" if field else "queries[2]"
    assert error["error"]["message"].startswith(f"{where}:")


def test_no_data_yet(tmp_path: Path) -> None:
    empty = open_data(tmp_path)
    try:
        assert empty.snapshots == {}
        assert empty.count(SLTD) == 0
        not_loaded = {
            "error": {
                "code": "not_loaded",
                "message": "SLTD: no data is loaded on this server; not screened",
            }
        }
        assert empty.screen([q("L898902C3"), q("X1")]) == [not_loaded, not_loaded]
        assert empty.screen([q("L898902C3")]) == [not_loaded]
    finally:
        empty.close()


def test_refresh_sees_a_new_load(tmp_path: Path, load_rows: LoadRows) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    opened = open_data(data_dir)
    try:
        assert opened.refresh() == []
        load_rows(data_dir, "UTO", "L1,UTO,stolen,,\n")
        assert "error" in opened.screen([q("L1")])[0]  # what was mapped is unchanged ...
        assert opened.refresh() == ["SLTD"]  # ... until refresh
        assert opened.screen([q("L1")])[0]["hit"] is True
        assert opened.refresh() == []

        load_rows(data_dir, "UTO", "L2,UTO,stolen,,\n")
        load_rows(data_dir, "UTO", "L1,UTO,lost,,\n")
        assert opened.refresh() == ["SLTD"]
        [l1, l2] = opened.screen([q("L1"), q("L2")])
        assert [m["record"]["status"] for m in l1["matches"]] == ["lost"]
        assert l2["hit"] is True

        compact(data_dir / "SLTD", "SLTD")
        assert opened.refresh() == ["SLTD"]
        assert len(opened.snapshots["SLTD"].parts) == 1
        assert opened.screen([q("L1"), q("L2")]) == [l1, l2]
        assert opened.count(SLTD) == 2
    finally:
        opened.close()


def test_the_callers_country_is_normalised_or_refused(loaded: Path) -> None:
    data = open_data(loaded)
    query = [{"db": "SLTD", "number": "L898902C3", "country": "UTO"}]
    assert data.screen(query, country="fra") == data.screen(query, country="FRA")
    with pytest.raises(ValueError, match="country"):
        data.screen(query, country="XYZ")


ODD_NUMBERS = ["L898902C3", "l89 8902-c3", "L898902C3<", " ", "", "é1", "A" * 31, 7, None]
ODD_COUNTRIES = ["UTO", "uto", "D<<", "ZZZ", "", None, 3, "FRA"]


def test_a_batch_normalised_as_columns_answers_like_single_queries(loaded: Path) -> None:
    data = open_data(loaded)
    queries: list[object] = [
        {"db": db, "number": number, "country": country}
        for db in ("SLTD", "sltd", "TDAWN")
        for number in ODD_NUMBERS
        for country in ODD_COUNTRIES
    ]
    queries += ["not a query", {"number": "L898902C3"}]
    one_by_one = [data.screen([query], country="GBR")[0] for query in queries]
    assert len(queries) > 16

    def unnumbered(results: list[dict[str, Any]]) -> str:
        return re.sub(r"queries\[\d+\]", "queries[i]", repr(results))

    assert unnumbered(data.screen(queries, country="GBR")) == unnumbered(one_by_one)

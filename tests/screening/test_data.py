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
    (q("L1", db="NOMINAL"), "", "bad_query"),
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


# --- every database: dispatch to its matchers ------------------------------------------


def _load_jsonl(data_dir: Path, code: str, rows: list[dict[str, object]]) -> None:
    import orjson

    from loaders.load import load
    from loaders.readers import Upload

    path = data_dir.parent / f"{code}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    result = load(data_dir, code, "FRA", [Upload.of(str(path))])
    assert result.rejected == 0


@pytest.fixture
def vessels(tmp_path: Path) -> Iterator[Data]:
    data_dir = tmp_path / "data"
    _load_jsonl(data_dir, "VESSELS", [{"hin": "ABC12345D404", "name": "Sea Breeze"}])
    _load_jsonl(data_dir, "SMV", [{"vin": "WVWZZZ1JZXW000001", "status": "stolen"}])
    opened = open_data(data_dir)
    yield opened
    opened.close()


def test_an_exact_and_name_database_answers_by_its_lookups(vessels: Data) -> None:
    [hit] = vessels.screen([{"db": "VESSELS", "hin": "abc12345d404", "name": "whatever"}])
    assert hit["hit"] and hit["matches"][0]["match"] == "exact"
    assert hit["matches"][0]["id"] == "VESSELS/hin/ABC12345D404/FRA"


def test_a_matcher_not_in_this_build_is_not_supported_never_a_miss(
    vessels: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening import data as data_module
    from screening.matchers import matcher

    monkeypatch.setattr(
        data_module, "matcher", lambda name: None if name == "name" else matcher(name)
    )
    monkeypatch.setattr(
        data_module, "missing", lambda db: ("name",) if "name" in db.matchers else ()
    )
    queries = [
        {"db": "VESSELS", "name": "Sea Breeze"},
        {"db": "VESSELS", "hin": "ABC12345D404"},
        {"db": "NOMINAL", "surname": "ERIKSSON"},
    ]
    for results in (vessels.screen(queries), [vessels.screen([one])[0] for one in queries]):
        by_name, by_hin, person = results
        assert by_name["error"]["code"] == "not_supported"
        assert "screening VESSELS by name is not supported yet" in by_name["error"]["message"]
        assert "it can be screened by hin, or imo" in by_name["error"]["message"]
        assert by_hin["hit"]
        assert person["error"]["code"] == "not_supported"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"db": "SMV", "plate": "AB123"},
            "queries[0]: SMV is screened by vin, or plate and country",
        ),
        ({"db": "SMV", "vin": "WVWZZZ1JZXW00000"}, "queries[0].vin: "),
        ({"db": "VESSELS"}, "queries[0]: VESSELS is screened by hin, or imo, or name"),
        (
            {"db": "ICSE", "series": "S-1"},
            "queries[0]: ICSE is screened by sha256, or md5, or phash",
        ),
        ({"db": "IARMS", "serial": "A1"}, "queries[0].make: required for IARMS"),
    ],
)
def test_a_query_without_a_lookup_says_what_the_database_is_screened_by(
    vessels: Data, query: dict[str, object], message: str
) -> None:
    [result] = vessels.screen([query])
    assert result["error"]["code"] == "bad_query"
    assert result["error"]["message"].startswith(message)


def test_a_batch_of_several_databases_keeps_query_order(vessels: Data) -> None:
    queries = [
        {"db": "SMV", "vin": "WVWZZZ1JZXW000001"},
        {"db": "VESSELS", "hin": "ABC12345D404"},
        {"db": "SMV", "vin": "WVWZZZ1JZXW000002"},
        {"db": "SLTD", "number": "L1", "country": "UTO"},
    ]
    first, second, third, fourth = vessels.screen(queries * 10)[:4]
    assert first["matches"][0]["db"] == "SMV" and second["matches"][0]["db"] == "VESSELS"
    assert third == MISS
    assert fourth["error"]["code"] == "not_loaded"


def test_every_exact_database_over_http(tmp_path: Path, make_client: Any) -> None:
    """`/v1/screen` answers each exact database from generated uploads; `/v1/databases`
    lists all 19 with what the catalog declares."""
    import csv

    from loaders.catalog import DATABASES
    from loaders.generate import generate
    from loaders.load import load
    from loaders.readers import Upload
    from screening.keys import add_key
    from screening.settings import KEYS_FILE_NAME

    data_dir = tmp_path / "data"
    queries = []
    for code, db in DATABASES.items():
        if "exact" not in db.matchers:
            continue
        out = tmp_path / f"{code}.csv"
        generate(code, 20, out, seed=8)
        assert load(data_dir, code, "FRA", [Upload.of(str(out))]).rejected == 0
        with out.open(newline="") as file:
            row = next(csv.DictReader(file))
        queries.append({"db": code, **{k: v for k, v in row.items() if k in db.query_fields and v}})
    key = add_key(data_dir / KEYS_FILE_NAME, "gate", "FRA", "frontline")[0]
    client = make_client(data=data_dir)
    reply = client.request("POST", "/v1/screen", key=key, json={"queries": queries})
    assert reply.status == 200
    results = reply.body["results"]
    assert all(result["hit"] for result in results), results
    assert [r["matches"][0]["db"] for r in results] == [q["db"] for q in queries]
    listed = client.request("GET", "/v1/databases", key=key).body["databases"]
    assert [db["code"] for db in listed] == list(DATABASES)
    for entry in listed:
        db = DATABASES[entry["code"]]
        assert entry["matcher"] == db.matcher and entry["threshold"] == db.threshold
        assert [f["name"] for f in entry["fields"]] == list(db.field_names)
        assert entry["loaded"] == ("exact" in db.matchers)
        assert entry["records"] == (20 if "exact" in db.matchers else 0)

"""The columnar batch `{"db", "columns"}` of POST /v1/screen: the same answers as the
per-query batch for the same rows (hypothesis over hits, kin, misses, bad values and
restricted records), its limits and errors, and its audit entry and hit notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.http_bodies import open_sltd, sample_queries, write_batches, write_columns
from screening.audit import audit_directory, hits_directory
from screening.columns import ColumnAnswer, _split_lines, column_batch, screen_columns
from screening.data import Data, open_data
from screening.http_errors import BadRequestError, BatchTooLargeError
from screening.journal import BEGINNING, read_page
from screening.keys import add_key
from screening.testing import LocalClient, MakeClient

STORED = [
    ("L898902C3", "UTO"),  # the ICAO specimen
    ("l89 8902-c3", "uto"),  # the same, as typed: the column check normalises it
    ("DUP1", "UTO"),  # issued by two states: an exact match and a number_only kin
    ("DUP1", "FRA"),
    ("DUP1", "GBR"),  # only kin
    ("R1", "UTO"),  # restricted to GBR (and its owner UTO)
    ("N007", "UTO"),
    ("X1", "FRA"),
]
MISSES = [("ZZ999", "UTO"), ("N007", "FRA"), ("L898902C4", "UTO")]
BAD: list[tuple[object, object]] = [
    ("", "UTO"),
    ("N007", ""),
    (None, "UTO"),
    ("N007", None),
    (123, "UTO"),
    ("N007", 4),
    ("!!!", "UTO"),
    ("N007", "XX1"),
    ("A" * 31, "UTO"),
    ("N007", ["UTO"]),
]
ROWS = st.sampled_from(STORED + MISSES + BAD)
VIEWERS = st.sampled_from([None, "GBR", "FRA", "UTO"])


@pytest.fixture(scope="module")
def data(served_data: Path) -> Data:
    return open_data(served_data)


def columns_of(rows: list[tuple[object, object]]) -> dict[str, list[object]]:
    return {"number": [row[0] for row in rows], "country": [row[1] for row in rows]}


def as_text(columns: dict[str, list[object]]) -> dict[str, list[object] | str]:
    """Each column that can be, as its text form: the values joined by newlines."""
    return {
        name: "\n".join(values)  # type: ignore[arg-type]
        if all(isinstance(value, str) and "\n" not in value for value in values)
        else values
        for name, values in columns.items()
    }


def per_query(answer: ColumnAnswer) -> list[dict[str, Any]]:
    """A columnar answer unrolled into the per-query batch's results."""
    found = {entry["index"]: entry for entry in answer.found}
    errors = {entry["index"]: entry for entry in answer.errors}
    results: list[dict[str, Any]] = []
    for row, hit in enumerate(answer.hit):
        if row in errors:
            assert hit is None and row not in found
            error = errors[row]
            message = error["message"].replace(f"columns[{row}]", f"queries[{row}]")
            results.append({"error": {"code": error["code"], "message": message}})
        elif row in found:
            assert hit is found[row]["hit"]
            results.append({"hit": found[row]["hit"], "matches": found[row]["matches"]})
        else:
            assert hit is False
            results.append({"hit": False, "matches": []})
    return results


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROWS, min_size=1, max_size=40), viewer=VIEWERS, text=st.booleans())
def test_columns_answer_what_queries_answer(
    data: Data, rows: list[tuple[object, object]], viewer: str | None, text: bool
) -> None:
    columns: dict[str, Any] = as_text(columns_of(rows)) if text else columns_of(rows)
    answer = screen_columns(data, column_batch({"db": "SLTD", "columns": columns}, 100), viewer)
    queries = [{"db": "SLTD", "number": number, "country": country} for number, country in rows]
    if len(queries) == 1:  # the single-query path names its query queries[0] as well
        queries = [*queries, {"db": "SLTD", "number": "ZZ999", "country": "UTO"}]
        assert per_query(answer) == data.screen(queries, viewer)[:1]
    else:
        assert per_query(answer) == data.screen(queries, viewer)
    assert [entry["index"] for entry in answer.found] == sorted(e["index"] for e in answer.found)


def test_a_text_column_is_its_values_joined_by_newlines(data: Data) -> None:
    columns = {"number": "L898902C3\n\nZZ999", "country": ["UTO", "UTO", "UTO"]}
    answer = screen_columns(data, column_batch({"db": "SLTD", "columns": columns}, 9), "GBR")
    assert answer.hit == [True, None, False]
    assert answer.errors[0]["message"] == "columns[1].number: required for SLTD"
    with pytest.raises(BadRequestError, match="number: 2 values, but"):
        column_batch({"db": "SLTD", "columns": {"country": "UTO\nUTO\nUTO", "number": "A\nB"}}, 9)


def test_a_bad_row_names_its_index_and_field(data: Data) -> None:
    rows: list[tuple[object, object]] = [("L898902C3", "UTO"), (123, "UTO"), ("N007", "XX1")]
    answer = screen_columns(
        data, column_batch({"db": "SLTD", "columns": columns_of(rows)}, 9), "GBR"
    )
    assert answer.hit == [True, None, None]
    first, second = answer.errors
    assert first["index"] == 1 and first["field"] == "number" and first["code"] == "bad_query"
    assert first["message"].startswith("columns[1].number: must be text")
    assert second["index"] == 2 and second["field"] == "country"


def test_restricted_records_stay_hidden(data: Data) -> None:
    batch = column_batch({"db": "SLTD", "columns": columns_of([("R1", "UTO")])}, 9)
    assert screen_columns(data, batch, "FRA").hit == [False]
    assert screen_columns(data, batch, "FRA").found == []
    assert screen_columns(data, batch, "GBR").hit == [True]


def test_a_database_without_data_is_never_a_silent_miss(data: Data) -> None:
    columns = {"number": ["T1", "", "T3"], "country": ["UTO", "UTO", "UTO"]}
    answer = screen_columns(data, column_batch({"db": "TDAWN", "columns": columns}, 9), "GBR")
    assert answer.hit == [None, None, None]
    assert [entry["code"] for entry in answer.errors] == ["not_loaded", "bad_query", "not_loaded"]
    assert [entry["index"] for entry in answer.errors] == [0, 1, 2]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"columns": {"number": []}}, "body.db: required"),
        ({"db": "NOPE", "columns": {"number": []}}, "body.db:"),
        ({"db": "NOMINAL", "columns": {"surname": []}}, "NOMINAL cannot be screened by columns"),
        ({"db": "SLTD", "columns": []}, "body.columns: must be an object"),
        ({"db": "SLTD", "columns": {}}, "body.columns: must be an object"),
        ({"db": "SLTD", "columns": {"number": 5, "country": []}}, "number: must be a list"),
        ({"db": "SLTD", "columns": {"number": [], "colour": []}}, "body.columns.colour"),
        ({"db": "SLTD", "columns": {"number": ["A"], "country": []}}, "country: 0 values"),
        ({"db": "SLTD", "columns": {"number": ["A"]}}, "body.columns.country: required"),
        ({"db": "SLTD", "columns": {"number": []}, "queries": []}, "not both"),
    ],
)
def test_a_body_of_the_wrong_shape_is_refused(body: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestError, match=message.replace("(", r"\(").replace("[", r"\[")):
        column_batch(body, 10)


def test_more_rows_than_the_limit_is_413() -> None:
    columns = {"number": ["A"] * 11, "country": ["UTO"] * 11}
    with pytest.raises(BatchTooLargeError, match=r"11 .*limit: 10"):
        column_batch({"db": "SLTD", "columns": columns}, 10)


def test_over_http_in_json_and_msgpack(http: LocalClient, api_keys: dict[str, str]) -> None:
    columns = columns_of([("L898902C3", "UTO"), ("ZZ999", "UTO"), ("R1", "UTO"), ("", "UTO")])
    body = {"db": "sltd", "columns": columns}
    json_reply = http.request("POST", "/v1/screen", key=api_keys["fra"], json=body)
    packed_reply = http.request("POST", "/v1/screen", key=api_keys["fra"], packed=body)
    texts = {"db": "SLTD", "columns": as_text(columns)}
    text_reply = http.request("POST", "/v1/screen", key=api_keys["fra"], packed=texts)
    for reply in (json_reply, packed_reply, text_reply):
        assert reply.status == 200, reply
        assert reply.body["db"] == "SLTD" and reply.body["rows"] == 4
        assert reply.body["hit"] == [True, False, False, None]  # R1 is not FRA's to see
        assert [entry["index"] for entry in reply.body["found"]] == [0]
        assert reply.body["found"][0]["matches"][0]["id"] == "SLTD/L898902C3/UTO/UTO"
        [error] = reply.body["errors"]
        assert error["index"] == 3 and error["field"] == "number"
        assert isinstance(reply.body["took_us"], int)
    assert packed_reply.headers["Content-Type"].startswith("application/msgpack")


def test_over_http_limits_and_shapes(make_client: MakeClient, served_data: Path) -> None:
    key = add_key(served_data.parent / "keys-columns.json", "gate", "GBR", "frontline")[0]
    client = make_client(data=served_data, keys=served_data.parent / "keys-columns.json",
                         max_batch=5)  # fmt: skip
    big = {"db": "SLTD", "columns": {"number": ["A"] * 6, "country": ["UTO"] * 6}}
    reply = client.request("POST", "/v1/screen", key=key, json=big)
    assert reply.status == 413 and "limit: 5" in reply.error["message"]
    reply = client.request("POST", "/v1/screen", key=key, json={"db": "SLTD", "columns": 3})
    assert reply.status == 400 and reply.error["message"].startswith("body.columns")


def test_the_audit_keeps_every_row_and_tells_each_owner(
    make_client: MakeClient, loaded: Path
) -> None:
    key = add_key(loaded / "keys.json", "gate-3", "GBR", "frontline")[0]
    client = make_client(data=loaded)
    rows: list[tuple[object, object]] = [("ZZ1", "UTO")] * 1030 + [
        ("L898902C3", "UTO"),
        ("DUP1", "FRA"),
        ("DUP1", "GBR"),
        (5, "UTO"),
    ]
    body = {"db": "SLTD", "columns": columns_of(rows)}
    reply = client.request(
        "POST", "/v1/screen", key=key, packed=body, headers={"X-Request-Id": "c-1"}
    )
    assert reply.status == 200, reply
    [entry] = read_page(audit_directory(loaded), BEGINNING, 1000).entries
    assert entry["request"] == "c-1" and entry["dbs"] == ["SLTD"]
    assert entry["db"] == "SLTD" and entry["columns"] == columns_of(rows)
    assert entry["answers"] == {
        "rows": 1034,
        "hits": {"1030": ["SLTD/L898902C3/UTO/UTO"], "1031": ["SLTD/DUP1/FRA/FRA"]},
        "errors": {"1033": "bad_query"},
    }
    assert entry["hit"] is True
    assert entry["ids"] == ["SLTD/L898902C3/UTO/UTO", "SLTD/DUP1/FRA/FRA"]
    uto = read_page(hits_directory(loaded, "UTO"), BEGINNING, 100).entries
    fra = read_page(hits_directory(loaded, "FRA"), BEGINNING, 100).entries
    assert [notice["id"] for notice in uto] == ["SLTD/L898902C3/UTO/UTO"]
    assert [notice["id"] for notice in fra] == ["SLTD/DUP1/FRA/FRA"]  # the kin of row 72: none
    assert uto[0]["by"] == {"country": "GBR", "name": "gate-3"}


def test_bench_columnar_bodies_get_the_answers_of_the_batch_bodies(
    http: LocalClient, api_keys: dict[str, str], served_data: Path, tmp_path: Path
) -> None:
    queries = sample_queries(open_sltd(served_data), 20, "GBR", seed=5)
    batches = write_batches(queries, 10, tmp_path)
    columns = write_columns(queries, 10, tmp_path, "columns")
    assert columns.columnar and columns.expected_hits == batches.expected_hits

    def post(path: Path) -> Any:
        headers = {"Content-Type": "application/msgpack"}
        reply = http.request(
            "POST", "/v1/screen", key=api_keys["gbr"], data=path.read_bytes(), headers=headers
        )
        return reply.body

    for by_map, by_columns, expected in zip(
        batches.paths, columns.paths, batches.expected_hits, strict=True
    ):
        mapped, columnar = post(by_map), post(by_columns)
        assert columnar["hit"] == [result["hit"] for result in mapped["results"]] == expected
        assert [entry["matches"] for entry in columnar["found"]] == [
            result["matches"] for result in mapped["results"] if result["matches"]
        ]


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(["number", "country", "type", "status", "colour", ""])
COLUMN = st.lists(JSON_VALUES, max_size=6) | st.text(max_size=30) | JSON_VALUES


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    db=st.sampled_from(["SLTD", "sltd ", "TDAWN", "IARMS", "NOMINAL", "SMV", "NOPE"]) | JSON_VALUES,
    columns=st.dictionaries(FIELDS, COLUMN, max_size=4) | JSON_VALUES,
    packed=st.booleans(),
)
def test_any_columnar_body_gets_an_answer_or_a_4xx(
    http: LocalClient, api_keys: dict[str, str], db: object, columns: object, packed: bool
) -> None:
    body = {"db": db, "columns": columns}
    if packed:
        reply = http.request("POST", "/v1/screen", key=api_keys["gbr"], packed=body)
    else:
        reply = http.request("POST", "/v1/screen", key=api_keys["gbr"], json=body)
    assert reply.status in (200, 400), reply
    if reply.status == 200:
        assert len(reply.body["hit"]) == reply.body["rows"]
    else:
        assert reply.error["message"].startswith("body")  # names what is wrong


@given(st.text(alphabet=st.sampled_from(["a", "é", "\n", "<", " ", "字", "\r"]), max_size=40))
def test_a_text_column_splits_as_str_split(text: str) -> None:
    column = _split_lines(text)
    column.validate(full=True)
    assert column.to_pylist() == text.split("\n")

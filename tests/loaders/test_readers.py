"""Upload readers: CSV and JSON Lines to (line, row) or BadRow (loaders/readers.py)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders.readers import BadRow, Row, UnreadableFileError, Upload, read_rows

Item = tuple[int, Row] | BadRow


def read(data: bytes, format: str = "csv") -> list[Item]:
    return list(read_rows(Upload(f"upload.{format}", format), io.BytesIO(data)))


def good(items: list[Item]) -> list[tuple[int, Row]]:
    return [item for item in items if not isinstance(item, BadRow)]


def bad(items: list[Item]) -> list[BadRow]:
    return [item for item in items if isinstance(item, BadRow)]


# Upload ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "format", "expected"),
    [
        ("a.csv", None, "csv"),
        ("A.CSV", None, "csv"),
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson", None, "jsonl"),
        ("a.json", None, "jsonl"),
        ("-", None, "jsonl"),
        ("-", "csv", "csv"),
        ("a.txt", "csv", "csv"),
    ],
)
def test_upload_format(name: str, format: str | None, expected: str) -> None:
    assert Upload.of(name, format).format == expected


def test_unknown_format_is_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="xlsx"):
        read_rows(Upload("a.xlsx", "xlsx"), io.BytesIO(b""))


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"missing\.csv"):
        Upload.of(str(tmp_path / "missing.csv")).open_binary()


# CSV -------------------------------------------------------------------------------------


def test_csv_plain() -> None:
    items = read(b"number,country\nL1,UTO\nL2,FRA\n")
    assert items == [
        (2, {"number": "L1", "country": "UTO"}),
        (3, {"number": "L2", "country": "FRA"}),
    ]


def test_csv_bom_and_crlf() -> None:
    items = read(b"\xef\xbb\xbfNumber,Country\r\nL1,UTO\r\nL2,FRA\r\n")
    assert items == [
        (2, {"number": "L1", "country": "UTO"}),
        (3, {"number": "L2", "country": "FRA"}),
    ]


def test_csv_cr_line_ends() -> None:
    items = read(b'number,note\rL1,"a\rb"\rL2,x\r')
    assert items == [(2, {"number": "L1", "note": "a\rb"}), (4, {"number": "L2", "note": "x"})]


def test_csv_header_names_are_stripped_and_folded() -> None:
    assert read(b" NUMBER , Country\nL1,UTO\n") == [(2, {"number": "L1", "country": "UTO"})]


def test_csv_last_line_without_newline() -> None:
    assert read(b"number\nL1\nL2") == [(2, {"number": "L1"}), (3, {"number": "L2"})]


def test_csv_quoted_fields_with_commas_and_newlines_keep_line_numbers() -> None:
    data = (
        b"number,country,note\r\n"  # 1
        b'L1,UTO,"a, b"\r\n'  # 2
        b'L2,UTO,"two\r\nlines"\r\n'  # 3-4
        b'L3,UTO,"three\nlines\nhere"\r\n'  # 5-7
        b"L4,UTO,plain\r\n"  # 8
        b'L5,UTO,"say ""hi"""\r\n'  # 9
    )
    items = read(data)
    assert [line for line, _ in good(items)] == [2, 3, 5, 8, 9]
    rows = dict((row["number"], row["note"]) for _, row in good(items))
    assert rows == {
        "L1": "a, b",
        "L2": "two\r\nlines",
        "L3": "three\nlines\nhere",
        "L4": "plain",
        "L5": 'say "hi"',
    }


def test_csv_multi_line_bad_row_reports_its_first_line() -> None:
    data = b'number,country\nL1,UTO\n"L2\nL2b",UTO,extra\nL3,UTO\n'
    items = read(data)
    assert bad(items) == [
        BadRow(3, "row has 3 values, the header has 2", ["L2\nL2b", "UTO", "extra"])
    ]
    assert [line for line, _ in good(items)] == [2, 5]


def test_csv_rows_with_wrong_width_are_bad_rows() -> None:
    data = b"number,country,status\nL1,UTO,stolen\nL2,UTO\nL3,UTO,lost,extra\nL4,UTO,lost\n"
    items = read(data)
    assert good(items) == [
        (2, {"number": "L1", "country": "UTO", "status": "stolen"}),
        (5, {"number": "L4", "country": "UTO", "status": "lost"}),
    ]
    rejects = bad(items)
    assert [(r.line, r.reason) for r in rejects] == [
        (3, "row has 2 values, the header has 3"),
        (4, "row has 4 values, the header has 3"),
    ]
    assert rejects[0].raw == ["L2", "UTO"]


def test_csv_empty_lines_are_skipped() -> None:
    data = b"number,country\n\nL1,UTO\n\r\n\nL2,FRA\n\n"
    assert read(data) == [
        (3, {"number": "L1", "country": "UTO"}),
        (6, {"number": "L2", "country": "FRA"}),
    ]


def test_csv_header_only() -> None:
    assert read(b"number,country\n") == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no header"),
        (b"\xef\xbb\xbf", "no header"),
        (b" , ,\nL1,UTO,x\n", "no header"),
        (b"number,,country\nL1,x,UTO\n", "empty column"),
        (b"number,country,Number\nL1,UTO,L1\n", "'number' twice"),
        (b"number,country\nL1,UTO\nL\xff2,UTO\n", "not UTF-8"),
        (b"number,country\nL1,UTO\nL2,\xe9tat\n", "not UTF-8"),
        (b"\xff\xfen\x00u\x00m\x00\n\x00", "not UTF-8"),
    ],
)
def test_csv_unreadable(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFileError, match=reason) as caught:
        read(data)
    assert "upload.csv" in str(caught.value)


def test_csv_non_utf8_after_many_rows_is_unreadable() -> None:
    rows = b"".join(b"L%06d,UTO\n" % i for i in range(5000))
    data = b"number,country\n" + rows + b"L\xff,UTO\n" + rows
    stream = read_rows(Upload("big.csv", "csv"), io.BytesIO(data))
    seen = 0
    with pytest.raises(UnreadableFileError, match="not UTF-8"):
        for _ in stream:
            seen += 1
    assert seen < 5000


def test_csv_does_not_close_the_callers_stream() -> None:
    stream = io.BytesIO(b"number\nL1\n")
    assert list(read_rows(Upload("a.csv", "csv"), stream)) == [(2, {"number": "L1"})]
    assert not stream.closed


def test_csv_stream_closed_before_the_reader_is_finalised() -> None:
    # The loader closes its file when a row fails to store; the suspended reader must not
    # then raise from its cleanup ("I/O operation on closed file").
    stream = io.BytesIO(b"number\nL1\nL2\n")
    rows = read_rows(Upload("a.csv", "csv"), stream)
    assert isinstance(rows, Generator)
    assert next(rows) == (2, {"number": "L1"})
    stream.close()
    rows.close()


column_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)
cell_text = st.text(
    alphabet=st.characters(codec="utf-8"),
    max_size=12,
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    columns = draw(st.lists(column_names, min_size=1, max_size=5, unique=True))
    rows = draw(
        st.lists(st.lists(cell_text, min_size=len(columns), max_size=len(columns)), max_size=8)
    )
    return columns, rows


@settings(max_examples=150, deadline=None)
@given(tables(), st.booleans())
def test_csv_round_trip(table: tuple[list[str], list[list[str]]], bom: bool) -> None:
    columns, rows = table
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    starts = []
    for row in rows:
        starts.append(len(re.findall(r"\r\n|\r|\n", out.getvalue())) + 1)
        writer.writerow(row)
    data = ("\ufeff" if bom else "") + out.getvalue()
    assert read(data.encode()) == [
        (line, dict(zip(columns, row, strict=True))) for line, row in zip(starts, rows, strict=True)
    ]


# JSON Lines --------------------------------------------------------------------------------


def test_jsonl_rows() -> None:
    data = b'{"number": "L1", "Country": "UTO"}\n\n{"number": "L2", "country": "FRA"}\r\n'
    assert read(data, "jsonl") == [
        (1, {"number": "L1", "country": "UTO"}),
        (3, {"number": "L2", "country": "FRA"}),
    ]


def test_jsonl_bom_on_the_first_line() -> None:
    data = b'\xef\xbb\xbf{"number": "L1"}\n{"number": "L2"}\n'
    assert read(data, "jsonl") == [(1, {"number": "L1"}), (2, {"number": "L2"})]


def test_jsonl_values_become_text() -> None:
    data = (
        b'{"number": 12345, "ratio": 1.5, "flag": true, "off": false, "gone": null,'
        b' "visible_to": ["GBR", "FRA"], "empty": []}\n'
    )
    assert read(data, "jsonl") == [
        (
            1,
            {
                "number": "12345",
                "ratio": "1.5",
                "flag": "true",
                "off": "false",
                "visible_to": "GBR;FRA",
                "empty": "",
            },
        )
    ]


def test_jsonl_bad_lines_are_bad_rows_with_their_line() -> None:
    data = (
        b'{"number": "L1"}\n'  # 1
        b'{"number": "L2"\n'  # 2: not JSON
        b'["L3"]\n'  # 3: not an object
        b'"L4"\n'  # 4: not an object
        b'{"number": {"value": "L5"}}\n'  # 5: nested object: its JSON text (loci)
        b'{"number": "L6", "visible_to": ["GBR", 1]}\n'  # 6: mixed list: JSON text too
        b"\n"  # 7: blank
        b'{"number": "L8"}\n'  # 8
    )
    items = read(data, "jsonl")
    assert good(items) == [
        (1, {"number": "L1"}),
        (5, {"number": '{"value":"L5"}'}),
        (6, {"number": "L6", "visible_to": '["GBR",1]'}),
        (8, {"number": "L8"}),
    ]
    rejects = bad(items)
    assert [r.line for r in rejects] == [2, 3, 4]
    assert rejects[0].reason.startswith("not valid JSON")
    assert rejects[0].raw == '{"number": "L2"'
    assert rejects[1].reason == "a line must be a JSON object, not list"
    assert rejects[2].reason == "a line must be a JSON object, not str"


def test_jsonl_non_utf8_is_unreadable() -> None:
    with pytest.raises(UnreadableFileError, match="line 2"):
        read(b'{"number": "L1"}\n{"number": "L\xff2"}\n', "jsonl")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(column_names, cell_text, max_size=5), max_size=6))
def test_jsonl_round_trip(rows: list[dict[str, str]]) -> None:
    data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    assert read(data, "jsonl") == [(line, row) for line, row in enumerate(rows, 1)]

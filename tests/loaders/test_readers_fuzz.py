"""The upload readers on hostile input (loaders/readers.py, loaders/columnar.py).

Strategy: an upload is outside data, so hypothesis throws random bytes and random rows at
each path (CSV row by row, JSON Lines, the columnar path of a quote-free CSV). Each may
only yield rows and `BadRow`s whose line numbers are the lines they came from, or refuse
the whole file with `UnreadableFileError` naming it and a line. Random rows are written
by the standard library's writers, so the line each row starts on is known exactly and
checked. `fuzz/fuzz_readers.py` holds the same paths to the same rules under atheris
(`make fuzz`), where coverage guidance goes further than these draws.
"""

from __future__ import annotations

import csv
import io
import json
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders.columnar import csv_blocks
from loaders.load import BARE_CR
from loaders.readers import (
    BadRow,
    Row,
    UnreadableFileError,
    Upload,
    csv_line_rows,
    read_csv_header,
    read_rows,
)

Item = tuple[int, Row] | BadRow
LINE_END = re.compile(rb"\r\n|\r|\n")


def line_of(item: Item) -> int:
    return item.line if isinstance(item, BadRow) else item[0]


def row_path(data: bytes, format: str) -> list[Item]:
    return list(read_rows(Upload(f"upload.{format}", format), io.BytesIO(data)))


def column_path(data: bytes, block_bytes: int = 64) -> list[Item]:
    """What `load` does with a quote-free CSV: Arrow for the plain lines, the rest by row."""
    stream = io.BytesIO(data)
    columns = read_csv_header("upload.csv", stream)
    items: list[Item] = []
    for block in csv_blocks(stream, columns, first_line=2, block_bytes=block_bytes):
        items += csv_line_rows("upload.csv", columns, block.other_lines)
        items += zip(block.lines.tolist(), block.table.to_pylist(), strict=True)
    return sorted(items, key=line_of)


def read_or_refuse(read: object, *args: object) -> list[Item] | UnreadableFileError:
    assert callable(read)
    try:
        items: list[Item] = read(*args)
    except UnreadableFileError as error:
        assert str(error).startswith("upload."), error
        assert error.line is None or error.line >= 1, error
        return error
    return items


def assert_well_numbered(items: list[Item], data: bytes, first: int) -> None:
    lines = [line_of(item) for item in items]
    assert lines == sorted(set(lines)), lines
    last = len(LINE_END.findall(data)) + 1
    assert all(first <= line <= last for line in lines), (lines, last)
    for item in items:
        if isinstance(item, BadRow):
            assert item.reason
        else:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in item[1].items())


# --- random bytes ---------------------------------------------------------------------------

PIECES = [b"number", b"country", b",", b'"', b"\r", b"\n", b"\r\n", b" ", b"\xff"]
PIECES += [b"\xef\xbb\xbf", b"\x00", b"{", b"}", b"[1]", b'"a":', b"\xc3\xa9", b"L1"]
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=600),
    st.lists(st.sampled_from(PIECES), max_size=80).map(b"".join),
)


@settings(max_examples=300, deadline=None)
@given(data=HOSTILE_BYTES, format=st.sampled_from(["csv", "jsonl"]))
def test_random_bytes_are_rows_bad_rows_or_an_unreadable_file(data: bytes, format: str) -> None:
    items = read_or_refuse(row_path, data, format)
    if not isinstance(items, UnreadableFileError):
        assert_well_numbered(items, data, 2 if format == "csv" else 1)


@settings(max_examples=300, deadline=None)
@given(data=HOSTILE_BYTES, block_bytes=st.integers(1, 80))
def test_random_bytes_on_the_column_path(data: bytes, block_bytes: int) -> None:
    data = BARE_CR.sub(b"", data.replace(b'"', b""))  # only such files take this path
    items = read_or_refuse(column_path, data, block_bytes)
    if not isinstance(items, UnreadableFileError):
        assert_well_numbered(items, data, 2)


# --- random rows ----------------------------------------------------------------------------

CELL = st.text(st.sampled_from('ab, "\r\n\t\x00é€'), max_size=6)
COLUMNS = st.lists(
    st.text("abcdefghij_", min_size=1, max_size=6), min_size=1, max_size=5, unique=True
)


@st.composite
def csv_uploads(draw: st.DrawFn) -> tuple[bytes, list[str], list[tuple[int, list[str]]]]:
    """(file, columns, [(the line each row starts on, its values)]), by csv.writer."""
    columns = draw(COLUMNS)
    rows = draw(st.lists(st.lists(CELL, max_size=len(columns) + 2), max_size=10))
    out = io.StringIO(newline="")
    # a lone CR is quoted only when the line ends hold one, or when every value is quoted
    quote_all = draw(st.booleans())
    writer = csv.writer(
        out,
        lineterminator="\n" if quote_all else "\r\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(columns)
    starts = []
    for row in rows:
        starts.append(len(LINE_END.findall(out.getvalue().encode())) + 1)
        writer.writerow(row)
    return out.getvalue().encode(), columns, list(zip(starts, rows, strict=True))


@settings(max_examples=200, deadline=None)
@given(upload=csv_uploads())
def test_random_csv_rows_are_read_at_their_lines(
    upload: tuple[bytes, list[str], list[tuple[int, list[str]]]],
) -> None:
    data, columns, rows = upload
    expected: list[Item] = []
    for line, values in rows:
        if len(values) == len(columns):
            expected.append((line, dict(zip(columns, values, strict=True))))
        elif any(value.strip() for value in values):  # a wrong width of blanks is a blank line
            width = f"row has {len(values)} values, the header has {len(columns)}"
            expected.append(BadRow(line, width, values))
    assert row_path(data, "csv") == expected


@settings(max_examples=200, deadline=None)
@given(upload=csv_uploads())
def test_the_column_path_reads_quote_free_rows_as_the_row_path_does(
    upload: tuple[bytes, list[str], list[tuple[int, list[str]]]],
) -> None:
    data = BARE_CR.sub(b"", upload[0].replace(b'"', b""))
    expected = read_or_refuse(row_path, data, "csv")
    if isinstance(expected, UnreadableFileError):
        with pytest.raises(UnreadableFileError):
            column_path(data)
    else:
        assert column_path(data) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
JSONL_LINES = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),  # big ints too
    st.dictionaries(st.text("abc", min_size=1, max_size=3), st.text(max_size=4)).map(orjson.dumps),
    st.sampled_from([b"", b"   ", b"{", b'{"a": }', b"nul", b"\xef\xbb\xbf{}"]),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(JSONL_LINES, max_size=10), end=st.sampled_from([b"\n", b"\r\n"]))
def test_random_json_lines_are_read_at_their_lines(lines: list[bytes], end: bytes) -> None:
    items = row_path(end.join(lines), "jsonl")
    for item in items:
        line = line_of(item)
        raw = lines[line - 1].removeprefix(b"\xef\xbb\xbf" if line == 1 else b"")
        if isinstance(item, BadRow):
            continue
        value = orjson.loads(raw)
        assert isinstance(value, dict)
        names = [key.strip().lower() for key in value]
        assert all(names) and len(set(names)) == len(names), names  # as a CSV header
        kept = {name for name, v in zip(names, value.values(), strict=True) if v is not None}
        assert set(item[1]) == kept
    read_lines = {line_of(item) for item in items}
    assert read_lines == {n for n, raw in enumerate(lines, 1) if raw.strip()}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"number": "L1", "Number ": "L2"}', "fields 'number' and 'Number ' are the same field"),
        (b'{"number": "L1", "NUMBER": null}', "fields 'number' and 'NUMBER' are the same field"),
        (b'{"number": "L1", " ": "x"}', "field ' ' has an empty name"),
    ],
)
def test_a_json_line_is_refused_where_a_csv_header_would_be(line: bytes, reason: str) -> None:
    # found by the random JSON lines above: "A" and "a" were one field, the last one kept
    [item] = row_path(line + b"\n", "jsonl")
    assert isinstance(item, BadRow) and item.line == 1
    assert item.reason.startswith(reason), item.reason

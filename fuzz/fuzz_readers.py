"""Fuzz target: the upload readers (loaders/readers.py, loaders/columnar.py) on any bytes.

An NCB upload is outside data: whatever its bytes, a reader yields rows and `BadRow`s with
real line numbers, in order, or raises `UnreadableFileError` naming the file (and a line,
if it gives one); nothing else. The first byte of an input picks the path, the rest is
the file: `c` the CSV row path, `j` JSON Lines, `p` the columnar path of a quote-free CSV
(header, blocks split by Arrow, the leftover lines row by row, each row's plain check).

    .venv/bin/python fuzz/fuzz_readers.py -max_total_time=30 fuzz/seeds/readers

(`make fuzz` runs every target so.)
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports(include=["loaders", "screening"]):
    from loaders.catalog import database
    from loaders.columnar import csv_blocks, split_plain
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

SMALL_BLOCK = 64
"""Bytes per columnar block: small, so that lines straddle blocks often."""
SLTD = database("SLTD")

Item = tuple[int, Row] | BadRow


def line_count(data: bytes) -> int:
    """Lines of a file as its readers count them (LF, CRLF or a bare CR ends one)."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def check_items(items: list[Item], data: bytes, first: int) -> None:
    """Line numbers rise, start at `first` or later, and stay within the file."""
    lines = [item.line if isinstance(item, BadRow) else item[0] for item in items]
    assert lines == sorted(lines) and len(set(lines)) == len(lines), lines
    assert all(first <= line <= line_count(data) for line in lines), (lines, line_count(data))
    for item in items:
        if isinstance(item, BadRow):
            assert item.reason, item
        else:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in item[1].items())
            assert all(name and name == name.strip().lower() for name in item[1]), item


def read_row_path(data: bytes, format: str) -> None:
    try:
        items = list(read_rows(Upload(f"upload.{format}", format), io.BytesIO(data)))
    except UnreadableFileError as error:
        assert "upload." in str(error) and (error.line is None or error.line >= 1), error
        return
    check_items(items, data, 2 if format == "csv" else 1)


def read_column_path(data: bytes) -> None:
    """What `screening load` does with a CSV that has no quote character."""
    data = BARE_CR.sub(b"", data.replace(b'"', b"'"))  # as `load` picks this path
    stream = io.BytesIO(data)
    try:
        columns = read_csv_header("upload.csv", stream)
        items: list[Item] = []
        for block in csv_blocks(stream, columns, first_line=2, block_bytes=SMALL_BLOCK):
            if {"number", "country"} <= set(columns):
                split_plain(SLTD, block, "FRA")
            items += csv_line_rows("upload.csv", columns, block.other_lines)
            items += zip(block.lines.tolist(), block.table.to_pylist(), strict=True)
    except UnreadableFileError as error:
        assert "upload.csv" in str(error) and (error.line is None or error.line >= 1), error
        return
    items.sort(key=lambda item: item.line if isinstance(item, BadRow) else item[0])
    check_items(items, data, 2)


def TestOneInput(data: bytes) -> None:
    path, upload = data[:1], data[1:]
    if path == b"j":
        read_row_path(upload, "jsonl")
    elif path == b"p":
        read_column_path(upload)
    else:
        read_row_path(upload, "csv")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

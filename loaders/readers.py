"""Upload readers: an NCB file in, (line number, row) out, whatever the format.

A row that cannot be parsed is yielded as a `BadRow` (its line and reason go to the reject
report); a file that cannot be read at all raises `UnreadableFileError` and the load
changes nothing.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

Row = dict[str, str]

FORMATS = ("csv", "jsonl", "un-xml")


class UnreadableFileError(Exception):
    """The whole file is refused: wrong encoding, no header, not the format it claims."""

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    raw: object


@dataclass(frozen=True)
class Upload:
    """One named input: a path, or '-' for standard input (always JSON Lines)."""

    name: str
    format: str

    @classmethod
    def of(cls, name: str, format: str | None = None) -> Upload:
        if format is None:
            format = "jsonl" if name == "-" else Path(name).suffix.lower().lstrip(".")
            format = {"json": "jsonl", "ndjson": "jsonl"}.get(format, format)
        return cls(name, format)

    def size(self) -> int | None:
        return None if self.name == "-" else Path(self.name).stat().st_size

    def open_binary(self) -> IO[bytes]:
        if self.name == "-":
            return sys.stdin.buffer
        try:
            return open(self.name, "rb")
        except OSError as error:
            raise UnreadableFileError(self.name, error.strerror or str(error)) from None


def read_rows(
    upload: Upload, stream: IO[bytes], notes: list[str] | None = None
) -> Iterator[tuple[int, Row] | BadRow]:
    """`notes` receives what a reader has to say besides rows (the UN list: entities skipped)."""
    if upload.format == "un-xml":
        from loaders.un_xml import read_un_list  # it builds on this module's types

        return read_un_list(upload.name, stream, notes if notes is not None else [])
    if upload.format == "csv":
        return _csv_rows(upload.name, stream)
    if upload.format == "jsonl":
        return _jsonl_rows(upload.name, stream)
    raise UnreadableFileError(upload.name, f"format {upload.format!r} is not one of {FORMATS}")


def _text(name: str, stream: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")


def _csv_rows(name: str, stream: IO[bytes]) -> Iterator[tuple[int, Row] | BadRow]:
    text = _text(name, stream)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if not header or not any(column.strip() for column in header):
            raise UnreadableFileError(name, "no header row: the first line must name the fields")
        columns = [column.strip().lower() for column in header]
        _check_columns(name, columns)
        width = len(columns)
        start = reader.line_num + 1  # the line the next row starts on
        for values in reader:
            # a row's first line: line_num is the line a (quoted, multi-line) row ends on
            line, start = start, reader.line_num + 1
            if len(values) == width:
                yield line, dict(zip(columns, values, strict=True))
            elif values and any(v.strip() for v in values):
                yield BadRow(line, f"row has {len(values)} values, the header has {width}", values)
    except UnicodeDecodeError as error:
        raise UnreadableFileError(
            name,
            f"not UTF-8 ({error.reason} at byte {error.start} of a block)",
            reader.line_num + 1,
        ) from None
    except csv.Error as error:
        raise UnreadableFileError(name, f"not valid CSV: {error}", reader.line_num) from None
    finally:
        # The caller owns the binary stream and closes it, perhaps before this generator is
        # finalised (it stopped early on an error): detaching then would raise.
        if not stream.closed:
            text.detach()


def read_csv_header(name: str, stream: IO[bytes]) -> list[str]:
    """The column names of line 1, lower-cased; the stream is left at line 2."""
    raw = stream.readline().removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableFileError(name, f"not UTF-8 ({error.reason})", 1) from None
    header = next(csv.reader([text]), [])
    if not header or not any(column.strip() for column in header):
        raise UnreadableFileError(name, "no header row: the first line must name the fields")
    columns = [column.strip().lower() for column in header]
    _check_columns(name, columns)
    return columns


def csv_line_rows(
    name: str, columns: list[str], lines: list[tuple[int, bytes]]
) -> list[tuple[int, Row] | BadRow]:
    """Rows of single CSV lines (a file with no quotes: one line is one row)."""
    rows: list[tuple[int, Row] | BadRow] = []
    width = len(columns)
    for line, raw in lines:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableFileError(name, f"not UTF-8 ({error.reason})", line) from None
        values = next(csv.reader([text]), [])
        if len(values) == width:
            rows.append((line, dict(zip(columns, values, strict=True))))
        elif values and any(v.strip() for v in values):
            rows.append(
                BadRow(line, f"row has {len(values)} values, the header has {width}", values)
            )
    return rows


def _check_columns(name: str, columns: list[str]) -> None:
    seen: set[str] = set()
    for column in columns:
        if not column:
            raise UnreadableFileError(name, "the header has an empty column name", 1)
        if column in seen:
            raise UnreadableFileError(name, f"the header names {column!r} twice", 1)
        seen.add(column)


def _jsonl_rows(name: str, stream: IO[bytes]) -> Iterator[tuple[int, Row] | BadRow]:
    for line, raw in enumerate(stream, 1):
        if line == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM, as for CSV
        if not raw.strip():
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableFileError(name, f"not UTF-8 ({error.reason})", line) from None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            yield BadRow(line, f"not valid JSON: {error}", raw.decode().rstrip("\r\n"))
            continue
        if not isinstance(value, dict):
            yield BadRow(line, f"a line must be a JSON object, not {type(value).__name__}", value)
            continue
        row = _flat_row(value)
        if isinstance(row, str):
            yield BadRow(line, row, value)
        else:
            yield line, row


def _flat_row(value: dict[str, object]) -> Row | str:
    """JSON values become the same strings a CSV would hold; a list of strings is
    `;`-joined, any other list or object becomes its JSON text. Field names are folded as
    a CSV header's are, and refused where a header would be (empty, or named twice)."""
    row: Row = {}
    names: dict[str, str] = {}
    for key, item in value.items():
        name = key.strip().lower()
        if not name:  # as a CSV header may not have an empty column name, nor name one twice
            return f"field {key!r} has an empty name"
        if name in names:
            return f"fields {names[name]!r} and {key!r} are the same field, {name!r}"
        names[name] = key
        if item is None:
            continue
        if isinstance(item, bool):
            row[key.strip().lower()] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            row[key.strip().lower()] = str(item)
        elif isinstance(item, list) and all(isinstance(i, str) for i in item):
            row[key.strip().lower()] = ";".join(item)
        elif isinstance(item, list | dict):
            # a template (list of numbers) or DNA loci (object): its JSON text, which the
            # field's normaliser reads (loaders/biometrics.py)
            row[key.strip().lower()] = orjson.dumps(item).decode()
        else:
            return f"field {key!r} holds a {type(item).__name__}, expected text"
    return row

"""The columnar batch body of `POST /v1/screen`: one database, its fields as columns.

`{"db": "SLTD", "columns": {"number": [...], "country": [...]}}` asks what the same rows
sent as `{"queries": [{"db": "SLTD", "number": ..., "country": ...}, ...]}` ask, and gets
the same answers in a shape that costs nothing for a miss:

    {"db": "SLTD", "rows": N, "hit": [false, true, null, ...],
     "found": [{"index": 1, "hit": true, "matches": [...]}],
     "errors": [{"index": 2, "field": "number", "code": "bad_query", "message": "..."}],
     "took_us": 120}

`hit[i]` is row i's `hit`, or null when the row was not screened (its entry in `errors`
says why); `found` holds, in row order, every row with matches (a `number_only` kin is a
match without a hit), with the matches of the per-query answer. Why columns: a map per
query is decoded, validated and answered in Python at ~20 us; columns are normalised by
the loader's column checks (loaders/columnar.py) and probed with one `find_many`, so a
miss costs a few hundred nanoseconds and only hits pay for building their records.

Only databases with one unprefixed exact lookup (`queries.columnar`) take columns; the
others are screened by `{"queries": [...]}`. A row a column check is unsure of is parsed
by `parse_exact`, the one definition of a valid query, so a bad value gets the same error
as in a per-query batch, under `columns[i]`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loaders.catalog import Database, database
from loaders.columnar import Check, column_check
from screening.audit import counts_as_hit
from screening.data import Data, caller_country
from screening.errors import NotLoadedError, QueryError
from screening.exact import Result, exact_result
from screening.http_errors import BadRequestError, BatchTooLargeError
from screening.queries import ExactQuery, columnar, parse_exact

COLUMNS = "columns"
NEWLINE = 0x0A
"""The body key that makes a request columnar."""


@dataclass(frozen=True)
class ColumnBatch:
    """A columnar body, its shape checked: every column a list of `rows` values."""

    db: Database
    columns: Mapping[str, list[object] | str]
    """A column is a list of values, or a text of values joined by newlines."""
    rows: int


@dataclass
class ColumnAnswer:
    """The answer to a `ColumnBatch` (the module docstring gives its wire shape)."""

    db: str
    hit: list[bool | None]
    found: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, took_us: int) -> dict[str, Any]:
        return {
            "db": self.db,
            "rows": len(self.hit),
            "hit": self.hit,
            "found": self.found,
            "errors": self.errors,
            "took_us": took_us,
        }

    def hit_results(self) -> list[Result]:
        """The found rows that hit, as per-query results (for the hits journals, metrics)."""
        return [entry for entry in self.found if entry["hit"]]

    def audit_answers(self) -> dict[str, Any]:
        """The audit's account of every row, compact: a row in neither map was a miss."""
        hits = {
            str(entry["index"]): [match["id"] for match in entry["matches"] if counts_as_hit(match)]
            for entry in self.found
            if entry["hit"]
        }
        errors = {str(entry["index"]): entry["code"] for entry in self.errors}
        return {"rows": len(self.hit), "hits": hits, "errors": errors}


def column_batch(body: Mapping[str, object], limit: int) -> ColumnBatch:
    """The checked columnar body; 400 naming what is wrong, 413 over `limit` rows."""
    if "queries" in body:
        raise BadRequestError("body: give either queries or columns, not both")
    db = _database_of(body.get("db"))
    columns = body[COLUMNS]
    if not isinstance(columns, dict) or not columns:
        raise BadRequestError(
            "body.columns: must be an object of field name -> list of values (or text "
            "of values joined by newlines), "
            f"such as {{{', '.join(repr(name) + ': [...]' for name in db.lookups[0].fields)}}}"
        )
    rows = -1
    for name, values in columns.items():
        where = f"body.columns.{name}"
        if name not in db.by_name:
            raise BadRequestError(f"{where}: {db.code} has no such field")
        if not isinstance(values, list | str):
            raise BadRequestError(
                f"{where}: must be a list of values or a text of values joined by newlines, "
                f"not {type(values).__name__}"
            )
        count = values.count("\n") + 1 if isinstance(values, str) else len(values)
        if rows == -1:
            rows = count
        elif count != rows:
            raise BadRequestError(
                f"{where}: {count:,} values, but the columns before it have {rows:,}"
            )
    if rows > limit:
        raise BatchTooLargeError(f"too many rows in one batch: {rows:,} (limit: {limit:,})")
    for name in db.lookups[0].fields:
        if name not in columns:
            raise BadRequestError(f"body.columns.{name}: required for {db.code}")
    return ColumnBatch(db, columns, rows)


def _database_of(code: object) -> Database:
    if not isinstance(code, str):
        raise BadRequestError("body.db: required with columns, a database code such as 'SLTD'")
    try:
        db = database(code)
    except ValueError as error:
        raise BadRequestError(f"body.db: {error}") from None
    if not columnar(db):
        raise BadRequestError(
            f"body.db: {db.code} cannot be screened by columns; send "
            '{"queries": [...]} (columns take databases with one exact lookup)'
        )
    return db


def screen_columns(data: Data, batch: ColumnBatch, country: str | None) -> ColumnAnswer:
    """Every row screened as its per-query twin would be; rows in order."""
    viewer = caller_country(country) if country is not None else None
    answer = ColumnAnswer(batch.db.code, [False] * batch.rows)
    probe = _parse_rows(batch, answer)
    snapshot = data.snapshots.get(batch.db.code)
    if snapshot is None:
        # Never a silent miss: every row that was valid says this database was not checked.
        error = NotLoadedError(f"{batch.db.code}: no data is loaded on this server; not screened")
        for row in probe.rows:
            answer.hit[row] = None
            answer.errors.append(_error_entry(row, None, error))
        answer.errors.sort(key=lambda entry: int(entry["index"]))
        return answer
    if not probe.keys:
        return answer
    found = snapshot.find_many(probe.keys, viewer)
    if not len(found.queries):
        return answer
    starts = np.flatnonzero(np.diff(found.queries, prepend=-1))
    ends = np.append(starts[1:], len(found.queries)).tolist()
    at, parts, records = found.queries.tolist(), found.parts.tolist(), found.records.tolist()
    positions = [at[start] for start in starts.tolist()]
    queries = probe.queries(batch.db, positions)
    for start, end, position, query in zip(starts.tolist(), ends, positions, queries, strict=True):
        hits = list(zip(parts[start:end], records[start:end], strict=True))
        result = exact_result(snapshot, query, hits)
        row = probe.rows[position]
        answer.hit[row] = result["hit"]
        answer.found.append({"index": row, **result})
    return answer


@dataclass
class Probe:
    """What `find_many` is asked: a key per screened row, and how to rebuild its query."""

    keys: list[bytes]
    rows: Sequence[int]
    """The row of each key."""
    parsed: dict[int, ExactQuery]
    """key position -> query, for rows parsed one by one."""
    normalised: list[pa.Array]
    """The lookup's columns as the column checks normalised them, by row."""

    def queries(self, db: Database, positions: list[int]) -> list[ExactQuery]:
        """The queries behind these keys (made only for rows with matches: a miss needs
        none), their values taken from the normalised columns in one step."""
        rows = pa.array([self.rows[position] for position in positions], pa.int64())
        columns = [column.take(rows).to_pylist() for column in self.normalised]
        lookup = db.lookups[0]
        made = []
        for at, position in enumerate(positions):
            query = self.parsed.get(position)
            if query is None:
                values = tuple(column[at] for column in columns)
                query = ExactQuery(db, values, lookup, self.keys[position])
            made.append(query)
        return made


def _parse_rows(batch: ColumnBatch, answer: ColumnAnswer) -> Probe:
    """The probe of every valid row; the others get their error entry in `answer`.

    Rows the column checks are sure of become keys straight from the normalised columns,
    in Arrow (a row costs no Python); the rest go through `parse_exact`, and those it
    refuses are answered with its error.
    """
    db = batch.db
    lookup = db.lookups[0]
    sure = np.ones(batch.rows, dtype=bool)
    normalised: list[pa.Array] = []
    for name in lookup.fields:
        text = _text_column(batch.columns[name])
        check = _check_of(db.code, name)
        if check is None:
            sure[:] = False
            normalised.append(text)
            continue
        values, plain = check(text)
        sure &= plain & (np.diff(_offsets(text)) > 0)
        normalised.append(values)
    probed = normalised[: lookup.probe]
    joined = probed[0] if len(probed) == 1 else pc.binary_join_element_wise(*probed, "\x1f")
    keys: list[bytes] = joined.cast(pa.binary()).to_pylist()
    if sure.all():
        return Probe(keys, range(batch.rows), {}, normalised)
    by_row = _parse_unsure(batch, np.flatnonzero(~sure).tolist(), answer)
    screened: list[bytes] = []
    rows: list[int] = []
    parsed: dict[int, ExactQuery] = {}
    for row in range(batch.rows):
        query = by_row.get(row)
        if query is not None:
            parsed[len(screened)] = query
            screened.append(query.key)
        elif sure[row]:
            screened.append(keys[row])
        else:
            continue
        rows.append(row)
    return Probe(screened, rows, parsed, normalised)


@cache
def _check_of(code: str, name: str) -> Check | None:
    """The loader's column check of a field, made once (a member check builds its set).

    Keyed by code: hashing a whole `Database` costs more than the check."""
    return column_check(database(code).by_name[name].normaliser)


def _text_column(values: list[object] | str) -> pa.StringArray:
    """A column as Arrow text; what is not text (a number, bytes, a null) as "", for the
    row path to refuse with its own message (Arrow would read bytes as text)."""
    if isinstance(values, str):
        return _split_lines(values)
    if set(map(type, values)) <= {str}:
        return pa.array(values, type=pa.string())
    return pa.array([value if type(value) is str else "" for value in values], pa.string())


def _split_lines(text: str) -> pa.StringArray:
    """`text.split("\n")` as an Arrow array, built from its bytes by numpy: no Python
    string a value (what makes a text column cheaper to decode than a list)."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    newline = raw == NEWLINE
    breaks = np.flatnonzero(newline)
    offsets = np.empty(breaks.size + 2, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1] = breaks - np.arange(breaks.size)  # value i ends i newlines earlier
    offsets[-1] = raw.size - breaks.size
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(raw[~newline])]
    return pa.Array.from_buffers(pa.string(), breaks.size + 1, buffers)


def _offsets(values: pa.Array) -> np.ndarray:
    """The value offsets of a string array (a numpy view: no copy)."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    return offsets[values.offset : values.offset + len(values) + 1]


def _parse_unsure(
    batch: ColumnBatch, rows: Sequence[int], answer: ColumnAnswer
) -> dict[int, ExactQuery]:
    """`parse_exact` for each row a column check was unsure of: row -> query; a refused
    row gets its error entry (and a null `hit`)."""
    parsed = {}
    fields = batch.db.lookups[0].fields
    columns = {
        name: values.split("\n") if isinstance(values, str) else values
        for name, values in batch.columns.items()
    }
    for row in rows:
        where = f"columns[{row}]"
        query = {"db": batch.db.code, **{name: values[row] for name, values in columns.items()}}
        try:
            parsed[row] = parse_exact(batch.db, query, where)
        except QueryError as error:
            answer.hit[row] = None
            answer.errors.append(_error_entry(row, _field_of(error, where, fields), error))
    return parsed


def _field_of(error: QueryError, where: str, fields: Sequence[str]) -> str | None:
    """The field a `parse_exact` message is about: its messages begin `{where}.{field}:`."""
    message = str(error)
    return next((name for name in fields if message.startswith(f"{where}.{name}:")), None)


def _error_entry(row: int, name: str | None, error: QueryError | NotLoadedError) -> dict[str, Any]:
    return {"index": row, "field": name, "code": error.code, "message": str(error)}

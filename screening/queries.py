"""Reading one screening query: which database, which key, normalised like the loader.

The loader and the screening path share the catalog's normalisers, so a query can only
meet the stored record it means, never miss it by a space or a `<`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from loaders.catalog import Database, database
from loaders.columnar import column_check
from loaders.normalise import FieldError
from screening.errors import NotSupportedError, QueryError


class ExactQuery(NamedTuple):
    db: Database
    values: tuple[object, ...]

    @property
    def key(self) -> bytes:
        return str(self.values[0]).encode()


def parse_query(query: object, where: str) -> ExactQuery:
    """Validate one query; `where` (e.g. 'queries[3]') prefixes every message."""
    if not isinstance(query, Mapping):
        raise QueryError(f"{where}: a query is an object, not {type(query).__name__}")
    code = query.get("db")
    if not isinstance(code, str):
        raise QueryError(f"{where}.db: required, a database code such as 'SLTD'")
    try:
        db = database(code)
    except ValueError as error:
        raise QueryError(f"{where}.db: {error}") from None
    if not db.screenable:
        raise NotSupportedError(f"{where}.db: screening {db.code} is not supported yet")
    return ExactQuery(db, tuple(_key_value(db, query, name, where) for name in db.key))


def _key_value(db: Database, query: Mapping[str, object], name: str, where: str) -> object:
    raw = query.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise QueryError(f"{where}.{name}: required for {db.code}")
    if not isinstance(raw, str):
        raise QueryError(f"{where}.{name}: must be text, not {type(raw).__name__}")
    try:
        return db.by_name[name].normaliser(raw)
    except FieldError as error:
        raise QueryError(f"{where}.{name}: {error}") from None


COLUMN_BATCH = 16
"""From this many queries of one database on, their keys are normalised as columns."""


def parse_column(
    db: Database, queries: list[tuple[int, Mapping[str, object]]]
) -> tuple[list[tuple[int, ExactQuery]], list[tuple[int, Mapping[str, object]]]]:
    """Normalise many queries' keys at once with the loader's column checks.

    Returns (parsed, the rest): the rest, whose values a column check is unsure of, go to
    `parse_query` one by one, which stays the one definition of a valid query.
    """
    sure = np.ones(len(queries), dtype=bool)
    columns: list[list[object]] = []
    for name in db.key:
        raw = [query.get(name) for _, query in queries]
        text = [value if type(value) is str else "" for value in raw]
        check = column_check(db.by_name[name].normaliser)
        if check is None:
            return [], queries
        normalised, plain = check(pa.array(text, type=pa.string()))
        sure &= plain & np.fromiter((bool(value) for value in text), dtype=bool, count=len(text))
        columns.append(normalised.to_pylist())
    parsed, rest = [], []
    for row, (index, query) in enumerate(queries):
        if sure[row]:
            parsed.append((index, ExactQuery(db, tuple(column[row] for column in columns))))
        else:
            rest.append((index, query))
    return parsed, rest

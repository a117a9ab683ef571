"""Reading one screening query: which database, which lookup, normalised like the loader.

The loader and the screening path share the catalog's normalisers, so a query can only
meet the stored record it means, never miss it by a space or a `<`. A query names the
fields it has; the first of the database's lookups whose fields it has is used (SMV: the
VIN if given, else plate + country).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from loaders.catalog import Database, Lookup, database
from loaders.columnar import column_check
from loaders.normalise import FieldError
from screening.errors import QueryError


class ExactQuery(NamedTuple):
    db: Database
    values: tuple[object, ...]
    """The normalised values of `lookup.fields`, in order."""
    lookup: Lookup
    key: bytes
    """What the hashed index is probed with (catalog.Database.lookup_key)."""


def query_database(query: object, where: str) -> Database:
    """The catalog entry a query names; `where` (e.g. 'queries[3]') prefixes every message."""
    if not isinstance(query, Mapping):
        raise QueryError(f"{where}: a query is an object, not {type(query).__name__}")
    code = query.get("db")
    if not isinstance(code, str):
        raise QueryError(f"{where}.db: required, a database code such as 'SLTD'")
    try:
        return database(code)
    except ValueError as error:
        raise QueryError(f"{where}.db: {error}") from None


def has_lookup(db: Database, query: Mapping[str, object]) -> bool:
    """Whether the query carries every field of one of the database's lookups."""
    return _chosen(db, query) is not None


def _chosen(db: Database, query: Mapping[str, object]) -> Lookup | None:
    for lookup in db.lookups:  # loops, not all(genexpr): a generator a lookup costs ~1 us
        for name in lookup.fields:
            if not _given(query.get(name)):
                break
        else:
            return lookup
    return None


def _given(raw: object) -> bool:
    return raw is not None and not (isinstance(raw, str) and (not raw or raw.isspace()))


def lookup_shapes(db: Database) -> str:
    """`vin, or plate and country`: what an exact query of `db` must give."""
    return ", or ".join(" and ".join(lookup.fields) for lookup in db.lookups)


def parse_exact(db: Database, query: Mapping[str, object], where: str) -> ExactQuery:
    """Validate an exact query of `db`: the first lookup whose fields it has, normalised."""
    lookup = db.lookups[0] if len(db.lookups) == 1 else _chosen(db, query)
    if lookup is None:
        raise QueryError(f"{where}: {db.code} is screened by {lookup_shapes(db)}")
    values = tuple([_key_value(db, query, name, where) for name in lookup.fields])
    return ExactQuery(db, values, lookup, db.probe_key(lookup, values))


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


def columnar(db: Database) -> bool:
    """Whether `parse_column` can take this database's queries: one unprefixed lookup."""
    return db.matchers == ("exact",) and len(db.lookups) == 1 and not db.prefixed


def parse_column(
    db: Database, queries: list[tuple[int, Mapping[str, object]]]
) -> tuple[list[tuple[int, ExactQuery]], list[tuple[int, Mapping[str, object]]]]:
    """Normalise many queries' keys at once with the loader's column checks.

    Returns (parsed, the rest): the rest, whose values a column check is unsure of, go to
    `parse_exact` one by one, which stays the one definition of a valid query.
    """
    lookup = db.lookups[0]
    sure = np.ones(len(queries), dtype=bool)
    columns: list[list[object]] = []
    for name in lookup.fields:
        raw = [query.get(name) for _, query in queries]
        text = [value if type(value) is str else "" for value in raw]
        check = column_check(db.by_name[name].normaliser)
        if check is None:
            return [], queries
        normalised, plain = check(pa.array(text, type=pa.string()))
        sure &= plain & np.fromiter((bool(value) for value in text), dtype=bool, count=len(text))
        columns.append(normalised.to_pylist())
    parsed, rest = [], []
    probe = lookup.probe
    for row, (index, query) in enumerate(queries):
        if sure[row]:
            values = tuple(column[row] for column in columns)
            key = b"\x1f".join(str(value).encode() for value in values[:probe])
            parsed.append((index, ExactQuery(db, values, lookup, key)))
        else:
            rest.append((index, query))
    return parsed, rest

"""The `vector` matcher: AFIS and FACE templates by cosine, ICSE perceptual hashes by Hamming.

A query gives a template (AFIS, FACE: `template`, a JSON array of the database's width)
or a hash (ICSE: `phash`, 16 hex digits). The snapshot scans the vector column of every
segment (indexes/vectors.py) and returns, best first, at most `MAX_MATCHES` live records
the caller may see whose similarity is at or above the database's threshold; so every
match is a hit. A match is `{"db", "id", "match": "similar", "score", "record"}`; `score`
is the cosine (templates), or for a hash 1 - differing bits / 64, with `distance`, the
number of differing bits, beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from indexes import Snapshot
from loaders.catalog import Database, record_id
from loaders.normalise import FieldError
from loaders.records import decode
from screening.errors import QueryError

Result = dict[str, Any]
MAX_MATCHES = 10
VECTOR_FIELDS = ("template", "phash")
"""The query fields a vector is read from, in the order they are looked for."""


@dataclass(frozen=True)
class VectorQuery:
    db: Database
    field: str
    vector: np.ndarray


def vector_field(db: Database) -> str | None:
    """The field of `db` that holds its vector (None: `db` has no vector column)."""
    return next((name for name in VECTOR_FIELDS if name in db.by_name), None)


def _given(raw: object) -> bool:
    return raw is not None and not (isinstance(raw, str) and not raw.strip())


class VectorMatcher:
    """The `vector` matcher as a plug-in (screening/matchers.py)."""

    name = "vector"

    def accepts(self, db: Database, query: Mapping[str, object]) -> bool:
        field = vector_field(db)
        return field is not None and _given(query.get(field))

    def parse(self, db: Database, query: Mapping[str, object], where: str) -> VectorQuery:
        field = vector_field(db)
        if field is None or db.vector_of is None:
            raise QueryError(f"{where}: {db.code} holds no vectors")
        raw = query.get(field)
        if not _given(raw):
            raise QueryError(f"{where}.{field}: required for {db.code}")
        text = raw if isinstance(raw, str) else _as_text(raw, f"{where}.{field}")
        try:
            value = db.by_name[field].normaliser(text)
        except FieldError as error:
            raise QueryError(f"{where}.{field}: {error}") from None
        vector = db.vector_of({field: value})
        if vector is None:
            raise QueryError(f"{where}.{field}: required for {db.code}")
        array = np.asarray(vector)
        if array.dtype.kind == "f" and not _has_direction(array):
            # Checked here, per query: the scan would refuse the whole batch for it.
            raise QueryError(f"{where}.{field}: has no direction (its values are all 0)")
        return VectorQuery(db, field, array)

    def screen(
        self, snapshot: Snapshot, db: Database, parsed: Sequence[Any], viewer: str | None
    ) -> list[Result]:
        queries: list[VectorQuery] = list(parsed)
        try:
            found = snapshot.nearest(
                [query.vector for query in queries], db.threshold, MAX_MATCHES, viewer
            )
        except ValueError as error:  # a stored column of another width than the catalog's
            entry = {"error": {"code": "bad_query", "message": f"{db.code}: {error}"}}
            return [entry for _ in queries]
        return [
            _result(snapshot, query, neighbours)
            for query, neighbours in zip(queries, found, strict=True)
        ]


def _has_direction(vector: np.ndarray) -> bool:
    norm = float(np.linalg.norm(vector.astype(np.float64)))
    return norm > 0.0 and np.isfinite(norm)


def _as_text(raw: object, where: str) -> str:
    """A template given as a JSON array arrives as a list: the normaliser reads text."""
    if isinstance(raw, list | tuple):
        try:
            return orjson.dumps(list(raw), option=orjson.OPT_SERIALIZE_NUMPY).decode()
        except TypeError:
            raise QueryError(f"{where}: holds a value that is not a number") from None
    raise QueryError(f"{where}: must be an array of numbers or text, not {type(raw).__name__}")


def _result(snapshot: Snapshot, query: VectorQuery, neighbours: Any) -> Result:
    db = query.db
    matches = []
    hashed = query.vector.dtype == np.uint64
    bits = 64 * len(query.vector)
    for part, record, score in zip(
        neighbours.parts.tolist(),
        neighbours.records.tolist(),
        neighbours.scores.tolist(),
        strict=True,
    ):
        identity, data = snapshot.record(part, record)
        match: Result = {
            "db": db.code,
            "id": record_id(db, identity),
            "match": "similar",
            "score": round(max(0.0, min(1.0, score)), 6),
            "record": decode(db, data),
        }
        if hashed:
            match["distance"] = round((1.0 - score) * bits)
        matches.append(match)
    return {"hit": bool(matches), "matches": matches}


MATCHER = VectorMatcher()

"""The `exact` matcher: key fields equal after normalisation, through the hashed index.

The index is keyed on the first key field only, so one probe finds both the exact record
and its weaker kin (SLTD: the same number issued by another state, `number_only`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexes import Snapshot
from loaders.catalog import Database, record_id
from loaders.records import decode
from screening.queries import ExactQuery

Result = dict[str, Any]


def screen_exact(
    snapshot: Snapshot, queries: Sequence[ExactQuery], viewer: str | None
) -> list[Result]:
    """One result per query, in order; a batch goes through the vectorised probe."""
    if len(queries) == 1:
        query = queries[0]
        hits = snapshot.find(query.key, viewer)
        return [_result(snapshot, query, hits)]
    found = snapshot.find_many([query.key for query in queries], viewer)
    grouped: list[list[tuple[int, int]]] = [[] for _ in queries]
    for query, part, record in zip(
        found.queries.tolist(), found.parts.tolist(), found.records.tolist(), strict=True
    ):
        grouped[query].append((part, record))
    return [_result(snapshot, query, hits) for query, hits in zip(queries, grouped, strict=True)]


def _result(snapshot: Snapshot, query: ExactQuery, hits: list[tuple[int, int]]) -> Result:
    if not hits:
        return {"hit": False, "matches": []}
    matches = [_match(query, *snapshot.record(part, record)) for part, record in hits]
    matches.sort(key=lambda match: (match["match"] != "exact", match["id"]))
    return {"hit": any(match["match"] == "exact" for match in matches), "matches": matches}


def _match(query: ExactQuery, identity: bytes, data: object) -> Result:
    db: Database = query.db
    record = decode(db, data)
    exact = all(record.get(name) == value for name, value in zip(db.key, query.values, strict=True))
    return {
        "db": db.code,
        "id": record_id(db, identity),
        "match": "exact" if exact else db.weaker_match,
        "score": 1.0 if exact else 0.0,
        "record": record,
    }

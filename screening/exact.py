"""The `exact` matcher: a lookup's fields equal after normalisation, through the hashed index.

A lookup is probed by its first `probe` fields only, so one probe finds both the exact
record and its weaker kin (SLTD: the same number issued by another state, `number_only`;
IARMS: the same serial on another make, `serial_only`); every field of the lookup equal is
`exact`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from indexes import Snapshot
from loaders.catalog import Database, record_id
from loaders.records import decode
from screening.queries import ExactQuery, has_lookup, parse_exact

Result = dict[str, Any]


def screen_exact(
    snapshot: Snapshot, queries: Sequence[ExactQuery], viewer: str | None
) -> list[Result]:
    """One result per query, in order; a batch goes through the vectorised probe."""
    if len(queries) == 1:
        query = queries[0]
        hits = snapshot.find(query.key, viewer)
        return [exact_result(snapshot, query, hits)]
    found = snapshot.find_many([query.key for query in queries], viewer)
    grouped: list[list[tuple[int, int]]] = [[] for _ in queries]
    for query, part, record in zip(
        found.queries.tolist(), found.parts.tolist(), found.records.tolist(), strict=True
    ):
        grouped[query].append((part, record))
    paired = zip(queries, grouped, strict=True)
    return [exact_result(snapshot, query, hits) for query, hits in paired]


def exact_result(snapshot: Snapshot, query: ExactQuery, hits: list[tuple[int, int]]) -> Result:
    if not hits:
        return {"hit": False, "matches": []}
    if len(hits) == 1:  # the usual hit: nothing to sort
        match = _match(query, *snapshot.record(*hits[0]))
        return {"hit": match["match"] == "exact", "matches": [match]}
    matches = [_match(query, *snapshot.record(part, record)) for part, record in hits]
    matches.sort(key=lambda match: (match["match"] != "exact", match["id"]))
    return {"hit": any(match["match"] == "exact" for match in matches), "matches": matches}


def _match(query: ExactQuery, identity: bytes, data: object) -> Result:
    db: Database = query.db
    record = decode(db, data)
    exact = True
    for name, value in zip(query.lookup.fields, query.values, strict=True):  # a loop: no generator
        if record.get(name) != value:
            exact = False
            break
    return {
        "db": db.code,
        "id": record_id(db, identity),
        "match": "exact" if exact else db.weaker_match,
        "score": 1.0 if exact else 0.0,
        "record": record,
    }


class ExactMatcher:
    """The `exact` matcher as a plug-in (screening/matchers.py)."""

    name = "exact"

    def accepts(self, db: Database, query: Mapping[str, object]) -> bool:
        return has_lookup(db, query)

    def parse(self, db: Database, query: Mapping[str, object], where: str) -> ExactQuery:
        return parse_exact(db, query, where)

    def screen(
        self, snapshot: Snapshot, db: Database, parsed: Sequence[object], viewer: str | None
    ) -> list[Result]:
        return screen_exact(snapshot, parsed, viewer)  # type: ignore[arg-type]


MATCHER = ExactMatcher()

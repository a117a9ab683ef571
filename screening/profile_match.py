"""The `profile` matcher: DNA profiles by the number of STR loci that agree.

A query gives `loci` (`{"D3S1358": [15, 17], ...}`, or the compact `D3S1358:15/17;...`).
Each stored profile carries one key per locus naming its genotype (loaders/profile_keys.py,
where the agreement rule is written down); the query's keys are looked up and the records
found are counted per key (`Snapshot.count_keys`), so a record's count is the number of
loci at which it agrees with the query.

- `hit`: at least the database's threshold in loci agree (13 by default, the catalog's).
- Reported: the `MAX_MATCHES` records agreeing at the most loci, among those that agree
  at `min(threshold, loci in the query)` or more. A partial query (a crime-scene trace of
  8 loci) thus reports the profiles agreeing at all 8 as leads, never as a hit. A query of
  fewer than `MIN_QUERY_LOCI` STR loci is refused (`bad_query`).
- A match is `{"db", "id", "match": "profile", "score", "loci", "compared", "record"}`:
  `loci` agreeing, `compared` the loci typed in both profiles, `score` = loci / compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from indexes import Snapshot
from loaders.catalog import Database, record_id
from loaders.normalise import FieldError
from loaders.profile_keys import genotype_keys, str_loci
from loaders.records import decode
from screening.errors import QueryError

Result = dict[str, Any]
MAX_MATCHES = 10
MIN_QUERY_LOCI = 6
"""Fewer STR loci than this agree with thousands of profiles by chance: such a query is
refused rather than answered with noise."""
FIELD = "loci"


@dataclass(frozen=True)
class ProfileQuery:
    db: Database
    loci: dict[str, list[str]]
    keys: tuple[bytes, ...]

    @property
    def reported_at(self) -> int:
        """The fewest agreeing loci a reported match has."""
        return max(1, min(int(self.db.threshold), len(self.keys)))


class ProfileMatcher:
    """The `profile` matcher as a plug-in (screening/matchers.py)."""

    name = "profile"

    def accepts(self, db: Database, query: Mapping[str, object]) -> bool:
        raw = query.get(FIELD)
        return FIELD in db.by_name and raw is not None and raw != "" and raw != {}

    def parse(self, db: Database, query: Mapping[str, object], where: str) -> ProfileQuery:
        raw = query.get(FIELD)
        if raw is None or raw == "" or raw == {}:
            raise QueryError(f"{where}.{FIELD}: required for {db.code}")
        if isinstance(raw, Mapping):
            text = orjson.dumps(dict(raw)).decode()
        elif isinstance(raw, str):
            text = raw
        else:
            raise QueryError(
                f"{where}.{FIELD}: must be an object of loci, not {type(raw).__name__}"
            )
        try:
            loci = db.by_name[FIELD].normaliser(text)
        except FieldError as error:
            raise QueryError(f"{where}.{FIELD}: {error}") from None
        assert isinstance(loci, dict)
        keys = genotype_keys(loci)
        if len(keys) < MIN_QUERY_LOCI:
            raise QueryError(
                f"{where}.{FIELD}: {len(keys)} STR loci; a {db.code} query needs at least "
                f"{MIN_QUERY_LOCI} (amelogenin does not count)"
            )
        return ProfileQuery(db, loci, keys)

    def screen(
        self, snapshot: Snapshot, db: Database, parsed: Sequence[Any], viewer: str | None
    ) -> list[Result]:
        return [_screen_one(snapshot, query, viewer) for query in parsed]


def _screen_one(snapshot: Snapshot, query: ProfileQuery, viewer: str | None) -> Result:
    """Candidates by key counts, then each recounted from its stored profile.

    The counts come unverified (`verify=False`: no stored key compared, the slow part of
    long posting lists), so they are upper bounds; recounting every candidate from the
    record itself makes the answer exact. A candidate is rare: it must already agree at
    `reported_at` loci or more.
    """
    counted = snapshot.count_keys(query.keys, query.reported_at, viewer, verify=False)
    matches = []
    for part, record in zip(counted.parts.tolist(), counted.records.tolist(), strict=True):
        match = _match(snapshot, query, part, record)
        if match["loci"] >= query.reported_at:
            matches.append((-match["loci"], part, record, match))
    matches.sort(key=lambda ranked: ranked[:3])
    reported = [match for *_, match in matches[:MAX_MATCHES]]
    threshold = query.db.threshold
    return {"hit": any(match["loci"] >= threshold for match in reported), "matches": reported}


def _match(snapshot: Snapshot, query: ProfileQuery, part: int, record: int) -> Result:
    """The match of one stored profile: loci agreeing (same genotype), loci compared."""
    db = query.db
    identity, data = snapshot.record(part, record)
    stored = decode(db, data)
    theirs = stored.get(FIELD)
    theirs = theirs if isinstance(theirs, Mapping) else {}
    asked = str_loci(query.loci)
    loci = sum(1 for locus in asked if theirs.get(locus) == query.loci[locus])
    compared = sum(1 for locus in asked if locus in theirs)
    return {
        "db": db.code,
        "id": record_id(db, identity),
        "match": "profile",
        "score": round(loci / compared, 6) if compared else 0.0,
        "loci": loci,
        "compared": compared,
        "record": stored,
    }


MATCHER = ProfileMatcher()

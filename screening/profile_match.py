"""The `profile` matcher: DNA profiles by the number of STR loci that agree.

A query gives `loci` (`{"D3S1358": [15, 17], ...}`, or the compact `D3S1358:15/17;...`).
Each stored profile carries one key per locus naming its genotype (loaders/profile_keys.py,
where the agreement rule is written down); only the query's rarest genotypes are looked up
(`Snapshot.holding_at_least`, by pigeonhole) and each profile found is recounted from its
stored loci, so a record's count is the number of loci at which it agrees with the query.

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
    """Candidates from the query's rarest genotypes, each recounted from its stored profile.

    A profile agreeing at `reported_at` of the query's n loci disagrees at n - reported_at
    at most, so it agrees at one at least of any n - reported_at + 1 of them (pigeonhole):
    the snapshot reads those of the shortest posting lists, and a few more while they
    prune, never the common genotypes 50,000 profiles share (Snapshot.holding_at_least;
    for a partial profile's leads, agreeing at all its loci, the rarest one list). The
    candidates are a superset (no stored key compared); recounting each from the record
    itself makes the answer exact.
    """
    asked = str_loci(query.loci)
    candidates = snapshot.holding_at_least(query.keys, query.reported_at, viewer)
    matches = []
    for part, record in zip(candidates.parts.tolist(), candidates.records.tolist(), strict=True):
        identity, data = snapshot.record(part, record)
        stored = decode(query.db, data)
        theirs = stored.get(FIELD)
        theirs = theirs if isinstance(theirs, Mapping) else {}
        loci = sum(1 for locus in asked if theirs.get(locus) == query.loci[locus])
        if loci >= query.reported_at:
            compared = sum(1 for locus in asked if locus in theirs)
            match = _match(query.db, identity, stored, loci, compared)
            matches.append((-loci, part, record, match))
    matches.sort(key=lambda ranked: ranked[:3])
    reported = [match for *_, match in matches[:MAX_MATCHES]]
    threshold = query.db.threshold
    return {"hit": any(match["loci"] >= threshold for match in reported), "matches": reported}


def _match(
    db: Database, identity: bytes, stored: dict[str, object], loci: int, compared: int
) -> Result:
    """A reported profile: `loci` agreeing (same genotype) of `compared` typed in both."""
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

"""The `name` matcher: persons (NOMINAL) and named objects (VESSELS, WOA, PIRACY).

Names do not hash, so a query goes in three steps (DESIGN.md, "Persons"):

1. Candidates: each significant token of the query (loaders/names.py: folded, ICAO
   transliterated, particles aside) is looked up by its phonetic key; each key's records
   (`Segment.postings`, a sorted run, remembered; a long one also as a bitset) are
   counted, and a record is a candidate when it shares all the query's tokens, or all but
   one (a typo can change a phonetic key; of a two-token name either, among the records
   born on the query's date, or a rare one alone). A candidate set too large to score is
   narrowed by the query's birth year (`y:YEAR` keys, and `y:?` for records without a
   date), then, if still too large, cut to the records that share every token. The rule
   is here; the set arithmetic is one compiled call (screening/name_candidates.py).
2. Scores: each candidate's names (name, aliases, low-quality aliases, original script) are
   compared with the query token by token: equal, phonetically equal, or close in spelling
   (Jaro-Winkler, rapidfuzz), each query token paired with at most one record token.
   One-syllable tokens of another vowel (DANG, DUONG; GAO, GUO) are other names, whatever
   their phonetic key (screening/token_similarity.py).
3. Evidence: the date of birth moves the score (loaders/birth_dates.py `agreement`): the
   same full date adds, a different one takes the match well under any threshold, as a
   different date of birth is the strongest sign of a different person. A close but
   inexact name agreeing with a date only as far as a year (or an approximate one) costs
   more the commoner its tokens are in the database (`Rarity`: many persons share WEI and
   ZHANG and a year, few share ABDULRAHMAN QATARI), and so do the record's names the query
   lacks (NAME_DOUBT, MISSING_NAME_DOUBT). Nationality and sex, when both the query and
   the record know them, weigh only against: agreeing says little (80% of a culture's
   names share its few nationalities), but a clear difference (both known, none in
   common) lowers the score (NATIONALITY_DIFFERS, SEX_DIFFERS) and the reasons say so.

A match carries the score and its reasons (which name, which tokens and how, the date of
birth's, nationality's and sex's agreement, what lowered it); `hit` is a score at or above
the database's threshold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np

from indexes import Snapshot
from indexes.segment import Segment, sorted_contains
from loaders.birth_dates import (
    APPROXIMATE,
    DISAGREES,
    EXACT,
    NO_DATE,
    PARTIAL,
    UNKNOWN,
    BirthDate,
    agreement,
    parse_birth_date,
    parse_birth_dates,
    query_date_keys,
)
from loaders.catalog import Database, record_id
from loaders.names import (
    ALL_YEARS,
    PERSON_KEY_SCHEME,
    full_name,
    name_tokens,
    person_names,
    phonetic,
    query_keys,
    significant,
    year_name_key,
)
from loaders.normalise import FieldError, state
from loaders.records import decode
from screening.errors import QueryError
from screening.name_candidates import as_bits, choose
from screening.token_similarity import token_similarity

Result = dict[str, Any]

PERSON_DATABASES = ("NOMINAL",)
OBJECT_NAME_FIELDS: Mapping[str, tuple[str, ...]] = {
    "VESSELS": ("name",),
    "WOA": ("title", "artist"),
    "PIRACY": ("name",),
}
PERSON_QUERY_FIELDS = ("surname", "given_names")
KNOWN_SEXES = {"M": "M", "F": "F", "X": None, "<": None}
"""A query's sex as ICAO 9303 prints it: M, F, or X (`<` in a zone) for unspecified."""

POSTINGS_CACHED = 1 << 17
"""Posting arrays remembered per process: most are short (a date of birth's); a common
token's is ~100 KB at a million persons."""
NARROW_ABOVE = 16
"""A candidate set larger than this is narrowed by the query's birth year."""
RARE_TOKEN = 64
"""A token held by at most this many records: of a two-token name, it alone brings the
records holding it whose date of birth can agree, whatever they know of it (few, and a rare
name is most of an identification)."""
MAX_CANDIDATES = 512
"""At most this many candidates are scored a query (beyond: those sharing every token)."""
MAX_MATCHES = 10
MAX_QUERY_TOKENS = 12
"""A name of more tokens than this is not a person's or a ship's: refused, not searched."""
REPORT_BELOW_THRESHOLD = 0.15
"""Matches down to the threshold less this are returned (not hits): context for an officer."""

QUERY_SIDE_WEIGHT = 0.7
"""The query's tokens found in the record weigh more than the record's found in the query:
a watchlist often knows more names of a person than a passport prints."""
KIND_FACTOR = {"name": 1.0, "alias": 1.0, "original_script": 1.0, "low_quality_alias": 0.95}
DOB_EFFECT = {EXACT: 0.05, PARTIAL: 0.0, APPROXIMATE: -0.02, UNKNOWN: -0.05}
DOB_DISAGREES_FACTOR = 0.6
NAME_DOUBT = {EXACT: 0.0, PARTIAL: 2.0, APPROXIMATE: 2.5, UNKNOWN: 1.5}
"""How much more a name's shortfall from certain (1 - similarity) costs when the name and
date together are common enough to be someone else's (`_chance_weight`): on a million
persons most names close to a traveller's but not theirs (WEN and WEI ZHANG, JOHN BROWN and
JOHN STEPHEN BROWN) are common ones with a year of birth, not a full date."""
DATE_DIGITS = {EXACT: 4.4, PARTIAL: 1.8, APPROXIMATE: 1.1, UNKNOWN: 0.0}
"""How rare a date-of-birth agreement is, in powers of ten: one full date in ~24,000 (66
years of birth dates), one year in ~66, an approximate one (5 years) in ~13."""
CHANCE_MARGIN = 3.0
"""A name and date are taken as identifying when fewer than 10**-this persons of the
database would hold them by chance (1 in 100); short of that, NAME_DOUBT applies in full
CHANCE_SPAN powers of ten later."""
CHANCE_SPAN = 2.0
NATIONALITY_DIFFERS = 0.1
"""What a record whose nationalities (all known) do not include the passport's loses: a
listed person may travel on another state's passport, so it only takes a close name under
the threshold (a variant of one name held by someone of another state), never an exact
name with an agreeing date (1.0 - 0.1 stays above 0.85). At a million persons: 21 false
positives in 10,000 with 0.05, 15 with 0.1."""
SEX_DIFFERS = 0.15
"""What a record of the other sex loses: sex is rarely wrong on either side, so it weighs
more (a variant of a name held by someone of the other sex is another person); both
differing, an exact name and date fall under the threshold but are still shown."""
MISSING_NAME_DOUBT = {EXACT: 0.0, PARTIAL: 0.5, APPROXIMATE: 0.5, UNKNOWN: 0.3}
"""What the record's names missing from the query cost besides QUERY_SIDE_WEIGHT, unless
the dates of birth agree exactly: a passport prints every given name, so JAMES BISHOP born
in 1979 is less likely ERIK JAMES BISHOP listed with only that year."""


@dataclass(slots=True)
class NameQuery:
    """One parsed name query (not frozen: a frozen dataclass's fields are each set through
    `object.__setattr__`, ~1 us a query of the ~200 a new traveller costs)."""

    db: Database
    fields: tuple[tuple[str, tuple[str, ...]], ...]
    """(query field, its significant tokens); persons have one field, `name`."""
    dob: BirthDate | None = None
    nationality: str | None = None
    """An ICAO code; None when not given, or not a code (a zone with a misprinted one is
    still screened by name: an unknown nationality weighs nothing)."""
    sex: str | None = None
    """M or F; None when not given or unspecified (X)."""
    tokens: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False)
    """Every field's tokens in order, kept (asked for several times a query)."""

    def __post_init__(self) -> None:
        fields = self.fields
        one = len(fields) == 1
        self.tokens = fields[0][1] if one else tuple(chain.from_iterable(t for _, t in fields))


class NameMatcher:
    name = "name"

    def accepts(self, db: Database, query: Mapping[str, object]) -> bool:
        """Any name field present, even a wrong one: `parse` then says what is wrong."""
        return any(query.get(field) not in (None, "") for field in query_fields(db))

    def parse(self, db: Database, query: Mapping[str, object], where: str) -> NameQuery:
        return parse_name_query(db, query, where)

    def screen(
        self,
        snapshot: Snapshot,
        db: Database,
        parsed: Sequence[object],
        viewer: str | None,
    ) -> list[Result]:
        return [screen_one(snapshot, _name_query(query), viewer) for query in parsed]


MATCHER = NameMatcher()


def _name_query(query: object) -> NameQuery:
    if not isinstance(query, NameQuery):
        raise TypeError(f"the name matcher screens NameQuery, not {type(query).__name__}")
    return query


def query_fields(db: Database) -> tuple[str, ...]:
    if db.code in PERSON_DATABASES:
        return PERSON_QUERY_FIELDS
    return OBJECT_NAME_FIELDS.get(db.code, ("name",))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_name_query(db: Database, query: Mapping[str, object], where: str) -> NameQuery:
    """Validate one name query; `where` (e.g. 'queries[3]') prefixes every message."""
    for field in (*query_fields(db), "dob", "nationality", "sex"):
        value = query.get(field)
        if value is not None and not isinstance(value, str):
            raise QueryError(f"{where}.{field}: must be text, not {type(value).__name__}")
    if db.code in PERSON_DATABASES:
        given, surname = _text(query.get("given_names")), _text(query.get("surname"))
        fields: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("name", _person_tokens(given, surname)),
        )
    else:
        fields = tuple(
            (field, significant(name_tokens(_text(query.get(field)))))
            for field in query_fields(db)
            if _text(query.get(field))
        )
    if not any(tokens for _, tokens in fields):
        wanted = " or ".join(query_fields(db))
        raise QueryError(f"{where}.{query_fields(db)[0]}: {wanted} with letters required")
    for field, tokens in fields:
        if len(tokens) > MAX_QUERY_TOKENS:
            named = "surname" if field == "name" else field
            raise QueryError(
                f"{where}.{named}: {len(tokens)} name tokens, at most {MAX_QUERY_TOKENS}"
            )
    dob = None
    written = _text(query.get("dob"))
    if written:
        try:
            dob = _query_date(written)
        except FieldError as error:
            raise QueryError(f"{where}.dob: {error}") from None
    return NameQuery(
        db, fields, dob, _query_nationality(query), _query_sex(query.get("sex"), where)
    )


def _person_tokens(given_names: str, surname: str) -> tuple[str, ...]:
    """The significant tokens of a person's name (a whole name is folded once, remembered
    by `name_tokens`: travellers' names repeat)."""
    return significant(name_tokens(full_name({"given_names": given_names, "surname": surname})))


@lru_cache(maxsize=1 << 16)
def _query_date(written: str) -> BirthDate:
    """A query's date of birth, remembered: travellers' dates repeat (~24,000 a life span)."""
    return parse_birth_date(written)


def _query_nationality(query: Mapping[str, object]) -> str | None:
    written = _text(query.get("nationality"))
    return _state_or_none(written) if written else None


@lru_cache(maxsize=1024)
def _state_or_none(written: str) -> str | None:
    try:
        return state(written)
    except FieldError:
        return None


def _query_sex(value: object, where: str) -> str | None:
    written = _text(value).upper()
    if not written:
        return None
    if written not in KNOWN_SEXES:
        raise QueryError(f"{where}.sex: {written!r} is not M, F or X")
    return KNOWN_SEXES[written]


def screen_one(snapshot: Snapshot, query: NameQuery, viewer: str | None) -> Result:
    matches: list[Result] = []
    rarity = _Lazy(snapshot, query)
    for part_number, records in enumerate(candidates(snapshot, query)):
        part = snapshot.parts[part_number]
        for record in records.tolist():
            if not part.is_live(record, viewer):
                continue
            identity, data = snapshot.record(part_number, record)
            match = score_record(query, identity, data, rarity)
            if match is not None:
                matches.append(match)
    matches.sort(key=lambda match: (-match["score"], match["id"]))
    matches = matches[:MAX_MATCHES]
    threshold = float(query.db.threshold)
    return {"hit": any(match["score"] >= threshold for match in matches), "matches": matches}


class _Lazy:
    """The query's `Rarity`, computed when a candidate first needs it (few do)."""

    def __init__(self, snapshot: Snapshot, query: NameQuery) -> None:
        self.snapshot, self.query = snapshot, query
        self.rarity: Rarity | None = None

    def __call__(self) -> Rarity:
        if self.rarity is None:
            self.rarity = token_rarity(self.snapshot, self.query)
        return self.rarity


def candidates(snapshot: Snapshot, query: NameQuery) -> list[np.ndarray]:
    """Per part of the snapshot, the records worth scoring (the rule here, the set
    arithmetic in screening/name_candidates.py); withdrawn ones and those the viewer may
    not see are left out one by one as they are scored (a few, where numpy's masks cost
    ~20 us a part)."""
    distinct = _distinct_keys(query.tokens)
    dob = query.dob if query.dob is not None and _date_keys(query.dob) is not None else None
    found = []
    for part in snapshot.parts:
        segment = part.segment
        keyed = sorted(((key, _searched_run(segment, key)) for key in distinct), key=_run_length)
        keys = [key for key, _ in keyed]
        entries = [entry for _, entry in keyed]
        runs = [run for run, _ in entries]
        # A typo can change a token's key: all tokens but one will do; of a two-token name
        # either will do, among the records born on the query's date (or with no date):
        # the records knowing only a year or an approximate one need both (on a million
        # persons thousands share a year, so one common token brought dozens of them).
        lenient = len(runs) == 2 and dob is not None
        need = 1 if lenient else len(runs) - 1 if len(runs) > 2 else len(runs)
        drivers = sum(len(run) for run in runs[: len(runs) - need + 1])
        bits = [bits for _, bits in entries]
        if dob is None or not (lenient or drivers > NARROW_ABOVE):
            chosen = choose(runs, need, None, None, RARE_TOKEN, MAX_CANDIDATES, bits)
        elif segment.key_scheme == PERSON_KEY_SCHEME:
            chosen = _born_near_by_year_keys(segment, keys, runs, bits, need, dob, lenient)
        else:
            near = _date_runs(segment, dob, on_the_day=False)
            on = _date_runs(segment, dob, on_the_day=True) if lenient else None
            chosen = choose(runs, need, near, on, RARE_TOKEN, MAX_CANDIDATES, bits)
        found.append(chosen)
    return found


def _born_near_by_year_keys(
    segment: Segment,
    keys: list[bytes],
    runs: list[np.ndarray],
    bits: list[np.ndarray | None],
    need: int,
    dob: BirthDate,
    lenient: bool,
) -> np.ndarray:
    """`choose` with `near` (every record born near `dob`), read through the keys of a name
    in a year of birth (loaders/names.py, `year_name_key`) where the segment has them.

    `near` is the day (and the day swapped), the undated, and the year's records that know
    no more than a year: thousands, which `choose` walked for every traveller. Those are
    taken here from each token's run of that year (`of_year`), tens of records: a record
    of the year is in a token's run exactly when it is in its run of the year. The answer
    is the same records (tests/screening/test_name_year_keys.py)."""
    on = _date_runs(segment, dob, on_the_day=True)
    near = (*on, _year_without_keys(segment, dob.year))
    # Not remembered (`postings`): tens of thousands of (token, year) pairs, few asked twice,
    # would fill the cache with arrays the garbage collector then walks in every full pass.
    year_keys = [year_name_key(key, dob.year) for key in keys]
    of_year = segment.postings_many(year_keys, tokens_only=True)
    return choose(
        runs, need, near, on if lenient else None, RARE_TOKEN, MAX_CANDIDATES, bits, of_year
    )


@lru_cache(maxsize=256)
def _year_without_keys(segment: Segment, year: int) -> np.ndarray:
    """The records of a birth year that have no `year_name_key` for it (`ALL_YEARS`)."""
    without, born = postings(segment, ALL_YEARS), postings(segment, b"y:%d" % year)
    found: np.ndarray = without[sorted_contains(born, without)]
    return found


def _distinct_keys(tokens: tuple[str, ...]) -> tuple[bytes, ...]:
    """The keys a query's tokens are looked up by, each once (`token_key` remembers each
    token's; a whole query's would miss: 97 in 100 new travellers' were new)."""
    return tuple(dict.fromkeys(query_keys(tokens)))


@dataclass(frozen=True)
class Rarity:
    """How rare each query token is in the database, in powers of ten (log10 of the records
    over those holding its phonetic key), and the database's size: a name of rare tokens
    identifies a person, one of common tokens (WEI ZHANG) needs a full date of birth too."""

    digits: Mapping[str, float]
    records: int

    def chance_weight(self, tokens: Sequence[tuple[str, float]], dob: str) -> float:
        """0 when the matched (query token, similarity) pairs and the date together are rare
        enough to identify a person in this database, rising to 1 as they get common (see
        CHANCE_MARGIN)."""
        held = sum(self.digits.get(token, 0.0) * similarity for token, similarity in tokens)
        held += DATE_DIGITS.get(dob, 0.0)
        shortfall = math.log10(max(self.records, 1)) + CHANCE_MARGIN - held
        return min(1.0, max(0.0, shortfall / CHANCE_SPAN))


def token_rarity(snapshot: Snapshot, query: NameQuery) -> Rarity:
    """`Rarity` of the query's tokens, from their posting lists' lengths (remembered: the
    candidate step reads the same)."""
    records = sum(part.segment.records for part in snapshot.parts)
    digits = {}
    for token, key in zip(query.tokens, query_keys(query.tokens), strict=True):
        holders = sum(len(postings(part.segment, key)) for part in snapshot.parts)
        digits[token] = math.log10(max(records, 1) / max(holders, 1))
    return Rarity(digits, records)


@lru_cache(maxsize=POSTINGS_CACHED)
def postings(segment: Segment, key: bytes) -> np.ndarray:
    """`Segment.postings`, remembered: the common tokens (MOHAMMED, JOHN, a birth year) come
    back query after query, and reading and sorting their long runs is most of a query's
    cost. Segments are immutable, so a remembered run never goes stale; it keeps its
    segment mapped until it is evicted. Every key a name query reads is a token (names
    and dates are a record's `index_keys`), so the lookup keys' array is not probed."""
    return segment.postings(key, tokens_only=True)


BITSETS_CACHED = 256
"""Long runs remembered as bitsets (`as_bits`) per process: records / 8 bytes each (125 KB
at a million persons), for the common tokens that come back query after query."""
LONG_RUN = 256
"""A run longer than the records over this is searched as a bitset."""


SearchedRun = tuple[np.ndarray, np.ndarray | None]
"""A token's run and, when it is long, the same as a bitset (`_bits`)."""


@lru_cache(maxsize=POSTINGS_CACHED)
def _searched_run(segment: Segment, key: bytes) -> SearchedRun:
    run = postings(segment, key)
    long = len(run) > max(1024, segment.records // LONG_RUN)
    return run, _bits(segment, key) if long else None


def _run_length(keyed: tuple[bytes, SearchedRun]) -> int:
    return len(keyed[1][0])


@lru_cache(maxsize=BITSETS_CACHED)
def _bits(segment: Segment, key: bytes) -> np.ndarray:
    """`postings` as a bitset, remembered: a record of a passenger's common token (MOHAMMED,
    NGUYEN) is then one bit away, where the compiled step galloped through 20,000."""
    return as_bits(postings(segment, key), segment.records)


@lru_cache(maxsize=1 << 15)
def _date_keys(dob: BirthDate) -> list[bytes] | None:
    return query_date_keys(dob)


@lru_cache(maxsize=1 << 15)
def _date_runs(segment: Segment, dob: BirthDate, on_the_day: bool) -> tuple[np.ndarray, ...]:
    """The posting runs of the records whose date of birth a full date can agree with (or
    who have none); `on_the_day`: less those that know only a year (born on its day, or
    with day and month swapped, or undated). Remembered, like `postings`."""
    keys = _date_keys(dob) or []
    if on_the_day:
        keys = [key for key in keys if not key.startswith(b"y:") or key == NO_DATE]
    return tuple(postings(segment, key) for key in keys)


def score_record(
    query: NameQuery,
    identity: bytes,
    data: object,
    rarity: Callable[[], Rarity] | None = None,
) -> Result | None:
    """The match of one candidate, or None when it scores below what is worth showing.

    The date of birth is looked at first: a different one caps the score below what is
    shown, so the names of most candidates of a common name are never compared; the names
    are read from the stored list, and the record decoded only for a match. With the query
    tokens' `rarity` (asked for only when needed), a close but inexact name that is common
    and carries less than an exact date scores lower (NAME_DOUBT).
    """
    db = query.db
    person = db.code in PERSON_DATABASES
    dob = _dob_agreement(query, db, data) if person else UNKNOWN
    floor = float(db.threshold) - REPORT_BELOW_THRESHOLD
    if dob == DISAGREES and floor > DOB_DISAGREES_FACTOR:
        return None
    name_score, factor, bests = _best_name(query, _stored_names(db, data))
    score = name_score * DOB_DISAGREES_FACTOR if dob == DISAGREES else name_score
    if person:
        score += DOB_EFFECT.get(dob, 0.0)
        doubtful = bests and name_score < 1.0 and NAME_DOUBT.get(dob)
        if rarity is not None and doubtful and score * factor >= floor:  # doubt only lowers
            score -= _doubt(query, bests, name_score, rarity(), dob)
    score = min(1.0, max(0.0, score)) * factor
    evidence: dict[str, str] = {}
    if person:
        evidence = _evidence(query, db, data)
        score -= sum(_lowered_by(evidence).values())
    score = round(max(0.0, score), 4)
    if score < floor:
        return None
    record = decode(db, data)
    reasons = _reasons(query, bests)
    if person:
        reasons["dob"] = dob
        reasons.update(evidence)
        if _lowered_by(evidence):
            reasons["lowered_by"] = _lowered_by(evidence)
    return {
        "db": db.code,
        "id": record_id(db, identity),
        "match": "fuzzy",
        "score": score,
        "record": record,
        "reasons": reasons,
    }


def _stored_names(db: Database, data: object) -> dict[str, object]:
    """The name fields of a stored record (its list: loaders/records.py), undecoded."""
    if not isinstance(data, list) or len(data) != len(db.record_fields) + 3:
        return dict(decode(db, data))  # says what is wrong with it
    extras = data[-1] if isinstance(data[-1], dict) else {}
    return {
        field: data[at] if at is not None else extras.get(field)
        for field, at in _name_positions(db)
    }


def _name_positions(db: Database) -> tuple[tuple[str, int | None], ...]:
    """Where each field a name may be read from sits in `db`'s stored list (None: extras);
    remembered by code (hashing a whole Database per candidate cost more than the rest)."""
    positions = _NAME_POSITIONS.get(db.code)
    if positions is None:
        fields = (*PERSON_NAME_SOURCES, *OBJECT_NAME_FIELDS.get(db.code, ("name",)))
        stored = {field: at for at, field in enumerate(db.record_fields)}
        positions = tuple((field, stored.get(field)) for field in dict.fromkeys(fields))
        _NAME_POSITIONS[db.code] = positions
    return positions


_NAME_POSITIONS: dict[str, tuple[tuple[str, int | None], ...]] = {}


def _dob_agreement(query: NameQuery, db: Database, data: object) -> str:
    """`agreement` of the query's date of birth with the stored one, read from the stored
    list before the record is decoded (most candidates stop here)."""
    if query.dob is None:
        return UNKNOWN
    at = _dob_position(db)
    stored = data[at] if isinstance(data, list) and len(data) > at else None
    if not stored:
        return UNKNOWN
    return agreement(query.dob, _record_dates(str(stored)))


def _dob_position(db: Database) -> int:
    at = _DOB_POSITIONS.get(db.code)
    if at is None:
        at = _DOB_POSITIONS[db.code] = db.record_fields.index("dob")
    return at


_DOB_POSITIONS: dict[str, int] = {}


@lru_cache(maxsize=1 << 16)
def _record_dates(value: str) -> tuple[BirthDate, ...]:
    """A stored date of birth, parsed; remembered (~24,000 dates a life span, and a
    candidate's is read before anything else)."""
    if not value:
        return ()
    try:
        return parse_birth_dates(value)
    except FieldError:
        return ()


AGREES, DIFFERS = "agrees", "differs"
DIFFERS_COST = {"nationality": NATIONALITY_DIFFERS, "sex": SEX_DIFFERS}


def _evidence(query: NameQuery, db: Database, data: object) -> dict[str, str]:
    """How the query's nationality and sex compare with the record's (agrees, differs,
    unknown), read from the stored list before the record is decoded."""
    stored = data if isinstance(data, list) else []
    at = _evidence_positions(db)
    nationality, sex = (stored[i] if i is not None and i < len(stored) else None for i in at)
    return {
        "nationality": _nationality(query.nationality, nationality),
        "sex": _sex(query.sex, sex),
    }


def _lowered_by(evidence: Mapping[str, str]) -> dict[str, float]:
    """What each clear disagreement took off the score."""
    return {field: DIFFERS_COST[field] for field, seen in evidence.items() if seen == DIFFERS}


def _evidence_positions(db: Database) -> tuple[int | None, int | None]:
    """Where nationality and sex sit in `db`'s stored list; remembered by code."""
    positions = _EVIDENCE_POSITIONS.get(db.code)
    if positions is None:
        fields = db.record_fields
        nationality, sex = (fields.index(name) if name in fields else None
                            for name in ("nationality", "sex"))  # fmt: skip
        positions = _EVIDENCE_POSITIONS[db.code] = (nationality, sex)
    return positions


_EVIDENCE_POSITIONS: dict[str, tuple[int | None, int | None]] = {}


def _nationality(query: str | None, record: object) -> str:
    if not query or not record:
        return UNKNOWN
    codes = record if isinstance(record, list) else str(record).split(";")
    return AGREES if query in codes else DIFFERS


def _sex(query: str | None, record: object) -> str:
    if query is None or record not in ("M", "F"):
        return UNKNOWN
    return AGREES if query == record else DIFFERS


Paired = dict[int, tuple[float, str, int]]
"""Query token -> (similarity, how, record token): `_pairing`."""
Best = tuple[str, str, str, tuple[str, ...], Paired]
"""A query field's best name of a record: (field, kind, name, its tokens, their pairing
with the query's, kept for `_doubt` and `_reasons`)."""


def _best_name(
    query: NameQuery, record: Mapping[str, object]
) -> tuple[float, float, tuple[Best, ...]]:
    """The mean, over the query's fields, of each field's best-scoring name of the record;
    the least of those names' KIND_FACTOR (applied last, so a weak alias stays below a
    strong one even when both are capped at 1); and those names (`_reasons` explains them,
    for the few candidates that score high enough to be shown)."""
    total, factor, bests = 0.0, 1.0, []
    for field, tokens in query.fields:
        best: tuple[float, str, str, tuple[str, ...], Paired] | None = None
        for kind, name, name_tokens_ in _worth_comparing(
            tokens, _names_of(query.db, field, record)
        ):
            paired = _pairing(tokens, name_tokens_)
            score = _name_similarity(tokens, name_tokens_, paired)
            if best is None or score * KIND_FACTOR[kind] > best[0] * KIND_FACTOR[best[1]]:
                best = (score, kind, name, name_tokens_, paired)
        if best is None:
            return 0.0, 1.0, ()
        score, kind, name, name_tokens_, paired = best
        total += score
        factor = min(factor, KIND_FACTOR[kind])
        bests.append((field, kind, name, name_tokens_, paired))
    return total / max(len(bests), 1), factor, tuple(bests)


def _reasons(query: NameQuery, bests: tuple[Best, ...]) -> dict[str, Any]:
    """Which name of the record matched each query field, and token by token how."""
    fields = dict(query.fields)
    reasons = [
        {"field": field, "matched": kind, "name": name,
         "tokens": _pairs_explained(fields[field], name_tokens_, paired)}
        for field, kind, name, name_tokens_, paired in bests
    ]  # fmt: skip
    if len(reasons) == 1:
        return reasons[0]
    return {"fields": reasons} if reasons else {}


def _doubt(
    query: NameQuery, bests: tuple[Best, ...], name_score: float, rarity: Rarity, dob: str
) -> float:
    """What a person's close but inexact name loses for a date short of exact (NAME_DOUBT,
    MISSING_NAME_DOUBT): by how common its matched tokens are, and by the share of the
    record's name the query lacks."""
    (_, _, _, tokens, paired), query_tokens = bests[0], query.fields[0][1]
    held = [(query_tokens[q], similarity) for q, (similarity, _, _) in paired.items()]
    found = sum(_weight(tokens[r]) for _, _, r in paired.values())
    record_side = found / _total_weight(tokens) if tokens else 1.0
    chance = rarity.chance_weight(held, dob)
    return (1 - name_score) * NAME_DOUBT[dob] * chance + (1 - record_side) * MISSING_NAME_DOUBT[dob]


def _names_of(
    db: Database, field: str, record: Mapping[str, object]
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if db.code in PERSON_DATABASES:
        return _person_names(tuple(str(record.get(name) or "") for name in PERSON_NAME_SOURCES))
    value = record.get(field)
    return (("name", str(value), _record_tokens(str(value))),) if value else ()


PERSON_NAME_SOURCES = ("surname", "given_names", "aliases", "low_quality_aliases",
                       "original_script")  # fmt: skip


def _worth_comparing(
    query: tuple[str, ...], names: tuple[tuple[str, str, tuple[str, ...]], ...]
) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """The first name, and the others that share a phonetic key with the query: a listed
    person's dozen aliases are not all compared token by token."""
    if len(names) <= 1:
        return names
    codes = _codes(query)
    return names[:1] + tuple(name for name in names[1:] if _codes(name[2]) & codes)


@lru_cache(maxsize=1 << 16)
def _codes(tokens: tuple[str, ...]) -> frozenset[str]:
    return frozenset(phonetic(token) for token in tokens)


@lru_cache(maxsize=1 << 16)
def _person_names(values: tuple[str, ...]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(kind, name, significant tokens) of every name of a person, cached by its fields."""
    record = dict(zip(PERSON_NAME_SOURCES, values, strict=True))
    return tuple((kind, name, _record_tokens(name)) for kind, name in person_names(record))


def _record_tokens(name: str) -> tuple[str, ...]:
    return significant(name_tokens(name))


def _pairing(query: tuple[str, ...], tokens: tuple[str, ...]) -> Paired:
    """Query token -> (similarity, how, record token): best pairs first, each used once.

    Equal tokens pair first (1.0 is the best similarity, and only equal tokens have it),
    the last of the query with the last of the record as the greedy order would; only the
    tokens left are compared pairwise. Not remembered: a new traveller's name meets a
    candidate's once (94 of 100 were new), and a cache that misses costs more than this."""
    paired: Paired = {}
    used: set[int] = set()
    for q in range(len(query) - 1, -1, -1):
        if query[q] not in tokens:  # most tokens of a candidate's name are not the query's
            continue
        for r in range(len(tokens) - 1, -1, -1):
            if r not in used and query[q] == tokens[r]:
                paired[q] = (1.0, "exact", r)
                used.add(r)
                break
    if len(paired) == len(query) or len(used) == len(tokens):
        return paired
    pairs = []
    for q, query_token in enumerate(query):
        if q in paired:
            continue
        for r, record_token in enumerate(tokens):
            if r in used:
                continue
            similarity, how = token_similarity(query_token, record_token)
            if similarity:
                pairs.append((similarity, q, r, how))
    pairs.sort(reverse=True)
    for similarity, q, r, how in pairs:
        if q not in paired and r not in used:
            paired[q] = (similarity, how, r)
            used.add(r)
    return paired


def _name_similarity(query: tuple[str, ...], tokens: tuple[str, ...], paired: Paired) -> float:
    """QUERY_SIDE_WEIGHT of the query's tokens found (`paired`), the rest of the record's
    tokens found; each token weighs by its length (a two-letter syllable says less than
    ABDULRAHMAN)."""
    if not paired:
        return 0.0
    query_found = sum(_weight(query[q]) * s for q, (s, _, _) in paired.items())
    record_found = sum(_weight(tokens[r]) * s for s, _, r in paired.values())
    query_side = query_found / _total_weight(query)
    record_side = record_found / _total_weight(tokens)
    return QUERY_SIDE_WEIGHT * query_side + (1 - QUERY_SIDE_WEIGHT) * record_side


def _pairs_explained(
    query: tuple[str, ...], tokens: tuple[str, ...], paired: Paired
) -> list[dict[str, object]]:
    """The reasons: each query token, the record token it was paired with, and how."""
    explained: list[dict[str, object]] = []
    for q, token in enumerate(query):
        if q in paired:
            similarity, how, r = paired[q]
            explained.append(
                {"query": token, "record": tokens[r], "how": how,
                 "similarity": round(similarity, 3)}
            )  # fmt: skip
        else:
            explained.append({"query": token, "record": None, "how": "unmatched"})
    return explained


def _weight(token: str) -> float:
    return 2.0 + min(len(token), 8)


def _total_weight(tokens: tuple[str, ...]) -> float:
    return sum(_weight(token) for token in tokens)

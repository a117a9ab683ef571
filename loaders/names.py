"""Person and object names as the `name` matcher compares them: tokens and phonetic keys.

A name is folded to what a passport's zone would print (loaders/transliteration.py: ICAO
Doc 9303 for Latin diacritics, Cyrillic and Arabic, anyascii for the rest), then cut into
tokens at spaces and punctuation. Apostrophes join rather than cut ('ABD is ABD, O'NEIL is
ONEIL), as an MRZ drops them. Token order is not part of a name's identity: "ERIKSSON ANNA"
and "ANNA ERIKSSON" have the same key set, because sources disagree on which name comes
first (the UN list itself puts the family name first for some, last for others).

Each token has a phonetic key (metaphone, from jellyfish), so MOHAMMED, MUHAMMAD and
MOHAMED share MHMT and MUELLER and MULLER share MLR; the index stores those keys, and the
scorer (screening/name_match.py) then compares the tokens themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

import jellyfish

from loaders.birth_dates import date_keys, parse_birth_dates
from loaders.transliteration import to_latin

APOSTROPHES = re.compile(r"['’‘`ʿʾʻʼ´]")
SEPARATORS = re.compile(r"[^A-Z0-9]+")

PARTICLES = frozenset(
    {
        "AL", "EL", "UL", "BIN", "BEN", "IBN", "BINT", "BNT", "BN", "DE", "DI", "DOS", "DAS",
        "DEL", "DELLA", "DER", "DEN", "VAN", "VON", "LA", "DU",
    }
)  # fmt: skip
"""Connecting words that sources keep or drop at will ("AL-QATARI", "QATARI"): shown, but
not indexed, and missing one costs nothing. Words that are also common surnames (LE, DO,
DA: Vietnamese, Korean) are not in the list: dropping them made "HUSSEIN LE" one token."""

PHONETIC_PREFIX = b"p:"


@lru_cache(maxsize=1 << 16)
def name_tokens(name: str) -> tuple[str, ...]:
    """The tokens of a name in its own order, folded: `Müller-Lüdenscheidt, Hans` ->
    ('MUELLER', 'LUEDENSCHEIDT', 'HANS'). MRZ fillers (`<`) separate like spaces."""
    latin = APOSTROPHES.sub("", to_latin(name))
    latin = APOSTROPHES.sub("", latin)  # a transliteration may bring one (anyascii's `)
    return tuple(token for token in SEPARATORS.split(latin) if token)


def normalise_name(name: str) -> str:
    """The folded name, tokens joined by one space (order kept, for display and scoring)."""
    return " ".join(name_tokens(name))


def significant(tokens: Iterable[str]) -> tuple[str, ...]:
    """The tokens a match must rest on: particles left out, unless nothing else is left."""
    tokens = tuple(tokens)
    kept = tuple(token for token in tokens if token not in PARTICLES)
    return kept or tokens


@lru_cache(maxsize=1 << 16)
def phonetic(token: str) -> str:
    """The metaphone of a token; digits and very short tokens stand for themselves."""
    if not token.isalpha() or len(token) < 2:
        return token
    return jellyfish.metaphone(token) or token


@lru_cache(maxsize=1 << 16)
def token_key(token: str) -> bytes:
    """The index key of a significant token: its phonetic key (remembered: a new name is
    mostly tokens seen before)."""
    return PHONETIC_PREFIX + phonetic(token).encode()


def name_keys(names: Iterable[str]) -> list[bytes]:
    """The index keys of a record's names (name, aliases, original script): one per distinct
    phonetic key of a significant token, so the record is found whatever the order."""
    keys: dict[bytes, None] = {}
    for name in names:
        for token in significant(name_tokens(name)):
            keys[token_key(token)] = None
    return list(keys)


def query_keys(tokens: Iterable[str]) -> list[bytes]:
    """The phonetic keys to look up for the significant tokens of a query, one per token."""
    return [token_key(token) for token in tokens]


def split_names(value: object) -> tuple[str, ...]:
    """A `;`-separated list of names (aliases) as its names; empty parts dropped."""
    if not value:
        return ()
    return tuple(part.strip() for part in str(value).split(";") if part.strip())


MAX_NAME_KEYS = 200
MAX_KEYS = 240
"""A record's name keys are capped below the engine's 255 keys a record (its lookup keys come
first): a listed person with dozens of aliases keeps the keys of their first names. One
`ALL_YEARS` key may come on top."""

PERSON_KEY_SCHEME = "persons/2"
"""How `person_index_keys` keys a person, recorded in each NOMINAL segment (FORMAT.md,
`key_scheme`). 2: a name key per year of birth (`year_name_key`); a segment without the
label (loaded before, or compacted with such) is searched without them."""
YEAR_NAME_PREFIX = b"py:"
ALL_YEARS = YEAR_NAME_PREFIX + b"*"
"""The key of the records born in a year they have no `year_name_key` for (their names and
years would take more keys than a record may have): the name matcher reads them as before."""

PERSON_NAME_FIELDS = {
    "aliases": "alias",
    "low_quality_aliases": "low_quality_alias",
    "original_script": "original_script",
}
"""NOMINAL fields, besides surname and given names, that hold names searched like them, and
the kind of name each is called in a match's reasons."""


def full_name(values: Mapping[str, object]) -> str:
    """A person's name as one string: given names, then surname (order does not matter)."""
    return " ".join(str(values[name]) for name in ("given_names", "surname") if values.get(name))


def person_names(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """(kind, name) of every name a person record is searched by: the name, then aliases,
    low-quality aliases and the name in its original script."""
    name = full_name(values)
    names = [("name", name)] if name else []
    for field, kind in PERSON_NAME_FIELDS.items():
        names += [(kind, one) for one in split_names(values.get(field))]
    return names


def person_index_keys(values: Mapping[str, object]) -> list[bytes]:
    """NOMINAL's `index_keys` hook: phonetic keys of every name, then date-of-birth keys,
    then the keys of each name in each year of birth a partial date allows."""
    keys = name_keys(name for _, name in person_names(values))[:MAX_NAME_KEYS]
    dob = values.get("dob")
    dates = parse_birth_dates(str(dob)) if dob else ()
    born = date_keys(dates)[: MAX_KEYS - len(keys)]
    return keys + born + year_name_keys(keys, born, MAX_KEYS - len(keys) - len(born))


def year_name_key(name_key: bytes, year: int) -> bytes:
    """The key of the records holding `name_key` and born in `year` as far as they know
    (a `y:YEAR` key: a year alone, an approximate date, a range): py:1970:MHMT.

    Why: thousands of a million persons know only their year of birth, and a traveller's
    full date must be checked against all of them. A name query would walk that year's
    7,000 records for every traveller; under these keys it reads the few holding its
    tokens. Full dates need none: the records of one day are a few dozen."""
    return YEAR_NAME_PREFIX + b"%d:" % year + name_key[len(PHONETIC_PREFIX) :]


def year_name_keys(name_keys: list[bytes], born: list[bytes], room: int) -> list[bytes]:
    """`year_name_key` of every name key and every `y:YEAR` of `born`; when more than
    `room`, `ALL_YEARS` instead (the matcher then reads the record as it did before)."""
    years = [int(key[2:]) for key in born if key.startswith(b"y:") and key[2:].isdigit()]
    keys = [year_name_key(name, year) for year in years for name in name_keys]
    return keys if len(keys) <= room else [ALL_YEARS]


def object_index_keys(*fields: str) -> Callable[[Mapping[str, object]], list[bytes]]:
    """The `index_keys` hook of a database searched by the names in `fields` (VESSELS:
    name; WOA: title and artist; PIRACY: name)."""

    def keys(values: Mapping[str, object]) -> list[bytes]:
        names = [str(values[field]) for field in fields if values.get(field)]
        return name_keys(names)[:MAX_NAME_KEYS]

    return keys

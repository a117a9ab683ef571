"""Dates of birth as watchlists know them: full, year-month, year only, approximate, a range.

Stored form (the `dob` field of NOMINAL), several separated by `;` since a listed person
often has more than one: `1974-08-12` (full), `1974-08` (year and month), `1974` (year),
`~1974` (approximately 1974; also written `c. 1974`, `approx. 1974`, `approximately 1974`)
and `1968/1970` (between 1968 and 1970; also `1968..1970`, `between 1968 and 1970`).

The matcher uses them twice: as index keys (`y:YEAR` for every year a record's date may
fall in, `y:?` for a record with none), which narrow a large candidate set to the query's
year, and as evidence in the score (`agreement`).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from loaders.normalise import FieldError

APPROXIMATE_YEARS = 2
"""`~1974` is taken to cover 1972..1976 (a listed person's age is often a guess)."""
MAX_RANGE_YEARS = 20
FIRST_YEAR, LAST_YEAR = 1850, 2100

_APPROX = re.compile(r"^(?:~|APPROXIMATELY|APPROX\.?|CIRCA|CA\.|CA\b|C\.|ABOUT)\s*", re.I)
_RANGE = re.compile(r"^(?:BETWEEN\s+)?(\d{4})\s*(?:/|\.\.|AND|TO)\s*(\d{4})$", re.I)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


class BirthDate(NamedTuple):
    year: int
    month: int | None = None
    day: int | None = None
    approximate: bool = False
    to_year: int | None = None
    """The last year of a range (`1968/1970`); None when not a range."""

    def __str__(self) -> str:
        if self.to_year is not None:
            return f"{self.year}/{self.to_year}"
        text = str(self.year)
        if self.month is not None:
            text += f"-{self.month:02d}"
            if self.day is not None:
                text += f"-{self.day:02d}"
        return ("~" if self.approximate else "") + text

    def years(self) -> range:
        """Every year this date may fall in."""
        if self.to_year is not None:
            return range(self.year, self.to_year + 1)
        spread = APPROXIMATE_YEARS if self.approximate else 0
        return range(self.year - spread, self.year + spread + 1)


@lru_cache(maxsize=1 << 14)
def parse_birth_dates(value: str) -> tuple[BirthDate, ...]:
    """Every date of a `dob` value, in order, duplicates dropped; FieldError says which."""
    dates: dict[BirthDate, None] = {}
    for part in value.split(";"):
        if part.strip():
            dates[parse_birth_date(part)] = None
    return tuple(dates)


def parse_birth_date(value: str) -> BirthDate:
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        return _full_date(value, text)
    approximate = False
    marker = _APPROX.match(text)
    if marker:
        approximate, text = True, text[marker.end() :].strip()
    ranged = _RANGE.match(text)
    if ranged:
        return _range(value, int(ranged.group(1)), int(ranged.group(2)))
    parts = _DATE.match(text)
    if not parts:
        raise FieldError(
            f"{value!r} is not a date of birth (YYYY-MM-DD, YYYY-MM, YYYY, ~YYYY or YYYY/YYYY)"
        )
    year, month, day = (int(group) if group else None for group in parts.groups())
    assert year is not None
    _check_year(value, year)
    if month is not None and not 1 <= month <= 12:
        raise FieldError(f"{value!r} has no month {month}")
    if month is not None and day is not None:
        try:
            date(year, month, day)
        except ValueError:
            raise FieldError(f"{value!r} is not a real date") from None
    return BirthDate(year, month, day, approximate)


def _full_date(value: str, text: str) -> BirthDate:
    """YYYY-MM-DD, the common case, without the regular expressions."""
    try:
        day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        raise FieldError(f"{value!r} is not a real date") from None
    _check_year(value, day.year)
    return BirthDate(day.year, day.month, day.day)


def _range(value: str, first: int, last: int) -> BirthDate:
    _check_year(value, first)
    _check_year(value, last)
    if not 0 <= last - first <= MAX_RANGE_YEARS:
        raise FieldError(f"{value!r}: a range runs forward, at most {MAX_RANGE_YEARS} years")
    return BirthDate(first, to_year=last) if last > first else BirthDate(first)


def _check_year(value: str, year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise FieldError(f"{value!r}: year {year} is outside {FIRST_YEAR}..{LAST_YEAR}")


def normalise_birth_dates(value: str) -> str:
    """The `dob` normaliser: the stored form, `;`-separated, each date canonical."""
    dates = parse_birth_dates(value)
    if not dates:
        raise FieldError("is empty")
    return ";".join(str(one) for one in dates)


def date_keys(dates: tuple[BirthDate, ...]) -> list[bytes]:
    """A record's date-of-birth keys: `d:YYYY-MM-DD` for each full date, `y:YEAR` for every
    year a partial, approximate or ranged date may fall in, `y:?` when there is none."""
    if not dates:
        return [NO_DATE]
    full = [b"d:" + str(one).encode() for one in dates if _is_full(one)]
    years = sorted({year for one in dates if not _is_full(one) for year in one.years()})
    return full + [b"y:%d" % year for year in years]


def query_date_keys(query: BirthDate) -> list[bytes] | None:
    """The keys of the records a query's date of birth can agree with (`agreement` not
    DISAGREES): its full date and that date with day and month swapped, the records with
    only a year (or an approximate or ranged one) covering it, and those with none.
    None for a query without a full date: it agrees with too many to list."""
    if not _is_full(query):
        return None
    keys = [b"d:" + str(query).encode()]
    assert query.month is not None and query.day is not None
    if query.day <= 12 and query.day != query.month:
        swapped = BirthDate(query.year, query.day, query.month)
        keys.append(b"d:" + str(swapped).encode())
    return [*keys, b"y:%d" % query.year, NO_DATE]


NO_DATE = b"y:?"


def _is_full(one: BirthDate) -> bool:
    return one.day is not None and not one.approximate and one.to_year is None


EXACT, PARTIAL, APPROXIMATE, DISAGREES, UNKNOWN = (
    "exact",
    "partial",
    "approximate",
    "disagrees",
    "unknown",
)
_RANK = {EXACT: 0, PARTIAL: 1, APPROXIMATE: 2, DISAGREES: 3}


def agreement(query: BirthDate | None, record: tuple[BirthDate, ...]) -> str:
    """How the query's date of birth agrees with the record's best date.

    exact: the same full date; partial: equal as far as both are known (a year-only
    record, a query without a day); approximate: within an approximate or ranged date,
    or day and month swapped (a clerk's classic slip); disagrees; unknown: a side has none.
    """
    if query is None or not record:
        return UNKNOWN
    return min((_agree(query, one) for one in record), key=_RANK.__getitem__)


def _agree(query: BirthDate, record: BirthDate) -> str:
    if record.to_year is not None or record.approximate or query.approximate:
        return APPROXIMATE if _years_overlap(query, record) else DISAGREES
    if query.to_year is not None:
        return APPROXIMATE if _years_overlap(query, record) else DISAGREES
    if query.year != record.year:
        return DISAGREES
    if query.month is None or record.month is None:
        return PARTIAL
    if query.month == record.month:
        if query.day is None or record.day is None:
            return PARTIAL
        return EXACT if query.day == record.day else DISAGREES
    swapped = query.day == record.month and query.month == record.day
    return APPROXIMATE if swapped else DISAGREES


def _years_overlap(one: BirthDate, other: BirthDate) -> bool:
    return bool(set(one.years()) & set(other.years()))

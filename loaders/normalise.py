"""Normalisers: turn a value as an NCB clerk or a terminal typed it into the stored form.

The same functions serve the loader (what is stored) and the screening path (what is
looked up), so "L898902C3", "l89 8902-c3" and "L898902C3<" can only ever meet. Each raises
`FieldError` with a sentence for a human; the caller adds the field name and line.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date
from functools import lru_cache

from loaders.countries import normalise_state


class FieldError(ValueError):
    """A value that cannot be normalised; the message says why, for the reject report."""


def without(value: str, drop: dict[int, int | None]) -> str:
    """`value.translate(drop)`, skipped when `value` is letters and digits only (a drop
    table holds separators, never those): a translate looks each character up in a dict,
    ~1 us for a passport number, and nearly every number keyed or scanned at a gate has
    nothing to drop."""
    return value if value.isalnum() else value.translate(drop)


DOCUMENT_NUMBER_DROP = str.maketrans("", "", " -<\t")
DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,30}")
DOCUMENT_TYPE = re.compile(r"[PIACV][A-Z0-9]?")


def document_number(value: str) -> str:
    """Spaces, `-` and `<` are not part of a document number and case does not matter."""
    number = without(value, DOCUMENT_NUMBER_DROP)
    # Fold ASCII only: "ß".upper() is "SS" and "ı".upper() is "I", which would accept them.
    number = (
        number.upper()
        if number.isascii()
        else "".join(c.upper() if c.isascii() else c for c in number)
    )
    if not number:
        raise FieldError("is empty")
    if not DOCUMENT_NUMBER.fullmatch(number):
        bad = sorted({c for c in number if not ("A" <= c <= "Z" or "0" <= c <= "9")})
        if bad:
            raise FieldError(f"{value!r} has characters other than A-Z and 0-9: {''.join(bad)!r}")
        raise FieldError(f"{value!r} is longer than 30 characters")
    return number


@lru_cache(maxsize=4096)
def state(value: str) -> str:
    """An ICAO 9303 issuing-state or organisation code (`D` for Germany, `UTO`, `XXA` ...)."""
    try:
        return normalise_state(value)
    except ValueError as error:
        raise FieldError(str(error)) from None


def state_list(value: str) -> tuple[str, ...]:
    """`;`-separated state codes (commas tolerated); empty means no restriction."""
    parts = [part for part in re.split(r"[;,]", value) if part.strip()]
    return tuple(sorted({state(part) for part in parts}))


@lru_cache(maxsize=1024)
def document_type(value: str) -> str:
    """An MRZ document code: `P`, `I`, `A`, `C` or `V`, with an optional second character."""
    code = value.replace("<", "").strip()
    code = code.upper() if code.isascii() else code  # "ı".upper() is "I": not a code
    if not DOCUMENT_TYPE.fullmatch(code):
        raise FieldError(f"{value!r} is not a document code (P, I, A, C or V, then one more)")
    return code


@lru_cache(maxsize=1 << 16)
def iso_date(value: str) -> str:
    """A real calendar date written YYYY-MM-DD (2023-02-30 is refused)."""
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise FieldError(f"{value!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldError(f"{value!r} is not a real date") from None


def past_date(value: str) -> str:
    """A date that has already happened: a report cannot come from the future."""
    text = iso_date(value)
    if text > _today():
        raise FieldError(f"{value!r} is in the future")
    return text


def _today(now: float | None = None) -> str:
    """Today's ISO date, recomputed at most once a minute (a load may cross midnight)."""
    return _today_at(int((time.time() if now is None else now) // 60))


@lru_cache(maxsize=1)
def _today_at(minute: int) -> str:
    return date.today().isoformat()


def choice(options: tuple[str, ...], upper: bool = False) -> ChoiceNormaliser:
    return ChoiceNormaliser(options, upper)


class ChoiceNormaliser:
    """One of a fixed set of words, case-insensitive: stored lower case (`Stolen` is
    `stolen`), or upper case with `upper` (`red` is `RED`). Only ASCII letters fold: the
    Kelvin sign `K` lower-cases to `k`, but is not one."""

    def __init__(self, options: tuple[str, ...], upper: bool = False) -> None:
        self.options = options
        self.upper = upper
        self._allowed = frozenset(options)

    def __call__(self, value: str) -> str:
        if value in self._allowed:
            return value
        word = value.strip()
        if word.isascii():
            word = word.upper() if self.upper else word.lower()
        if word not in self._allowed:
            raise FieldError(f"{value!r} is not one of {', '.join(self.options)}")
        return word


def text(value: str) -> str:
    """Free text: surrounding spaces dropped."""
    return value.strip()


def ascii_upper(value: str) -> str:
    """Upper-case ASCII letters only: "ß".upper() is "SS" and "ı".upper() is "I", which
    would let a character no identifier holds pass as one."""
    if value.isascii():
        return value.upper()
    return "".join(c.upper() if c.isascii() else c for c in value)


IDENTIFIER_DROP = str.maketrans("", "", " -<\t/._")
IDENTIFIER = re.compile(r"[A-Z0-9]{1,40}")


def identifier(value: str) -> str:
    """A serial number, exhibit or object id: letters and digits, case folded; spaces and
    the separators `- / . _ <` are how it was typed, not part of it (like a document number)."""
    text = ascii_upper(without(value, IDENTIFIER_DROP))
    if not text:
        raise FieldError("is empty")
    if not IDENTIFIER.fullmatch(text):
        bad = sorted({c for c in text if not ("A" <= c <= "Z" or "0" <= c <= "9")})
        if bad:
            raise FieldError(f"{value!r} has characters other than A-Z and 0-9: {''.join(bad)!r}")
        raise FieldError(f"{value!r} is longer than 40 characters")
    return text


MAKE_PUNCTUATION = re.compile(r"[^0-9A-Z]+")
MAKE_ALIASES = {
    "H K": "HECKLER KOCH", "HK": "HECKLER KOCH", "HECKLER UND KOCH": "HECKLER KOCH",
    "S W": "SMITH WESSON", "SW": "SMITH WESSON", "SMITH AND WESSON": "SMITH WESSON",
    "VW": "VOLKSWAGEN", "MERCEDES": "MERCEDES BENZ", "CZ": "CESKA ZBROJOVKA",
    "SIG": "SIG SAUER", "SIGSAUER": "SIG SAUER", "FN": "FN HERSTAL",
}  # fmt: skip


@lru_cache(maxsize=1 << 14)
def make(value: str) -> str:
    """A maker's (or model's) name with case, accents and punctuation folded, so that
    `Heckler & Koch`, `HECKLER-KOCH` and `H&K` meet: upper-case ASCII words, one space
    apart; `&` and `und`/`and` between words dropped; a few well-known abbreviations
    spelled out (MAKE_ALIASES)."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    words = [w for w in MAKE_PUNCTUATION.split(folded) if w]
    if not words:
        raise FieldError(f"{value!r} has no letter or digit")
    text = " ".join(words)
    text = MAKE_ALIASES.get(text, text)
    return MAKE_ALIASES.get(text.replace(" AND ", " ").replace(" UND ", " "), text)


TRUE_WORDS = frozenset(("true", "yes", "y", "1"))
FALSE_WORDS = frozenset(("false", "no", "n", "0"))


def boolean(value: str) -> bool:
    """true/false, yes/no, 1/0 in any case."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FieldError(f"{value!r} is not true or false (yes/no, 1/0)")


DECIMAL = re.compile(r"(\d{1,12})(?:\.(\d{1,4}))?")


def amount(value: str) -> str:
    """A face value written with a dot and no thousands separator: `50`, `0.50` is `0.5`."""
    text = value.strip().replace(" ", "")
    match = DECIMAL.fullmatch(text)
    if match is None:
        raise FieldError(f"{value!r} is not an amount (digits, optionally .digits)")
    whole, fraction = match.groups()
    fraction = (fraction or "").rstrip("0")
    return f"{int(whole)}.{fraction}" if fraction else str(int(whole))


def states(value: str) -> list[str]:
    """One state or several (`;`-separated), as a list: nationalities, for instance."""
    listed = list(state_list(value))
    if not listed:
        raise FieldError("is empty")
    return listed

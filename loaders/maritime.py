"""Vessel identifiers: IMO ship numbers and hull identification numbers (HIN).

IMO numbers (SOLAS XI-1/3) are 7 digits, the last a check digit: the first six times
7, 6, 5, 4, 3, 2, summed, modulo 10. They are usually written `IMO 9074729`.

A HIN (ISO 10087, US 33 CFR 181) is 12 characters: a 3-letter manufacturer code, a
5-character serial (no I, O, Q), then the month of production as a letter A-L, the
last digit of that year and the two-digit model year. In Europe it is often prefixed
by the builder's country (`FR-ABC12345D404`): that prefix is kept, as it is part of the
number as issued. Older pre-1984 formats are not accepted.
"""

from __future__ import annotations

import re
from operator import mul

from loaders.normalise import FieldError, ascii_upper, without

IMO_WEIGHTS = (7, 6, 5, 4, 3, 2)
IMO_PREFIX = re.compile(r"^\s*IMO[\s:.\-]*", re.IGNORECASE)
HIN_DROP = str.maketrans("", "", " -\t")
HIN = re.compile(r"(?:[A-Z]{2})?[A-Z]{3}[A-HJ-NPR-Z0-9]{5}[A-L][0-9]{3}")


def imo_check_digit(six_digits: str) -> str:
    if len(six_digits) != len(IMO_WEIGHTS):
        raise ValueError(f"an IMO check digit is over 6 digits, not {six_digits!r}")
    return str(sum(map(mul, map(int, six_digits), IMO_WEIGHTS)) % 10)  # C loops: every query


def imo(value: str) -> str:
    """7 digits with a valid check digit; an `IMO` prefix and spaces are tolerated."""
    text = value if value.isdigit() else IMO_PREFIX.sub("", value).strip().replace(" ", "")
    if not (len(text) == 7 and text.isascii() and text.isdigit()):
        raise FieldError(f"{value!r} is not an IMO number (7 digits, e.g. IMO 9074729)")
    if text[6] != imo_check_digit(text[:6]):
        raise FieldError(
            f"{value!r} fails its check digit (last digit {text[6]}, "
            f"computed {imo_check_digit(text[:6])})"
        )
    return text


def hin(value: str) -> str:
    """A 12-character hull id (or 14 with a country prefix); spaces and `-` dropped."""
    text = ascii_upper(without(value, HIN_DROP))
    if not HIN.fullmatch(text):
        raise FieldError(
            f"{value!r} is not a hull identification number (3 letters, 5 characters "
            "without I/O/Q, a month letter A-L, 3 digits; optionally a 2-letter country first)"
        )
    return text

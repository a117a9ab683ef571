"""Vehicle identifiers: VINs (ISO 3779) and number plates, as SMV stores and screens them.

A VIN is 17 characters of A-Z and 0-9 without I, O and Q (they read as 1 and 0). Its
9th character is a check digit (49 CFR 565) that North America requires and the rest of
the world does not: a European or Japanese VIN often carries a letter or a plant code
there. So the check digit is enforced only where it is mandatory, VINs whose world
manufacturer identifier begins with 1-5 (United States, Canada, Mexico): there it catches
a mistyped character, elsewhere it would reject genuine vehicles.
"""

from __future__ import annotations

import re
from operator import mul

from loaders.normalise import FieldError, ascii_upper, without

VIN_DROP = str.maketrans("", "", " -\t.")
VIN_LENGTH = 17
VIN_CHARACTERS = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
NORTH_AMERICA = frozenset("12345")
TRANSLITERATION = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}  # fmt: skip
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
NOT_IN_A_VIN = 0xFF
VALUES = bytes(TRANSLITERATION.get(chr(byte), NOT_IN_A_VIN) for byte in range(256))
"""TRANSLITERATION as a bytes.translate table: one C call values a whole VIN."""
PLATE_DROP = str.maketrans("", "", " -\t.·")
PLATE = re.compile(r"[A-Z0-9]{1,12}")


def vin_check_digit(vin: str) -> str:
    """The 9th character a valid North-American VIN must carry ('X' stands for 10)."""
    values = vin.encode("latin-1", "replace").translate(VALUES)  # beyond latin-1: "?", refused
    if len(values) != len(WEIGHTS) or NOT_IN_A_VIN in values:
        raise ValueError(f"a VIN check digit is over 17 characters of A-Z and 0-9, not {vin!r}")
    total = sum(map(mul, values, WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin(value: str) -> str:
    """17 characters, no I, O or Q; spaces and `-` dropped, case folded; see the module."""
    text = ascii_upper(without(value, VIN_DROP))
    if len(text) != VIN_LENGTH:
        raise FieldError(f"{value!r} is not 17 characters long (a VIN is)")
    if not VIN_CHARACTERS.fullmatch(text):
        bad = sorted({c for c in text if not re.fullmatch(r"[A-HJ-NPR-Z0-9]", c)})
        raise FieldError(f"{value!r} has characters a VIN never holds: {''.join(bad)!r}")
    if text[0] in NORTH_AMERICA and text[8] != vin_check_digit(text):
        raise FieldError(
            f"{value!r} fails its check digit (9th character {text[8]!r}, "
            f"computed {vin_check_digit(text)!r}; required for North-American VINs)"
        )
    return text


def plate(value: str) -> str:
    """A registration plate as the letters and digits on it: spaces, `-` and dots dropped."""
    text = ascii_upper(without(value, PLATE_DROP))
    if not text:
        raise FieldError("is empty")
    if not PLATE.fullmatch(text):
        bad = sorted({c for c in text if not ("A" <= c <= "Z" or "0" <= c <= "9")})
        if bad:
            raise FieldError(f"{value!r} has characters other than A-Z and 0-9: {''.join(bad)!r}")
        raise FieldError(f"{value!r} is longer than 12 characters")
    return text

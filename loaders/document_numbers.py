"""Document number formats and traffic weights per issuing state, for synthetic data.

Why formats matter for a generator: SLTD is keyed by (number, issuing state), so the
shape of the numbers decides how the hash index fills, what normalisation has to cope
with and how often the same number turns up under two states (a `number_only` match).
Nine uniform random digits everywhere would hide all of that.

The shapes are those the states print in their passports (the same characters the MRZ
carries), as public specimens show them. They are a model for synthetic data, not a
validator: real numbers outside these shapes exist and the loader must accept them.
States not listed get a generic nine alphanumerics.

The weights are rough numbers of international departures a year (millions, pre-2020
order of magnitude); only their proportions matter. They make a draw of issuing states
look like the traffic at a border: a few large states carry most of it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from functools import cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from loaders.countries import ISSUING_STATES

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = LETTERS + DIGITS
# German passports and ID cards avoid vowels and the letters that read like digits.
GERMAN = "CFGHJKLMNPRTVWXYZ0123456789"
# Dutch document numbers never use the letter O, which reads as a zero.
_DUTCH_LETTERS = LETTERS.replace("O", "")

# Pattern language: one character per position; a class letter below, or a literal
# set in brackets: "[EG]99999999" is E or G, then eight digits.
_CLASSES: Mapping[str, str] = MappingProxyType(
    {
        "9": DIGITS,
        "A": LETTERS,
        "X": ALNUM,
        "G": GERMAN,
        "N": _DUTCH_LETTERS,
        "M": _DUTCH_LETTERS + DIGITS,
    }
)

Pattern = tuple[str, ...]
"""One alphabet per character position of a document number."""

Formats = tuple[tuple[str, float], ...]
"""(pattern, relative weight) pairs: the shapes one state's numbers come in."""

GENERIC_FORMAT: Formats = (("XXXXXXXXX", 1.0),)

# The patterns of one state must be disjoint (see patterns_disjoint) so that numbers
# drawn without replacement from each are unique across all of them.
STATE_FORMATS: Mapping[str, Formats] = MappingProxyType(
    {
        "ARG": (("AAA999999", 1.0),),
        "AUS": (("A9999999", 0.4), ("AA9999999", 0.6)),
        "AUT": (("[PU]9999999", 1.0),),
        "BEL": (("AA999999", 1.0),),
        "BRA": (("AA999999", 1.0),),
        "CAN": (("AA999999", 1.0),),
        "CHE": (("A9999999", 1.0),),
        "CHN": (("[EG]99999999", 1.0),),
        "CZE": (("99999999", 1.0),),
        "D": (("[C]GGGGGGGG", 1.0),),
        "DNK": (("999999999", 1.0),),
        "EGY": (("[A]99999999", 1.0),),
        "ESP": (("AAA999999", 1.0),),
        "FIN": (("AA9999999", 1.0),),
        "FRA": (("99AA99999", 1.0),),
        "GBR": (("999999999", 1.0),),
        "GRC": (("AA9999999", 1.0),),
        "HKG": (("[HK]99999999", 1.0),),
        "IDN": (("[ABCX]9999999", 1.0),),
        "IND": (("A9999999", 1.0),),
        "IRL": (("AA9999999", 1.0),),
        "ISR": (("99999999", 1.0),),
        "ITA": (("AA9999999", 1.0),),
        "JPN": (("AA9999999", 1.0),),
        # Korea: M + 8 digits until 2020, M + 3 digits + letter + 4 digits since.
        "KOR": (("[M]99999999", 0.6), ("[M]999A9999", 0.4)),
        "MEX": (("[GN]99999999", 1.0),),
        "MYS": (("[AHK]99999999", 1.0),),
        "NGA": (("[AB]99999999", 1.0),),
        "NLD": (("NNMMMMMM9", 1.0),),
        "NZL": (("AA999999", 1.0),),
        "PAK": (("AA9999999", 1.0),),
        "PHL": (("[P]9999999A", 1.0),),
        "POL": (("AA9999999", 1.0),),
        "PRT": (("A999999", 1.0),),
        "ROU": (("999999999", 1.0),),
        "RUS": (("999999999", 1.0),),
        "SGP": (("[EK]9999999A", 1.0),),
        "SWE": (("99999999", 1.0),),
        "THA": (("AA9999999", 1.0),),
        "TUR": (("[U]99999999", 1.0),),
        "TWN": (("999999999", 1.0),),
        "UKR": (("AA999999", 1.0),),
        # USA: nine digits; the next-generation books (2021 on) are a letter + 8 digits.
        "USA": (("999999999", 0.6), ("[A]99999999", 0.4)),
        # Utopia, the 9303 specimens: L898902C3 (passports), D23145890 (ID cards).
        "UTO": (("[L]999999[C]9", 0.7), ("[D]99999999", 0.3)),
        "VNM": (("[BCN]9999999", 1.0),),
        "ZAF": (("[AM]99999999", 1.0),),
    }
)

# International departures a year, millions, rough; every other state gets SMALL_WEIGHT.
_TRAFFIC: Mapping[str, float] = MappingProxyType(
    {
        "CHN": 155, "D": 108, "USA": 99, "GBR": 93, "POL": 50, "RUS": 45, "CAN": 37,
        "ITA": 34, "FRA": 30, "KOR": 29, "UKR": 28, "IND": 27, "NLD": 22, "ESP": 22,
        "JPN": 20, "MEX": 20, "SWE": 17, "TWN": 17, "CHE": 16, "SAU": 14, "BEL": 13,
        "AUT": 12, "TUR": 12, "MYS": 12, "AUS": 11, "IDN": 11, "BRA": 10, "THA": 10,
        "IRN": 10, "KAZ": 10, "SGP": 10, "ARG": 10, "DNK": 10, "HKG": 10, "NOR": 9,
        "PHL": 8, "ROU": 8, "IRL": 8, "ISR": 8, "FIN": 8, "UZB": 8, "HUN": 7, "GRC": 7,
        "VNM": 6, "ARE": 6, "CZE": 6, "ZAF": 6, "PRT": 5, "EGY": 5, "COL": 5, "KGZ": 5,
        "CHL": 4, "PAK": 4, "AZE": 4, "NGA": 3, "NZL": 3,
    }
)  # fmt: skip
SMALL_WEIGHT = 0.3

# Valid 9303 codes that never appear as the issuing state of a document: nationality
# classes (a British Overseas Citizen's passport is issued by GBR, a refugee's travel
# document by the state that issues it), codes withdrawn from ISO 3166 long enough ago
# that no document carrying them is still in circulation, and places without people
# or a passport office of their own.
NEVER_ISSUING: frozenset[str] = frozenset(
    {
        "GBD", "GBN", "GBO", "GBP", "GBS",
        "XXA", "XXB", "XXC", "XXX",
        "ANT", "NTZ",
        "ATA", "ATF", "BVT", "HMD", "IOT", "SGS", "UMI",
    }
)  # fmt: skip


def parse_pattern(spec: str) -> Pattern:
    """The alphabets of a pattern such as ``"99AA99999"`` or ``"[EG]99999999"``."""
    alphabets: list[str] = []
    position = 0
    while position < len(spec):
        if spec[position] == "[":
            end = spec.index("]", position)
            alphabets.append(spec[position + 1 : end])
            position = end + 1
        else:
            alphabets.append(_CLASSES[spec[position]])
            position += 1
    return tuple(alphabets)


def patterns_disjoint(first: Pattern, second: Pattern) -> bool:
    """True if no number can match both patterns: a position shares no character."""
    if len(first) != len(second):
        return True
    return any(not set(a) & set(b) for a, b in zip(first, second, strict=True))


def capacity(pattern: Pattern) -> int:
    """How many distinct numbers the pattern can spell."""
    return math.prod(len(alphabet) for alphabet in pattern)


def number_formats(state: str) -> Formats:
    """The formats of ``state`` (a 9303 code), the generic one if it has none of its own."""
    if state not in ISSUING_STATES:
        raise ValueError(f"{state!r} is not an ICAO Doc 9303 issuing state code")
    return STATE_FORMATS.get(state, GENERIC_FORMAT)


@cache
def _parsed(state: str) -> tuple[tuple[Pattern, ...], tuple[float, ...]]:
    """The parsed patterns of a state and their weights; parsed once per state."""
    formats = number_formats(state)
    return tuple(parse_pattern(spec) for spec, _ in formats), tuple(w for _, w in formats)


def state_weights() -> tuple[list[str], list[float]]:
    """Issuing states and their traffic weights, for ``random.choices`` and the like.

    Fresh lists on every call, so a caller may reorder or normalise them.
    """
    codes = [code for code in ISSUING_STATES if code not in NEVER_ISSUING]
    return codes, [float(_TRAFFIC.get(code, SMALL_WEIGHT)) for code in codes]


def random_number(state: str, rng: random.Random) -> str:
    """One plausible document number of ``state``; no uniqueness (see NumberStream)."""
    patterns, weights = _parsed(state)
    pattern = patterns[0] if len(patterns) == 1 else rng.choices(patterns, weights)[0]
    return "".join([rng.choice(alphabet) for alphabet in pattern])


U64 = npt.NDArray[np.uint64]

# SplitMix64 finaliser constants: a cheap, well-mixed round function for the Feistel.
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
_ROUNDS = 6  # alternating half-rounds: three updates of each part


def _mix(values: U64) -> U64:
    """SplitMix64's finaliser, element-wise and in place (uint64 arithmetic wraps)."""
    values ^= values >> _SHIFTS[0]
    values *= _MIX_1
    values ^= values >> _SHIFTS[1]
    values *= _MIX_2
    values ^= values >> _SHIFTS[2]
    return values


class _Permutation:
    """A keyed bijection of ``[0, left_size * right_size)``, evaluated on whole arrays.

    Why: drawing numbers *without replacement* by permuting a counter needs no memory
    of what was drawn, so a file of a hundred million rows has unique numbers by
    construction instead of through a set of a hundred million strings.

    A value is split into a left part (mod ``left_size``) and a right part (mod
    ``right_size``); each round adds a keyed hash of one part to the other, modulo
    its size (an alternating Feistel network over Z_a x Z_b). Every round can be
    undone, so the whole is a bijection of exactly the pattern's range: no values
    fall outside it, so there is no cycle walking and no per-value loop.
    """

    def __init__(self, left_size: int, right_size: int, rng: random.Random) -> None:
        self._left = np.uint64(left_size)
        self._right = np.uint64(right_size)
        self._keys = [np.uint64(rng.getrandbits(64)) for _ in range(_ROUNDS)]

    def __call__(self, values: U64) -> U64:
        left, right = np.divmod(values, self._right)
        for index, key in enumerate(self._keys):
            if index % 2:
                right = (right + _mix(left ^ key) % self._right) % self._right
            else:
                left = (left + _mix(right ^ key) % self._left) % self._left
        result: U64 = left * self._right + right
        return result


class _PatternStream:
    """Distinct numbers of one pattern, in a keyed pseudo-random order."""

    def __init__(self, pattern: Pattern, rng: random.Random) -> None:
        self._size = capacity(pattern)
        half = len(pattern) // 2
        self._permutation = _Permutation(capacity(pattern[:half]), capacity(pattern[half:]), rng)
        self._drawn = 0
        self._radices = [np.uint64(len(alphabet)) for alphabet in pattern]
        self._tables = [np.frombuffer(a.encode("ascii"), dtype=np.uint8) for a in pattern]

    def take(self, count: int) -> list[str]:
        """The next ``count`` numbers; ValueError once the pattern is used up."""
        if self._drawn + count > self._size:
            raise ValueError(f"only {self._size:,} distinct numbers fit this format")
        counter = np.arange(self._drawn, self._drawn + count, dtype=np.uint64)
        self._drawn += count
        return self._spell(self._permutation(counter))

    def _spell(self, values: U64) -> list[str]:
        """Each value written in the pattern's mixed radix, one alphabet per position.

        The characters go into one byte matrix with a newline column, decoded and
        split in one go: several times faster than numpy's own bytes-to-str paths.
        """
        width = len(self._tables)
        chars = np.empty((values.size, width + 1), dtype=np.uint8)
        chars[:, width] = ord("\n")
        for position in reversed(range(width)):
            values, digit = np.divmod(values, self._radices[position])
            chars[:, position] = self._tables[position].take(digit)
        numbers = chars.tobytes().decode("ascii").split("\n")
        numbers.pop()
        return numbers


class NumberStream:
    """Unique document numbers of one issuing state, in its formats and mix.

    Deterministic for a (state, seed) pair: the permutation keys come from both, and
    the choice between a state's formats from the caller's generator.
    """

    def __init__(self, state: str, seed: int) -> None:
        patterns, weights = _parsed(state)
        keys = random.Random(f"document-numbers:{seed}:{state}")
        self._streams = [_PatternStream(pattern, keys) for pattern in patterns]
        self._cumulative = np.cumsum(weights) / sum(weights)

    def take(self, count: int, gen: np.random.Generator) -> list[str]:
        """``count`` numbers never returned before by this stream."""
        if len(self._streams) == 1:
            return self._streams[0].take(count)
        which = np.minimum(
            self._cumulative.searchsorted(gen.random(count), side="right"),
            len(self._streams) - 1,
        )
        numbers = np.empty(count, dtype=object)
        for index, stream in enumerate(self._streams):
            rows = np.flatnonzero(which == index)
            if rows.size:
                numbers[rows] = stream.take(rows.size)
        result: list[str] = numbers.tolist()
        return result


def _check_formats(formats: Mapping[str, Formats]) -> None:
    """Fail at import on a format table that would generate duplicates or bad CSV."""
    for state, state_formats in formats.items():
        if state not in ISSUING_STATES:
            raise ValueError(f"number formats for {state!r}, which is not a 9303 code")
        patterns = [parse_pattern(spec) for spec, _ in state_formats]
        _check_patterns(state, patterns)


def _check_patterns(state: str, patterns: Sequence[Pattern]) -> None:
    """Every pattern fits a uint64 counter, uses plain characters, and they are disjoint."""
    for index, pattern in enumerate(patterns):
        if capacity(pattern) >= 1 << 63 or not all(a.isascii() and a.isalnum() for a in pattern):
            raise ValueError(f"bad number pattern for {state!r}: {pattern!r}")
        if not all(patterns_disjoint(pattern, other) for other in patterns[index + 1 :]):
            raise ValueError(f"overlapping number patterns for {state!r}")


_check_formats(STATE_FORMATS)
_check_patterns("generic", [parse_pattern(spec) for spec, _ in GENERIC_FORMAT])

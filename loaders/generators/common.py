"""What every generator uses: seeded randomness, unique serials from patterns, chunking.

Uniqueness without a set of seen keys: record `i` of a file gets `permuted(i)`, an affine
bijection of 0..capacity-1, written into a pattern (`LL-DDD-LL`): distinct records get
distinct serials, in an order that looks random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta

from loaders.document_numbers import state_weights

Row = Sequence[str]
Columns = list[list[str]]
CHUNK_ROWS = 100_000
RESTRICTED_SHARE = 0.02
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: they read as 1 and 0
DIGITS = "0123456789"
ALPHABETS = {"L": LETTERS, "D": DIGITS, "A": LETTERS + DIGITS}


class Serials:
    """Distinct serials in a pattern of L (letter), D (digit), A (either); others literal."""

    def __init__(self, pattern: str, seed: int | str) -> None:
        self.pattern = pattern
        self.radices = [len(ALPHABETS[c]) for c in pattern if c in ALPHABETS]
        self.capacity = math.prod(self.radices)
        rng = random.Random(f"serials:{pattern}:{seed}")
        self.offset = rng.randrange(self.capacity)
        self.step = rng.randrange(self.capacity // 3, self.capacity) | 1
        while math.gcd(self.step, self.capacity) != 1:
            self.step += 2

    def __call__(self, index: int) -> str:
        if index >= self.capacity:
            raise ValueError(f"pattern {self.pattern} holds only {self.capacity:,} serials")
        value = (index * self.step + self.offset) % self.capacity
        out = []
        for char in reversed(self.pattern):
            alphabet = ALPHABETS.get(char)
            if alphabet is None:
                out.append(char)
                continue
            value, digit = divmod(value, len(alphabet))
            out.append(alphabet[digit])
        return "".join(reversed(out))


class States:
    """ICAO state codes drawn by border traffic (loaders/document_numbers.py)."""

    def __init__(self) -> None:
        self.codes, weights = state_weights()
        self.cumulative = list(_cumulative(weights))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.codes, cum_weights=self.cumulative)[0]


def _cumulative(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


STATES = States()


def past_day(rng: random.Random, today: date, years: float = 10) -> str:
    """A day in the last `years` years, more recent ones likelier (the data grows)."""
    days = int(365.25 * years)
    age = int(days * (1 - math.sqrt(rng.random())))
    return (today - timedelta(days=age)).isoformat()


def visible_to(rng: random.Random) -> str:
    """Most records are for every member state; a few are restricted to some."""
    if rng.random() >= RESTRICTED_SHARE:
        return ""
    return ";".join(dict.fromkeys(STATES.draw(rng) for _ in range(rng.randint(1, 3))))


def typed(rng: random.Random, value: str, share: float = 0.02, separator: str = " ") -> str:
    """Now and then a value keyed in lower case or with a separator in it."""
    roll = rng.random()
    if roll < share / 2:
        return value.lower()
    if roll < share and len(value) > 3:
        cut = rng.randrange(1, len(value) - 1)
        return value[:cut] + separator + value[cut:]
    return value


def chunks_of(
    make_row: Callable[[random.Random, int], Row], records: int, seed: int, name: str
) -> Iterator[Columns]:
    """`records` rows of `make_row(rng, index)`, CHUNK_ROWS at a time, as columns."""
    rng = random.Random(f"{name}:{seed}")
    for start in range(0, records, CHUNK_ROWS):
        rows = [make_row(rng, index) for index in range(start, min(records, start + CHUNK_ROWS))]
        yield [list(column) for column in zip(*rows, strict=True)]

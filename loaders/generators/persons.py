"""NOMINAL: persons with names from many cultures (loaders/generators/person_names.py),
partial dates of birth and notices."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from loaders.generators.common import STATES, Columns, Serials, chunks_of, past_day, visible_to
from loaders.generators.person_names import Person, draw_person

NOMINAL_FIELDS = (
    "surname", "given_names", "dob", "nationality", "sex", "aliases", "notice_type",
    "reference", "reported_on", "visible_to",
)  # fmt: skip

NOTICES = (("RED", 0.55), ("YELLOW", 0.2), ("BLUE", 0.12), ("BLACK", 0.03), ("GREEN", 0.04),
           ("ORANGE", 0.01), ("PURPLE", 0.01), ("UNSC", 0.04))  # fmt: skip
NOTICE_PREFIX = {"RED": "A", "YELLOW": "A", "BLUE": "B", "BLACK": "D", "GREEN": "G",
                 "ORANGE": "O", "PURPLE": "P", "UNSC": "UN"}  # fmt: skip


ALIAS_SHARE = 0.2


def _alias(rng: random.Random, person: Person) -> str:
    """Another name the person is known by: a name of their culture, or their own given
    names with another surname (a maiden or married name)."""
    other = draw_person(rng)
    if other.culture == person.culture and rng.random() < 0.5:
        return " ".join(part for part in (person.given_names, other.surname) if part)
    return " ".join(part for part in (other.given_names, other.surname) if part)


def dob(rng: random.Random, today: date) -> str:
    """Mostly a full date; sometimes only the year, a year and month, or "circa" a year."""
    born = today - timedelta(days=rng.randint(16 * 365, 80 * 365))
    roll = rng.random()
    if roll < 0.75:
        return born.isoformat()
    if roll < 0.85:
        return born.isoformat()[:7]
    if roll < 0.95:
        return str(born.year)
    return f"~{born.year}"


def nominal_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    references = Serials("DDDD", seed)
    kinds = [kind for kind, _ in NOTICES]
    weights = [weight for _, weight in NOTICES]

    def row(rng: random.Random, index: int) -> list[str]:
        person = draw_person(rng)
        notice = rng.choices(kinds, weights)[0]
        reported = past_day(rng, today, 15)
        year_share, rest = divmod(index, references.capacity)
        reference = f"{NOTICE_PREFIX[notice]}-{references(rest)}/{year_share + 1}-{reported[:4]}"
        aliases = _alias(rng, person) if rng.random() < ALIAS_SHARE else ""
        nationality = person.nationality if rng.random() < 0.8 else STATES.draw(rng)
        if rng.random() < 0.05:
            nationality += ";" + STATES.draw(rng)
        return [
            person.surname,
            person.given_names,
            dob(rng, today),
            nationality,
            person.sex,
            aliases,
            notice,
            reference,
            reported,
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "NOMINAL")

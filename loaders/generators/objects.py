"""WOA, ICSE, COUNTERFEIT and GEIGER: art, hash sets, banknotes and radioactive sources."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import date

from loaders.catalog import ART_CATEGORIES, SOURCE_STATUSES
from loaders.currencies import BANKNOTES
from loaders.generators.common import (
    STATES,
    Columns,
    Serials,
    chunks_of,
    past_day,
    typed,
    visible_to,
)
from loaders.isotopes import ISOTOPES

WOA_FIELDS = ("object_id", "title", "artist", "category", "country", "reported_on", "visible_to")
ICSE_FIELDS = ("sha256", "md5", "phash", "series", "victim_identified")
COUNTERFEIT_FIELDS = ("currency", "denomination", "serial", "series", "first_seen")
GEIGER_FIELDS = ("serial", "isotope", "activity", "status", "reported_on", "visible_to")

ARTISTS = (
    "Rembrandt van Rijn", "Claude Monet", "Pablo Picasso", "Vincent van Gogh",
    "Paul Cézanne", "Edgar Degas", "Pierre-Auguste Renoir", "Marc Chagall",
    "Salvador Dalí", "Joan Miró", "Caravaggio", "Jan Brueghel the Elder", "Henri Matisse",
    "Amedeo Modigliani", "Gustav Klimt", "Egon Schiele", "Camille Pissarro",
    "Ivan Aivazovsky", "Wassily Kandinsky", "Francisco de Goya", "unknown",
)  # fmt: skip
SUBJECTS = (
    "Portrait of a Young Woman", "Still Life with Flowers", "Madonna and Child",
    "Landscape with a River", "The Harbour at Dusk", "Seated Nude", "Self-Portrait",
    "Fishing Boats on the Beach", "Village Church in Winter", "The Annunciation",
    "Head of a Man", "Bathers", "Street in Montmartre", "Icon of Saint Nicholas",
    "Bronze Figure of a Horse", "Amphora with Painted Decoration", "Pocket Watch",
)  # fmt: skip
CATEGORY_WEIGHTS = {"painting": 40, "sculpture": 10, "drawing": 8, "religious": 8}
ART_CATEGORY_WEIGHTS = [CATEGORY_WEIGHTS.get(c, 2) for c in ART_CATEGORIES]
CURRENCY_WEIGHTS = {"USD": 40, "EUR": 30, "GBP": 6, "CNY": 4, "RUB": 3}
CURRENCY_CODES = tuple(BANKNOTES)
CURRENCY_DRAW = [CURRENCY_WEIGHTS.get(code, 1) for code in CURRENCY_CODES]
NOTE_SERIALS = {
    "USD": "LL DDDDDDDD L", "EUR": "LA DDDDDDDDDD", "GBP": "LL DD DDDDDD", "CHF": "DDLDDDDDDD",
    "RUB": "LL DDDDDDD", "CNY": "LL DDDDDDDD",
}  # fmt: skip
DEFAULT_NOTE_SERIAL = "LL DDDDDDD"
SOURCE_MAKERS = ("QSA", "CIS", "AEA", "GEH", "TRX", "HOP", "ELK")
STATUS_WEIGHTS = (0.5, 0.3, 0.1, 0.05, 0.05)


def woa_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    ids = Serials("DDDDDD", seed)

    def row(rng: random.Random, index: int) -> list[str]:
        reported = past_day(rng, today, 30)
        return [
            f"{reported[:4]}/{ids(index % ids.capacity)}-{index // ids.capacity}",
            rng.choice(SUBJECTS),
            rng.choice(ARTISTS),
            rng.choices(ART_CATEGORIES, ART_CATEGORY_WEIGHTS)[0],
            STATES.draw(rng),
            reported,
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "WOA")


def icse_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """Hash sets: digests of (synthetic) file contents; a perceptual hash for most, some
    near-duplicates of another file's (re-encoded copies differ by a few bits)."""
    del today
    previous = [0]

    def row(rng: random.Random, index: int) -> list[str]:
        content = f"icse:{seed}:{index}".encode()
        phash = rng.getrandbits(64)
        if index and rng.random() < 0.1:
            phash = previous[0]
            for _ in range(rng.randint(1, 4)):
                phash ^= 1 << rng.randrange(64)
        previous[0] = phash
        return [
            hashlib.sha256(content).hexdigest(),
            hashlib.md5(content, usedforsecurity=False).hexdigest() if rng.random() < 0.8 else "",
            f"{phash:016x}" if rng.random() < 0.9 else "",
            f"S-{index // 500:05d}",
            "true" if rng.random() < 0.3 else "false",
        ]

    return chunks_of(row, records, seed, "ICSE")


def counterfeit_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    serials = {
        code: Serials(NOTE_SERIALS.get(code, DEFAULT_NOTE_SERIAL), seed) for code in BANKNOTES
    }

    def row(rng: random.Random, index: int) -> list[str]:
        code = rng.choices(CURRENCY_CODES, CURRENCY_DRAW)[0]
        pattern = serials[code]
        return [
            code if rng.random() > 0.02 else code.lower(),
            rng.choice(BANKNOTES[code]),
            pattern(index % pattern.capacity),
            str(rng.randint(1996, today.year - 1)),
            past_day(rng, today, 6),
        ]

    return chunks_of(row, records, seed, "COUNTERFEIT")


def geiger_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    numbers = Serials("DDDDDD", seed)
    isotopes = tuple(ISOTOPES)

    def row(rng: random.Random, index: int) -> list[str]:
        isotope = rng.choice(isotopes)
        low, high = ISOTOPES[isotope][1]
        activity = low * (high / low) ** rng.random()
        maker = SOURCE_MAKERS[index % len(SOURCE_MAKERS)]
        serial = f"{maker}-{numbers(index % numbers.capacity)}"
        return [
            typed(rng, serial, 0.02),
            isotope if rng.random() > 0.1 else isotope.replace("-", "").lower(),
            f"{activity:.3g} GBq",
            rng.choices(SOURCE_STATUSES, STATUS_WEIGHTS)[0],
            past_day(rng, today, 20),
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "GEIGER")

"""IARMS, IFRT and IBIN: real firearm makes, models and calibres; plausible serials."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from loaders.catalog import ARMS_STATUSES
from loaders.generators.common import STATES, Columns, Serials, chunks_of, past_day, typed
from loaders.generators.common import visible_to as draw_visible_to

IARMS_FIELDS = ("serial", "make", "model", "calibre", "status", "reported_on", "visible_to")
IFRT_FIELDS = ("make", "model", "calibre", "type", "country_of_origin")
IBIN_FIELDS = ("exhibit_id", "calibre", "make", "case_ref", "country", "visible_to")

# (make, model, calibre, type, country of origin, serial pattern as stamped)
FIREARMS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Glock", "17", "9x19mm", "pistol", "AUT", "LLLDDD"),
    ("Glock", "19", "9x19mm", "pistol", "AUT", "LLLDDD"),
    ("Glock", "26", "9x19mm", "pistol", "AUT", "LLLDDD"),
    ("Beretta", "92FS", "9x19mm", "pistol", "ITA", "LDDDDDDL"),
    ("Beretta", "M9", "9x19mm", "pistol", "ITA", "LDDDDDDL"),
    ("SIG Sauer", "P226", "9x19mm", "pistol", "D", "LLDDDDDD"),
    ("SIG Sauer", "P320", "9x19mm", "pistol", "USA", "DDLDDDDDD"),
    ("Smith & Wesson", "Model 10", ".38 Special", "revolver", "USA", "LDDDDDD"),
    ("Smith & Wesson", "M&P15", "5.56x45mm NATO", "rifle", "USA", "LLDDDDDD"),
    ("Colt", "M1911A1", ".45 ACP", "pistol", "USA", "DDDDDDD"),
    ("Colt", "Python", ".357 Magnum", "revolver", "USA", "LDDDDD"),
    ("Kalashnikov", "AK-47", "7.62x39mm", "assault_rifle", "RUS", "LLDDDD"),
    ("Kalashnikov", "AKM", "7.62x39mm", "assault_rifle", "RUS", "LLDDDD"),
    ("Heckler & Koch", "MP5", "9x19mm", "submachine_gun", "D", "DD-DDDDDD"),
    ("Heckler & Koch", "G3", "7.62x51mm NATO", "rifle", "D", "DD-DDDDDD"),
    ("Heckler & Koch", "USP", "9x19mm", "pistol", "D", "DD-DDDDDD"),
    ("FN Herstal", "FAL", "7.62x51mm NATO", "rifle", "BEL", "DDDDDD"),
    ("FN Herstal", "Hi-Power", "9x19mm", "pistol", "BEL", "DDLDDDDD"),
    ("Ceska Zbrojovka", "CZ 75", "9x19mm", "pistol", "CZE", "LDDDDDD"),
    ("Remington", "870", "12 gauge", "shotgun", "USA", "LDDDDDDL"),
    ("Mossberg", "500", "12 gauge", "shotgun", "USA", "LDDDDDD"),
    ("Ruger", "10/22", ".22 LR", "rifle", "USA", "DDDD-DDDDD"),
    ("Walther", "PPK", "7.65mm Browning", "pistol", "D", "DDDDDDL"),
    ("Makarov", "PM", "9x18mm Makarov", "pistol", "RUS", "LLDDDD"),
    ("Taurus", "PT92", "9x19mm", "pistol", "BRA", "LLLDDDDDD"),
    ("Zastava", "M70", "7.62x39mm", "assault_rifle", "SRB", "DDDDDD"),
    ("Norinco", "Type 56", "7.62x39mm", "assault_rifle", "CHN", "DDDDDDDD"),
    ("Uzi", "Mini Uzi", "9x19mm", "submachine_gun", "ISR", "LLDDDDD"),
    ("Browning", "Auto-5", "12 gauge", "shotgun", "BEL", "DDLDDDDD"),
    ("Steyr", "AUG", "5.56x45mm NATO", "rifle", "AUT", "LDDDDDD"),
)
ARMS_STATUS_WEIGHTS = (0.55, 0.25, 0.15, 0.05)
VARIANTS = ("", " Gen4", " Gen5", " Compact", " Tactical", " Sport", " Custom", " MOS")


def iarms_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    patterns = {pattern: Serials(pattern, seed) for *_, pattern in FIREARMS}

    def row(rng: random.Random, index: int) -> list[str]:
        make, model, calibre, _kind, _origin, pattern = rng.choice(FIREARMS)
        serials = patterns[pattern]
        serial = serials(index % serials.capacity)
        return [
            typed(rng, serial, 0.02, "-"),
            make if rng.random() > 0.05 else make.upper(),
            model,
            calibre,
            rng.choices(ARMS_STATUSES, ARMS_STATUS_WEIGHTS)[0],
            past_day(rng, today, 15),
            draw_visible_to(rng),
        ]

    return chunks_of(row, records, seed, "IARMS")


def ifrt_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """The reference table: every real model, then its variants, then numbered versions
    (the real table has some 250,000 entries), one row each."""
    del today

    def row(rng: random.Random, index: int) -> list[str]:
        make, model, calibre, kind, origin, _pattern = FIREARMS[index % len(FIREARMS)]
        round_ = index // len(FIREARMS)
        variant = VARIANTS[round_] if round_ < len(VARIANTS) else f" Mk {round_}"
        return [make, model + variant, calibre, kind, origin]

    return chunks_of(row, records, seed, "IFRT")


def ibin_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    exhibits = Serials("DDDDDD", seed)
    cases = Serials("DDDDD", f"{seed}:case")

    def row(rng: random.Random, index: int) -> list[str]:
        make, _model, calibre, *_ = rng.choice(FIREARMS)
        state = STATES.draw(rng)
        year = past_day(rng, today, 10)[:4]
        exhibit = f"{state}-{year}-BAL-{exhibits(index % exhibits.capacity)}"
        if index >= exhibits.capacity:
            exhibit += f"-{index // exhibits.capacity}"
        return [
            exhibit,
            calibre,
            make if rng.random() < 0.6 else "",
            f"{state}/{year}/{cases(index % cases.capacity)}",
            state,
            draw_visible_to(rng),
        ]

    return chunks_of(row, records, seed, "IBIN")

"""VESSELS and PIRACY: boats with hull ids, ships with IMO numbers that pass their check."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from loaders.generators.common import (
    STATES,
    Columns,
    Serials,
    chunks_of,
    past_day,
    visible_to,
)
from loaders.maritime import imo_check_digit

VESSELS_FIELDS = ("hin", "imo", "name", "flag", "make", "reported_on", "visible_to")
PIRACY_FIELDS = ("imo", "name", "incident", "date", "area", "visible_to")

# Manufacturer identification codes (US Coast Guard style) of real boat builders.
BUILDERS: tuple[tuple[str, str, str], ...] = (
    ("SER", "Sea Ray", "USA"), ("BWC", "Boston Whaler", "USA"), ("GDY", "Grady-White", "USA"),
    ("BEN", "Beneteau", "FRA"), ("JEA", "Jeanneau", "FRA"), ("BAV", "Bavaria Yachtbau", "D"),
    ("AZM", "Azimut", "ITA"), ("FRR", "Ferretti", "ITA"), ("PRI", "Princess Yachts", "GBR"),
    ("SNS", "Sunseeker", "GBR"), ("HAL", "Hallberg-Rassy", "SWE"), ("YAM", "Yamaha", "JPN"),
    ("QCK", "Quicksilver", "USA"), ("ZOD", "Zodiac", "FRA"), ("RIN", "Rinker", "USA"),
)  # fmt: skip
EU_BUILDERS = {"FRA": "FR", "D": "DE", "ITA": "IT", "GBR": "GB", "SWE": "SE"}
BOAT_NAMES = (
    "Sea Breeze", "Aurora", "Blue Horizon", "Serenity", "Wanderer", "Odyssey", "Liberty",
    "Calypso", "Mistral", "Northern Star", "Pelican", "Windsong", "Nautilus", "Zephyr",
    "Island Time", "Amazing Grace", "Sirocco", "Stella Maris", "Dolphin", "Free Spirit",
)  # fmt: skip
SHIP_PREFIXES = ("MV", "MT", "", "", "")
SHIP_NAMES = (
    "Ocean Pride", "Gulf Pioneer", "Maersk Alabama", "Asian Glory", "Pacific Trader",
    "Nordic Spirit", "Golden Lotus", "Sea Venture", "Marine Express", "Atlantic Hope",
    "Star Aquila", "Eagle Bay", "Delta Harmony", "Orient Jade", "Kota Bahagia",
)  # fmt: skip
PIRACY_AREAS = (
    "Gulf of Guinea", "Singapore Strait", "Gulf of Aden", "Somali Basin", "Sulu Sea",
    "Strait of Malacca", "Callao anchorage", "Chittagong anchorage", "Red Sea",
    "Celebes Sea", "Caribbean Sea", "Arabian Sea",
)  # fmt: skip
IMO_SHARE = 0.25  # vessels big enough to carry an IMO number
MONTHS = "ABCDEFGHIJKL"


def imo_number(serials: Serials, index: int) -> str:
    """A valid IMO number, distinct for the first 300,000 indexes (7xxxxxx to 9xxxxxx, the
    numbers of ships in service; `serials` is a five-digit pattern)."""
    six = f"{7 + (index // serials.capacity) % 3}{serials(index % serials.capacity)}"
    return six + imo_check_digit(six)


def hin(rng: random.Random, builder: str, home: str, index: int, serials: Serials) -> str:
    """A 12-character hull id (month letter, year digit, model year), EU-prefixed for some."""
    year = rng.randint(1995, 2025)
    month = rng.randrange(12)
    model_year = year + (1 if month >= 7 else 0)
    made = f"{MONTHS[month]}{year % 10}{model_year % 100:02d}"
    core = f"{builder}{serials(index % serials.capacity)}{made}"
    prefix = EU_BUILDERS.get(home)
    return f"{prefix}-{core}" if prefix and rng.random() < 0.5 else core


def vessels_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    hull_serials = Serials("AAAAA", seed)
    imo_serials = Serials("DDDDD", f"{seed}:imo")

    def row(rng: random.Random, index: int) -> list[str]:
        builder, make, home = rng.choice(BUILDERS)
        ship = rng.random() < IMO_SHARE
        name = rng.choice(SHIP_NAMES if ship else BOAT_NAMES)
        if rng.random() < 0.3:
            name += f" {rng.randint(2, 9)}"
        return [
            "" if ship and rng.random() < 0.7 else hin(rng, builder, home, index, hull_serials),
            f"IMO {imo_number(imo_serials, index)}" if ship else "",
            name,
            home if rng.random() < 0.6 else STATES.draw(rng),
            make,
            past_day(rng, today, 8),
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "VESSELS")


def piracy_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """Incidents: some ships are attacked more than once, each incident its own record."""
    imo_serials = Serials("DDDDD", f"{seed}:imo")
    incidents = Serials("DDDD", f"{seed}:incident")
    fleet = max(1, records * 2 // 3)

    def row(rng: random.Random, index: int) -> list[str]:
        ship = rng.randrange(fleet)
        day = past_day(rng, today, 12)
        name = f"{SHIP_PREFIXES[ship % len(SHIP_PREFIXES)]} {SHIP_NAMES[ship % len(SHIP_NAMES)]}"
        return [
            imo_number(imo_serials, ship),
            name.strip(),
            f"IMB-{day[:4]}-{incidents(index % incidents.capacity)}-{index // incidents.capacity}",
            day,
            rng.choice(PIRACY_AREAS),
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "PIRACY")

"""SMV: stolen motor vehicles with VINs that pass their check digit, and national plates."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

from loaders.catalog import VEHICLE_STATUSES
from loaders.generators.common import LETTERS, Columns, Serials, chunks_of, past_day, typed
from loaders.generators.common import visible_to as draw_visible_to
from loaders.vehicles import NORTH_AMERICA, vin_check_digit

SMV_FIELDS = (
    "vin", "plate", "country", "make", "model", "colour", "status", "reported_on", "visible_to",
)  # fmt: skip

# World manufacturer identifiers (ISO 3780) of real makers, with their models and the
# state whose plates the stolen car most likely carried.
MAKERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("1HG", "Honda", ("Accord", "Civic", "CR-V"), "USA"),
    ("1FA", "Ford", ("Mustang", "Focus", "Fusion"), "USA"),
    ("1FT", "Ford", ("F-150", "F-250", "Ranger"), "USA"),
    ("1G1", "Chevrolet", ("Malibu", "Impala", "Camaro"), "USA"),
    ("2T1", "Toyota", ("Corolla", "Matrix"), "CAN"),
    ("3VW", "Volkswagen", ("Jetta", "Beetle"), "MEX"),
    ("5YJ", "Tesla", ("Model 3", "Model S", "Model Y"), "USA"),
    ("JHM", "Honda", ("Jazz", "Civic", "HR-V"), "JPN"),
    ("JTD", "Toyota", ("Yaris", "Prius", "Land Cruiser"), "JPN"),
    ("KMH", "Hyundai", ("i30", "Tucson", "Elantra"), "KOR"),
    ("WVW", "Volkswagen", ("Golf", "Passat", "Polo"), "D"),
    ("WBA", "BMW", ("320d", "X5", "530i"), "D"),
    ("WDD", "Mercedes-Benz", ("C 220", "E 350", "GLC 300"), "D"),
    ("WAU", "Audi", ("A4", "A6", "Q7"), "D"),
    ("VF1", "Renault", ("Clio", "Megane", "Captur"), "FRA"),
    ("VF3", "Peugeot", ("208", "308", "3008"), "FRA"),
    ("ZFA", "Fiat", ("Panda", "500", "Tipo"), "ITA"),
    ("SAL", "Land Rover", ("Range Rover", "Defender", "Discovery"), "GBR"),
    ("YV1", "Volvo", ("XC60", "XC90", "V60"), "SWE"),
    ("TMB", "Skoda", ("Octavia", "Fabia", "Superb"), "CZE"),
    ("VSS", "SEAT", ("Ibiza", "Leon"), "ESP"),
    ("XTA", "Lada", ("Vesta", "Granta", "Niva"), "RUS"),
    ("LSV", "Volkswagen", ("Lavida", "Passat"), "CHN"),
)
COLOURS = ("black", "white", "silver", "grey", "blue", "red", "green", "beige", "brown")
STATUS_WEIGHTS = (0.80, 0.10, 0.06, 0.04)
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model years 2010.. in the 30-year cycle
VDS = LETTERS + "0123456789"
PLATE_PATTERNS = {
    "D": "LL-LL DDDD", "FRA": "LL-DDD-LL", "GBR": "LLDD LLL", "ITA": "LL DDD LL",
    "ESP": "DDDD LLL", "USA": "DLLLDDD", "CAN": "LLLL DDD", "MEX": "LLL-DDD-L",
    "JPN": "DDD L DD-DD",
    "KOR": "DDL DDDD", "SWE": "LLL DDL", "CZE": "DLD DDDD", "RUS": "LDDDLL", "CHN": "LDDDDD",
}  # fmt: skip
DEFAULT_PLATE = "LLL DDDD"
NO_VIN_SHARE = 0.08  # reported by plate only
NO_PLATE_SHARE = 0.15  # a VIN only: plates are the first thing a thief changes


class _Tables:
    def __init__(self, seed: int) -> None:
        self.serials = Serials("DDDDDD", seed)
        self.plants = Serials("L", seed)
        self.plates = {state: Serials(p, f"{seed}:{state}") for state, p in PLATE_PATTERNS.items()}
        self.default_plates = Serials(DEFAULT_PLATE, seed)


def vin(rng: random.Random, wmi: str, index: int, tables: _Tables) -> str:
    """A VIN of this maker, unique per `index`; valid check digit where one is required."""
    descriptor = "".join(rng.choices(VDS, k=5))
    serial = tables.serials(index % tables.serials.capacity)
    plant = LETTERS[(index // tables.serials.capacity) % len(LETTERS)]
    draft = f"{wmi}{descriptor}0{rng.choice(YEAR_CODES)}{plant}{serial}"
    if wmi[0] in NORTH_AMERICA or rng.random() < 0.5:
        return draft[:8] + vin_check_digit(draft) + draft[9:]
    return draft[:8] + rng.choice(VDS) + draft[9:]


def smv_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    tables = _Tables(seed)

    def row(rng: random.Random, index: int) -> list[str]:
        wmi, make, models, home = rng.choice(MAKERS)
        state = home if rng.random() < 0.7 else rng.choice(tuple(PLATE_PATTERNS))
        roll = rng.random()
        number = vin(rng, wmi, index, tables) if roll >= NO_VIN_SHARE else ""
        plates = tables.plates.get(state, tables.default_plates)
        plate = plates(index % plates.capacity) if number == "" or roll > 1 - NO_PLATE_SHARE else ""
        if number and rng.random() < 0.5:
            plate = plates(index % plates.capacity)
        status = rng.choices(VEHICLE_STATUSES, STATUS_WEIGHTS)[0]
        return [
            typed(rng, number, 0.01),
            plate,
            state if plate else "",
            make,
            rng.choice(models),
            rng.choice(COLOURS),
            status,
            past_day(rng, today, 5),
            draw_visible_to(rng),
        ]

    return chunks_of(row, records, seed, "SMV")

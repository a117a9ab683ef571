"""SAD, DIALDOC and EDISON: administrative documents and document models by state."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from loaders.catalog import DOC_MODEL_KINDS, SAD_KINDS, SAD_STATUSES
from loaders.generators.common import STATES, Columns, Serials, chunks_of, past_day, typed
from loaders.generators.common import visible_to as draw_visible_to

SAD_FIELDS = ("number", "country", "doc_kind", "status", "reported_on", "visible_to")
DIALDOC_FIELDS = ("country", "doc_kind", "series", "alert", "features", "reported_on")
EDISON_FIELDS = ("country", "doc_kind", "series", "valid_from", "valid_to", "features")

SAD_KIND_WEIGHTS = (30, 25, 8, 20, 8, 4, 2, 2, 1)
SAD_STATUS_WEIGHTS = (0.45, 0.15, 0.35, 0.05)
FEATURES = (
    "optically variable ink on the data page", "laser-perforated number",
    "UV fluorescent fibres", "intaglio printing on the cover", "microprinted border",
    "ghost image beside the photo", "kinegram over the portrait", "watermark of the arms",
    "tactile relief on the date of birth", "rainbow printing in the background",
)  # fmt: skip
FLAWS = (
    "photo glued over, not laminated", "no UV reaction of the fibres",
    "microprint blurred", "wrong font in the MRZ", "perforation burnt, not cut",
    "hologram printed flat", "check digit of the number wrong",
)  # fmt: skip


def sad_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    numbers = Serials("LLDDDDDDD", seed)

    def row(rng: random.Random, index: int) -> list[str]:
        return [
            typed(rng, numbers(index % numbers.capacity), 0.02, "-"),
            STATES.draw(rng),
            rng.choices(SAD_KINDS, SAD_KIND_WEIGHTS)[0],
            rng.choices(SAD_STATUSES, SAD_STATUS_WEIGHTS)[0],
            past_day(rng, today, 8),
            draw_visible_to(rng),
        ]

    return chunks_of(row, records, seed, "SAD")


def _series(index: int, first_year: int = 1990) -> str:
    """A model's series: the year it was introduced and a letter (2019A, 2019B ...)."""
    year, letter = divmod(index, 26)
    return f"{first_year + year % 36}{chr(ord('A') + letter)}{'' if year < 36 else year // 36}"


def edison_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """Genuine models: each state's documents, one series after another."""

    def row(rng: random.Random, index: int) -> list[str]:
        state = STATES.codes[index % len(STATES.codes)]
        kind_and_series = index // len(STATES.codes)
        kind = DOC_MODEL_KINDS[kind_and_series % len(DOC_MODEL_KINDS)]
        series = _series(kind_and_series // len(DOC_MODEL_KINDS))
        start = date(int(series[:4]), rng.randint(1, 12), 1)
        end = start + timedelta(days=365 * rng.randint(5, 15))
        return [
            state,
            kind,
            series,
            start.isoformat(),
            end.isoformat() if end < today or rng.random() < 0.5 else "",
            "; ".join(rng.sample(FEATURES, 3)),
        ]

    return chunks_of(row, records, seed, "EDISON")


def dialdoc_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """Alerts on counterfeits of genuine models; a popular model gets several alerts."""
    alerts = Serials("DDDDD", seed)

    def row(rng: random.Random, index: int) -> list[str]:
        model = rng.randrange(max(1, records // 2))
        state = STATES.codes[model % len(STATES.codes)]
        rest = model // len(STATES.codes)
        reported = past_day(rng, today, 10)
        return [
            state,
            DOC_MODEL_KINDS[rest % len(DOC_MODEL_KINDS)],
            _series(rest // len(DOC_MODEL_KINDS)),
            f"DIAL-{reported[:4]}-{alerts(index % alerts.capacity)}-{index // alerts.capacity}",
            "; ".join(rng.sample(FLAWS, 2)),
            reported,
        ]

    return chunks_of(row, records, seed, "DIALDOC")

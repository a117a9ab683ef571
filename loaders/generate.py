"""Synthetic NCB upload files, for ``screening generate --db CODE --records N --out FILE``.

Why synthetic: the real databases hold police data that never leaves INTERPOL, yet
demos, benchmarks and load tests need upload files of realistic size and shape. The
realism that matters is what the loader and the indexes feel: the mix of issuing
states and their number formats (hash spread, `number_only` collisions between
states), numbers typed with spaces or dashes, plausible status and date proportions,
a few records restricted to some states, and no duplicate keys within a file.

Each database is one entry of :data:`GENERATORS` (its fields and a function yielding
column chunks); the writers for ``.csv`` and ``.jsonl`` are shared by all of them, so
adding one of the other databases of DATABASES.md is adding one entry.

Output is deterministic for a seed on a given day and numpy version (numpy's
generator streams are stable in practice but not promised across releases).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import orjson

from loaders import biometrics
from loaders.document_numbers import NumberStream, state_weights
from loaders.generators import arms, documents, maritime, objects, persons, vehicles
from loaders.generators import biometrics as bio

Columns = list[list[str]]
"""One chunk of rows, column by column: ``columns[field][row]``, all the same length."""

Progress = Callable[[int], None]

CHUNK_ROWS = 100_000
"""Rows generated, written and reported to ``progress`` at a time; bounds memory."""

# The databases of shared/DATABASES.md, to tell "no generator yet" from "no such db".
DATABASES: tuple[str, ...] = (
    "SLTD", "TDAWN", "SAD", "NOMINAL", "AFIS", "FACE", "DNA", "SMV", "VESSELS", "WOA",
    "IARMS", "IFRT", "IBIN", "ICSE", "DIALDOC", "EDISON", "COUNTERFEIT", "PIRACY", "GEIGER",
)  # fmt: skip


@dataclass(frozen=True)
class DbGenerator:
    """How to generate one database's upload file."""

    fields: tuple[str, ...]
    """Column order of the CSV header; keys of the JSON objects."""
    chunks: Callable[[int, int, date], Iterator[Columns]]
    """``(records, seed, today)`` -> chunks of at most CHUNK_ROWS rows, ``records`` in all."""
    json: Mapping[str, Callable[[str], object]] = field(default_factory=dict)
    """Field -> how its CSV text becomes the JSON value a JSON Lines upload carries."""


# --- SLTD ---------------------------------------------------------------------------

SLTD_FIELDS = (
    "number", "country", "type", "status", "reported_on", "issued_on", "expires_on",
    "visible_to",
)  # fmt: skip

# MRZ document codes: passports, ID cards, diplomatic/official/service passports, and
# the rarer crew (A, C) and visa (V) documents.
_TYPES: tuple[tuple[str, float], ...] = (
    ("P", 0.80), ("I", 0.12), ("PD", 0.02), ("PO", 0.015), ("PS", 0.01),
    ("A", 0.01), ("C", 0.01), ("V", 0.015),
)  # fmt: skip
_STATUSES: tuple[tuple[str, float], ...] = (
    ("lost", 0.60), ("stolen", 0.30), ("revoked", 0.05), ("stolen_blank", 0.03),
    ("invalidated", 0.02),
)  # fmt: skip
_BLANK = "stolen_blank"  # a blank booklet was never issued: no issue or expiry date

_REPORT_YEARS = 10  # reported_on falls within the last ten years
_VALIDITY_YEARS = (10, 5)  # adult and child/short books
_TEN_YEAR_SHARE = 0.75
# The database grows every year: today's report rate is this many times that of ten
# years ago, rising linearly in between.
_GROWTH = 3.0
_TYPED_SHARE = 0.02  # numbers keyed in with a space or a dash
_RESTRICTED_SHARE = 0.03  # records with a visible_to list
_VISIBLE_POOL = 256  # distinct visible_to lists to draw from
_VISIBLE_MAX = 3  # states in one visible_to list


Cdf = npt.NDArray[np.float64]


def _vocabulary(pairs: Sequence[tuple[str, float]]) -> tuple[npt.NDArray[np.object_], Cdf]:
    """Values as an object array (cheap fancy indexing) and their cumulative weights."""
    values = np.array([value for value, _ in pairs], dtype=object)
    return values, _cdf([weight for _, weight in pairs])


def _cdf(weights: Sequence[float]) -> Cdf:
    """Cumulative, normalised weights, for drawing with ``searchsorted``."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    normalised: Cdf = cumulative / cumulative[-1]
    return normalised


def _draw(gen: np.random.Generator, cdf: Cdf, count: int) -> npt.NDArray[np.intp]:
    """``count`` indices drawn with the weights behind ``cdf``, in one vectorised call."""
    return np.minimum(cdf.searchsorted(gen.random(count), side="right"), cdf.size - 1)


def _add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class _Calendar:
    """ISO strings of every day a row can name, so dates are table look-ups."""

    days: npt.NDArray[np.object_]  # ISO date of day index i (index 0 = earliest issue)
    expiry: Mapping[int, npt.NDArray[np.object_]]  # years -> ISO date of index i + years
    today: int  # index of today
    window: int  # days in the reporting window, ending today

    @classmethod
    def build(cls, today: date) -> _Calendar:
        """Days from the earliest possible issue date (ten years before the window)."""
        window_start = _add_years(today, -_REPORT_YEARS)
        first = _add_years(window_start, -max(_VALIDITY_YEARS))
        span = [first + timedelta(days=offset) for offset in range((today - first).days + 1)]
        expiry = {
            years: np.array([_add_years(day, years).isoformat() for day in span], dtype=object)
            for years in _VALIDITY_YEARS
        }
        return cls(
            days=np.array([day.isoformat() for day in span], dtype=object),
            expiry=MappingProxyType(expiry),
            today=len(span) - 1,
            window=(today - window_start).days,
        )


class _SltdTables:
    """Everything an SLTD chunk draws from, built once per file."""

    def __init__(self, seed: int, today: date) -> None:
        codes, weights = state_weights()
        self.codes = np.array(codes, dtype=object)
        self.state_cdf = _cdf(weights)
        self.types, self.type_cdf = _vocabulary(_TYPES)
        self.statuses, self.status_cdf = _vocabulary(_STATUSES)
        self.blank = int(np.flatnonzero(self.statuses == _BLANK)[0])
        self.calendar = _Calendar.build(today)
        self.visible = _visible_pool(codes, weights, random.Random(f"visible:{seed}"))
        self._seed = seed
        self._streams: dict[int, NumberStream] = {}

    def numbers(self, state: int) -> NumberStream:
        """The number stream of the state at index ``state``, created on first use."""
        stream = self._streams.get(state)
        if stream is None:
            stream = self._streams[state] = NumberStream(str(self.codes[state]), self._seed)
        return stream


def _visible_pool(
    codes: Sequence[str], weights: Sequence[float], rng: random.Random
) -> npt.NDArray[np.object_]:
    """Distinct ``;``-separated lists of one to three states, drawn by traffic."""
    pool: list[str] = []
    for _ in range(_VISIBLE_POOL):
        picks = rng.choices(codes, weights, k=rng.randint(1, _VISIBLE_MAX))
        pool.append(";".join(dict.fromkeys(picks)))
    return np.array(pool, dtype=object)


def _sltd_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """SLTD rows, CHUNK_ROWS at a time."""
    gen = np.random.default_rng(seed)
    tables = _SltdTables(seed, today)
    for start in range(0, records, CHUNK_ROWS):
        yield _sltd_chunk(min(CHUNK_ROWS, records - start), gen, tables)


def _sltd_chunk(count: int, gen: np.random.Generator, tables: _SltdTables) -> Columns:
    """One chunk of SLTD rows in SLTD_FIELDS order."""
    states = _draw(gen, tables.state_cdf, count)
    statuses = _draw(gen, tables.status_cdf, count)
    reported, issued, expires = _sltd_dates(statuses == tables.blank, gen, tables.calendar)
    return [
        _sltd_numbers(states, gen, tables),
        tables.codes[states].tolist(),
        tables.types[_draw(gen, tables.type_cdf, count)].tolist(),
        tables.statuses[statuses].tolist(),
        reported,
        issued,
        expires,
        _visible_to(count, gen, tables.visible),
    ]


def _sltd_numbers(
    states: npt.NDArray[np.intp], gen: np.random.Generator, tables: _SltdTables
) -> list[str]:
    """A number for each row, unique per state across the file, some typed by hand."""
    numbers = np.empty(states.size, dtype=object)
    order = np.argsort(states, kind="stable")  # rows grouped by state
    counts = np.bincount(states, minlength=tables.codes.size)
    ends = np.cumsum(counts)
    for state in np.flatnonzero(counts).tolist():
        rows = order[ends[state] - counts[state] : ends[state]]
        numbers[rows] = tables.numbers(state).take(rows.size, gen)
    result: list[str] = numbers.tolist()
    _type_some_by_hand(result, gen)
    return result


def _type_some_by_hand(numbers: list[str], gen: np.random.Generator) -> None:
    """Put a space or a dash into ~2% of the numbers, as clerks key them in."""
    rows = np.flatnonzero(gen.random(len(numbers)) < _TYPED_SHARE)
    separators = gen.integers(0, 2, size=rows.size)
    cuts = gen.random(rows.size)
    for row, separator, cut in zip(rows.tolist(), separators.tolist(), cuts.tolist(), strict=True):
        numbers[row] = _as_typed(numbers[row], " -"[separator], cut)


def _as_typed(number: str, separator: str, cut: float) -> str:
    """``number`` in threes (``123 456 789``) when cut < 0.4, else split once."""
    if cut < 0.4:
        return separator.join(number[i : i + 3] for i in range(0, len(number), 3))
    position = 1 + int((cut - 0.4) / 0.6 * (len(number) - 1))
    return number[:position] + separator + number[position:]


def _sltd_dates(
    blank: npt.NDArray[np.bool_], gen: np.random.Generator, calendar: _Calendar
) -> tuple[list[str], list[str], list[str]]:
    """reported_on, issued_on, expires_on: issued <= reported < expires, reported <= today.

    A document is reported while it is valid, so the issue date is drawn back from the
    report date within the book's validity. Blank booklets get no issue or expiry.
    """
    count = blank.size
    reported = calendar.today - _report_ages(gen.random(count), calendar.window)
    ten_years = gen.random(count) < _TEN_YEAR_SHARE
    long, short = _VALIDITY_YEARS
    # 365-day years: a few days short of the validity, so reported < expires always.
    validity_days = np.where(ten_years, long * 365, short * 365)
    issued = reported - (gen.random(count) * validity_days).astype(np.intp)
    expires = np.where(ten_years, calendar.expiry[long][issued], calendar.expiry[short][issued])
    issued_on = calendar.days[issued]
    issued_on[blank] = ""
    expires[blank] = ""
    return calendar.days[reported].tolist(), issued_on.tolist(), expires.tolist()


def _report_ages(uniform: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.intp]:
    """Days since the report, 0..window, denser for recent days by a factor of _GROWTH.

    Inverse of the distribution function of the density g - (g - 1) * age, age in
    [0, 1] (g = _GROWTH, normalised), applied to uniform draws.
    """
    g = _GROWTH
    age = (g - np.sqrt(g * g - (g * g - 1) * uniform)) / (g - 1)
    return np.minimum((age * (window + 1)).astype(np.intp), window)


def _visible_to(count: int, gen: np.random.Generator, pool: npt.NDArray[np.object_]) -> list[str]:
    """Empty (visible to all) for ~97% of rows, a short list of states for the rest."""
    visible = np.full(count, "", dtype=object)
    restricted = np.flatnonzero(gen.random(count) < _RESTRICTED_SHARE)
    visible[restricted] = pool[gen.integers(0, pool.size, size=restricted.size)]
    result: list[str] = visible.tolist()
    return result


# --- TDAWN: SLTD's states, numbers, types, report dates and visibility, plus a notice ---

TDAWN_FIELDS = (
    "number", "country", "type", "notice", "notice_type", "reported_on", "visible_to",
)  # fmt: skip
_NOTICE_TYPES: tuple[tuple[str, float], ...] = (
    ("RED", 0.55), ("YELLOW", 0.20), ("BLUE", 0.15), ("GREEN", 0.04), ("ORANGE", 0.03),
    ("BLACK", 0.02), ("PURPLE", 0.01),
)  # fmt: skip


def _tdawn_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """TDAWN rows, CHUNK_ROWS at a time; notices are synthetic references (R-123456/2024)."""
    gen = np.random.default_rng(seed)
    tables = _SltdTables(seed, today)
    kinds, kind_cdf = _vocabulary(_NOTICE_TYPES)
    calendar = tables.calendar
    for start in range(0, records, CHUNK_ROWS):
        count = min(CHUNK_ROWS, records - start)
        states = _draw(gen, tables.state_cdf, count)
        notice_types = kinds[_draw(gen, kind_cdf, count)].tolist()
        reported = calendar.days[calendar.today - _report_ages(gen.random(count), calendar.window)]
        serials = gen.integers(1, 1_000_000, size=count).tolist()
        notices = zip(notice_types, serials, reported, strict=True)
        yield [
            _sltd_numbers(states, gen, tables),
            tables.codes[states].tolist(),
            tables.types[_draw(gen, tables.type_cdf, count)].tolist(),
            [f"{kind[0]}-{serial}/{day[:4]}" for kind, serial, day in notices],
            notice_types,
            reported.tolist(),
            _visible_to(count, gen, tables.visible),
        ]


def _json_template(text: str) -> object:
    """The template of a CSV cell (`f32:` base64) as the JSON array JSON Lines carry."""
    return biometrics.numbers(text) if text else ""


def _json_loci(text: str) -> object:
    """A profile's CSV compact form as the JSON object JSON Lines carry."""
    return biometrics.loci(text) if text else ""


GENERATORS: Mapping[str, DbGenerator] = MappingProxyType(
    {
        "SLTD": DbGenerator(fields=SLTD_FIELDS, chunks=_sltd_chunks),
        "TDAWN": DbGenerator(fields=TDAWN_FIELDS, chunks=_tdawn_chunks),
        "SAD": DbGenerator(documents.SAD_FIELDS, documents.sad_chunks),
        "NOMINAL": DbGenerator(persons.NOMINAL_FIELDS, persons.nominal_chunks),
        "AFIS": DbGenerator(
            bio.AFIS_FIELDS, bio.afis_chunks, MappingProxyType({"template": _json_template})
        ),
        "FACE": DbGenerator(
            bio.FACE_FIELDS, bio.face_chunks, MappingProxyType({"template": _json_template})
        ),
        "DNA": DbGenerator(bio.DNA_FIELDS, bio.dna_chunks, MappingProxyType({"loci": _json_loci})),
        "SMV": DbGenerator(vehicles.SMV_FIELDS, vehicles.smv_chunks),
        "VESSELS": DbGenerator(maritime.VESSELS_FIELDS, maritime.vessels_chunks),
        "WOA": DbGenerator(objects.WOA_FIELDS, objects.woa_chunks),
        "IARMS": DbGenerator(arms.IARMS_FIELDS, arms.iarms_chunks),
        "IFRT": DbGenerator(arms.IFRT_FIELDS, arms.ifrt_chunks),
        "IBIN": DbGenerator(arms.IBIN_FIELDS, arms.ibin_chunks),
        "ICSE": DbGenerator(objects.ICSE_FIELDS, objects.icse_chunks),
        "DIALDOC": DbGenerator(documents.DIALDOC_FIELDS, documents.dialdoc_chunks),
        "EDISON": DbGenerator(documents.EDISON_FIELDS, documents.edison_chunks),
        "COUNTERFEIT": DbGenerator(objects.COUNTERFEIT_FIELDS, objects.counterfeit_chunks),
        "PIRACY": DbGenerator(maritime.PIRACY_FIELDS, maritime.piracy_chunks),
        "GEIGER": DbGenerator(objects.GEIGER_FIELDS, objects.geiger_chunks),
    }
)
"""Database code -> its generator (loaders/generators/ for all but SLTD and TDAWN)."""


def _as_json(generator: DbGenerator, chunks: Iterable[Columns]) -> Iterator[Columns]:
    """Chunks whose structured columns (templates, loci) hold JSON values, for JSON Lines."""
    positions = [
        (generator.fields.index(name), to_json) for name, to_json in generator.json.items()
    ]
    for columns in chunks:
        for position, to_json in positions:
            columns[position] = [to_json(value) for value in columns[position]]  # type: ignore[misc]
        yield columns


# --- writing --------------------------------------------------------------------------

Writer = Callable[[BinaryIO, Sequence[str], Iterable[Columns], Progress | None], int]


def _write_csv(
    out: BinaryIO, fields: Sequence[str], chunks: Iterable[Columns], progress: Progress | None
) -> int:
    """A header row, then the rows, as the csv module writes them (``\\n`` line ends)."""
    out.write(_csv_text([list(fields)], []).encode("utf-8"))
    return _write_chunks(out, chunks, progress, _csv_chunk)


def _csv_chunk(columns: Columns) -> bytes:
    """The CSV text of a chunk of rows.

    csv.writer manages ~500,000 rows/s here; joining is several times faster and
    writes the same bytes whenever no field needs quoting. Counting separators in the
    result proves that (a comma or line break inside a field would add one); a chunk
    that fails the count, say with a name like "SMITH, JOHN", goes through csv.writer.
    """
    rows, width = len(columns[0]), len(columns)
    text = "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"
    plain = (
        width > 1  # csv.writer quotes a lone empty field, so one-column rows differ
        and text.count(",") == rows * (width - 1)
        and text.count("\n") == rows
        and '"' not in text
        and "\r" not in text
    )
    return (text if plain else _csv_text([], columns)).encode("utf-8")


def _csv_text(header: list[list[str]], columns: Columns) -> str:
    """Rows (the header, if given, first) through csv.writer, as a string."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(header)
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue()


def _write_jsonl(
    out: BinaryIO, fields: Sequence[str], chunks: Iterable[Columns], progress: Progress | None
) -> int:
    """One JSON object per line; an empty value is left out, as an empty CSV cell is.

    Each line is written as soon as it is encoded: holding a chunk of orjson's results
    to join them is several times slower (each result starts life as a large buffer).
    """
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    rows = 0
    for columns in chunks:
        for row in zip(*columns, strict=True):
            out.write(dumps({f: v for f, v in zip(fields, row, strict=True) if v}, option=newline))
        rows += len(columns[0])
        if progress is not None:
            progress(rows)
    return rows


def _write_chunks(
    out: BinaryIO,
    chunks: Iterable[Columns],
    progress: Progress | None,
    render: Callable[[Columns], bytes],
) -> int:
    """Render and write each chunk, reporting the running row count after each."""
    rows = 0
    for columns in chunks:
        out.write(render(columns))
        rows += len(columns[0])
        if progress is not None:
            progress(rows)
    return rows


WRITERS: Mapping[str, Writer] = MappingProxyType({".csv": _write_csv, ".jsonl": _write_jsonl})
"""Output file suffix -> writer; the suffix of ``out`` picks the format."""


# --- entry point --------------------------------------------------------------------


def generate(
    db: str,
    records: int,
    out: Path,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``records`` synthetic rows of database ``db`` to ``out``; return the count.

    The format follows the suffix of ``out`` (``.csv`` with a header row, or ``.jsonl``).
    The file is written beside ``out`` under a temporary name and renamed into place,
    so a reader never sees half a file and a failure leaves no debris. ``progress`` is
    called with the running row count after every CHUNK_ROWS rows (and at the end).
    Raises ValueError for an unknown database, one without a generator yet, an
    unsupported suffix, or a negative count, before touching the file system.
    """
    out = Path(out)  # a str from a caller that ignored the annotation still works
    generator = _generator_for(db)
    writer = _writer_for(out)
    if records < 0:
        raise ValueError(f"records must be zero or more, not {records}")
    if seed < 0:
        raise ValueError(f"seed must be zero or more, not {seed}")
    chunks = generator.chunks(records, seed, date.today())
    if writer is _write_jsonl and generator.json:
        chunks = _as_json(generator, chunks)
    return _write_atomically(out, lambda f: writer(f, generator.fields, chunks, progress))


def _generator_for(db: str) -> DbGenerator:
    """The generator of ``db`` (any case), or a ValueError that says what exists."""
    code = db.strip().upper()
    if code in GENERATORS:
        return GENERATORS[code]
    available = ", ".join(sorted(GENERATORS))
    if code in DATABASES:
        raise ValueError(f"database {code} has no generator yet; available: {available}")
    raise ValueError(f"unknown database {db!r}; known: {', '.join(DATABASES)}")


def _writer_for(out: Path) -> Writer:
    """The writer for the suffix of ``out``, or a ValueError naming the ones there are."""
    suffix = out.suffix.lower()
    if suffix not in WRITERS:
        supported = " or ".join(sorted(WRITERS))
        raise ValueError(f"cannot write {out.name!r}: the file name must end in {supported}")
    return WRITERS[suffix]


def _write_atomically(out: Path, write: Callable[[BinaryIO], int]) -> int:
    """Run ``write`` on a temporary file in out's directory, then rename it to ``out``."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o666 & ~_umask())  # not mkstemp's private 0600
            rows = write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return rows


def _umask() -> int:
    """The process umask (reading it means setting it; this is a CLI, not a server)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

"""The name matcher's bench: recall on spelling variants, false positives, queries/s.

NOMINAL is loaded (a real `load`) with the UN list (tests/data) and generated persons up
to N. Two query sets are then screened one query at a time on one core:

- variants of every listed individual's name, the way a passport or a clerk writes it:
  another transliteration (MUHAMMAD/MOHAMMED, OU/U, Q/K, KH/H ...), another token order,
  particles left out (AL-, BIN ...), a typo (one letter dropped, doubled, swapped or
  replaced by a neighbour on the keyboard). The query's date of birth is the listed one
  (a full date when known; a date in the listed year, or near an approximate one; a random
  one for the 39 without), and so are its nationality (the first listed) and sex when the
  list has them, as a passport's zone gives them. Recall: the share whose hits include
  the listed person.
- travellers who are not listed: names drawn like the generated persons' (dozens of naming
  cultures, thousands of names, loaders/generators/person_names.py) with random full dates
  of birth, their own nationality and sex; one whose folded full name and date of birth
  are a loaded record's is left out (`travellers`: a hit on them is a true match).
  False-positive rate: the share with any hit.

Targets (issue 6): recall >= 0.95, false positives < 1 in 1,000, >= 5,000 queries/s on
one core, at 1 million persons. Nothing here asserts them; `main` prints what it measures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
from xxhash import xxh64_intdigest

from loaders.birth_dates import parse_birth_dates
from loaders.generators.person_names import draw_person
from loaders.generators.persons import NOMINAL_FIELDS, nominal_chunks
from loaders.names import PARTICLES, name_tokens, person_names, significant
from loaders.un_xml import read_un_rows

UN_LIST = Path(__file__).resolve().parents[1] / "tests" / "data"
UN_FILE = "un-sc-consolidated-2018-10-29.xml"
GENERATED_ON = date(2026, 11, 1)
"""The generated persons' `today` (their ages and report dates): fixed, so a seed gives the
same population whenever the bench runs."""
KEY_SCHEME = 3
"""Part of the loaded data's directory name: bump it when loaders/names.py changes the keys
a person is indexed under, so a kept `WORK` directory is not measured with stale keys."""


TRANSLITERATIONS = (
    ("MUHAMMAD", "MOHAMMED"), ("MOHAMMED", "MUHAMMAD"), ("MOHAMMAD", "MOHAMED"),
    ("MOHAMED", "MOHAMMAD"), ("YUSUF", "YOUSSEF"), ("YOUSEF", "YUSUF"), ("HUSSEIN", "HUSSAIN"),
    ("HUSAIN", "HUSSEIN"), ("OU", "U"), ("U", "OU"), ("Q", "K"), ("KH", "H"), ("DJ", "J"),
    ("J", "DJ"), ("SH", "CH"), ("EE", "I"), ("I", "EE"), ("AH", "A"), ("IYA", "IA"),
    ("AI", "AY"), ("EI", "AY"), ("Z", "DH"), ("DH", "Z"), ("TH", "T"), ("GH", "G"),
    ("W", "OU"), ("AA", "A"), ("RI", "LI"), ("YO", "JO"), ("E", "A"), ("O", "U"),
)  # fmt: skip
KEYBOARD = dict(zip("QWERTYUIOPASDFGHJKLZXCVBNM", "WERTYUIOPOSDFGHJKLKXCVBNMN", strict=True))


@dataclass(frozen=True)
class Variant:
    kind: str
    reference: str
    query: dict[str, str]


def listed_rows(path: Path | None = None) -> list[dict[str, str]]:
    """The UN list's individuals as NOMINAL rows (loaders/un_xml.py)."""
    path = path or UN_LIST / UN_FILE
    with open(path, "rb") as stream:
        return [row for _, row in read_un_rows(str(path), stream)]


def generated_persons(count: int, seed: int) -> Iterator[dict[str, str]]:
    """NOMINAL records as `screening generate --db NOMINAL` makes them (names from many
    cultures, loaders/generators/person_names.py; some dates partial), as rows."""
    for columns in nominal_chunks(count, seed, GENERATED_ON):
        for values in zip(*columns, strict=True):
            yield {
                field: value for field, value in zip(NOMINAL_FIELDS, values, strict=True) if value
            }


def identity(name: str, dob: str) -> int:
    """A name's folded tokens, in any order, and a date of birth (full, `YYYY-MM` or `YYYY`),
    hashed: the matcher takes token order as no part of a name (loaders/names.py)."""
    tokens = " ".join(sorted(significant(name_tokens(name))))
    return xxh64_intdigest(f"{tokens}|{dob}".encode())


def identities(rows: Iterable[dict[str, str]]) -> set[int]:
    """`identity` of every loaded record's names (its name and aliases) with each date its
    date of birth covers as far as it is known: a full date itself, a year and month as
    such, a year (and every year of an approximate or ranged date) as the year. See
    `travellers`."""
    found: set[int] = set()
    for row in rows:
        names = [name for _, name in person_names(row)]
        for one in parse_birth_dates(row["dob"]) if row.get("dob") else ():
            if one.approximate or one.to_year is not None:
                dates = [str(year) for year in one.years()]
            else:
                dates = [str(one)]
            found.update(identity(name, when) for name in names for when in dates)
    return found


def _covered(name: str, dob: date, taken: set[int]) -> bool:
    held = (dob.isoformat(), dob.isoformat()[:7], str(dob.year))
    return any(identity(name, one) in taken for one in held)


def _random_date(chance: random.Random, year: int | None = None) -> date:
    if year is None:
        year = chance.randint(1940, 2005)
    return date(year, 1, 1) + timedelta(days=chance.randrange(365))


def variants(row: dict[str, str], chance: random.Random) -> list[Variant]:
    """One query of each kind for a listed person (those that change the name)."""
    tokens = f"{row.get('given_names', '')} {row['surname']}".replace("-", " ").split()
    tokens = [token.strip("'").upper() for token in tokens if token.strip("'")]
    dob = _query_dob(row.get("dob", ""), chance)
    made = {
        "transliteration": _transliterated(tokens, chance),
        "order": tokens[::-1] if len(tokens) > 1 else None,
        "missing particles": [t for t in tokens if t not in PARTICLES],
        "typo": _typo(tokens, chance),
    }
    found = []
    for kind, changed in made.items():
        if changed and changed != tokens:
            query = {"db": "NOMINAL", "surname": changed[-1], "given_names": " ".join(changed[:-1])}
            if dob:
                query["dob"] = dob
            query.update(_passport_evidence(row))
            found.append(Variant(kind, row["reference"], query))
    return found


def _passport_evidence(row: dict[str, str]) -> dict[str, str]:
    """What a listed person's passport adds to the name, as a terminal sends it
    (screening/mrz_screen.py): one nationality (the first the list gives: a passport has
    one) and the sex, when the list knows them."""
    evidence = {}
    nationality = row.get("nationality", "").split(";")[0]
    if nationality:
        evidence["nationality"] = nationality
    if row.get("sex"):
        evidence["sex"] = row["sex"]
    return evidence


def _query_dob(value: str, chance: random.Random) -> str:
    dates = parse_birth_dates(value) if value else ()
    if not dates:
        return _random_date(chance).isoformat()
    first = dates[0]
    if first.day is not None and first.month is not None and not first.approximate:
        return f"{first.year:04d}-{first.month:02d}-{first.day:02d}"
    return _random_date(chance, chance.choice(list(first.years()))).isoformat()


def _transliterated(tokens: list[str], chance: random.Random) -> list[str] | None:
    for _ in range(20):
        index = chance.randrange(len(tokens))
        if tokens[index] in PARTICLES:
            continue
        rules = [(a, b) for a, b in TRANSLITERATIONS if a in tokens[index]]
        if rules:
            old, new = chance.choice(rules)
            changed = list(tokens)
            changed[index] = tokens[index].replace(old, new, 1)
            return changed
    return None


def _typo(tokens: list[str], chance: random.Random) -> list[str] | None:
    long = [i for i, token in enumerate(tokens) if len(token) >= 4 and token.isalpha()]
    if not long:
        return None
    index = chance.choice(long)
    word = tokens[index]
    at = chance.randrange(1, len(word) - 1)
    edit = chance.choice(("drop", "double", "swap", "neighbour"))
    if edit == "drop":
        word = word[:at] + word[at + 1 :]
    elif edit == "double":
        word = word[:at] + word[at] + word[at:]
    elif edit == "swap":
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    else:
        word = word[:at] + KEYBOARD.get(word[at], word[at]) + word[at + 1 :]
    changed = list(tokens)
    changed[index] = word
    return changed


def travellers(count: int, seed: int, taken: set[int]) -> list[dict[str, str]]:
    """Queries for people who are not listed: names drawn like the generated persons' (a
    seed of their own), full dates of birth as a passport has.

    The rule: a traveller is left out when a loaded record has their full name (folded,
    particles aside, in any order; as its name or an alias) and a date of birth that covers
    theirs: the same date, or the same year and month, or year, when that is all the record
    knows, or a year an approximate or ranged date spans (`identities`: `taken`). The list
    says nothing that tells such a traveller from its person, so screening must refer
    them: a hit on them is a true match, not a false positive. (A traveller with only the
    name in common, or a close date, stays.)"""
    chance = random.Random(f"travellers:{seed}")
    found: list[dict[str, str]] = []
    while len(found) < count:
        person = draw_person(chance)
        born = _random_date(chance)
        if _covered(f"{person.given_names} {person.surname}", born, taken):
            continue
        query = {"db": "NOMINAL", "surname": person.surname, "dob": born.isoformat(),
                 "nationality": person.nationality, "sex": person.sex}  # fmt: skip
        if person.given_names:
            query["given_names"] = person.given_names
        found.append(query)
    return found


def loaded_rows(persons: int, listed: list[dict[str, str]]) -> Iterator[dict[str, str]]:
    """The UN individuals, then generated persons up to `persons` in all."""
    yield from listed
    yield from generated_persons(max(0, persons - len(listed)), seed=11)


def write_upload(path: Path, persons: int, listed: list[dict[str, str]]) -> None:
    """The UN individuals, then generated persons up to `persons` in all, as JSON lines."""
    with open(path, "wb") as out:
        for row in loaded_rows(persons, listed):
            out.write(orjson.dumps(row) + b"\n")


EARLIER_TRAVELLERS = 30_000
"""Travellers a service screens (untimed) before its throughput is measured: enough that
most dates of birth and common names have had their runs read once, as after an hour at
a border; the names measured after are all new."""
PASSENGER_LIST = 300
"""Queries a call in the batched measurement: a flight's passenger list screened at once
(POST /v1/screen with many NOMINAL queries, `Data.screen` with the list)."""


@dataclass
class Measured:
    recall: dict[str, tuple[int, int]]
    false_positives: int
    same_name_and_date: int
    """False positives whose record has every token of the traveller's name, exactly, and
    the same date of birth or an approximate one (day and month swapped, a year range): no
    name matcher can tell them apart. `travellers` leaves out those whose name and date a
    record holds, so only the near ones (a swap, a record with more names) are left."""
    travellers: int
    queries: int
    cold_seconds: float
    """CPU time of those queries screened alone (`Data.screen([query])`) by a process that
    had read none of the index: each posting run is read once and remembered."""
    served_before: int
    """Queries the service had screened before the steady measurement."""
    steady_queries: int
    seconds: float
    """CPU time of as many fresh travellers screened alone after that: a running service."""
    batched_queries: int
    batched_seconds: float
    """CPU time of another fresh set screened PASSENGER_LIST at a time."""

    def lines(self) -> list[str]:
        found = sum(hit for hit, _ in self.recall.values())
        total = sum(count for _, count in self.recall.values())
        rows = [f"recall on spelling variants   {found / max(total, 1):.3f}  ({found}/{total})"]
        rows += [
            f"  {kind:<27} {hit / max(count, 1):.3f}  ({hit}/{count})"
            for kind, (hit, count) in self.recall.items()
        ]
        rate = self.false_positives / max(self.travellers, 1)
        rows.append(
            f"false positives               {rate * 1000:.2f} per 1,000"
            f"  ({self.false_positives}/{self.travellers})"
        )
        other = (self.false_positives - self.same_name_and_date) / max(self.travellers, 1)
        rows.append(
            f"  of which same names and birth date {self.same_name_and_date}"
            f"  (the others: {other * 1000:.2f} per 1,000)"
        )
        rows.append(
            f"name queries/s (one core)     {self.steady_queries / self.seconds:,.0f}"
            f"  ({self.steady_queries:,} new travellers one at a time, per CPU-second, by"
            f" a service that had screened {self.served_before:,}: a terminal's use, the"
            " target's measure)"
        )
        rows.append(
            f"  from a cold start           {self.queries / self.cold_seconds:,.0f}"
            f"  (the {self.queries:,} queries above, the process having read none of"
            " the index yet)"
        )
        rows.append(
            f"  in passenger lists          {self.batched_queries / self.batched_seconds:,.0f}"
            f"  ({self.batched_queries:,} new travellers, {PASSENGER_LIST} a call; answers"
            " as one at a time)"
        )
        return rows


def measure(
    data: object,
    queries: list[Variant],
    strangers: list[dict[str, str]],
    fresh: tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]],
) -> Measured:
    """Screen every query alone, as a terminal does: recall, false positives, and the
    throughput of a process that had read nothing yet; then the throughput of a running
    service, on `fresh` travellers (three more sets drawn the same way: the first screened
    untimed, as a service's earlier hours; the others new names, so that only what a
    service keeps, the index's runs, is warm, never a name's own scoring), one at a time
    and in passenger lists. The passenger lists' answers are checked against the same
    queries' answers one at a time."""
    screen = data.screen  # type: ignore[attr-defined]
    recall: dict[str, tuple[int, int]] = {}
    asked = [variant.query for variant in queries] + strangers
    started = time.process_time()  # CPU time: the machine is shared, wall time is not ours
    alone = [screen([query])[0] for query in asked]
    cold_seconds = time.process_time() - started
    for variant, result in zip(queries, alone, strict=False):
        found = any(
            match["record"].get("reference") == variant.reference and match["score"] >= 0.85
            for match in result.get("matches", ())
        )
        hit, count = recall.get(variant.kind, (0, 0))
        recall[variant.kind] = (hit + found, count + 1)
    earlier, one_by_one, in_lists = fresh
    for query in earlier:
        screen([query])
    started = time.process_time()
    for query in one_by_one:
        screen([query])
    seconds = time.process_time() - started
    started = time.process_time()
    for first in range(0, len(in_lists), PASSENGER_LIST):
        screen(in_lists[first : first + PASSENGER_LIST])
    batched_seconds = time.process_time() - started
    if _in_lists(screen, asked) != alone:
        raise AssertionError("a passenger list was answered unlike its queries one at a time")
    false = [result for result in alone[len(queries) :] if result.get("hit")]
    same = sum(_indistinguishable(result["matches"][0]) for result in false)
    return Measured(
        recall, len(false), same, len(strangers), len(asked), cold_seconds,
        len(asked) + len(earlier), len(one_by_one), seconds, len(in_lists), batched_seconds,
    )  # fmt: skip


def _in_lists(screen: Any, queries: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        result
        for first in range(0, len(queries), PASSENGER_LIST)
        for result in screen(queries[first : first + PASSENGER_LIST])
    ]


def _indistinguishable(match: dict[str, Any]) -> bool:
    reasons = match.get("reasons", {})
    tokens = reasons.get("tokens", [])
    exact = bool(tokens) and all(token.get("how") == "exact" for token in tokens)
    return exact and reasons.get("dob") in ("exact", "approximate")


class Served:
    """`Data` screened as a worker serves it: its heap settled every SETTLE_INTERVAL
    (screening/heap.py), as the worker's `keep_settled` task does."""

    def __init__(self, data: Any) -> None:
        from screening import heap  # with the service, as `main` imports it: not at bench import

        self.data = data
        self.heap = heap
        self.settled = time.monotonic()

    def screen(self, queries: list[dict[str, str]]) -> list[dict[str, Any]]:
        if time.monotonic() - self.settled >= self.heap.SETTLE_INTERVAL:
            self.heap.settle_survivors()
            self.settled = time.monotonic()
        found: list[dict[str, Any]] = self.data.screen(queries)
        return found


def main(persons: int, work: Path, travellers_count: int = 10_000) -> int:
    """Load N persons (UN list + generated), screen variants and travellers, print."""
    from loaders.load import load
    from loaders.readers import Upload
    from screening.data import open_data
    from screening.heap import settle

    work.mkdir(parents=True, exist_ok=True)
    listed = listed_rows()
    upload = work / f"nominal-{persons}.jsonl"
    data_dir = work / f"nominal-data-{persons}-keys{KEY_SCHEME}"
    if not (data_dir / "NOMINAL" / "MANIFEST").exists():
        write_upload(upload, persons, listed)
        started = time.perf_counter()
        load(data_dir, "NOMINAL", "UTO", [Upload.of(str(upload))])
        print(f"loaded {persons:,} persons in {time.perf_counter() - started:.0f} s")
    chance = random.Random(5)
    queries = [variant for row in listed for variant in variants(row, chance)]
    strangers = travellers(
        travellers_count, seed=99, taken=identities(loaded_rows(persons, listed))
    )
    fresh = (
        travellers(EARLIER_TRAVELLERS, seed=96, taken=set()),
        travellers(travellers_count, seed=98, taken=set()),
        travellers(travellers_count, seed=97, taken=set()),
    )  # timing only: whether a record holds them does not matter
    data = open_data(data_dir)
    for snapshot in data.snapshots.values():
        snapshot.warm()
    settle()  # as a worker does once it listens; the bench's own lists are frozen with it
    measured = measure(Served(data), queries, strangers, fresh)
    print(f"NOMINAL name matching at {persons:,} persons (targets: recall >= 0.95, "
          "false positives < 1 per 1,000, >= 5,000 queries/s)")  # fmt: skip
    for line in measured.lines():
        print("  " + line)
    return 0


if __name__ == "__main__":
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m bench.names",
        description="The name-matching table alone (`screening bench --names` runs it at "
        "1,000,000 persons); loads NOMINAL into WORK once and reuses it.",
    )
    parser.add_argument("--persons", type=int, default=200_000, help="UN list + generated")
    parser.add_argument("--work", type=Path, default=Path(".bench"), help="data kept here")
    parser.add_argument("--travellers", type=int, default=10_000, help="non-listed queries")
    options = parser.parse_args()
    sys.exit(main(options.persons, options.work, options.travellers))

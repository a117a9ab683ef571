"""Keys of a name in a year of birth (loaders/names.py, `year_name_key`): the candidates
they give are the candidates the year's whole run gave.

Strategy: a few hundred persons loaded by the real loader from a small pool of names and
five years of birth, so tokens share long runs and each year holds many who know only
their year (or an approximate one, or a range); a few with so many aliases and years that
they get `ALL_YEARS` instead. Hypothesis draws queries (one to four tokens, full dates in
and around those years); the matcher's candidates through the year keys must equal those
of the same segment read as if it had none. Then the label itself: set by a NOMINAL load,
left off by a compaction that merges labelled and unlabelled segments.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import Record, Writer, compact, open_snapshot
from loaders.catalog import NOMINAL
from loaders.load import load
from loaders.names import ALL_YEARS, PERSON_KEY_SCHEME, person_index_keys, year_name_key
from loaders.readers import Upload
from screening import name_match
from screening.data import Data, open_data
from screening.name_match import candidates, parse_name_query

NAMES = ["ANNA", "MARIA", "JOHN", "SMITH", "MUELLER", "MULLER", "NGUYEN", "LI", "WEI", "HASSAN",
         "HUSSEIN", "OMAR", "KIM", "PARK", "IVANOV", "PETROV", "OLGA", "SARA"]  # fmt: skip
YEARS = range(1970, 1975)


def _dob(chance: random.Random) -> str:
    year = chance.choice(YEARS)
    kind = chance.randrange(6)
    if kind == 0:
        return ""
    if kind == 1:
        return str(year)
    if kind == 2:
        return f"~{year}"
    if kind == 3:
        return f"{year}/{year + 2}"
    if kind == 4:
        return f"{year}-{chance.randint(1, 12):02d}-{chance.randint(1, 12):02d};{year + 1}"
    return f"{year}-{chance.randint(1, 12):02d}-{chance.randint(1, 12):02d}"


def _persons(count: int) -> list[dict[str, str]]:
    chance = random.Random(11)
    rows = []
    for number in range(count):
        row = {
            "reference": f"R{number}",
            "surname": chance.choice(NAMES),
            "given_names": " ".join(chance.sample(NAMES, chance.randint(0, 2))),
            "dob": _dob(chance),
        }
        if number % 50 == 0:  # dozens of aliases over a 20-year range: no room for year keys
            aliases = (f"{a}{b} {c}" for a in NAMES for b in "XYZ" for c in NAMES[:2])
            row["aliases"] = ";".join(list(aliases)[:40])
            row["dob"] = "1960/1979"
        rows.append({key: value for key, value in row.items() if value})
    return rows


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> Data:
    folder = tmp_path_factory.mktemp("year-keys")
    upload = folder / "persons.jsonl"
    upload.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in _persons(400)))
    result = load(folder / "data", "NOMINAL", "UTO", [Upload.of(str(upload))])
    assert result.rejected == 0, result.summary()
    return open_data(folder / "data")


def test_a_nominal_load_labels_its_segment_and_some_persons_get_all_years(crowd: Data) -> None:
    snapshot = crowd.snapshots["NOMINAL"]
    (part,) = snapshot.parts
    assert part.segment.key_scheme == PERSON_KEY_SCHEME
    assert len(part.segment.postings(ALL_YEARS)) == 8  # every 50th of 400
    assert len(part.segment.postings(year_name_key(b"p:AN", 1972))) > 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tokens=st.lists(st.sampled_from([*NAMES, "ZED", "ANA", "MOLLER"]), min_size=1, max_size=4),
    year=st.integers(1958, 1982),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
)
def test_year_keys_give_the_candidates_of_the_whole_year(
    crowd: Data, tokens: list[str], year: int, month: int, day: int
) -> None:
    snapshot = crowd.snapshots["NOMINAL"]
    query = parse_name_query(
        NOMINAL,
        {"surname": tokens[0], "given_names": " ".join(tokens[1:]), "dob": f"{year}-{month}-{day}"},
        "queries[0]",
    )
    by_year_keys = [found.tolist() for found in candidates(snapshot, query)]
    with pytest.MonkeyPatch.context() as unlabelled:
        unlabelled.setattr(name_match, "PERSON_KEY_SCHEME", "no such scheme")
        whole_year = [found.tolist() for found in candidates(snapshot, query)]
    assert by_year_keys == whole_year


def test_year_keys_are_made_for_years_not_full_dates() -> None:
    keys = person_index_keys(
        {"surname": "MULLER", "given_names": "ANNA", "dob": "1970-02-03;~1980"}
    )
    years = sorted(key for key in keys if key.startswith(b"py:"))
    assert years == sorted(year_name_key(name, year) for name in (b"p:AN", b"p:MLR")
                           for year in range(1978, 1983))  # fmt: skip
    assert not any(key.startswith(b"py:") for key in person_index_keys({"surname": "X Y"}))


def test_a_compaction_of_labelled_and_unlabelled_segments_drops_the_label(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "NOMINAL"
    for number, scheme in enumerate((PERSON_KEY_SCHEME, None, PERSON_KEY_SCHEME)):
        with Writer(folder, "NOMINAL", scheme) as writer:
            writer.upsert([Record(b"id-%d" % number, (b"key-%d" % number,), number)])
            writer.commit()
    schemes = [part.segment.key_scheme for part in open_snapshot(folder, "NOMINAL").parts]
    assert schemes == [PERSON_KEY_SCHEME, None, PERSON_KEY_SCHEME]
    compact(folder, "NOMINAL", {"seg-000001", "seg-000003"})
    schemes = [part.segment.key_scheme for part in open_snapshot(folder, "NOMINAL").parts]
    assert set(schemes) == {PERSON_KEY_SCHEME, None}  # 1 and 3 merged keep the label
    compact(folder, "NOMINAL")
    (part,) = open_snapshot(folder, "NOMINAL").parts
    assert part.segment.key_scheme is None

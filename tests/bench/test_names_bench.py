"""The name bench's query sets: variants of listed names and travellers who are not listed.

The bench itself (a million persons) runs in `screening bench`; here its generators are held
to what RESULTS.md says they make, and `measure` runs on a few listed persons.
"""

from __future__ import annotations

import random
from pathlib import Path

from rapidfuzz.distance import OSA

from bench.names import (
    generated_persons,
    identities,
    measure,
    travellers,
    variants,
    write_upload,
)
from loaders.load import load
from loaders.readers import Upload
from screening.data import open_data

LISTED = [
    {"surname": "AL-QATARI", "given_names": "MUHAMMAD YUSUF", "dob": "1980-01-02",
     "reference": "QDi.900", "notice_type": "UNSC"},
    {"surname": "WON HO", "given_names": "RI", "dob": "~1964", "reference": "KPi.900",
     "notice_type": "UNSC"},
]  # fmt: skip


def test_variants_change_the_name_as_their_kind_says() -> None:
    made = {variant.kind: variant for variant in variants(LISTED[0], random.Random(1))}
    assert set(made) == {"transliteration", "order", "missing particles", "typo"}
    original = ["MUHAMMAD", "YUSUF", "AL", "QATARI"]

    def tokens(kind: str) -> list[str]:
        query = made[kind].query
        return f"{query['given_names']} {query['surname']}".split()

    assert tokens("order") == original[::-1]
    assert tokens("missing particles") == ["MUHAMMAD", "YUSUF", "QATARI"]
    typo = [(a, b) for a, b in zip(tokens("typo"), original, strict=True) if a != b]
    assert len(typo) == 1 and OSA.distance(*typo[0]) == 1
    assert all(variant.query["dob"] == "1980-01-02" for variant in made.values())


def test_travellers_leave_out_the_name_and_date_of_a_loaded_record() -> None:
    drawn = travellers(200, 3, set())
    twin = drawn[7]
    taken = identities([{"given_names": twin.get("given_names", "").lower(),
                         "surname": twin["surname"], "dob": f"1950;{twin['dob']}"}])  # fmt: skip
    kept = travellers(200, 3, taken)
    assert twin not in kept and len(kept) == 200
    assert kept[:7] == drawn[:7] and kept[7:199] == drawn[8:]  # only the twin left out


def test_a_record_knowing_less_of_the_date_still_covers_the_twin() -> None:
    drawn = travellers(20, 4, set())
    twin = drawn[3]
    name = {"given_names": twin.get("given_names", ""), "surname": twin["surname"]}
    year = int(twin["dob"][:4])
    for dob in (twin["dob"][:7], str(year), f"~{year + 2}", f"{year - 3}/{year}"):
        assert twin not in travellers(20, 4, identities([{**name, "dob": dob}]))
    for dob in (str(year + 1), f"{year}-{13 - int(twin['dob'][5:7]):02d}"):
        assert travellers(20, 4, identities([{**name, "dob": dob}])) == drawn


def test_a_twin_is_also_one_by_alias_or_in_another_order() -> None:
    drawn = travellers(20, 5, set())
    twin = next(query for query in drawn if query.get("given_names"))
    reversed_name = f"{twin['surname']} {twin['given_names']}"
    for record in (
        {"surname": "ZZYZX", "aliases": f"OTHER NAME;{reversed_name}"},
        {"surname": twin["given_names"], "given_names": twin["surname"]},
    ):
        assert twin not in travellers(20, 5, identities([{**record, "dob": twin["dob"]}]))


def test_generated_persons_are_deterministic_and_varied() -> None:
    persons = list(generated_persons(3000, seed=1))
    assert persons[:50] == list(generated_persons(50, seed=1))
    assert persons != list(generated_persons(3000, seed=2))
    surnames = {person["surname"] for person in persons}
    given = {person.get("given_names", "") for person in persons}
    assert len(surnames) > 1500 and len(given) > 1500
    assert any(len(person.get("given_names", "").split()) > 1 for person in persons)


def test_measure_finds_the_listed_and_counts(tmp_path: Path) -> None:
    upload = tmp_path / "persons.jsonl"
    write_upload(upload, 500, LISTED)
    load(tmp_path / "data", "NOMINAL", "UTO", [Upload.of(str(upload))])
    chance = random.Random(2)
    queries = [variant for row in LISTED for variant in variants(row, chance)]
    fresh = (travellers(20, 10, set()), travellers(20, 11, set()), travellers(30, 12, set()))
    measured = measure(open_data(tmp_path / "data"), queries, travellers(50, 9, set()), fresh)
    found = sum(hit for hit, _ in measured.recall.values())
    assert found == len(queries)
    assert measured.queries == len(queries) + 50
    assert (measured.served_before, measured.steady_queries) == (len(queries) + 70, 20)
    assert any("recall" in line for line in measured.lines())

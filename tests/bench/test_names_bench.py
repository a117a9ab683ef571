"""The name bench's query sets: variants of listed names and travellers who are not listed.

The bench itself (a million persons) runs in `screening bench`; here its generators are held
to what RESULTS.md says they make, and `measure` runs on a few listed persons.
"""

from __future__ import annotations

import random
from pathlib import Path

from rapidfuzz.distance import OSA

from bench.names import generated_persons, measure, travellers, variants, write_upload
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


def test_travellers_are_not_listed_and_persons_are_deterministic() -> None:
    listed = {"JOHN SMITH"}
    assert all(
        f"{t['given_names']} {t['surname']}" not in listed for t in travellers(200, 3, listed)
    )
    assert list(generated_persons(5, seed=1)) == list(generated_persons(5, seed=1))


def test_measure_finds_the_listed_and_counts(tmp_path: Path) -> None:
    upload = tmp_path / "persons.jsonl"
    write_upload(upload, 500, LISTED)
    load(tmp_path / "data", "NOMINAL", "UTO", [Upload.of(str(upload))])
    chance = random.Random(2)
    queries = [variant for row in LISTED for variant in variants(row, chance)]
    measured = measure(open_data(tmp_path / "data"), queries, travellers(50, 9, set()))
    found = sum(hit for hit, _ in measured.recall.values())
    assert found == len(queries)
    assert measured.queries == len(queries) + 50
    assert any("recall" in line for line in measured.lines())

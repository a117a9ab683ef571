"""The `profile` matcher (DNA) through the real loader and `open_data`: the agreement rule
per locus, the threshold in loci, partial profiles, visibility and withdrawals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexes import Deletion, Record, Writer, open_snapshot, postings
from loaders.catalog import DNA
from loaders.load import load
from loaders.profile_keys import allele_keys, genotype_key, genotype_keys
from loaders.readers import Upload
from screening import open_data
from screening.data import Data
from screening.profile_match import MATCHER, MAX_MATCHES, ProfileQuery

LOCI = [
    "CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51",
    "D21S11", "FGA", "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338",
]  # fmt: skip
"""16 STR loci; every allele below is in each one's range."""
BASE = {locus: ["10", "12"] for locus in LOCI} | {"D21S11": ["29", "30"], "FGA": ["20", "22"]}
BASE |= {"D18S51": ["12", "14"], "D2S1338": ["18", "20"], "D1S1656": ["12", "13"]}
BASE |= {"TH01": ["8", "9.3"], "TPOX": ["8"], "vWA": ["15", "17"]}


def text(profile: dict[str, list[str]]) -> str:
    return ";".join(f"{locus}:{'/'.join(alleles)}" for locus, alleles in profile.items())


def changed(at: int, profile: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """BASE with the first `at` loci given another genotype (the second allele shifted)."""
    result = {locus: list(alleles) for locus, alleles in (profile or BASE).items()}
    for locus in LOCI[:at]:
        result[locus] = [result[locus][0], "11"] if result[locus][-1] != "11" else ["9"]
    return result


# reference -> (profile, visible_to): R16 is BASE, Rk differs from BASE at 16 - k loci.
STORED = {
    "R16": (BASE, ""),
    "R14": (changed(2), ""),
    "R13": (changed(3), ""),
    "R12": (changed(4), ""),
    "RGBR": (BASE, "GBR"),
    "RPART": ({locus: BASE[locus] for locus in LOCI[8:]} | {"AMEL": ["X", "Y"]}, ""),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dna")
    rows = "".join(
        f"{text(profile)},{reference},person,{viewers}\n"
        for reference, (profile, viewers) in STORED.items()
    )
    path = folder / "dna.csv"
    path.write_text("loci,reference,kind,visible_to\n" + rows, encoding="utf-8")
    result = load(folder / "data", "DNA", "FRA", [Upload.of(str(path))])
    assert result.rejected == 0, result.summary()
    return folder / "data"


@pytest.fixture
def data(loaded: Path) -> Iterator[Data]:
    opened = open_data(loaded)
    yield opened
    opened.close()


def dna(profile: object) -> dict[str, object]:
    return {"db": "DNA", "loci": profile}


def found(result: dict[str, Any]) -> list[tuple[str, int, int, bool]]:
    return [
        (m["record"]["reference"], m["loci"], m["compared"], m["loci"] >= 13)
        for m in result["matches"]
    ]


def test_a_full_profile_ranks_by_agreeing_loci(data: Data) -> None:
    [result] = data.screen([dna(text(BASE))], country="FRA")
    assert result["hit"] is True
    assert found(result) == [
        ("R16", 16, 16, True),
        ("RGBR", 16, 16, True),
        ("R14", 14, 16, True),
        ("R13", 13, 16, True),
    ]
    first = result["matches"][0]
    assert first["match"] == "profile" and first["score"] == 1.0
    assert first["id"] == "DNA/R16/FRA"
    assert result["matches"][2]["score"] == pytest.approx(14 / 16)


def test_a_locus_agrees_only_when_the_genotype_is_the_same(data: Data) -> None:
    """15/17 agrees with 15/17; not with 15 (homozygous) nor 15/16 nor 17 alone."""
    heterozygous = dna({locus: alleles for locus, alleles in BASE.items()})
    homozygous = dna(BASE | {"D3S1358": ["10"], "D5S818": ["12"], "D7S820": ["10", "11"]})
    counts = [
        {ref: loci for ref, loci, *_ in found(result)}
        for result in data.screen([heterozygous, homozygous])
    ]
    assert counts[0]["R16"] == 16 and counts[1]["R16"] == 13


def test_a_json_object_query_is_the_compact_form(data: Data) -> None:
    as_object = dna(
        {locus: [float(a) if "." in a else int(a) for a in v] for locus, v in BASE.items()}
    )
    assert data.screen([as_object]) == data.screen([dna(text(BASE))])


def test_a_partial_profile_reports_leads_not_hits(data: Data) -> None:
    partial = {locus: BASE[locus] for locus in LOCI[8:]}  # 8 loci: can never reach 13
    [result] = data.screen([dna(text(partial))])
    assert result["hit"] is False
    assert sorted(found(result)) == [
        ("R12", 8, 8, False), ("R13", 8, 8, False), ("R14", 8, 8, False),
        ("R16", 8, 8, False), ("RPART", 8, 8, False),
    ]  # fmt: skip
    [full] = data.screen([dna(text(BASE))])
    assert ("RPART", 8, 8, False) not in found(full)  # 8 agreeing of 16 asked: below 13


def test_a_restricted_profile_only_for_its_viewers(data: Data) -> None:
    for country, expected in (("GBR", True), ("FRA", True), ("ESP", False), (None, False)):
        [result] = data.screen([dna(text(BASE))], country=country)
        assert ("RGBR" in [m["record"]["reference"] for m in result["matches"]]) is expected


def test_too_few_loci_and_bad_loci_are_refused(data: Data) -> None:
    results = data.screen(
        [dna("D3S1358:15/17;vWA:14/16"), dna("D3S1358:15/99" + ";TH01:6" * 0), dna(42)]
    )
    assert [r["error"]["code"] for r in results] == ["bad_query"] * 3
    assert "2 STR loci" in results[0]["error"]["message"]
    assert results[1]["error"]["message"].startswith("queries[1].loci: D3S1358")


def test_a_withdrawn_profile_is_gone(tmp_path: Path) -> None:
    rows = f"{text(BASE)},R1,person,upsert\n{text(BASE)},R2,person,upsert\n"
    path = tmp_path / "dna.csv"
    path.write_text("loci,reference,kind,action\n" + rows, encoding="utf-8")
    assert load(tmp_path / "data", "DNA", "FRA", [Upload.of(str(path))]).rejected == 0
    path.write_text(f"loci,reference,kind,action\n{text(BASE)},R1,person,delete\n")
    assert load(tmp_path / "data", "DNA", "FRA", [Upload.of(str(path))]).rejected == 0
    opened = open_data(tmp_path / "data")
    assert [m["record"]["reference"] for m in opened.screen([dna(text(BASE))])[0]["matches"]] == [
        "R2"
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(LOCI), st.sets(st.sampled_from(["9", "10", "11.2"]), min_size=1, max_size=2)
    )
)
def test_genotype_keys_name_each_locus_once(profile: dict[str, set[str]]) -> None:
    stored = {locus: sorted(alleles, key=float) for locus, alleles in profile.items()}
    keys = allele_keys({"loci": stored | {"AMEL": ["X"]}})
    assert len(keys) == len(set(keys)) == len(stored)
    assert set(keys) == {genotype_key(locus, alleles) for locus, alleles in stored.items()}


GENOTYPES = [["9"], ["10"], ["11"], ["9", "10"], ["9", "11"], ["10", "11"]]
"""Few genotypes, homozygous ones among them: profiles agree often, and ties abound."""
ABSENT = len(GENOTYPES)


def _profiles(data: st.DataObject, count: int, label: str) -> list[dict[str, list[str]]]:
    """Profiles over LOCI, each a base (one of two) with some loci retyped or left out."""
    bases = data.draw(
        st.lists(st.lists(st.integers(0, ABSENT - 1), min_size=16, max_size=16), min_size=2),
        label="bases",
    )
    profiles = []
    for _ in range(count):
        typed = list(data.draw(st.sampled_from(bases), label=f"{label} base"))
        for at, genotype in data.draw(
            st.lists(st.tuples(st.integers(0, 15), st.integers(0, ABSENT))), label=label
        ):
            typed[at] = genotype
        profiles.append(
            {locus: GENOTYPES[g] for locus, g in zip(LOCI, typed, strict=True) if g != ABSENT}
        )
    return profiles


def _expected(
    stored: list[tuple[dict[str, list[str]], frozenset[str] | None, bool]],
    query: dict[str, list[str]],
    viewer: str | None,
) -> list[tuple[str, int, int]]:
    """The brute-force answer: every live record the viewer may see, counted locus by locus."""
    reported_at = max(1, min(13, len(query)))
    rows = []
    for number, (profile, viewers, deleted) in enumerate(stored):
        if deleted or (viewers is not None and viewer not in viewers):
            continue
        loci = sum(1 for locus, alleles in query.items() if profile.get(locus) == alleles)
        compared = sum(1 for locus in query if locus in profile)
        if loci >= reported_at:
            rows.append((-loci, number, (f"R{number}", loci, compared)))
    return [row for *_, row in sorted(rows)[:MAX_MATCHES]]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_rarest_postings_give_the_brute_force_answer(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Reading only the rarest genotypes' lists (pigeonhole), however early reading stops
    and whether later lists are tallied or searched per candidate, finds exactly what
    counting every record does: ties, homozygous loci, partial profiles, withdrawn and
    restricted records, two segments."""
    count = data.draw(st.integers(1, 40), label="records")
    profiles = _profiles(data, count, "stored")
    restricted = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    deleted = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    stored = [
        (profile, frozenset({"GBR"}) if hidden else None, gone)
        for profile, hidden, gone in zip(profiles, restricted, deleted, strict=True)
    ]
    split = data.draw(st.integers(0, count), label="first segment")
    directory = tmp_path_factory.mktemp("rarest") / "DNA"
    records = [_record(number, profile, viewers) for number, (profile, viewers, _) in
               enumerate(stored)]  # fmt: skip
    for batch in (records[:split], records[split:]):
        with Writer(directory, "DNA") as writer:
            writer.upsert(batch)
            writer.commit()
    with Writer(directory, "DNA") as writer:
        gone = [r for r, (*_, deleted) in zip(records, stored, strict=True) if deleted]
        writer.delete([Deletion(r.identity, r.keys[0]) for r in gone])
        writer.commit()
    snapshot = open_snapshot(directory, "DNA")
    [query] = _profiles(data, 1, "query")
    size = data.draw(st.one_of(st.just(16), st.integers(1, 16)), label="query size")
    kept = data.draw(st.permutations(LOCI), label="query loci")[:size]
    query = {locus: alleles for locus, alleles in query.items() if locus in kept}
    viewer = data.draw(st.sampled_from([None, "GBR", "FRA"]), label="viewer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(postings, "VERIFY_COST", data.draw(st.sampled_from([0, 1, 2000])))
        patch.setattr(postings, "MEMBERSHIP_COST", data.draw(st.sampled_from([0, 1, 150])))
        parsed = ProfileQuery(DNA, query, genotype_keys(query))
        [result] = MATCHER.screen(snapshot, DNA, [parsed], viewer) if query else [None]
    if result is None:
        return
    expected = _expected(stored, query, viewer)
    assert [(m["record"]["reference"], m["loci"], m["compared"]) for m in result["matches"]] == (
        expected
    )
    assert result["hit"] == any(loci >= 13 for _, loci, _ in expected)


def _record(number: int, profile: dict[str, list[str]], viewers: frozenset[str] | None) -> Record:
    """A DNA record as the loader stores it (loaders/records.py)."""
    reference = f"R{number}"
    data = [profile, reference, "person", "FRA", sorted(viewers) if viewers else None, None]
    keys = (f"reference:{reference}".encode(), *genotype_keys(profile))
    return Record(reference.encode(), keys, data, viewers)


@pytest.mark.parametrize("membership", [0, 150])
def test_a_profile_agreeing_only_at_the_common_loci_is_found(
    tmp_path: Path, membership: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The query's three rarest genotypes are the three loci where BASE differs from it:
    BASE agrees at exactly 13 of 16, none of them among the rarest lists read first."""
    query = changed(3)
    fillers = [_record(n, {locus: query[locus] for locus in LOCI[:3]}, None) for n in (1, 2)]
    others = [_record(n, BASE, None) for n in range(3, 9)]  # the common genotypes
    with Writer(tmp_path / "DNA", "DNA") as writer:
        writer.upsert([_record(0, BASE, None), *fillers, *others])
        writer.commit()
    monkeypatch.setattr(postings, "MEMBERSHIP_COST", membership)
    parsed = ProfileQuery(DNA, query, genotype_keys(query))
    [result] = MATCHER.screen(open_snapshot(tmp_path / "DNA", "DNA"), DNA, [parsed], None)
    assert [(m["record"]["reference"], m["loci"]) for m in result["matches"]][:2] == [
        ("R0", 13),
        ("R3", 13),
    ]
    assert result["hit"] is True

"""The name matcher against small real NOMINAL, VESSELS and WOA indexes built by `load`.

Strategy: each test loads a handful of JSON lines through the real loader into a tmp data
directory (module-scoped where read-only), then screens through `open_data(...).screen`,
the same path as HTTP. The persons are made up; the spellings are the variants the issue
names (transliteration, order, missing particles, typos, diacritics, other scripts).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.load import load
from loaders.readers import Upload
from screening.data import Data, open_data
from screening.keys import add_key
from screening.mrz import parse
from screening.mrz_screen import screen_zone
from screening.settings import KEYS_FILE_NAME
from screening.testing import MakeClient

PERSONS = [
    {"surname": "ERIKSSON", "given_names": "ANNA MARIA", "dob": "1974-08-12", "reference": "P1",
     "nationality": "UTO", "notice_type": "RED"},
    {"surname": "Müller", "given_names": "Jürgen", "dob": "1961", "reference": "P2"},
    {"surname": "Горбачёв", "given_names": "Михаил", "dob": "~1931", "reference": "P3"},
    {"surname": "AL-QATARI", "given_names": "MUHAMMAD YUSUF", "dob": "1980-01-02;1981",
     "reference": "P4", "aliases": "Abu Yusuf al-Masri;Muhammad the Tall",
     "low_quality_aliases": "Abu Bakr", "original_script": "محمد يوسف القطري"},
    {"surname": "SECRET", "given_names": "AGENT", "dob": "1970-01-01", "reference": "P5",
     "visible_to": "GBR"},
    {"surname": "NODATE", "given_names": "PERSON", "reference": "P6"},
]  # fmt: skip


def _load(data: Path, code: str, rows: list[dict[str, str]], owner: str = "UTO") -> None:
    upload = data.parent / f"{code}-{len(list(data.parent.glob('*.jsonl')))}.jsonl"
    upload.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    result = load(data, code, owner, [Upload.of(str(upload))])
    assert result.rejected == 0, result.summary()


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Data:
    data = tmp_path_factory.mktemp("names") / "data"
    _load(data, "NOMINAL", PERSONS)
    return open_data(data)


def _screen(data: Data, country: str | None = None, **query: str) -> dict[str, Any]:
    result: dict[str, Any] = data.screen([{"db": "NOMINAL", **query}], country=country)[0]
    return result


def _top(result: dict[str, Any]) -> str | None:
    matches = result.get("matches") or []
    return str(matches[0]["record"]["reference"]) if matches else None


@pytest.mark.parametrize(
    ("query", "reference"),
    [
        ({"surname": "ERIKSSON", "given_names": "ANNA MARIA", "dob": "1974-08-12"}, "P1"),
        ({"surname": "MARIA", "given_names": "ERIKSSON ANNA", "dob": "1974-08-12"}, "P1"),
        ({"surname": "ERIKSON", "given_names": "ANNA MARIA", "dob": "1974-08-12"}, "P1"),
        ({"surname": "ERIKSSON", "given_names": "ANNA MARIA", "dob": "1974-12-08"}, "P1"),
        ({"surname": "MUELLER", "given_names": "JUERGEN", "dob": "1961-03-04"}, "P2"),
        ({"surname": "MULLER", "given_names": "JURGEN", "dob": "1961-03-04"}, "P2"),
        ({"surname": "GORBACHEV", "given_names": "MIKHAIL", "dob": "1932-03-02"}, "P3"),
        ({"surname": "QATARI", "given_names": "MOHAMMED YOUSSEF", "dob": "1980-01-02"}, "P4"),
        ({"surname": "AL MASRI", "given_names": "ABU YUSUF", "dob": "1981-05-05"}, "P4"),
        ({"surname": "محمد يوسف القطري"}, "P4"),
        ({"surname": "NODATE", "given_names": "PERSON", "dob": "1990-01-01"}, "P6"),
    ],
)
def test_variants_of_a_listed_name_hit(people: Data, query: dict[str, str], reference: str) -> None:
    result = _screen(people, **query)
    assert result["hit"], result
    assert _top(result) == reference
    assert result["matches"][0]["match"] == "fuzzy"
    assert 0.85 <= result["matches"][0]["score"] <= 1.0


def test_reasons_say_which_tokens_matched_and_how(people: Data) -> None:
    match = _screen(people, surname="ERIKSON", given_names="ANNA MARIA", dob="1974-08-12",
                    nationality="UTO")["matches"][0]  # fmt: skip
    reasons = match["reasons"]
    assert reasons["matched"] == "name" and reasons["dob"] == "exact"
    assert reasons["nationality"] == "agrees"
    hows = {token["query"]: token["how"] for token in reasons["tokens"]}
    assert hows == {"ANNA": "exact", "MARIA": "exact", "ERIKSON": "phonetic"}
    assert match["id"] == "NOMINAL/reference/P1/UTO"


def test_aliases_are_searched_and_graded(people: Data) -> None:
    alias = _screen(people, surname="THE TALL", given_names="MUHAMMAD", dob="1980-01-02")
    assert alias["matches"][0]["reasons"]["matched"] == "alias"
    weak = _screen(people, surname="BAKR", given_names="ABU", dob="1980-01-02")
    assert weak["matches"][0]["reasons"]["matched"] == "low_quality_alias"
    assert weak["matches"][0]["score"] < alias["matches"][0]["score"]


def test_another_date_of_birth_is_not_a_hit(people: Data) -> None:
    assert not _screen(people, surname="ERIKSSON", given_names="ANNA MARIA", dob="1980-01-01")[
        "hit"
    ]
    assert not _screen(people, surname="MUELLER", given_names="JUERGEN", dob="1975-01-01")["hit"]


def test_strangers_do_not_hit(people: Data) -> None:
    for surname, first in [("SMITH", "JOHN"), ("ANDERSSON", "BJORN"), ("ALI", "OMAR")]:
        assert not _screen(people, surname=surname, given_names=first, dob="1974-08-12")["hit"]


def test_restricted_persons_show_only_to_their_viewers(people: Data) -> None:
    query = {"surname": "SECRET", "given_names": "AGENT", "dob": "1970-01-01"}
    assert _screen(people, "FRA", **query) == {"hit": False, "matches": []}
    assert _screen(people, "GBR", **query)["hit"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"surname": "ERIKSSON", "dob": "1974-02-30"}, "dob"), ({"surname": "--"}, "surname"),
     ({"surname": 7}, "surname"), ({"surname": " ".join(["ANNA"] * 13)}, "surname")],
)  # fmt: skip
def test_bad_queries_get_their_own_error(
    people: Data, query: dict[str, object], field: str
) -> None:
    results = people.screen([{"db": "NOMINAL", **query}, {"db": "NOMINAL", "surname": "ERIKSSON"}])
    assert results[0]["error"]["code"] == "bad_query"
    assert f"queries[0].{field}" in results[0]["error"]["message"]
    assert "matches" in results[1]


def test_withdrawn_persons_are_gone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _load(data, "NOMINAL", PERSONS[:1])
    query = {"surname": "ERIKSSON", "given_names": "ANNA MARIA", "dob": "1974-08-12"}
    assert _screen(open_data(data), **query)["hit"]
    _load(data, "NOMINAL", [{"action": "delete", "reference": "P1", "surname": "ERIKSSON"}])
    assert not _screen(open_data(data), **query)["hit"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(PERSONS[:4]), st.randoms())
def test_a_listed_name_in_any_order_finds_its_person(people: Data, person: dict[str, str],
                                                     random: Any) -> None:  # fmt: skip
    tokens = f"{person['given_names']} {person['surname']}".split()
    random.shuffle(tokens)
    result = _screen(people, surname=tokens[-1], given_names=" ".join(tokens[:-1]))
    assert _top(result) == person["reference"]
    assert all(0.0 <= match["score"] <= 1.0 for match in result["matches"])


def test_objects_are_found_by_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _load(data, "VESSELS", [{"hin": "ABC12345D404", "name": "Sea Breeze", "flag": "UTO"}])
    _load(data, "WOA", [{"object_id": "W1", "title": "La Joconde", "artist": "Léonard de Vinci"}])
    found = open_data(data).screen([
        {"db": "VESSELS", "name": "SEABREEZE"},
        {"db": "VESSELS", "name": "sea breeze"},
        {"db": "WOA", "title": "la joconde", "artist": "Leonard de Vinci"},
        {"db": "WOA", "artist": "VINCI, Leonard de"},
    ])  # fmt: skip
    assert [result["hit"] for result in found] == [False, True, True, True]
    assert found[2]["matches"][0]["reasons"]["fields"][1]["field"] == "artist"


def test_a_passport_zone_screens_its_holder(people: Data) -> None:
    zone = parse(
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
        today=date(2010, 1, 1),
    )
    answer = screen_zone(people, zone, "FRA")
    assert answer["screened"]["NOMINAL"] is True
    holder = next(result for result in answer["results"] if result["db"] == "NOMINAL")
    assert holder["hit"] and holder["matches"][0]["record"]["reference"] == "P1"
    assert holder["matches"][0]["reasons"]["nationality"] == "agrees"
    assert answer["hit"]


def test_name_queries_over_http_in_json_and_msgpack(
    tmp_path: Path, make_client: MakeClient
) -> None:
    data = tmp_path / "data"
    _load(data, "NOMINAL", PERSONS[:1])
    key = add_key(data / KEYS_FILE_NAME, "gate-1", "FRA", "frontline")[0]
    client = make_client(data=data)
    query = {
        "db": "NOMINAL",
        "surname": "Eriksson",
        "given_names": "Anna-Maria",
        "dob": "1974-08-12",
    }
    replies = [
        client.request("POST", "/v1/screen", key=key, json={"queries": [query]}),
        client.request("POST", "/v1/screen", key=key, packed={"queries": [query]}),
    ]
    for reply in replies:
        assert reply.status == 200, reply
        [result] = reply.body["results"]
        assert result["hit"] and result["matches"][0]["reasons"]["dob"] == "exact"


NAMESAKE = {"surname": "ZHANG", "given_names": "XIULAN", "dob": "1985", "reference": "C3"}
CROWD = [
    {"surname": "ZHANG", "given_names": "XIULAN", "dob": f"{1940 + i}-03-0{1 + i % 9}",
     "reference": f"W{i}"}
    for i in range(60)
]  # fmt: skip


def test_a_close_name_with_a_year_of_birth_is_no_hit_among_many_of_its_tokens(
    tmp_path: Path,
) -> None:
    """SIULAN ZHANG born 1985-10-15 against XIULAN ZHANG listed with 1985 alone: a hit when
    those names are rare in the database, not when sixty others share them (NAME_DOUBT)."""
    query = {"surname": "ZHANG", "given_names": "SIULAN", "dob": "1985-10-15"}
    alone, crowded = tmp_path / "alone", tmp_path / "crowded"
    _load(alone, "NOMINAL", [NAMESAKE])
    _load(crowded, "NOMINAL", [NAMESAKE, *CROWD])
    rare = _screen(open_data(alone), **query)
    common = _screen(open_data(crowded), **query)
    assert rare["hit"] and _top(rare) == "C3"
    assert not common["hit"] and _top(common) == "C3"  # still shown, below the threshold
    assert common["matches"][0]["score"] < rare["matches"][0]["score"]


def test_a_listed_given_name_missing_from_the_passport_needs_the_exact_date(
    tmp_path: Path,
) -> None:
    rows = [
        {"surname": "BISHOP", "given_names": "ERIK JAMES", "dob": "1979", "reference": "B1"},
        {"surname": "TRENT", "given_names": "OLAF PETER", "dob": "1979-11-19", "reference": "B2"},
    ]
    _load(tmp_path / "data", "NOMINAL", rows)
    data = open_data(tmp_path / "data")
    year_only = _screen(data, surname="BISHOP", given_names="JAMES", dob="1979-11-19")
    exact = _screen(data, surname="TRENT", given_names="PETER", dob="1979-11-19")
    assert not year_only["hit"]
    assert exact["hit"] and _top(exact) == "B2"
    whole = _screen(data, surname="BISHOP", given_names="ERIK JAMES", dob="1979-11-19")
    assert whole["hit"] and _top(whole) == "B1"


def test_chance_weight_rises_as_the_name_and_date_get_common() -> None:
    from screening.name_match import Rarity

    tokens = [("WEI", 0.9), ("ZHANG", 1.0)]
    common = Rarity({"WEI": 0.5, "ZHANG": 0.5}, 1_000_000)
    rare = Rarity({"WEI": 5.0, "ZHANG": 5.0}, 1_000_000)
    assert common.chance_weight(tokens, "partial") == 1.0
    assert rare.chance_weight(tokens, "exact") == 0.0
    assert 0.0 < Rarity({"WEI": 3.5, "ZHANG": 3.0}, 1_000_000).chance_weight(tokens, "partial") < 1


def test_a_two_token_name_with_a_typo_finds_a_year_only_record_by_its_rare_token(
    tmp_path: Path,
) -> None:
    """MUHANMAD has another phonetic key than MUHAMMAD: QWERTYAN alone must find the record
    listed with 1980 alone (RARE_TOKEN); a common token alone would bring too many."""
    rows = [{"surname": "QWERTYAN", "given_names": "MUHAMMAD", "dob": "1980", "reference": "R1"}]
    _load(tmp_path / "data", "NOMINAL", rows)
    data = open_data(tmp_path / "data")
    found = _screen(data, surname="QWERTYAN", given_names="MUHANMAD", dob="1980-05-05")
    assert _top(found) == "R1"


EVIDENCE = [
    {"surname": "DANG", "given_names": "THI MAI", "dob": "1990", "nationality": "VNM",
     "sex": "F", "reference": "V1"},
    {"surname": "NGUYEN", "given_names": "VAN HUNG", "dob": "1975-04-30", "nationality": "VNM",
     "sex": "M", "reference": "V2"},
]  # fmt: skip


@pytest.fixture(scope="module")
def vietnamese(tmp_path_factory: pytest.TempPathFactory) -> Data:
    data = tmp_path_factory.mktemp("evidence") / "data"
    _load(data, "NOMINAL", EVIDENCE)
    return open_data(data)


def test_a_nationality_or_sex_that_differs_lowers_the_score_and_says_so(
    vietnamese: Data,
) -> None:
    query = {"surname": "DANG", "given_names": "THI MAI", "dob": "1990-07-01"}
    agreeing = _screen(vietnamese, nationality="VNM", sex="F", **query)["matches"][0]
    silent = _screen(vietnamese, **query)["matches"][0]
    other_state = _screen(vietnamese, nationality="FRA", sex="F", **query)["matches"][0]
    other_sex = _screen(vietnamese, nationality="VNM", sex="M", **query)["matches"][0]
    assert agreeing["score"] == silent["score"]  # agreeing adds nothing
    assert agreeing["reasons"]["nationality"] == "agrees" and agreeing["reasons"]["sex"] == "agrees"
    assert "lowered_by" not in agreeing["reasons"]
    assert silent["reasons"]["nationality"] == "unknown" and silent["reasons"]["sex"] == "unknown"
    assert other_state["score"] < agreeing["score"] and other_sex["score"] < other_state["score"]
    assert other_state["reasons"]["nationality"] == "differs"
    assert other_state["reasons"]["lowered_by"] == {"nationality": 0.1}
    assert other_sex["reasons"]["lowered_by"] == {"sex": 0.15}


def test_an_exact_name_and_date_stay_a_hit_on_another_passport(vietnamese: Data) -> None:
    """A listed person may travel on another state's passport: the difference is shown,
    it does not hide them."""
    result = _screen(vietnamese, surname="NGUYEN", given_names="VAN HUNG", dob="1975-04-30",
                     nationality="USA", sex="M")  # fmt: skip
    assert result["hit"] and _top(result) == "V2"
    assert result["matches"][0]["reasons"]["nationality"] == "differs"


@pytest.mark.parametrize(("written", "known"), [("m", True), ("X", False), ("<", False)])
def test_sex_as_a_zone_prints_it(vietnamese: Data, written: str, known: bool) -> None:
    result = _screen(vietnamese, surname="NGUYEN", given_names="VAN HUNG", dob="1975-04-30",
                     sex=written)  # fmt: skip
    assert result["matches"][0]["reasons"]["sex"] == ("agrees" if known else "unknown")


def test_a_nationality_that_is_no_code_weighs_nothing(vietnamese: Data) -> None:
    """A zone with a misprinted nationality is still screened by name (its checks say what
    is wrong): the code is unknown, not a difference."""
    result = _screen(vietnamese, surname="NGUYEN", given_names="VAN HUNG", dob="1975-04-30",
                     nationality="ZZZ")  # fmt: skip
    assert result["hit"] and result["matches"][0]["reasons"]["nationality"] == "unknown"


def test_a_sex_that_is_not_m_f_or_x_is_refused(vietnamese: Data) -> None:
    [result] = vietnamese.screen([{"db": "NOMINAL", "surname": "NGUYEN", "sex": "MALE"}])
    assert result["error"]["code"] == "bad_query"
    assert "queries[0].sex: 'MALE' is not M, F or X" in result["error"]["message"]


VIETNAMESE = [
    {"surname": "DUONG", "given_names": "THI MAI", "dob": "2000", "nationality": "VNM",
     "sex": "F", "reference": "D1"},
    {"surname": "NGUYEN", "given_names": "VAN QUANG", "dob": "1985", "nationality": "VNM",
     "sex": "M", "reference": "D2"},
]  # fmt: skip


def test_a_vietnamese_surname_of_another_vowel_is_no_hit(tmp_path: Path) -> None:
    """THI MAI DANG is not THI MAI DUONG listed with the same year of birth (Dang and Duong
    are two surnames), while NGUYEN VAN QUANG typed as NGUYEN VAN QOANG still is."""
    _load(tmp_path / "data", "NOMINAL", VIETNAMESE)
    data = open_data(tmp_path / "data")
    other = _screen(data, surname="DANG", given_names="THI MAI", dob="2000-07-01",
                    nationality="VNM", sex="F")  # fmt: skip
    assert not other["hit"]
    same = _screen(data, surname="NGUYEN", given_names="VAN QOANG", dob="1985-03-02",
                   nationality="VNM", sex="M")  # fmt: skip
    assert same["hit"] and _top(same) == "D2"

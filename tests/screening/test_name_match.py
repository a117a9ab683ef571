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

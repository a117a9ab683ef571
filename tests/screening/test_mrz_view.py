"""`POST /v1/screen/mrz` in process (screening/mrz_view.py, screening/mrz_screen.py): a zone
screened against SLTD and TDAWN, NOMINAL reported as not screened, the contract's errors.

Strategy: one data directory for the module, loaded by the real loader with the ICAO
specimen passport L898902C3/UTO reported stolen (SLTD), the specimen ID card D23145890/UTO
associated with a red notice (TDAWN), and R1/UTO restricted to GBR; one key per country,
served in process by a module-scoped client, so hypothesis can throw bodies at it quickly.
The shared `http` client of conftest.py (SLTD only) shows a database with no data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.load import load
from loaders.readers import Upload
from screening import open_data
from screening.keys import add_key
from screening.mrz import Document, compose, parse
from screening.mrz_screen import screen_zone
from screening.settings import KEYS_FILE_NAME, Settings
from screening.testing import LocalClient

TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
PASSPORT = parse(TD3).document
UPLOADS = {
    "SLTD": "number,country,status,type,visible_to\nL898902C3,UTO,stolen,P,\nR1,UTO,lost,P,GBR\n",
    "TDAWN": "number,country,type,notice,notice_type\nD23145890,UTO,I,A-1234/5-2024,red\n",
}
NOMINAL_REASON = "no NOMINAL data is loaded on this server"
ALL_SCREENED = {"SLTD": True, "TDAWN": True, "NOMINAL": False}


@pytest.fixture(scope="module")
def mrz_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mrz")
    data = folder / "data"
    for code, rows in UPLOADS.items():
        source = folder / f"{code}.csv"
        source.write_text(rows, encoding="utf-8")
        result = load(data, code, "UTO", [Upload.of(str(source))])
        assert result.rejected == 0, result.summary()
    return data


@pytest.fixture(scope="module")
def keys(mrz_data: Path) -> dict[str, str]:
    path = mrz_data / KEYS_FILE_NAME
    return {country: add_key(path, country, country, "frontline")[0] for country in ("FRA", "GBR")}


@pytest.fixture(scope="module")
def client(mrz_data: Path, keys: dict[str, str]) -> Iterator[LocalClient]:
    local = LocalClient(Settings(data=mrz_data))
    yield local
    local.close()


def scan(client: LocalClient, key: str, mrz: object) -> Any:
    reply = client.request("POST", "/v1/screen/mrz", key=key, json={"mrz": mrz})
    assert reply.status == 200, reply
    return reply.body


def zone_of(**fields: Any) -> str:
    return "\n".join(compose(dataclasses.replace(PASSPORT, **fields)))


# --- answers ------------------------------------------------------------------------------


def test_the_specimen_passport_is_an_sltd_hit(client: LocalClient, keys: dict[str, str]) -> None:
    body = scan(client, keys["FRA"], TD3)
    assert set(body) == {"document", "checks", "valid", "failed", "problems", "hit", "results",
                         "screened", "not_screened", "took_us"}  # fmt: skip
    assert body["document"] == {
        "format": "TD3", "type": "P", "country": "UTO", "number": "L898902C3",
        "surname": "ERIKSSON", "given_names": "ANNA MARIA", "nationality": "UTO",
        "birth_date": "1974-08-12", "sex": "F", "expiry_date": "2012-04-15",
        "optional_data": "ZE184226B", "optional_data_2": None,
    }  # fmt: skip
    assert body["checks"] == {
        "number": True, "birth_date": True, "expiry_date": True, "optional": True,
        "composite": True,
    }  # fmt: skip
    assert body["valid"] is True and body["failed"] == [] and body["problems"] == []
    assert body["hit"] is True
    sltd, tdawn = body["results"]
    assert sltd["db"] == "SLTD" and sltd["hit"] is True
    [match] = sltd["matches"]
    assert match["match"] == "exact" and match["id"] == "SLTD/L898902C3/UTO/UTO"
    assert match["record"] == {
        "number": "L898902C3", "country": "UTO", "type": "P", "status": "stolen", "owner": "UTO"
    }  # fmt: skip
    assert tdawn == {"db": "TDAWN", "hit": False, "matches": []}
    assert body["screened"] == ALL_SCREENED
    assert body["not_screened"] == [{"db": "NOMINAL", "reason": NOMINAL_REASON}]


def test_the_specimen_id_card_is_a_tdawn_hit(client: LocalClient, keys: dict[str, str]) -> None:
    body = scan(client, keys["FRA"], TD1)
    assert body["document"]["format"] == "TD1" and body["valid"] is True
    sltd, tdawn = body["results"]
    assert sltd == {"db": "SLTD", "hit": False, "matches": []}
    assert body["hit"] is True and tdawn["hit"] is True
    [match] = tdawn["matches"]
    assert match["id"] == "TDAWN/D23145890/UTO/UTO" and match["match"] == "exact"
    assert match["record"]["notice"] == "A-1234/5-2024"
    assert match["record"]["notice_type"] == "RED"


def test_a_bad_check_digit_is_still_screened(client: LocalClient, keys: dict[str, str]) -> None:
    wrong = TD3.replace("L898902C36", "L898902C37")
    body = scan(client, keys["FRA"], wrong)
    assert body["valid"] is False and body["failed"] == ["number", "composite"]
    assert body["checks"]["number"] is False and body["checks"]["birth_date"] is True
    assert "number: the check digit is 7; L898902C3 gives 6" in body["problems"]
    assert body["hit"] is True and body["results"][0]["matches"][0]["match"] == "exact"
    assert body["screened"] == ALL_SCREENED


def test_the_same_number_of_another_state(client: LocalClient, keys: dict[str, str]) -> None:
    body = scan(client, keys["FRA"], zone_of(country="FRA"))
    assert body["hit"] is False
    [match] = body["results"][0]["matches"]
    assert match["match"] == "number_only" and match["record"]["country"] == "UTO"


def test_visibility_rules_apply(client: LocalClient, keys: dict[str, str]) -> None:
    zone = zone_of(number="R1")
    seen = scan(client, keys["GBR"], zone)
    assert seen["hit"] is True and seen["results"][0]["matches"][0]["id"] == "SLTD/R1/UTO/UTO"
    hidden = scan(client, keys["FRA"], zone)
    assert hidden["hit"] is False and hidden["results"][0]["matches"] == []


def test_msgpack_and_a_list_of_lines(client: LocalClient, keys: dict[str, str]) -> None:
    as_json = scan(client, keys["FRA"], TD3)
    packed = client.request(
        "POST", "/v1/screen/mrz", key=keys["FRA"], packed={"mrz": TD3.split("\n")}
    )
    assert packed.status == 200 and packed.headers["Content-Type"].startswith("application/msgpack")
    for body in (as_json, packed.body):
        body.pop("took_us")
    assert packed.body == as_json
    assert scan(client, keys["FRA"], TD3.replace("\n", "\r\n") + "\r\n")["hit"] is True


def test_an_unknown_issuing_state_is_reported_not_screened(
    client: LocalClient, keys: dict[str, str]
) -> None:
    body = scan(client, keys["FRA"], zone_of(country="ZZZ"))
    assert body["valid"] is True and body["document"]["country"] == "ZZZ"
    reason = "the zone's country: 'ZZZ' is not an ICAO Doc 9303 issuing state or nationality code"
    assert body["problems"] == [
        "country: 'ZZZ' is not an ICAO Doc 9303 issuing state or nationality code"
    ]
    assert body["hit"] is False and body["results"] == []
    assert body["screened"] == {"SLTD": False, "TDAWN": False, "NOMINAL": False}
    assert body["not_screened"] == [
        {"db": "SLTD", "reason": reason},
        {"db": "TDAWN", "reason": reason},
        {"db": "NOMINAL", "reason": NOMINAL_REASON},
    ]


def test_a_zone_without_a_number_is_reported_not_screened(
    client: LocalClient, keys: dict[str, str]
) -> None:
    body = scan(client, keys["FRA"], zone_of(number=None))
    assert body["document"]["number"] is None and body["valid"] is True
    assert body["screened"]["SLTD"] is False
    assert body["not_screened"][0] == {
        "db": "SLTD",
        "reason": "the zone's number: required for SLTD",
    }


def test_a_database_without_data_is_reported_not_screened(
    http: LocalClient, api_keys: dict[str, str]
) -> None:
    body = scan(http, api_keys["fra"], TD3)  # conftest's data: SLTD only
    assert body["hit"] is True and [result["db"] for result in body["results"]] == ["SLTD"]
    assert body["screened"] == {"SLTD": True, "TDAWN": False, "NOMINAL": False}
    assert body["not_screened"] == [
        {"db": "TDAWN", "reason": "no TDAWN data is loaded on this server"},
        {"db": "NOMINAL", "reason": NOMINAL_REASON},
    ]


def test_in_process_the_same_answer(
    client: LocalClient, mrz_data: Path, keys: dict[str, str]
) -> None:
    data = open_data(mrz_data)
    try:
        answer = screen_zone(data, parse(TD3), "FRA")
    finally:
        data.close()
    body = scan(client, keys["FRA"], TD3)
    body.pop("took_us")
    assert answer == body


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"mrz": TD3[:-1]}, "body.mrz: line 2 is 43 characters, a TD3 line has 44"),
        ({"mrz": TD3.replace("ERIKSSON", "ERIKSSÖN")},
         "body.mrz: line 1, position 12: 'Ö' is not A-Z, 0-9 or <"),
        ({"mrz": TD3.lower()},
         "body.mrz: line 1, position 1: 'p' is lower case; a zone has only A-Z, 0-9 and <"),
        ({"mrz": TD3.split("\n")[0]},
         "body.mrz: a zone has 2 lines (TD2, TD3, MRV-A, MRV-B) or 3 (TD1), not 1"),
        ({"mrz": ""}, "body.mrz: the zone is empty"),
        ({"mrz": 7}, "body.mrz: must be text (lines separated by \\n) or a list of lines, not int"),
        ({"mrz": ["P<UTO", None]}, "body.mrz[1]: must be text, not NoneType"),
        ({"zone": TD3}, "body.mrz: required, the zone's lines separated by \\n"),
        ([TD3], 'body: expected an object {"mrz": "..."}, not list'),
    ],
)  # fmt: skip
def test_unreadable_bodies_are_400(
    client: LocalClient, keys: dict[str, str], body: object, message: str
) -> None:
    reply = client.request("POST", "/v1/screen/mrz", key=keys["FRA"], json=body)
    assert reply.status == 400
    assert reply.body == {"error": {"code": "bad_request", "message": message}}


def test_no_key_is_401_and_get_is_405(client: LocalClient, keys: dict[str, str]) -> None:
    assert client.request("POST", "/v1/screen/mrz", json={"mrz": TD3}).status == 401
    reply = client.request("GET", "/v1/screen/mrz", key=keys["FRA"])
    assert reply.status == 405 and reply.error["code"] == "method_not_allowed"


# --- hypothesis: any zone is answered, anything else is a 4xx, never a 5xx -----------------

CODES = st.sampled_from(["UTO", "FRA", "D", "GBR", "ZZZ", "XXA"])
NUMBERS = st.sampled_from(["L898902C3", "D23145890", "R1", "X1"]) | st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=9
)
LOADED = {("L898902C3", "UTO", "SLTD"), ("D23145890", "UTO", "TDAWN"), ("R1", "UTO", "SLTD")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=NUMBERS, country=CODES, fmt=st.sampled_from(["TD3", "TD1", "TD2"]), gbr=st.booleans())
def test_any_zone_is_screened(
    client: LocalClient, keys: dict[str, str], number: str, country: str, fmt: str, gbr: bool
) -> None:
    document = dataclasses.replace(
        PASSPORT, format=fmt, type="P" if fmt == "TD3" else "I", number=number, country=country,
        optional_data="" if fmt != "TD3" else PASSPORT.optional_data,
        optional_data_2="" if fmt == "TD1" else None,
    )  # fmt: skip
    body = scan(client, keys["GBR" if gbr else "FRA"], compose(document))
    assert body["document"] == dataclasses.asdict(document) and body["valid"] is True
    known = country != "ZZZ"
    assert body["screened"] == {"SLTD": known, "TDAWN": known, "NOMINAL": False}
    visible = {key for key in LOADED if key[0] != "R1" or gbr}
    hits = {code for code in ("SLTD", "TDAWN") if (number, country, code) in visible}
    assert {result["db"] for result in body["results"] if result["hit"]} == hits
    assert body["hit"] is bool(hits)


MRZ_TEXT = st.one_of(
    st.text(),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<\n", min_size=60, max_size=100),
    st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<", min_size=44, max_size=44),
             min_size=2, max_size=2).map("\n".join),
    st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<", min_size=30, max_size=30),
             min_size=3, max_size=3),
    st.binary(max_size=100).map(lambda raw: raw.decode("latin-1")),
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=10,
)  # fmt: skip
BODIES = st.one_of(
    MRZ_TEXT.map(lambda mrz: (orjson.dumps({"mrz": mrz}), "application/json")),
    MRZ_TEXT.map(lambda mrz: (msgpack.packb({"mrz": mrz}), "application/msgpack")),
    JSON_VALUES.map(lambda mrz: (orjson.dumps({"mrz": mrz}), "application/json")),
    JSON_VALUES.map(lambda value: (msgpack.packb(value), "application/msgpack")),
    st.binary(max_size=200).map(lambda raw: (raw, "application/json")),
    st.binary(max_size=200).map(lambda raw: (raw, "application/msgpack")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_hostile_bodies_never_5xx(
    client: LocalClient, keys: dict[str, str], body: tuple[bytes, str]
) -> None:
    raw, kind = body
    reply = client.request(
        "POST", "/v1/screen/mrz", key=keys["FRA"], data=raw, headers={"Content-Type": kind}
    )
    assert reply.status in (200, 400), reply
    if reply.status == 400:
        assert set(reply.body) == {"error"} and reply.body["error"]["code"] == "bad_request"
        assert reply.body["error"]["message"].startswith("body")
        return
    assert set(reply.body["screened"]) == {"SLTD", "TDAWN", "NOMINAL"}
    assert reply.body["valid"] == (reply.body["failed"] == [])
    assert reply.body["hit"] == any(result["hit"] for result in reply.body["results"])


def test_the_answer_fits_the_document_type(client: LocalClient, keys: dict[str, str]) -> None:
    visa = Document(
        format="MRV-B", type="V", country="UTO", number="L898902C3", surname="ERIKSSON",
        given_names="ANNA MARIA", nationality="XXX", birth_date="1940-09-07", sex="F",
        expiry_date="1996-12-10",
    )  # fmt: skip
    body = scan(client, keys["FRA"], compose(visa))
    assert body["document"]["format"] == "MRV-B" and "composite" not in body["checks"]
    assert body["hit"] is True  # a visa numbered like a stolen passport: screened all the same

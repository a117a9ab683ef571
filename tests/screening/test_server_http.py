"""The HTTP service in process (screening/app.py and the views): answers, encodings,
visibility, keys over HTTP, live refresh, and hypothesis-made hostile bodies."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes.manifest import read_manifest, write_manifest
from loaders.catalog import DATABASES
from screening.keys import add_key
from screening.matchers import screenable
from screening.testing import LocalClient, MakeClient

LoadRows = Any
SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}


def q(number: object, country: object = "UTO", db: object = "SLTD") -> dict[str, object]:
    return {"db": db, "number": number, "country": country}


def screen(client: LocalClient, key: str, *queries: object) -> list[dict[str, Any]]:
    reply = client.request("POST", "/v1/screen", key=key, json={"queries": list(queries)})
    assert reply.status == 200, reply
    results: list[dict[str, Any]] = reply.body["results"]
    return results


# --- /v1/screen ----------------------------------------------------------------------


def test_screen_one_query(http: LocalClient, api_keys: dict[str, str]) -> None:
    reply = http.request("POST", "/v1/screen", key=api_keys["fra"], json={"queries": [SPECIMEN]})
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.body) == {"results", "took_us"}
    assert isinstance(reply.body["took_us"], int) and reply.body["took_us"] >= 0
    [result] = reply.body["results"]
    assert result["hit"] is True
    [match] = result["matches"]
    assert match["match"] == "exact" and match["score"] == 1.0
    assert match["record"] == {
        "number": "L898902C3", "country": "UTO", "type": "P", "status": "stolen", "owner": "UTO"
    }  # fmt: skip


def test_screen_a_batch_in_order(http: LocalClient, api_keys: dict[str, str]) -> None:
    queries = [q("N000"), q("NOPE"), q("DUP1", "FRA"), {"db": "NOMINAL"}, q("N149"), "x"]
    results = screen(http, api_keys["fra"], *queries)
    assert [r.get("hit") for r in results] == [True, False, True, None, True, None]
    assert [m["match"] for m in results[2]["matches"]] == ["exact", "number_only"]
    assert results[3]["error"]["code"] == "bad_query"  # NOMINAL is screened by a name
    assert results[5]["error"] == {
        "code": "bad_query", "message": "queries[5]: a query is an object, not str"
    }  # fmt: skip


def test_a_big_batch_goes_through_the_thread(http: LocalClient, api_keys: dict[str, str]) -> None:
    queries = [q(f"N{i % 200:03d}") for i in range(500)]
    results = screen(http, api_keys["fra"], *queries)
    assert [r["hit"] for r in results] == [i % 200 < 150 for i in range(500)]


def test_msgpack_in_msgpack_out(http: LocalClient, api_keys: dict[str, str]) -> None:
    queries = {"queries": [SPECIMEN, q("NOPE"), q(3)]}
    packed = http.request("POST", "/v1/screen", key=api_keys["fra"], packed=queries)
    assert packed.status == 200
    assert packed.headers["Content-Type"].startswith("application/msgpack")
    as_json = http.request("POST", "/v1/screen", key=api_keys["fra"], json=queries)
    assert packed.body["results"] == as_json.body["results"]
    for spelling in (
        "application/x-msgpack",
        "application/vnd.msgpack",
        "Application/MsgPack; charset=binary",
    ):
        reply = http.request(
            "POST", "/v1/screen", key=api_keys["fra"],
            data=msgpack.packb(queries), headers={"Content-Type": spelling},
        )  # fmt: skip
        assert reply.status == 200 and reply.headers["Content-Type"] == "application/msgpack"


def test_json_without_a_content_type(http: LocalClient, api_keys: dict[str, str]) -> None:
    """`curl -d` sends application/x-www-form-urlencoded: still read as JSON."""
    reply = http.request(
        "POST", "/v1/screen", key=api_keys["fra"], data=orjson.dumps({"queries": [SPECIMEN]}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert reply.status == 200 and reply.body["results"][0]["hit"] is True


def test_an_empty_batch(http: LocalClient, api_keys: dict[str, str]) -> None:
    assert screen(http, api_keys["fra"]) == []


def test_batch_at_the_limit_is_fine(
    make_client: MakeClient, served_data: Path, api_keys: dict[str, str]
) -> None:
    client = make_client(data=served_data, max_batch=3)
    assert len(screen(client, api_keys["fra"], SPECIMEN, SPECIMEN, SPECIMEN)) == 3


# --- visibility: the caller's key country is the viewer --------------------------------


def test_restricted_record_only_for_its_states(http: LocalClient, api_keys: dict[str, str]) -> None:
    assert screen(http, api_keys["fra"], q("R1")) == [{"hit": False, "matches": []}]
    for allowed in ("gbr", "uto"):
        [result] = screen(http, api_keys[allowed], q("R1"))
        assert result["hit"] is True and result["matches"][0]["record"]["number"] == "R1"
        assert "visible_to" not in result["matches"][0]["record"]


def test_restricted_record_never_counted_for_others(
    http: LocalClient, api_keys: dict[str, str]
) -> None:
    def sltd_records(key: str) -> int:
        reply = http.request("GET", "/v1/databases", key=key)
        [sltd] = [db for db in reply.body["databases"] if db["code"] == "SLTD"]
        count: int = sltd["records"]
        return count

    assert sltd_records(api_keys["fra"]) == 154
    assert sltd_records(api_keys["gbr"]) == 155
    assert sltd_records(api_keys["uto"]) == 155


# --- /v1/databases and /healthz ---------------------------------------------------------


def test_databases_lists_the_catalog(http: LocalClient, api_keys: dict[str, str]) -> None:
    reply = http.request("GET", "/v1/databases", key=api_keys["fra"])
    assert reply.status == 200
    listed = reply.body["databases"]
    assert [db["code"] for db in listed] == list(DATABASES) and listed[0]["code"] == "SLTD"
    sltd = listed[0]
    assert sltd["name"] == "Stolen and Lost Travel Documents"
    assert sltd["matcher"] == "exact" and sltd["loaded"] and sltd["screenable"]
    assert sltd["generation"] == 2 and sltd["segments"] == 2
    assert datetime.fromisoformat(sltd["updated"]).year >= 2024
    for other in listed[1:]:
        assert other["records"] == 0 and other["updated"] is None and not other["loaded"]
        assert set(other) == set(sltd)
    assert {db["code"] for db in listed if db["screenable"]} == {
        db.code for db in DATABASES.values() if screenable(db)
    }
    smv = next(db for db in listed if db["code"] == "SMV")
    assert smv["lookups"] == [["vin"], ["plate", "country"]] and smv["screenable"]
    assert smv["fields"][0]["name"] == "vin" and not smv["fields"][0]["required"]


def test_databases_in_msgpack_when_accepted(http: LocalClient, api_keys: dict[str, str]) -> None:
    reply = http.request(
        "GET", "/v1/databases", key=api_keys["fra"], headers={"Accept": "application/msgpack"}
    )
    assert reply.headers["Content-Type"] == "application/msgpack"
    assert len(reply.body["databases"]) == 19


def test_healthz_needs_no_key(http: LocalClient) -> None:
    reply = http.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.body["status"] == "ok"
    assert reply.body["generations"] == {"SLTD": 2}
    assert reply.body["pid"] > 0 and reply.body["refused"] == {}


def test_healthz_503_until_mapped(make_client: MakeClient, served_data: Path) -> None:
    client = make_client(data=served_data)
    client.service.live.ready = False
    reply = client.request("GET", "/healthz")
    assert reply.status == 503 and reply.body["status"] == "starting"
    client.service.stopping = True
    assert client.request("GET", "/healthz").body["status"] == "stopping"


# --- keys over HTTP ---------------------------------------------------------------------


def keyed_client(
    make_client: MakeClient, served_data: Path, tmp_path: Path
) -> tuple[LocalClient, dict[str, str]]:
    path = tmp_path / "keys.json"
    keys = {
        "ncb": add_key(path, "ncb-fra", "FRA", "ncb")[0],
        "ops": add_key(path, "ops-1", "XPO", "ops")[0],
        "gate": add_key(path, "gate-1", "FRA", "frontline")[0],
    }
    return make_client(data=served_data, keys=path), keys


def test_ncb_makes_a_frontline_key_for_its_country(
    make_client: MakeClient, served_data: Path, tmp_path: Path
) -> None:
    client, keys = keyed_client(make_client, served_data, tmp_path)
    reply = client.request("POST", "/v1/keys", key=keys["ncb"], json={"name": "gate-2"})
    assert reply.status == 201, reply
    assert reply.body["role"] == "frontline" and reply.body["country"] == "FRA"
    assert reply.body["created_by"] == "ncb-fra (FRA, ncb)"
    assert "sha256" not in reply.body
    new = reply.body["key"]
    assert new not in (tmp_path / "keys.json").read_text()
    assert screen(client, new, SPECIMEN)[0]["hit"] is True  # this worker accepts it at once
    explicit = client.request(
        "POST", "/v1/keys", key=keys["ncb"],
        json={"name": "gate-3", "country": "fra", "role": "frontline"},
    )  # fmt: skip
    assert explicit.status == 201 and explicit.body["country"] == "FRA"


def test_ncb_may_not_make_other_keys(
    make_client: MakeClient, served_data: Path, tmp_path: Path
) -> None:
    client, keys = keyed_client(make_client, served_data, tmp_path)
    other = client.request(
        "POST", "/v1/keys", key=keys["ncb"], json={"name": "gate-9", "country": "GBR"}
    )
    assert other.status == 403
    assert other.error["message"] == "an ncb key of FRA may create keys only for FRA, not GBR"
    ncb = client.request("POST", "/v1/keys", key=keys["ncb"], json={"name": "n", "role": "ncb"})
    assert ncb.status == 403 and ncb.error["code"] == "forbidden"
    gate = client.request("POST", "/v1/keys", key=keys["gate"], json={"name": "gate-8"})
    assert gate.status == 403


def test_ops_makes_any_key(make_client: MakeClient, served_data: Path, tmp_path: Path) -> None:
    client, keys = keyed_client(make_client, served_data, tmp_path)
    reply = client.request(
        "POST",
        "/v1/keys",
        key=keys["ops"],
        json={"name": "ncb-gbr", "country": "GBR", "role": "ncb"},
    )
    assert reply.status == 201 and reply.body["role"] == "ncb"
    made = client.request("POST", "/v1/keys", key=reply.body["key"], json={"name": "gate-1"})
    assert made.status == 201 and made.body["country"] == "GBR"


def test_bad_key_requests(make_client: MakeClient, served_data: Path, tmp_path: Path) -> None:
    client, keys = keyed_client(make_client, served_data, tmp_path)
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "x", "country": "ZZZ"}, "country"),
        ({"name": "x", "role": "king"}, "role"),
        ({"name": "gate-1", "country": "FRA"}, "name"),  # FRA already has a gate-1
        (["name"], "body"),
    ):
        reply = client.request("POST", "/v1/keys", key=keys["ops"], json=body)
        assert reply.status == 400, (body, reply)
        assert reply.error["message"].startswith(f"{field}:"), reply


def test_key_file_changes_are_seen(
    make_client: MakeClient, served_data: Path, tmp_path: Path
) -> None:
    client, _keys = keyed_client(make_client, served_data, tmp_path)
    later = add_key(tmp_path / "keys.json", "late", "GBR", "frontline")[0]
    assert client.request("GET", "/v1/databases", key=later).status == 401
    client.refresh()
    assert client.request("GET", "/v1/databases", key=later).status == 200
    (tmp_path / "keys.json").write_text("garbage", encoding="utf-8")
    client.refresh()
    assert client.request("GET", "/v1/databases", key=later).status == 200  # kept the old keys
    assert "not a key file" in client.request("GET", "/healthz").body["refused"]["keys"]


# --- live data in process ----------------------------------------------------------------


def test_a_load_is_served_after_refresh(
    make_client: MakeClient, loaded: Path, load_rows: LoadRows, tmp_path: Path
) -> None:
    key = add_key(tmp_path / "keys.json", "gate", "FRA", "frontline")[0]
    client = make_client(data=loaded, keys=tmp_path / "keys.json")
    assert screen(client, key, q("NEW1"))[0]["hit"] is False
    load_rows(loaded, "UTO", "NEW1,UTO,stolen,,\n")
    client.refresh()
    assert screen(client, key, q("NEW1"))[0]["hit"] is True
    assert client.request("GET", "/healthz").body["generations"] == {"SLTD": 3}


def test_a_broken_generation_is_refused(
    make_client: MakeClient, loaded: Path, tmp_path: Path
) -> None:
    key = add_key(tmp_path / "keys.json", "gate", "FRA", "frontline")[0]
    client = make_client(data=loaded, keys=tmp_path / "keys.json")
    folder = loaded / "SLTD"
    good = read_manifest(folder, "SLTD")
    bad_segment = folder / "seg-000077.seg"
    corrupt_copy(folder / f"{good.segments[0].name}.seg", bad_segment)
    entry = type(good.segments[0])("seg-000077", good.segments[0].records)
    write_manifest(folder, good.successor((*good.segments, entry), good.next_segment))
    client.refresh()
    health = client.request("GET", "/healthz").body
    assert health["generations"] == {"SLTD": 2}
    assert str(bad_segment) in health["refused"]["SLTD"]
    assert "fails its checksum" in health["refused"]["SLTD"]
    assert screen(client, key, SPECIMEN)[0]["hit"] is True
    write_manifest(folder, good.successor(good.segments, good.next_segment))
    client.refresh()
    health = client.request("GET", "/healthz").body
    assert health["generations"] == {"SLTD": 3} and health["refused"] == {}


def corrupt_copy(source: Path, target: Path) -> None:
    """A copy of a segment with one byte flipped in its last section (the records)."""
    raw = bytearray(source.read_bytes())
    raw[-20] ^= 0xFF
    target.write_bytes(bytes(raw))


# --- hostile bodies: always a 4xx with a message, never a 5xx ---------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip
FIELD_VALUES = JSON_VALUES | st.sampled_from(["SLTD", "sltd", "UTO", "L898902C3", "D", ""])
QUERIES = st.lists(
    st.dictionaries(st.sampled_from(["db", "number", "country", "type", "x"]), FIELD_VALUES,
                    max_size=4) | JSON_VALUES,
    max_size=6,
)  # fmt: skip
BODIES = st.one_of(
    st.binary(max_size=200).map(lambda raw: (raw, "application/json")),
    st.binary(max_size=200).map(lambda raw: (raw, "application/msgpack")),
    JSON_VALUES.map(lambda value: (orjson.dumps(value), "application/json")),
    JSON_VALUES.map(lambda value: (msgpack.packb(value), "application/msgpack")),
    QUERIES.map(lambda queries: (orjson.dumps({"queries": queries}), "application/json")),
    QUERIES.map(lambda queries: (msgpack.packb({"queries": queries}), "application/msgpack")),
    st.dictionaries(JSON_VALUES.filter(lambda k: isinstance(k, int | str | bool)), JSON_VALUES,
                    max_size=3).map(lambda d: (msgpack.packb(d), "application/msgpack")),
)  # fmt: skip


def check_answer(reply: Any, sent: object) -> None:
    assert reply.status < 500, reply
    if reply.status >= 400:
        assert reply.status in (400, 413), reply
        assert set(reply.body) == {"error"}
        assert reply.body["error"]["message"]
        return
    queries = sent["queries"] if isinstance(sent, dict) else None
    assert isinstance(queries, list)
    assert len(reply.body["results"]) == len(queries)
    for result in reply.body["results"]:
        assert set(result) in ({"hit", "matches"}, {"error"}), result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_hostile_screen_bodies(
    http: LocalClient, api_keys: dict[str, str], body: tuple[bytes, str]
) -> None:
    raw, kind = body
    reply = http.request(
        "POST", "/v1/screen", key=api_keys["fra"], data=raw, headers={"Content-Type": kind}
    )
    try:
        sent = (
            msgpack.unpackb(raw, strict_map_key=False) if "msgpack" in kind else orjson.loads(raw)
        )
    except Exception:
        sent = None
    check_answer(reply, sent)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_hostile_key_bodies(
    http: LocalClient, api_keys: dict[str, str], body: tuple[bytes, str]
) -> None:
    raw, kind = body
    reply = http.request(
        "POST", "/v1/keys", key=api_keys["uto"], data=raw, headers={"Content-Type": kind}
    )
    assert reply.status == 403  # a frontline key: refused before the body is read
    reply = http.request(
        "POST", "/v1/keys", key=api_keys["ncb_fra"], data=raw, headers={"Content-Type": kind}
    )
    assert 400 <= reply.status < 500 or reply.status == 201, reply

"""`GET /v1/hits`: an NCB reads the hits on its own records, and only those, oldest first,
resumable by cursor without ever skipping one: in process, then with 2 real workers
writing at once across rotations."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import pytest

from screening.hits_view import encode_cursor
from screening.journal import BEGINNING, Position, read_page
from screening.keys import add_key
from screening.testing import LocalClient, MakeClient, Serve, ServerProcess

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}

KEYS = {
    "gate-3": ("frontline", "GBR"),
    "gate-uto": ("frontline", "UTO"),
    "ncb-uto": ("ncb", "UTO"),
    "ncb-uto-2": ("ncb", "UTO"),
    "ncb-fra": ("ncb", "FRA"),
    "ncb-gbr": ("ncb", "GBR"),
    "ops": ("ops", "XPO"),
}

Client = LocalClient | ServerProcess


@pytest.fixture
def keys(loaded: Path) -> dict[str, str]:
    return {
        name: add_key(loaded / "keys.json", name, country, role)[0]
        for name, (role, country) in KEYS.items()
    }


def screen(client: Client, key: str, *queries: object) -> Any:
    reply = client.request("POST", "/v1/screen", key=key, json={"queries": list(queries)})
    assert reply.status == 200, reply
    return reply.body


def sltd(number: str, country: str = "UTO") -> dict[str, str]:
    return {"db": "SLTD", "number": number, "country": country}


def read_hits(client: Client, key: str, since: str | None = None, limit: int | None = None) -> Any:
    query = "&".join(
        f"{name}={value}" for name, value in (("since", since), ("limit", limit)) if value
    )
    reply = client.request("GET", f"/v1/hits?{query}" if query else "/v1/hits", key=key)
    assert reply.status == 200, reply
    return reply.body


def test_the_owner_ncb_is_told_of_a_hit_with_where_and_when(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    screen(client, keys["gate-3"], SPECIMEN, sltd("NOPE"))
    page = read_hits(client, keys["ncb-uto"])
    [hit] = page["hits"]
    assert hit["db"] == "SLTD" and hit["id"] == "SLTD/L898902C3/UTO/UTO"
    assert hit["record"]["number"] == "L898902C3" and hit["record"]["owner"] == "UTO"
    assert hit["by"] == {"country": "GBR", "name": "gate-3"}
    assert hit["at"].endswith("Z") and hit["match"] == "exact"
    assert hit["endpoint"] == "/v1/screen" and page["more"] is False
    assert read_hits(client, keys["ncb-uto-2"])["hits"] == [hit]  # every ncb key of UTO
    assert read_hits(client, keys["ncb-fra"])["hits"] == []
    assert read_hits(client, keys["ncb-gbr"])["hits"] == []  # the checker is not the owner


def test_each_hit_goes_to_its_records_owner_only(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    screen(client, keys["gate-3"], sltd("DUP1", "FRA"), sltd("X1", "FRA"), sltd("N001"))
    fra = [hit["id"] for hit in read_hits(client, keys["ncb-fra"])["hits"]]
    uto = [hit["id"] for hit in read_hits(client, keys["ncb-uto"])["hits"]]
    assert fra == ["SLTD/DUP1/FRA/FRA", "SLTD/X1/FRA/FRA"]
    assert uto == ["SLTD/N001/UTO/UTO"]  # DUP1 of UTO matched number_only: not a hit


def test_the_cursor_returns_only_newer_hits_in_order(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    empty = read_hits(client, keys["ncb-uto"])
    assert empty["hits"] == [] and empty["more"] is False
    for number in range(5):
        screen(client, keys["gate-3"], sltd(f"N{number:03d}"))
    first = read_hits(client, keys["ncb-uto"], since=empty["cursor"], limit=2)
    assert [hit["record"]["number"] for hit in first["hits"]] == ["N000", "N001"]
    assert first["more"] is True
    second = read_hits(client, keys["ncb-uto"], since=first["cursor"], limit=2)
    third = read_hits(client, keys["ncb-uto"], since=second["cursor"], limit=2)
    assert [hit["record"]["number"] for hit in second["hits"] + third["hits"]] == [
        "N002",
        "N003",
        "N004",
    ]
    assert third["more"] is False
    idle = read_hits(client, keys["ncb-uto"], since=third["cursor"])
    assert idle == {"hits": [], "cursor": third["cursor"], "more": False}
    screen(client, keys["gate-uto"], sltd("N005"))
    [late] = read_hits(client, keys["ncb-uto"], since=idle["cursor"])["hits"]
    assert late["record"]["number"] == "N005" and late["by"]["country"] == "UTO"


def test_a_cursor_from_before_the_worker_streams_reads_on_from_where_it_was(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    """An NCB's `h1` cursor into the one shared file an older server wrote: the hits after
    it there, then every hit of the worker streams, none skipped, none twice."""
    client = make_client(data=loaded)
    for number in range(3):
        screen(client, keys["gate-3"], sltd(f"N{number:03d}"))
    stream = loaded / "hits" / "UTO" / "w0"
    legacy = loaded / "hits" / "UTO" / "00000001.jsonl"
    old_lines = (stream / "00000001.jsonl").read_bytes().splitlines(keepends=True)
    legacy.write_bytes(b"".join(old_lines[:2]))  # what the older server wrote
    (stream / "00000001.jsonl").write_bytes(old_lines[2])  # what this one wrote since
    old_cursor = base64.urlsafe_b64encode(f"h1:UTO:1:{len(old_lines[0])}".encode()).decode()
    page = read_hits(client, keys["ncb-uto"], since=old_cursor.rstrip("="))
    assert [hit["record"]["number"] for hit in page["hits"]] == ["N001", "N002"]
    everything = read_hits(client, keys["ncb-uto"])
    assert [hit["record"]["number"] for hit in everything["hits"]] == ["N000", "N001", "N002"]
    assert everything["cursor"] == page["cursor"]


def test_only_ncb_keys_read_hits(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    for name in ("gate-3", "gate-uto", "ops"):
        reply = client.request("GET", "/v1/hits", key=keys[name])
        assert reply.status == 403 and reply.error["code"] == "forbidden", name
        assert "ncb" in reply.error["message"]
    assert client.request("GET", "/v1/hits").status == 401
    assert client.request("POST", "/v1/hits", key=keys["ncb-uto"]).status == 405


def test_bad_cursors_and_limits_are_400s(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    screen(client, keys["gate-3"], SPECIMEN)
    uto = read_hits(client, keys["ncb-uto"])["cursor"]
    fra = read_hits(client, keys["ncb-fra"])["cursor"]
    cases = {
        "since=garbage": "since: not a cursor this server gave out",
        f"since={fra}": "since: this cursor is for the hits of another country",
        f"since={encode_cursor('UTO', {'w0': Position(1, 3)})}": "start of a line",
        f"since={encode_cursor('UTO', {'w0': Position(7, 0)})}": "past the newest file",
        f"since={encode_cursor('UTO', {'w5': Position(1, 0)})}": "a stream this journal",
        "limit=0": "limit: a whole number from 1 to 10,000",
        "limit=10001": "limit",
        "limit=ten": "limit",
    }
    for query, message in cases.items():
        reply = client.request("GET", f"/v1/hits?{query}", key=keys["ncb-uto"])
        assert reply.status == 400, query
        assert reply.error["code"] == "bad_request" and message in reply.error["message"], query
    assert read_hits(client, keys["ncb-uto"], since=uto)["hits"] == []


def test_msgpack_when_accepted(make_client: MakeClient, loaded: Path, keys: dict[str, str]) -> None:
    client = make_client(data=loaded)
    screen(client, keys["gate-3"], SPECIMEN)
    reply = client.request(
        "GET", "/v1/hits", key=keys["ncb-uto"], headers={"Accept": "application/msgpack"}
    )
    assert reply.headers["Content-Type"] == "application/msgpack"
    assert reply.body["hits"][0]["id"] == "SLTD/L898902C3/UTO/UTO"


def test_an_mrz_hit_is_told_too(
    make_client: MakeClient, loaded: Path, keys: dict[str, str]
) -> None:
    client = make_client(data=loaded)
    zone = (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    )
    assert (
        client.request("POST", "/v1/screen/mrz", key=keys["gate-3"], json={"mrz": zone}).status
        == 200
    )
    [hit] = read_hits(client, keys["ncb-uto"])["hits"]
    assert hit["endpoint"] == "/v1/screen/mrz" and hit["id"] == "SLTD/L898902C3/UTO/UTO"


# --- two real workers --------------------------------------------------------------------


def test_two_workers_nothing_skipped_across_rotations(
    serve: Serve, loaded: Path, keys: dict[str, str]
) -> None:
    """Terminals screen through both workers while the NCB polls with its cursor; small
    files make the hits journal rotate meanwhile. Every hit is read exactly once, other
    countries see none of them, and the server's log holds no query value."""
    server = serve(
        "--data", str(loaded), "--workers", "2", "--audit-rotate", "1500", "--audit-sync", "0"
    )
    pids = server.wait_for_workers(2)
    assert len(pids) == 2
    numbers = [f"N{index:03d}" for index in range(150)]
    screened = threading.Event()

    def terminal(part: list[str]) -> None:
        for number in part:
            body = screen(server, keys["gate-3"], sltd(number), sltd("ZQX4711", "QQZ"))
            assert body["results"][0]["hit"] is True

    terminals = [threading.Thread(target=terminal, args=(numbers[i::2],)) for i in range(2)]
    for thread in terminals:
        thread.start()
    read: list[dict[str, Any]] = []
    cursor = None
    while True:
        done = screened.is_set()
        page = read_hits(server, keys["ncb-uto"], since=cursor, limit=7)
        read += page["hits"]
        cursor = page["cursor"]
        if done and not page["more"]:
            break
        if not any(thread.is_alive() for thread in terminals):
            screened.set()
    for thread in terminals:
        thread.join()
    got = [hit["record"]["number"] for hit in read]
    assert sorted(got) == numbers  # each exactly once
    for part in (numbers[0::2], numbers[1::2]):  # a terminal's checks, in the order it made them
        assert [number for number in got if number in part] == part
    hit_files = sorted((loaded / "hits" / "UTO").rglob("*.jsonl"))
    assert len(hit_files) > 3  # it rotated while being read
    assert read_hits(server, keys["ncb-fra"])["hits"] == []
    assert read_hits(server, keys["ncb-gbr"])["hits"] == []
    assert server.request("GET", "/v1/hits", key=keys["gate-uto"]).status == 403
    assert read_hits(server, keys["ncb-uto"], since=cursor)["hits"] == []
    assert server.stop() == 0
    for value in ("ZQX4711", "QQZ", "N042", "L898902C3"):
        assert value not in server.log
    entries = read_page(loaded / "audit", BEGINNING, 1000).entries
    assert len(entries) == 150 and {entry["worker"] for entry in entries} == {0, 1}
    assert all(entry["queries"][1]["number"] == "ZQX4711" for entry in entries)

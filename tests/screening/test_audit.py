"""The audit trail: every answered screening is written down (who, when, what was asked,
what it hit) before the answer leaves; `screening audit` reads it back with filters; the
query values never reach the service's log."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from screening.audit import (
    TrailFilter,
    audit_directory,
    counts_as_hit,
    dumps_line,
    hit_matches,
    since_stamp,
)
from screening.cli import main
from screening.journal import BEGINNING, file_numbers, file_path, read_page
from screening.keys import add_key
from screening.testing import LocalClient, MakeClient

SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}
ZONE = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"


def trail(data: Path) -> list[dict[str, Any]]:
    """The audit entries as they are on disk right now (no waiting, no sync)."""
    return read_page(audit_directory(data), BEGINNING, 100_000).entries


@pytest.fixture
def keyed(loaded: Path) -> tuple[Path, dict[str, str]]:
    """The loaded data directory and its keys: gate-3 (GBR), gate-9 (FRA), ncb (UTO)."""
    keys = loaded / "keys.json"
    made = {
        "gate-3": add_key(keys, "gate-3", "GBR", "frontline")[0],
        "gate-9": add_key(keys, "gate-9", "FRA", "frontline")[0],
        "ncb": add_key(keys, "ncb", "UTO", "ncb")[0],
    }
    return loaded, made


def screen(client: LocalClient, key: str, *queries: object, **options: Any) -> Any:
    reply = client.request(
        "POST", "/v1/screen", key=key, json={"queries": list(queries)}, **options
    )
    assert reply.status == 200, reply
    return reply.body


def test_a_check_is_written_down_before_it_is_answered(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    miss = {"db": "sltd", "number": "NOPE1", "country": "UTO"}
    body = screen(client, keys["gate-3"], SPECIMEN, miss, "x", headers={"X-Request-Id": "r-77"})
    [entry] = trail(data)  # read the moment the answer is in: nothing to wait for
    assert entry["key"]["name"] == "gate-3" and entry["key"]["country"] == "GBR"
    assert entry["key"]["role"] == "frontline" and entry["key"]["id"]
    assert entry["endpoint"] == "/v1/screen" and entry["request"] == "r-77"
    assert entry["at"].endswith("Z") and len(entry["check"]) == 16
    assert entry["dbs"] == ["SLTD"]
    assert entry["queries"] == [SPECIMEN, miss, "x"]  # as the client sent them
    assert entry["answers"] == [
        {"hit": True, "ids": ["SLTD/L898902C3/UTO/UTO"]},
        {"hit": False},
        {"error": "bad_query"},
    ]
    assert entry["hit"] is True and entry["ids"] == ["SLTD/L898902C3/UTO/UTO"]
    assert body["results"][0]["hit"] is True


def test_an_mrz_check_keeps_the_zone_and_its_document(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    reply = client.request("POST", "/v1/screen/mrz", key=keys["gate-9"], json={"mrz": ZONE})
    assert reply.status == 200 and reply.body["hit"] is True
    [entry] = trail(data)
    assert entry["endpoint"] == "/v1/screen/mrz" and entry["mrz"] == ZONE
    assert entry["document"]["number"] == "L898902C3" and entry["valid"] is True
    assert entry["document"]["surname"] == "ERIKSSON"
    assert entry["dbs"] == ["SLTD"]  # TDAWN has no data here, NOMINAL no matcher yet
    assert entry["answers"] == [{"db": "SLTD", "hit": True, "ids": ["SLTD/L898902C3/UTO/UTO"]}]
    assert entry["hit"] is True


def test_a_big_batch_on_the_thread_is_written_down_too(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    queries = [{"db": "SLTD", "number": f"N{i:03d}", "country": "UTO"} for i in range(150)]
    screen(client, keys["gate-3"], *queries)
    [entry] = trail(data)
    assert entry["queries"] == queries
    assert len(entry["ids"]) == 150 and all(answer["hit"] for answer in entry["answers"])


def test_number_only_kin_is_no_hit(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    body = screen(client, keys["gate-3"], {"db": "SLTD", "number": "DUP1", "country": "FRA"})
    assert [match["match"] for match in body["results"][0]["matches"]] == ["exact", "number_only"]
    [entry] = trail(data)
    assert entry["ids"] == ["SLTD/DUP1/FRA/FRA"]
    assert [match["id"] for match in hit_matches(body["results"])] == ["SLTD/DUP1/FRA/FRA"]


def test_what_is_not_screened_is_not_in_the_trail(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    assert client.request("POST", "/v1/screen", key=keys["gate-3"], data=b"{").status == 400
    assert client.request("POST", "/v1/screen", json={"queries": [SPECIMEN]}).status == 401
    assert trail(data) == []


def test_msgpack_values_json_cannot_hold_are_kept_readably(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    odd = {"db": "SLTD", "number": b"\x00\xff", "country": "UTO"}
    reply = client.request("POST", "/v1/screen", key=keys["gate-3"], packed={"queries": [odd]})
    assert reply.status == 200
    [entry] = trail(data)
    assert entry["queries"][0]["number"] == {"bytes": "00ff"}
    assert orjson.loads(dumps_line({b"k": 1, "big": 2**70})) == {"b'k'": 1, "big": str(2**70)}


def test_a_check_that_cannot_be_written_down_is_not_answered(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    data, keys = keyed
    audit_directory(data).write_text("not a directory")
    client = make_client(data=data)
    reply = client.request("POST", "/v1/screen", key=keys["gate-3"], json={"queries": [SPECIMEN]})
    assert reply.status == 503 and reply.error["code"] == "unavailable"
    assert "audit trail cannot be written" in reply.error["message"]
    assert "results" not in reply.body
    assert "cannot append" in caplog.text


def test_hit_rules() -> None:
    assert counts_as_hit({"db": "SLTD", "match": "exact", "score": 1.0})
    assert not counts_as_hit({"db": "SLTD", "match": "number_only", "score": 0.0})
    assert counts_as_hit({"db": "NOMINAL", "match": "fuzzy", "score": 0.9})
    assert not counts_as_hit({"db": "NOMINAL", "match": "fuzzy", "score": 0.5})
    results: list[dict[str, Any]] = [
        {
            "hit": False,
            "matches": [{"db": "SLTD", "match": "number_only", "score": 0.0, "id": "a"}],
        },
        {"error": {"code": "bad_query", "message": "..."}},
    ]
    assert hit_matches(results) == []


# --- the service's log never sees a query value -------------------------------------------


def test_query_values_never_reach_the_log(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    data, keys = keyed
    caplog.set_level(logging.DEBUG)
    client = make_client(data=data)
    secret_values = ["ZQX4711", "L898902C3", "QQZ", "ERIKSSON"]
    key = keys["gate-3"]
    screen(client, key, SPECIMEN, {"db": "SLTD", "number": "ZQX4711", "country": "QQZ"})
    client.request("POST", "/v1/screen/mrz", key=key, json={"mrz": ZONE})
    client.request("POST", "/v1/screen/mrz", key=key, json={"mrz": "ZQX4711"})  # a 400
    client.request("POST", "/v1/screen", key=key, data=b'{"queries": [ZQX4711')  # a 400
    client.request("POST", "/v1/screen?number=ZQX4711", json={"queries": []})  # a 401
    client.request("GET", "/v1/hits?since=ZQX4711", key=keys["ncb"])  # a 400
    client.refresh()
    # aiohttp's access log is the test server's; `screening serve` runs without one
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name != "aiohttp.access"
    )
    assert "serving generation" in logged  # the service did log
    for value in secret_values:
        assert value not in logged
    written = audit_directory(data).rglob("*.jsonl")
    assert "ZQX4711" in "".join(path.read_text() for path in written)


# --- `screening audit` ----------------------------------------------------------------------


def run_audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[Any], str]:
    status = main(["audit", *args])
    out, err = capsys.readouterr()
    return status, [orjson.loads(text) for text in out.splitlines()], err


def test_the_audit_command_filters_by_time_key_and_hit(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    screen(client, keys["gate-3"], SPECIMEN)
    screen(client, keys["gate-9"], {"db": "SLTD", "number": "NOPE", "country": "FRA"})
    screen(client, keys["gate-3"], {"db": "SLTD", "number": "NOPE", "country": "FRA"})
    every = trail(data)
    status, printed, _ = run_audit(capsys, "--data", str(data))
    assert status == 0 and printed == every and len(every) == 3
    assert [entry["at"] for entry in printed] == sorted(entry["at"] for entry in printed)
    _, gate3, _ = run_audit(capsys, "--data", str(data), "--key", "gate-3")
    assert gate3 == [every[0], every[2]]
    _, by_id, _ = run_audit(capsys, "--data", str(data), "--key", every[1]["key"]["id"])
    assert by_id == [every[1]]
    _, hits, _ = run_audit(capsys, "--data", str(data), "--hits")
    assert hits == [every[0]]
    _, later, _ = run_audit(capsys, "--data", str(data), "--since", every[1]["at"])
    assert later == every[1:]
    _, none, _ = run_audit(capsys, "--data", str(data), "--since", "2999-01-01")
    assert none == []
    _, both, _ = run_audit(capsys, "--data", str(data), "--key", "gate-3", "--hits")
    assert both == [every[0]]


def test_the_audit_command_skips_and_reports_a_damaged_line(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    data, keys = keyed
    client = make_client(data=data)
    screen(client, keys["gate-3"], SPECIMEN)
    client.service.audit.close()  # the worker is killed mid-write: its stream is free again
    directory = audit_directory(data) / "w0"
    with open(file_path(directory, file_numbers(directory)[-1]), "ab") as out:
        out.write(b'{"at":"2026-11-23T08:00:00.000000Z","check":"cut sh')  # a crash mid-write
    screen(make_client(data=data), keys["gate-9"], SPECIMEN)  # its restart, on that stream
    status, printed, err = run_audit(capsys, "--data", str(data))
    assert status == 0
    assert [entry["key"]["name"] for entry in printed] == ["gate-3", "gate-9"]
    assert "a damaged line" in err and "w0/00000001.jsonl" in err


def _at_a_terminal() -> None:
    """Ctrl-C's SIGINT handled as at a terminal, even when this test runs in a background
    job (a shell starts those with SIGINT ignored, and Python then leaves it so)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_audit_command_follows_new_checks_until_interrupted(
    make_client: MakeClient, keyed: tuple[Path, dict[str, str]], stop: signal.Signals
) -> None:
    """`--follow`: the `tail -f` of every worker's stream at once, until Ctrl-C or SIGTERM."""
    data, keys = keyed
    client = make_client(data=data)
    screen(client, keys["gate-3"], SPECIMEN)
    command = [sys.executable, "-m", "screening.cli", "audit", "--data", str(data), "--follow"]
    follower = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_at_a_terminal
    )
    try:
        assert follower.stdout is not None
        first = orjson.loads(follower.stdout.readline())
        screen(client, keys["gate-9"], SPECIMEN)
        second = orjson.loads(follower.stdout.readline())  # waits for the next read
        assert [first["key"]["name"], second["key"]["name"]] == ["gate-3", "gate-9"]
    finally:
        follower.send_signal(stop)
        try:
            _, err = follower.communicate(timeout=30)
        finally:
            follower.kill()  # no-op once it has exited; never left behind by a failure
            follower.communicate()
    assert follower.returncode == 0, err
    assert [entry["key"]["name"] for entry in trail(data)] == ["gate-3", "gate-9"]


def test_the_audit_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--data", str(tmp_path / "nowhere")]) == 1
    assert "no such data directory" in capsys.readouterr().err
    assert main(["audit", "--data", str(tmp_path), "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["audit", "--data", str(tmp_path)]) == 0  # nothing screened yet
    assert capsys.readouterr().out == ""


def test_since_accepts_dates_times_and_zones() -> None:
    assert since_stamp("2026-11-23") == "2026-11-23T00:00:00.000000Z"
    assert since_stamp("2026-11-23T08:30") == "2026-11-23T08:30:00.000000Z"
    assert since_stamp("2026-11-23T09:30:00+01:00") == "2026-11-23T08:30:00.000000Z"
    assert since_stamp("2026-11-23T08:30:00Z") == "2026-11-23T08:30:00.000000Z"
    with pytest.raises(ValueError, match="--since"):
        since_stamp("23/11/2026")
    keep = TrailFilter(since=since_stamp("2026-11-23T08:30"))
    entry = {"at": "2026-11-23T08:29:59.999999Z", "key": {"name": "k"}, "hit": True}
    assert not keep.keeps(orjson.dumps(entry))
    assert keep.keeps(orjson.dumps({**entry, "at": "2026-11-23T08:30:00.000000Z"}))


def test_a_header_of_undecodable_bytes_is_audited_readably() -> None:
    """aiohttp hands a header's invalid UTF-8 over as lone surrogates, which JSON cannot
    hold: the audit line keeps the rest and writes U+FFFD for them."""
    line = dumps_line({"request": "r-\udcff", "key": {"name": "gate"}, "n": 3})
    assert orjson.loads(line) == {"request": "r-\ufffd", "key": {"name": "gate"}, "n": 3}

"""An NCB batch upload end to end: loaders.load.load into the real engine (tmp_path)."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from loaders import load as load_module
from loaders.catalog import SLTD
from loaders.load import DataDirError, LoadResult, LoadUsageError, load
from loaders.readers import UnreadableFileError, Upload
from screening import open_data

HEADER = "number,country,status,type,reported_on,visible_to,note\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def upload(data: Path, owner: str, *files: Path, report: Path | None = None) -> LoadResult:
    return load(data, "SLTD", owner, [Upload.of(str(f)) for f in files], report=report)


def screen(data: Path, number: str, country: str, viewer: str | None = "FRA") -> dict[str, Any]:
    opened = open_data(data)
    try:
        [result] = opened.screen([{"db": "SLTD", "number": number, "country": country}], viewer)
        return result
    finally:
        opened.close()


def count(data: Path, viewer: str | None = None) -> int:
    opened = open_data(data)
    try:
        return opened.count(SLTD, viewer)
    finally:
        opened.close()


def generation(data: Path) -> int | None:
    opened = open_data(data)
    try:
        snapshot = opened.snapshots.get("SLTD")
        return snapshot.generation if snapshot else None
    finally:
        opened.close()


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def owners(result: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((m["record"]["owner"], m["match"]) for m in result["matches"])


MIXED = (
    HEADER
    + "L898902C3,UTO,stolen,P,2024-05-01,,\n"  # 2 good
    + "L1,ZZZ,stolen,P,,,\n"  # 3 bad country
    + 'A-12 345,D,lost,,,,"a note\nover two lines"\n'  # 4-5 good
    + "L2,UTO,found,,,,\n"  # 6 bad status
    + "\n"  # 7 blank
    + "L3,UTO,stolen\n"  # 8 too few values
    + ",UTO,stolen,,,,\n"  # 9 no number
    + "L4,UTO,lost,P,2999-01-01,,\n"  # 10 future report
    + "l5 x,fra,Revoked,pd,,,\n"  # 11 good
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_mixed_upload(tmp_path: Path, data: Path) -> None:
    source = write(tmp_path / "upload.csv", MIXED)
    result = upload(data, "UTO", source)
    assert (result.accepted, result.rejected, result.deleted) == (3, 5, 0)
    assert result.generation == 1
    report = tmp_path / "upload.csv.rejects.jsonl"
    assert result.reports == [report]
    assert str(report) in result.summary()
    entries = report_lines(report)
    assert [(e["line"], e["reason"].split(":")[0]) for e in entries] == [
        (3, "country"),
        (6, "status"),
        (8, "row has 3 values, the header has 7"),
        (9, "number"),
        (10, "reported_on"),
    ]
    assert all(e["file"] == str(source) for e in entries)
    assert entries[0]["row"]["number"] == "L1"
    assert entries[2]["row"] == ["L3", "UTO", "stolen"]
    assert entries[3]["reason"] == "number: required, but missing or empty"
    assert "future" in entries[4]["reason"]

    hit = screen(data, "l89 8902 c3", "uto")
    assert hit["hit"] is True
    [match] = hit["matches"]
    assert match["match"] == "exact"
    assert match["id"] == "SLTD/L898902C3/UTO/UTO"
    assert match["record"] == {
        "number": "L898902C3",
        "country": "UTO",
        "type": "P",
        "status": "stolen",
        "reported_on": "2024-05-01",
        "owner": "UTO",
    }
    noted = screen(data, "A12345", "D")["matches"][0]["record"]
    assert noted["note"] == "a note\nover two lines"
    assert screen(data, "L5X", "FRA")["matches"][0]["record"]["status"] == "revoked"
    for number, country in [("L1", "UTO"), ("L2", "UTO"), ("L3", "UTO"), ("L4", "UTO")]:
        assert screen(data, number, country) == {"hit": False, "matches": []}
    assert count(data) == 3


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("quoted", [False, True])
def test_line_ends(tmp_path: Path, data: Path, newline: str, quoted: bool) -> None:
    note = '"n"' if quoted else "n"
    lines = [HEADER.strip(), f"L1,UTO,stolen,,,,{note}", "L2,ZZZ,stolen,,,,", "", "L3,UTO,lost,,,,"]
    source = write(tmp_path / "a.csv", newline.join(lines) + newline)
    result = upload(data, "UTO", source)
    assert (result.accepted, result.rejected) == (2, 1)
    assert [e["line"] for e in report_lines(result.reports[0])] == [3]
    assert screen(data, "L3", "UTO")["matches"][0]["record"]["status"] == "lost"
    assert screen(data, "L1", "UTO")["matches"][0]["record"]["note"] == "n"


def test_clean_upload_leaves_no_report(tmp_path: Path, data: Path) -> None:
    source = write(tmp_path / "ok.csv", HEADER + "L1,UTO,stolen,,,,\n")
    result = upload(data, "UTO", source)
    assert (result.accepted, result.rejected, result.reports) == (1, 0, [])
    assert not (tmp_path / "ok.csv.rejects.jsonl").exists()


def test_a_load_leaves_no_thread_behind(tmp_path: Path, data: Path) -> None:
    """tqdm would start a monitor thread, even for a hidden bar, that lives on in the
    process (a server that built its demo data kept it)."""
    source = write(tmp_path / "ok.csv", HEADER + "L1,UTO,stolen,,,,\n")
    for progress in (False, True):
        load(data, "SLTD", "UTO", [Upload.of(str(source))], progress=progress)
        assert "tqdm_monitor" not in {thread.name for thread in threading.enumerate()}


def test_explicit_report_path_collects_all_files(tmp_path: Path, data: Path) -> None:
    one = write(tmp_path / "one.csv", HEADER + "L1,ZZZ,stolen,,,,\n")
    two = write(tmp_path / "two.jsonl", '{"number": "L2", "country": "UTO"}\n')
    report = tmp_path / "out" / "rejects.jsonl"
    result = upload(data, "UTO", one, two, report=report)
    assert result.reports == [report]
    entries = report_lines(report)
    assert [(e["file"], e["line"]) for e in entries] == [(str(one), 2), (str(two), 1)]
    assert entries[1]["reason"] == "status: required, but missing or empty"


def test_delete_withdraws_and_unknown_delete_is_rejected(tmp_path: Path, data: Path) -> None:
    first = HEADER + "L1,UTO,stolen,,,,\nL2,UTO,stolen,,,,\n"
    upload(data, "UTO", write(tmp_path / "first.csv", first))
    assert screen(data, "L1", "UTO")["hit"] is True
    second = write(
        tmp_path / "second.csv",
        "action,number,country\n"
        "delete,l-1,uto\n"  # 2: recovered
        "delete,L9,UTO\n"  # 3: never reported
        "DELETE,L2,FRA\n",  # 4: L2 was reported as UTO's, not FRA's
    )
    result = upload(data, "UTO", second)
    assert (result.accepted, result.rejected, result.deleted) == (0, 2, 1)
    assert result.generation == 2
    entries = report_lines(tmp_path / "second.csv.rejects.jsonl")
    assert [e["line"] for e in entries] == [3, 4]
    assert all(e["reason"].startswith("action delete: no record") for e in entries)
    assert screen(data, "L1", "UTO") == {"hit": False, "matches": []}
    assert screen(data, "L2", "UTO")["hit"] is True
    assert count(data) == 1


def test_delete_only_the_owners_own_record(tmp_path: Path, data: Path) -> None:
    row = HEADER + "L1,UTO,stolen,,,,\n"
    upload(data, "UTO", write(tmp_path / "a.csv", row))
    upload(data, "FRA", write(tmp_path / "b.csv", row))
    result = upload(
        data,
        "FRA",
        write(tmp_path / "c.jsonl", '{"action":"delete","number":"L1","country":"UTO"}\n'),
    )
    assert (result.deleted, result.rejected) == (1, 0)
    assert owners(screen(data, "L1", "UTO")) == [("UTO", "exact")]


def test_same_owner_replaces_other_owner_adds(tmp_path: Path, data: Path) -> None:
    upload(data, "UTO", write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    upload(data, "UTO", write(tmp_path / "b.csv", HEADER + "l 1,uto,lost,,,,\n"))
    [match] = screen(data, "L1", "UTO")["matches"]
    assert match["record"]["status"] == "lost"
    assert count(data) == 1

    upload(data, "GBR", write(tmp_path / "c.csv", HEADER + "L1,UTO,revoked,,,,\n"))
    result = screen(data, "L1", "UTO")
    assert owners(result) == [("GBR", "exact"), ("UTO", "exact")]
    statuses = {m["record"]["owner"]: m["record"]["status"] for m in result["matches"]}
    assert statuses == {"UTO": "lost", "GBR": "revoked"}
    assert count(data) == 2


def test_same_identity_twice_in_one_file_last_row_wins(tmp_path: Path, data: Path) -> None:
    rows = HEADER + "L1,UTO,stolen,,,,first\nL2,UTO,stolen,,,,\nl-1,UTO,lost,,,,second\n"
    upload(data, "UTO", write(tmp_path / "a.csv", rows))
    [match] = screen(data, "L1", "UTO")["matches"]
    assert (match["record"]["status"], match["record"]["note"]) == ("lost", "second")
    assert count(data) == 2


def test_upsert_delete_upsert_in_one_file(tmp_path: Path, data: Path) -> None:
    rows = (
        '{"number": "L1", "country": "UTO", "status": "stolen"}\n'
        '{"action": "delete", "number": "L1", "country": "UTO"}\n'
        '{"number": "L2", "country": "UTO", "status": "stolen"}\n'
        '{"action": "delete", "number": "L2", "country": "UTO"}\n'
        '{"number": "L2", "country": "UTO", "status": "lost"}\n'
    )
    result = upload(data, "UTO", write(tmp_path / "a.jsonl", rows))
    assert (result.rejected, result.deleted) == (0, 2)
    assert screen(data, "L1", "UTO")["hit"] is False
    [match] = screen(data, "L2", "UTO")["matches"]
    assert match["record"]["status"] == "lost"
    assert count(data) == 1


def test_number_only_match_for_another_issuing_state(tmp_path: Path, data: Path) -> None:
    upload(data, "UTO", write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    result = screen(data, "L1", "FRA")
    assert result["hit"] is False
    [match] = result["matches"]
    assert (match["match"], match["score"]) == ("number_only", 0.0)
    assert match["record"]["country"] == "UTO"


def _snapshot_state(data: Path) -> tuple[int | None, int, list[str]]:
    files = sorted(os.listdir(data / "SLTD")) if (data / "SLTD").exists() else []
    return generation(data), count(data), files


@pytest.mark.parametrize("quoted", [False, True])  # a quote anywhere: the row-by-row path
def test_unreadable_file_changes_nothing(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, quoted: bool
) -> None:
    upload(data, "UTO", write(tmp_path / "first.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    before = _snapshot_state(data)
    monkeypatch.setattr(load_module, "CHUNK_ROWS", 100)  # good rows are staged before the error
    rows = "".join(f"N{i:06d},UTO,stolen,,,,\n" for i in range(3000))
    note = '"q"' if quoted else ""
    bad_rows = "".join(f"B{i},ZZZ,stolen,,,,{note}\n" for i in range(10))
    body = (HEADER + bad_rows + rows).encode() + b"X\xff1,UTO,stolen,,,,\n" + rows.encode()
    source = write(tmp_path / "broken.csv", body)
    with pytest.raises(UnreadableFileError, match="not UTF-8"):
        upload(data, "UTO", source)
    assert _snapshot_state(data) == before
    assert screen(data, "N000001", "UTO")["hit"] is False
    assert screen(data, "L1", "UTO")["hit"] is True
    assert not (tmp_path / "broken.csv.rejects.jsonl").exists()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("noheader.csv", b"", "no header"),
        ("dup.csv", b"number,number\nL1,L1\n", "twice"),
        ("latin1.csv", "number,country,status\nL1,UTO,stolen\nÉ1,UTO,stolen\n".encode("latin-1"),
         "not UTF-8"),
        ("latin1.jsonl", b'{"number": "L2", "country": "UTO", "status": "stolen"}\n{"n": "\xe9"}\n',
         "not UTF-8"),
        ("missing.csv", None, "missing.csv"),
        ("upload.xlsx", b"PK", "xlsx"),
    ],
)  # fmt: skip
def test_unreadable_files(
    tmp_path: Path, data: Path, name: str, content: bytes | None, reason: str
) -> None:
    upload(data, "UTO", write(tmp_path / "first.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    before = _snapshot_state(data)
    source = tmp_path / name
    if content is not None:
        write(source, content)
    with pytest.raises(UnreadableFileError, match=reason):
        upload(data, "UTO", source)
    assert _snapshot_state(data) == before
    assert not (tmp_path / f"{name}.rejects.jsonl").exists()


@pytest.mark.parametrize(
    "content",
    [
        "surname,given_names,dob\nERIKSSON,ANNA MARIA,1974-08-12\n",  # a NOMINAL file
        "number,status\nL2,stolen\n",  # no issuing state column
        "number,status\nL2\nL3,stolen\n",  # the same, after a bad row
        '"number","status"\n"L2","stolen"\n',  # the same, quoted
    ],
)
def test_another_databases_file_is_unreadable(tmp_path: Path, data: Path, content: str) -> None:
    upload(data, "UTO", write(tmp_path / "first.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    before = _snapshot_state(data)
    good = write(tmp_path / "good.csv", HEADER + "L3,UTO,stolen,,,,\n")
    other = write(tmp_path / "other.csv", content)
    with pytest.raises(UnreadableFileError, match="not an upload for SLTD"):
        upload(data, "UTO", good, other)
    assert _snapshot_state(data) == before
    assert not (tmp_path / "other.csv.rejects.jsonl").exists()


def test_a_file_without_the_status_column_may_still_delete(tmp_path: Path, data: Path) -> None:
    upload(data, "UTO", write(tmp_path / "first.csv", HEADER + "L1,UTO,stolen,,,,\n"))
    result = upload(
        data, "UTO", write(tmp_path / "d.csv", "number,country,action\nL1,UTO,delete\n")
    )
    assert (result.deleted, result.rejected) == (1, 0)


def test_second_file_unreadable_stores_nothing_from_the_first(tmp_path: Path, data: Path) -> None:
    good = write(tmp_path / "good.csv", HEADER + "L1,UTO,stolen,,,,\nL2,ZZZ,stolen,,,,\n")
    broken = write(tmp_path / "broken.csv", b"")
    with pytest.raises(UnreadableFileError):
        upload(data, "UTO", good, broken)
    assert generation(data) is None
    assert count(data) == 0
    assert screen(data, "L1", "UTO")["error"]["code"] == "not_loaded"
    assert not (tmp_path / "good.csv.rejects.jsonl").exists()


@pytest.mark.parametrize(
    ("db", "owner", "message"),
    [
        ("NOPE", "UTO", "unknown database"),
        ("SLTD", "ZZZ", "--owner"),
        ("SLTD", "DEU", "'D'"),
        ("SLTD", "", "--owner"),
    ],
)
def test_usage_errors(tmp_path: Path, db: str, owner: str, message: str) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen,,,,\n")
    with pytest.raises(LoadUsageError, match=message):
        load(tmp_path / "data", db, owner, [Upload.of(str(source))])
    assert not (tmp_path / "data").exists()


def test_db_code_and_owner_are_normalised(tmp_path: Path, data: Path) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen,,,,\n")
    load(data, "sltd", "d<<", [Upload.of(str(source))])
    assert owners(screen(data, "L1", "UTO")) == [("D", "exact")]


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen,,,,\n")
    not_a_dir = write(tmp_path / "data", "x")
    with pytest.raises(DataDirError, match="not a directory"):
        upload(not_a_dir, "UTO", source)
    assert not_a_dir.read_text() == "x"


def test_visible_to(tmp_path: Path, data: Path) -> None:
    rows = HEADER + "L1,UTO,stolen,,,GBR,\nL2,UTO,stolen,,,,\nL3,UTO,lost,,,usa;gbr,\n"
    upload(data, "UTO", write(tmp_path / "a.csv", rows))
    for viewer in ("GBR", "UTO"):
        result = screen(data, "L1", "UTO", viewer)
        assert result["hit"] is True, viewer
        assert "visible_to" not in result["matches"][0]["record"]
    for other in ("USA", "FRA", None):
        assert screen(data, "L1", "UTO", other) == {"hit": False, "matches": []}
        # nor hinted at as a number_only match from another issuing state
        assert screen(data, "L1", "FRA", other) == {"hit": False, "matches": []}
    assert screen(data, "L3", "UTO", "USA")["hit"] is True
    assert count(data, "USA") == 2
    assert count(data, "GBR") == 3
    assert count(data, "UTO") == 3
    assert count(data, "FRA") == 1
    assert count(data, None) == 1


# The same upload as a quote-free CSV, as a CSV with quotes and as JSON Lines -----------------
# (a quote-free CSV may take a vectorised path; whatever path a file takes, the stored
# records, the screening answers and the reject report must be the same).

DIFF_COLUMNS = (
    "action",
    "number",
    "country",
    "status",
    "type",
    "reported_on",
    "visible_to",
    "note",
)


def _mixed_rows(seed: int, count: int) -> list[dict[str, str]]:
    """Rows over a few numbers: most in their stored form, the others typed anyhow or bad."""
    pick = random.Random(seed)
    clean = {
        "action": ["", "upsert"],
        "number": ["L898902C3", "A1", "B2", "C3", "D4", "E5"],
        "country": ["UTO", "FRA", "D", "GBR"],
        "status": ["stolen", "lost", "revoked", "stolen_blank"],
        "type": ["", "P", "PD", "I"],
        "reported_on": ["", "2024-05-01", "2024-02-29"],
        "visible_to": [""],
        "note": ["", "seen at CDG", "x"],
    }
    messy = {
        "action": ["delete", "Delete", "remove", " upsert"],
        "number": ["l89 8902-c3", "a-1", "B2<", "D 4", "X" * 31, "L/1", ""],
        "country": ["uto", "d<<", "DEU", "ZZZ", " fra ", ""],
        "status": ["Stolen", "REVOKED", "found", ""],
        "type": ["p", "X", "P<"],
        "reported_on": ["2023-02-29", "2024-5-1", "2999-01-01"],
        "visible_to": ["GBR", "gbr;usa", "ZZZ", "UTO"],
        "note": ["NOTE 2", " padded "],
    }
    rows = []
    for _ in range(count):
        pools = {
            name: clean[name] + (messy[name] if pick.random() < 0.15 else []) for name in clean
        }
        rows.append({name: pick.choice(pool) for name, pool in pools.items()})
    return rows


def _as_csv(rows: list[dict[str, str]], quoted: bool) -> str:
    lines = [",".join(DIFF_COLUMNS)]
    for row in rows:
        lines.append(",".join(row[name] for name in DIFF_COLUMNS))
    if quoted:  # one quoted value anywhere: the whole file goes row by row
        lines[1] = lines[1].rsplit(",", 1)[0] + ',"' + rows[0]["note"] + '"'
    return "\r\n".join(lines) + "\r\n"


def _as_jsonl(rows: list[dict[str, str]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def _everything(data: Path) -> list[object]:
    queries = [
        {"db": "SLTD", "number": number, "country": country}
        for number in ("L898902C3", "A1", "B2", "C3", "D4", "E5")
        for country in ("UTO", "FRA", "D", "GBR")
    ]
    opened = open_data(data)
    try:
        answers: list[object] = []
        for viewer in (None, "GBR", "USA", "UTO", "FRA"):
            for result in opened.screen(queries, viewer):
                # the order of matches of one kind is the engine's (segment order): not compared
                answers.append({**result, "matches": sorted(result["matches"], key=str)})
            answers.append(opened.count(SLTD, viewer))
        return answers
    finally:
        opened.close()


@pytest.mark.parametrize(("seed", "chunk_rows"), [(1, 50_000), (2, 50_000), (3, 7), (4, 1)])
def test_every_path_stores_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, chunk_rows: int
) -> None:
    monkeypatch.setattr(load_module, "CHUNK_ROWS", chunk_rows)
    first = _mixed_rows(seed, 60)  # an earlier upload, so deletes and replacements bite
    second = _mixed_rows(seed + 100, 400)
    outcomes = []
    for kind in ("plain", "quoted", "jsonl"):
        data = tmp_path / kind / "data"
        data.parent.mkdir()
        loads = []
        for number, rows in enumerate((first, second)):
            if kind == "jsonl":
                source = write(tmp_path / kind / f"{number}.jsonl", _as_jsonl(rows))
            else:
                source = write(tmp_path / kind / f"{number}.csv", _as_csv(rows, kind == "quoted"))
            result = upload(data, "UTO", source)
            entries = report_lines(result.reports[0]) if result.reports else []
            offset = 1 if kind == "jsonl" else 0  # JSON Lines have no header line
            loads.append(
                (
                    (result.accepted, result.rejected, result.deleted),
                    # not in line order: a chunk's rejected deletes are reported after the rest
                    sorted((e["line"] + offset, e["reason"]) for e in entries),
                )
            )
        outcomes.append((kind, loads, _everything(data)))
    (_, plain_loads, plain), (_, quoted_loads, quoted), (_, jsonl_loads, jsonl) = outcomes
    assert plain_loads == quoted_loads
    assert plain_loads == jsonl_loads
    assert plain == quoted
    assert plain == jsonl

"""The `screening` command in process: screening.cli.main(argv) returns the exit code."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from indexes.container import Container
from indexes.segment import SEGMENT_MAGIC
from loaders.catalog import SLTD
from screening import open_data
from screening.cli import main

HEADER = "number,country,status\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def run_load(data: Path, *files: Path | str, owner: str = "UTO", db: str = "SLTD") -> int:
    return main(["load", "--data", str(data), "--db", db, "--owner", owner, *map(str, files)])


def screen(data: Path, number: str, country: str = "UTO") -> dict[str, Any]:
    opened = open_data(data)
    try:
        [result] = opened.screen([{"db": "SLTD", "number": number, "country": country}])
        return result
    finally:
        opened.close()


def count(data: Path) -> int:
    opened = open_data(data)
    try:
        return opened.count(SLTD, "UTO")
    finally:
        opened.close()


def test_clean_load_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen\nL2,UTO,lost\n")
    assert run_load(tmp_path / "data", source) == 0
    out = capsys.readouterr().out
    assert "2 accepted, 0 rejected, 0 deleted" in out
    assert "generation 1" in out
    assert "rejected rows" not in out
    assert screen(tmp_path / "data", "L1")["hit"] is True


def test_load_with_rejects_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen\nL2,ZZZ,lost\nL3,UTO,gone\n")
    assert run_load(data, source) == 3
    out = capsys.readouterr().out
    assert "1 accepted, 2 rejected, 0 deleted" in out
    report = tmp_path / "a.csv.rejects.jsonl"
    assert f"rejected rows: {report}" in out
    lines = [orjson.loads(line) for line in report.read_bytes().splitlines()]
    assert [(e["line"], e["reason"].split(":")[0]) for e in lines] == [
        (3, "country"),
        (4, "status"),
    ]

    deletes = write(tmp_path / "d.csv", "action,number,country\ndelete,L1,UTO\ndelete,L9,UTO\n")
    assert run_load(data, deletes) == 3
    assert "0 accepted, 1 rejected, 1 deleted" in capsys.readouterr().out
    assert screen(data, "L1")["hit"] is False


def test_report_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L2,ZZZ,lost\n")
    report = tmp_path / "rejects" / "r.jsonl"
    argv = ["load", "--data", str(tmp_path / "d"), "--db", "SLTD", "--owner", "UTO"]
    assert main([*argv, "--report", str(report), str(source)]) == 3
    assert str(report) in capsys.readouterr().out
    assert report.exists()
    assert not (tmp_path / "a.csv.rejects.jsonl").exists()


def test_format_option(tmp_path: Path) -> None:
    source = write(tmp_path / "upload.txt", HEADER + "L1,UTO,stolen\n")
    argv = ["load", "--data", str(tmp_path / "d"), "--db", "SLTD", "--owner", "UTO"]
    assert main([*argv, "--format", "csv", str(source)]) == 0
    assert main([*argv, str(source)]) == 1  # .txt is no format it knows


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"number,number\nL1,L1\n",
        b"number,country,status\nL1,UTO,stolen\n\xff\n",
        b"surname,given_names\nERIKSSON,ANNA\n",  # another database's file
    ],
)
def test_unreadable_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    data = tmp_path / "data"
    assert run_load(data, write(tmp_path / "ok.csv", HEADER + "L0,UTO,stolen\n")) == 0
    assert run_load(data, write(tmp_path / "bad.csv", content)) == 1
    captured = capsys.readouterr()
    assert "screening load:" in captured.err
    assert "bad.csv" in captured.err
    assert count(data) == 1


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_load(tmp_path / "data", tmp_path / "nope.csv") == 1
    assert "nope.csv" in capsys.readouterr().err


def test_data_dir_is_a_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen\n")
    data = write(tmp_path / "data", "not a directory")
    assert run_load(data, source) == 1
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("db", "owner", "message"),
    [
        ("NOPE", "UTO", "unknown database"),
        ("SLTD", "ZZZ", "--owner"),
        ("SLTD", "DEU", "'D'"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, owner: str, message: str
) -> None:
    source = write(tmp_path / "a.csv", HEADER + "L1,UTO,stolen\n")
    assert run_load(tmp_path / "data", source, owner=owner, db=db) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["load"],
        ["load", "--data", "d", "--db", "SLTD", "--owner", "UTO"],  # no FILE
        ["load", "--data", "d", "--db", "SLTD", "a.csv"],  # no --owner
        ["load", "--db", "SLTD", "--owner", "UTO", "a.csv"],  # no --data
        ["load", "--data", "d", "--db", "SLTD", "--owner", "UTO", "--format", "xml", "a.csv"],
        ["generate", "--db", "SLTD", "--out", "x.csv"],  # no --records
        ["generate", "--db", "SLTD", "--records", "many", "--out", "x.csv"],
        ["compact"],
    ],
)
def test_missing_or_bad_arguments_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_load_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    stdin_of(
        monkeypatch,
        b'{"number": "L1", "country": "UTO", "status": "stolen"}\n'
        b'{"number": "L2", "country": "UTO", "status": "lost", "visible_to": ["GBR"]}\n',
    )
    assert run_load(tmp_path / "data", "-") == 0
    assert "2 accepted, 0 rejected" in capsys.readouterr().out
    assert screen(tmp_path / "data", "L1")["hit"] is True


def test_load_from_stdin_with_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    stdin_of(
        monkeypatch,
        b'{"number": "L1", "country": "UTO", "status": "stolen"}\n'
        b"not json\n"
        b'{"number": "L3", "country": "ZZZ", "status": "stolen"}\n',
    )
    assert run_load(tmp_path / "data", "-") == 3
    out = capsys.readouterr().out
    assert "1 accepted, 2 rejected" in out
    assert "stdin.rejects.jsonl" in out
    report = tmp_path / "stdin.rejects.jsonl"
    lines = [orjson.loads(line) for line in report.read_bytes().splitlines()]
    assert [(e["file"], e["line"]) for e in lines] == [("-", 2), ("-", 3)]


def test_load_from_stdin_as_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin_of(monkeypatch, (HEADER + "L1,UTO,stolen\n").encode())
    argv = ["load", "--data", str(tmp_path / "data"), "--db", "SLTD", "--owner", "UTO"]
    assert main([*argv, "--format", "csv", "-"]) == 0
    assert screen(tmp_path / "data", "L1")["hit"] is True


def test_compact_keeps_everything_screenable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for part in range(3):
        rows = "".join(f"P{part}N{i},UTO,stolen\n" for i in range(20))
        assert run_load(data, write(tmp_path / f"{part}.csv", HEADER + rows)) == 0
    withdraw = "action,number,country\n" + "".join(f"delete,P0N{i},UTO\n" for i in range(5))
    assert run_load(data, write(tmp_path / "withdraw.csv", withdraw)) == 0
    replace = write(tmp_path / "replace.csv", HEADER + "P1N0,UTO,lost\n")
    assert run_load(data, replace) == 0
    before = [screen(data, f"P{p}N{i}") for p in range(3) for i in range(20)]
    capsys.readouterr()

    opened = open_data(data)
    try:
        assert len(opened.snapshots["SLTD"].parts) > 1
        assert main(["compact", "--data", str(data)]) == 0
        assert "SLTD: 55 records in 1 segment(s)" in capsys.readouterr().out
        assert opened.refresh() == ["SLTD"]  # a running reader sees it without reopening
        assert len(opened.snapshots["SLTD"].parts) == 1
    finally:
        opened.close()
    after = [screen(data, f"P{p}N{i}") for p in range(3) for i in range(20)]
    assert after == before
    assert sum(result["hit"] for result in after) == 55
    assert screen(data, "P1N0")["matches"][0]["record"]["status"] == "lost"
    assert main(["compact", "--data", str(data), "--db", "sltd"]) == 0
    assert count(data) == 55


def test_compact_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compact", "--data", str(empty)]) == 0  # nothing loaded, nothing to do
    assert capsys.readouterr().out == ""
    assert main(["compact", "--data", str(empty), "--db", "SLTD"]) == 1
    assert "nothing loaded" in capsys.readouterr().err
    assert main(["compact", "--data", str(empty), "--db", "NOPE"]) == 2


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_generate_then_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    out = tmp_path / f"sltd.{suffix}"
    argv = ["generate", "--db", "SLTD", "--records", "300", "--out", str(out), "--seed", "7"]
    assert main(argv) == 0
    assert "300" in capsys.readouterr().out
    assert out.exists()
    assert run_load(tmp_path / "data", out) == 0
    assert "300 accepted, 0 rejected" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--db", "NOPE", "--records", "10", "--out", "x.csv"],
        ["generate", "--db", "SLTD", "--records", "10", "--out", "x.xlsx"],
        ["generate", "--db", "SLTD", "--records", "-1", "--out", "x.csv"],
    ],
)
def test_generate_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert list(tmp_path.iterdir()) == []


def test_check_reads_every_checksum_and_names_a_damaged_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    rows = "".join(f"C{i},UTO,stolen\n" for i in range(30))
    assert run_load(data, write(tmp_path / "c.csv", HEADER + rows)) == 0
    capsys.readouterr()
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "SLTD: generation 1" in out and "30 live records, every checksum good" in out
    assert "seg-000001: 30 records, 0 withdrawn" in out

    [segment] = (data / "SLTD").glob("seg-*.seg")
    container = Container(segment, SEGMENT_MAGIC, verify=False)
    records = container.sections["records"]
    container.close()
    damaged = bytearray(segment.read_bytes())
    damaged[records.offset + records.length // 2] ^= 0x01  # past every header check
    segment.write_bytes(bytes(damaged))
    assert main(["check", "--data", str(data), "--db", "sltd"]) == 1
    assert "seg-000001.seg: corrupt" in capsys.readouterr().err
    assert main(["check", "--data", str(tmp_path / "none"), "--db", "SLTD"]) == 1


def test_loads_and_compactions_yield_the_cores_to_lookups() -> None:
    """In its own process (here the fixture in tests/conftest.py keeps pytest scheduled):
    the policy a load and a compaction run under."""
    import os
    import subprocess

    probe = (
        "import os, screening.cli as cli; cli.yield_to_lookups(); "
        "print(os.sched_getscheduler(0), os.nice(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    assert int(out[0]) == os.SCHED_IDLE
    assert int(out[1]) >= 10


LAUNCH_PROBE = """
import contextlib, io, os, sys
import screening.launcher as launcher
light = "numpy" not in sys.modules and "pyarrow" not in sys.modules
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    launcher.main(sys.argv[1:])
print(light, os.sched_getscheduler(0), os.nice(0))
"""


@pytest.mark.parametrize(
    ("command", "background"),
    [(["load", "--help"], True), (["compact", "--help"], True), (["catalog"], False)],
)
def test_the_command_yields_before_it_imports_anything_heavy(
    command: list[str], background: bool
) -> None:
    """The `screening` command's entry is light, so a load is under SCHED_IDLE before
    numpy, pyarrow and the engine are imported (~0.5 s of CPU beside the workers); the
    other commands keep the ordinary policy."""
    import os
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", LAUNCH_PROBE, *command], check=True, capture_output=True,
        text=True,
    ).stdout.split()  # fmt: skip
    assert out[0] == "True"
    assert (int(out[1]) == os.SCHED_IDLE) == background
    assert (int(out[2]) >= 10) == background

"""Blocks staged in worker processes (loaders/block_pool.py) store what the serial path stores.

Strategy: hypothesis draws uploads (plain rows, rows for the row path, bad rows, deletes,
duplicates of one number, with or without an earlier upload), loads each twice with tiny
blocks so one upload spans many: once with the worker pool, once without; the segment
files, tombstones, manifest, reject report and counts must be the same bytes. Then the
failure cases: an unreadable line found by a worker, and a load killed while its workers
run (no worker outlives it or holds the database lock).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes.manifest import MANIFEST_NAME, read_manifest
from indexes.writer import LOCK_NAME
from loaders import block_pool, columnar, load
from loaders.block_pool import StagedBlock
from loaders.columnar import csv_chunks
from loaders.generate import generate
from loaders.readers import UnreadableFileError, Upload

COLUMNS = ["number", "country", "type", "status", "reported_on", "visible_to", "action"]
VALUES = {
    "number": ["L898902C3", "L898902C3", "ab 12-3", "X<1", "", "12345", "A1", "A2", "A3"],
    "country": ["FRA", "fra", "D", "ZZZ", "", "GBR"],
    "type": ["P", "PD", "p", "X", ""],
    "status": ["stolen", "lost", "gone", ""],
    "reported_on": ["2024-02-29", "2023-02-29", "2099-01-01", "", "2020-01-01"],
    "visible_to": ["", "", "", "GBR", "GBR;USA", "gbr", "ZZZ"],
    "action": ["", "", "", "", "upsert", "delete", "remove"],
}
rows = st.lists(
    st.tuples(
        st.fixed_dictionaries({name: st.sampled_from(VALUES[name]) for name in COLUMNS}),
        st.sampled_from(["plain", "plain", "plain", "stray comma", "blank"]),
    ),
    max_size=60,
)


def _csv(drawn: list[tuple[dict[str, str], str]]) -> str:
    lines = [",".join(COLUMNS)]
    for row, shape in drawn:
        line = "" if shape == "blank" else ",".join(row[name] for name in COLUMNS)
        lines.append(line + ("," if shape == "stray comma" else ""))
    return "\n".join(lines) + "\n"


def _files(folder: Path) -> dict[str, object]:
    """Every file's bytes; the manifest as read (its bytes hold the time of the publish)."""
    found: dict[str, object] = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST_NAME:
            found[path.name] = replace(read_manifest(folder, "SLTD"), updated_ns=0)
        elif path.is_file():
            found[path.name] = path.read_bytes()
    return found


def _load(tmp: Path, texts: list[str], parallel: bool) -> tuple[object, ...]:
    data = tmp / ("parallel" if parallel else "serial")
    outcome: list[object] = []
    for number, text in enumerate(texts):
        upload = tmp / f"upload-{number}.csv"
        upload.write_text(text, encoding="utf-8")
        report = tmp / f"rejects-{parallel}-{number}.jsonl"
        result = load.load(data, "SLTD", "FRA", [Upload.of(str(upload))], report)
        rejected = report.read_bytes() if report.exists() else b""
        outcome += [(result.accepted, result.rejected, result.deleted), rejected]
    outcome.append(_files(data / "SLTD"))
    return tuple(outcome)


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Blocks of 64 bytes (a few lines each) and segments stamped with one time."""
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 64)
    monkeypatch.setattr("indexes.container._now_ns", lambda: 0)
    return monkeypatch


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=rows, earlier=st.one_of(st.none(), rows))
def test_workers_store_the_same_bytes_as_the_serial_path(
    drawn: list[tuple[dict[str, str], str]],
    earlier: list[tuple[dict[str, str], str]] | None,
    tiny_blocks: pytest.MonkeyPatch,
) -> None:
    texts = ([] if earlier is None else [_csv(earlier)]) + [_csv(drawn)]
    pools: list[bool] = []

    def staged_blocks(pool: ProcessPoolExecutor | None, *args: Any) -> Iterator[StagedBlock]:
        pools.append(pool is not None)
        return block_pool.staged_blocks(pool, *args)

    tiny_blocks.setattr(load, "staged_blocks", staged_blocks)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        tiny_blocks.setattr(block_pool, "PARALLEL_MIN_BYTES", 1 << 40)
        serial = _load(tmp, texts, parallel=False)
        assert not any(pools)
        tiny_blocks.setattr(block_pool, "PARALLEL_MIN_BYTES", 0)
        parallel = _load(tmp, texts, parallel=True)
    assert parallel == serial
    assert pools == [False] * len(texts) + [True] * len(texts)


def test_the_pool_is_used_only_for_large_uploads(tmp_path: Path) -> None:
    with block_pool.block_pool(block_pool.PARALLEL_MIN_BYTES - 1) as small:
        assert small is None
    with block_pool.block_pool(block_pool.PARALLEL_MIN_BYTES) as large:
        assert large is not None


def test_an_unreadable_line_found_by_a_worker_names_its_line(
    tmp_path: Path, tiny_blocks: pytest.MonkeyPatch
) -> None:
    tiny_blocks.setattr(block_pool, "PARALLEL_MIN_BYTES", 0)
    lines = [f"N{number},FRA,P,lost" for number in range(200)]
    lines[150] = "N150,FRA,P,lost,extra"  # row path: the line is handed over as text
    path = tmp_path / "u.csv"
    path.write_bytes(
        b"number,country,type,status\n" + "\n".join(lines).encode().replace(b"extra", b"\xff")
    )
    with pytest.raises(UnreadableFileError) as raised:
        load.load(tmp_path / "data", "SLTD", "FRA", [Upload.of(str(path))])
    assert raised.value.line == 152
    assert raised.value.file == str(path)
    assert str(raised.value).startswith(f"{path}, line 152: not UTF-8")
    assert not (tmp_path / "data" / "SLTD" / "MANIFEST").exists()


LOADER = """
import sys
from loaders import block_pool, columnar
from screening.cli import main
block_pool.PARALLEL_MIN_BYTES = 0
columnar.BLOCK_BYTES = 1 << 16
sys.exit(main(sys.argv[1:]))
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers only on Linux")
def test_a_killed_load_leaves_no_worker_and_no_lock(tmp_path: Path) -> None:
    upload = tmp_path / "u.csv"
    generate("SLTD", 300_000, upload)
    data = tmp_path / "data"
    command = [sys.executable, "-c", LOADER, "load", "--data", str(data), "--db", "SLTD"]
    loader = subprocess.Popen([*command, "--owner", "FRA", str(upload)], cwd=Path.cwd())
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < block_pool.WORKERS and time.monotonic() < deadline:
        workers = _children(loader.pid)
        time.sleep(0.01)
    assert len(workers) == block_pool.WORKERS, "the load never started its workers"
    time.sleep(0.3)
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    deadline = time.monotonic() + 10
    while any(_alive(worker) for worker in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(worker) for worker in workers)
    lock = os.open(data / "SLTD" / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if anyone still holds it
    finally:
        os.close(lock)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_worker_refuses_an_upload_rewritten_under_the_load(tmp_path: Path) -> None:
    """Workers read their blocks from the file: bytes other than those the loader cut
    (and numbered the lines of) are refused, never stored under wrong line numbers."""
    upload = tmp_path / "sltd.csv"
    upload.write_bytes(b"number,country,status\nA1,FRA,stolen\nA2,FRA,lost")
    with open(upload, "rb") as stream:
        stream.readline()
        chunks = list(csv_chunks(stream, first_line=2))
    slices = [block_pool.FileSlice.of(str(upload), chunk) for chunk in chunks]
    assert b"".join(piece.read() for piece in slices) == b"A1,FRA,stolen\nA2,FRA,lost\n"
    assert slices[-1].padded  # the last line had no newline: the worker adds it
    upload.write_bytes(b"number,country,status\nA1,FRA,stolen\nA3,FRA,lost")
    with pytest.raises(UnreadableFileError, match="changed while it was being loaded"):
        slices[-1].read()

"""A disk that fills up during a load: the load fails cleanly, the last good generation stays.

Two ways to fill it. For real: a small tmpfs is mounted (`make test` runs as root; elsewhere the
test fails saying it needs root), loaded once, then given a load that does not fit, while a
server answers from it. And in process, always: every file the engine writes goes through
a byte budget that raises ENOSPC when spent, set so the disk fills at each step of a load in
turn (the spool while rows are staged, the tombstones, the segment, the manifest).

Either way: exit status 1 (or `DataDirError`) with one line that says the disk is full and
nothing was stored; the manifest, and so what readers see, is the previous one and passes
every checksum; no file of the failed load is left to hold the space; and once there is
room the same load succeeds.
"""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import pytest

import indexes.container as container_module
import indexes.segment as segment_module
from indexes.container import Container
from indexes.health import check_database
from indexes.manifest import read_manifest
from indexes.segment import SEGMENT_MAGIC
from indexes.writer import LOCK_NAME
from loaders.generate import generate
from loaders.load import DataDirError, load
from loaders.readers import Upload
from screening import cli as cli_module
from screening.keys import add_key
from screening.testing import ServerProcess

DB = "SLTD"
FULL = "No space left on device"
NOT_STORED = "the upload was not stored"
FITS, BIG = 10_000, 60_000  # about 1.2 and 7 MB of segment; the disk has 16 MiB


def stray_files(folder: Path) -> list[str]:
    named = read_manifest(folder, DB).files() | {LOCK_NAME}
    return sorted(set(os.listdir(folder)) - named)


def csv_slice(source: Path, target: Path, start: int, stop: int) -> Path:
    """Rows start..stop (0-based, header aside) of a generated upload, as a new upload."""
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with open(target, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([rows[0], *rows[1 + start : 1 + stop]])
    return target


# --- In process: a byte budget in front of every file the engine writes ---------------


class Budget:
    """The free space of a pretend disk: each write is charged, ENOSPC once it is spent.

    `writes` lists (file, bytes) of every write, so a counting run (no limit) tells where
    each step of a load starts."""

    def __init__(self, free: int | None = None) -> None:
        self.free = free
        self.writes: list[tuple[str, int]] = []

    def charge(self, name: str, size: int) -> None:
        if self.free is not None:
            if size > self.free:
                self.free = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.free -= size
        self.writes.append((name, size))

    def open(self, path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 - the caller closes it
        return Charged(handle, self, Path(path).name) if "w" in mode else handle

    def temporary_file(self, *args: Any, **kwargs: Any) -> Charged:
        return Charged(tempfile.TemporaryFile(*args, **kwargs), self, "spool")


class Charged:
    """A file whose writes are charged to a `Budget` first."""

    def __init__(self, handle: IO[bytes], budget: Budget, name: str) -> None:
        self._handle = handle
        self._budget = budget
        self._name = name

    def write(self, data: Any) -> int:
        self._budget.charge(self._name, memoryview(data).nbytes)
        return self._handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> Charged:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def with_budget(monkeypatch: pytest.MonkeyPatch, budget: Budget) -> None:
    monkeypatch.setattr(container_module, "open", budget.open, raising=False)
    spool = SimpleNamespace(TemporaryFile=budget.temporary_file)
    monkeypatch.setattr(segment_module, "tempfile", spool)


def step_of(name: str) -> str:
    if name == "spool":
        return "spool"
    if ".dead-" in name:
        return "tombstones"
    return "manifest" if "MANIFEST" in name else "segment"


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A base upload and a bigger one that replaces 300 of its 400 rows and adds 1,700."""
    folder = tmp_path_factory.mktemp("full-disk-uploads")
    generated = folder / "generated.csv"
    generate(DB, 2_100, generated, seed=5)
    return (
        csv_slice(generated, folder / "base.csv", 0, 400),
        csv_slice(generated, folder / "bigger.csv", 100, 2_100),
    )


def base_data(folder: Path, base: Path) -> Path:
    data = folder / "data"
    assert load(data, DB, "FRA", [Upload.of(str(base))]).generation == 1
    return data


def budget_filling_at(step: str, counted: Budget) -> int:
    """Free bytes such that the disk fills in the middle of the first write of `step`."""
    spent = 0
    for name, size in counted.writes:
        if step_of(name) == step:
            return spent + size // 2
        spent += size
    raise AssertionError(f"a load writes no {step}: {counted.writes}")


@pytest.mark.parametrize("step", ["spool", "tombstones", "segment", "manifest"])
def test_a_disk_filling_at_each_step_keeps_the_last_generation(
    step: str, uploads: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, bigger = uploads
    counted = Budget()
    counting = base_data(tmp_path / "counting", base)
    with monkeypatch.context() as patch:
        with_budget(patch, counted)
        load(counting, DB, "FRA", [Upload.of(str(bigger))])
    data = base_data(tmp_path / "full", base)
    folder = data / DB
    before = read_manifest(folder, DB)

    with monkeypatch.context() as patch:
        with_budget(patch, Budget(budget_filling_at(step, counted)))
        with pytest.raises(DataDirError) as failed:
            load(data, DB, "FRA", [Upload.of(str(bigger))], report=tmp_path / "rejects.jsonl")
    message = str(failed.value)
    assert FULL in message and NOT_STORED in message, message
    assert "generation 1 is still the current one" in message, message

    assert read_manifest(folder, DB) == before
    assert check_database(folder, DB).live == 400
    assert stray_files(folder) == [], "the failed load left its files behind"
    result = load(data, DB, "FRA", [Upload.of(str(bigger))])
    assert (result.generation, result.accepted) == (2, 2_000)
    assert check_database(folder, DB).live == 2_100


def test_the_command_says_the_disk_is_full_in_one_line(
    uploads: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, bigger = uploads
    data = base_data(tmp_path, base)
    with_budget(monkeypatch, Budget(1_000))
    status = cli_module.main(
        ["load", "--data", str(data), "--db", DB, "--owner", "FRA", str(bigger)]
    )
    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith(f"screening load: {data / DB}: cannot write: {FULL}"), error
    assert NOT_STORED in error and error.count("\n") == 1, error


# --- For real: a tmpfs that fills up under a running server -----------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, unmounted at teardown. Mounting needs root, as `make test` runs
    here (the Makefile installs and starts real components as root too); elsewhere the
    test fails saying so, rather than passing without the real disk."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    reason = mounted.stderr.strip() or f"exit {mounted.returncode}"
    assert mounted.returncode == 0, f"cannot mount a 16 MiB tmpfs (run as root): {reason}"
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture(scope="module")
def real_uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Rows that fit the small disk, and others (owner D) that do not."""
    folder = tmp_path_factory.mktemp("tmpfs-uploads")
    paths = {"fits": folder / "fits.csv", "big": folder / "big.csv"}
    generate(DB, FITS, paths["fits"], seed=1)
    generate(DB, BIG, paths["big"], seed=2)
    return paths


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def load_command(
    data: Path, owner: str, upload: Path, report: Path
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "screening.cli", "load", "--data", str(data), "--db", DB]
    command += ["--owner", owner, "--report", str(report), str(upload)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def big_sizes(
    real_uploads: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, int]:
    """(spool, segment): the bytes the big upload's records take, and its whole segment."""
    scratch = tmp_path_factory.mktemp("sizes")
    load(scratch, DB, "D", [Upload.of(str(real_uploads["big"]))])
    segment = next((scratch / DB).glob("*.seg"))
    opened = Container(segment, SEGMENT_MAGIC, verify=False)
    records = opened.sections["records"].length
    opened.close()
    return records, segment.stat().st_size


def leave_free(disk: Path, wanted: int) -> Path:
    """A ballast file that leaves about `wanted` bytes free on the disk."""
    ballast = disk / "ballast"
    with open(ballast, "wb") as out:
        out.write(b"\0" * (free_bytes(disk) - wanted))  # not sparse: tmpfs counts written pages
    return ballast


Ask = Callable[[str, str, dict[str, Any] | None], Any]


def asker(server: ServerProcess, key: str) -> Ask:
    def ask(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = server.request(method, path, key=key, json=body)
        assert reply.status == 200, reply
        return reply.body

    return ask


def first_row(upload: Path) -> dict[str, str]:
    with open(upload, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not row["visible_to"]:
                return {"db": DB, "number": row["number"], "country": row["country"]}
    raise AssertionError("no public row")


def served(ask: Ask, upload: Path) -> tuple[int, int, bool]:
    """(generation, records, whether the upload's first public row is found)."""
    listed = next(db for db in ask("GET", "/v1/databases", None)["databases"] if db["code"] == DB)
    found = ask("POST", "/v1/screen", {"queries": [first_row(upload)]})["results"][0]["hit"]
    return listed["generation"], listed["records"], found


def fill_and_fail(disk: Path, room: int, data: Path, big: Path, report: Path) -> str:
    """Leave `room` bytes free, run the load that does not fit, free the room again;
    returns its error line after checking what it left."""
    ballast = leave_free(disk, room)
    free = free_bytes(disk)
    failed = load_command(data, "D", big, report)
    assert failed.returncode == 1, failed
    assert "Traceback" not in failed.stderr, failed.stderr
    assert failed.stderr.startswith(f"screening load: {data / DB}: cannot write: {FULL}")
    assert NOT_STORED in failed.stderr and failed.stderr.count("\n") == 1, failed.stderr
    assert free_bytes(disk) >= free - (64 << 10), "the failed load kept its space"
    assert stray_files(data / DB) == []
    assert cli_module.main(["check", "--data", str(data), "--db", DB]) == 0
    ballast.unlink()
    return failed.stderr


def test_a_real_full_disk_under_a_running_server(
    small_disk: Path, real_uploads: dict[str, Path], big_sizes: tuple[int, int], tmp_path: Path
) -> None:
    spool, segment = big_sizes
    data, big, report = small_disk / "data", real_uploads["big"], tmp_path / "rejects.jsonl"
    first = load_command(data, "FRA", real_uploads["fits"], report)
    assert first.returncode == 0, first.stderr
    keys = tmp_path / "keys.json"
    key = add_key(keys, "gate", "FRA", "frontline")[0]
    server = ServerProcess(
        ["--data", str(data), "--workers", "1", "--keys", str(keys), "--poll-interval", "0.05"],
        tmp_path / "server",
    )
    try:
        server.wait_for_workers(1)
        ask = asker(server, key)
        before = served(ask, real_uploads["fits"])
        assert before[0] == 1 and before[2] is True

        staging = fill_and_fail(small_disk, spool // 2, data, big, report)
        assert ".seg" not in staging, staging  # the spool filled: no segment was begun
        assert served(ask, real_uploads["fits"]) == before
        publishing = fill_and_fail(small_disk, spool + segment // 2, data, big, report)
        assert "seg-000002.seg)" in publishing, publishing  # the segment's own write failed
        assert served(ask, real_uploads["fits"]) == before
        assert served(ask, big)[2] is False

        again = load_command(data, "D", big, report)
        assert again.returncode == 0, again.stderr
        server.wait_until(lambda: served(ask, big)[2], 10, "the new generation")
        generation, records, _ = served(ask, big)
        assert generation == 2 and records > before[1]
        assert read_manifest(data / DB, DB).records == BIG + FITS
    finally:
        server.stop(timeout=15)

"""`screening load` killed with SIGKILL at random moments while a real server answers.

The engine's claim (indexes/FORMAT.md, "Publishing") is that a publish is all or nothing
whatever instant the writer dies at. In-process fault injection (tests/indexes/test_crash.py)
proves it step by step; this test proves it the way it fails in production: the real
command, a 200,000-record upload, `kill -9` at a random moment, and a server with two
workers answering throughout.

One trial: the upload replaces 1,000 records its NCB loaded before and adds 199,000; the
load is killed either at a moment drawn over a whole run (measured first) or at a moment
drawn inside its publish (from its first temp file to its exit, also measured). After the
kill the files say old or new generation, never a mix; every answer the server gave
(watched from a thread all along) was a 200 from one whole generation; both workers end up
on the generation on disk; `screening check` verifies it; and whatever the killed load
left behind does not stop the next one. A trial that landed is undone by publishing the
base generation's segments again, so every trial starts from the same data.

The kill moments come from a seeded generator: the seed is printed with any failure, and
`SCREENING_KILL_SEED=N` replays its draws (timing on a busy machine still varies).
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from indexes.manifest import Manifest, read_manifest, write_manifest
from indexes.writer import LOCK_NAME, Writer, remove_unreferenced
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload
from screening.cli import main as cli
from screening.keys import add_key
from screening.testing import Reply, ServerProcess

DB = "SLTD"
OWNER = "GBR"
UPLOAD_RECORDS = 200_000
REPLACED = 1_000
KEPT = 1_000
TRIALS = 50
WORKERS = 2
SAMPLE = 20
BASE_STATUS = "revoked"
POLL_FAST = ("--poll-interval", "0.05")
SPECIMEN = {"db": DB, "number": "L898902C3", "country": "UTO"}
SEED = int(os.environ.get("SCREENING_KILL_SEED", random.SystemRandom().randrange(1 << 32)))


@dataclass(frozen=True)
class Row:
    number: str
    country: str
    status: str

    def query(self) -> dict[str, str]:
        return {"db": DB, "number": self.number, "country": self.country}


@dataclass(frozen=True)
class Upload200k:
    """The upload file, the rows the base data holds in an older version, and samples."""

    path: Path
    older_rows: list[list[str]]
    header: list[str]
    added_sample: list[Row]
    replaced_sample: list[Row]


@pytest.fixture(scope="session")
def upload_200k(tmp_path_factory: pytest.TempPathFactory) -> Upload200k:
    path = tmp_path_factory.mktemp("kill-upload") / "sltd-200k.csv"
    generate(DB, UPLOAD_RECORDS, path, seed=20261123)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    column = {name: header.index(name) for name in ("number", "country", "status", "visible_to")}

    def row(values: list[str]) -> Row:
        return Row(values[column["number"]], values[column["country"]], values[column["status"]])

    def public(values: list[str]) -> bool:  # every key's country sees it
        return not values[column["visible_to"]]

    replaced = rows[:REPLACED]
    changed = [r for r in replaced if public(r) and r[column["status"]] != BASE_STATUS]
    added = [r for r in rows[REPLACED:] if public(r)]
    picker = random.Random(7)
    base_rows = [
        [BASE_STATUS if name == "status" else value for name, value in zip(header, r, strict=True)]
        for r in replaced
    ]
    return Upload200k(
        path,
        base_rows,
        header,
        [row(r) for r in picker.sample(added, SAMPLE)],
        [row(r) for r in picker.sample(changed, SAMPLE)],
    )


def kept_rows(header: list[str]) -> list[list[str]]:
    """Rows of the upload's owner that the upload does not touch: the base segment keeps
    live records after a landed upload, so its file stays on disk for `restore`."""
    row = dict.fromkeys(header, "") | {"country": "GBR", "status": "stolen", "type": "P"}
    return [
        [f"KEEP{n:05d}" if name == "number" else row[name] for name in header] for n in range(KEPT)
    ]


def load_base(data: Path, upload: Upload200k, uploads: Path) -> None:
    """The specimen (owner UTO); an older version of the upload's first 1,000 rows and
    1,000 other rows of its owner."""
    uploads.mkdir(parents=True, exist_ok=True)
    specimen = uploads / "specimen.csv"
    specimen.write_text("number,country,status,type\nL898902C3,UTO,stolen,P\n", encoding="utf-8")
    older = uploads / "older.csv"
    with open(older, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(upload.header)
        writer.writerows(upload.older_rows)
        writer.writerows(kept_rows(upload.header))
    for owner, path in (("UTO", specimen), (OWNER, older)):
        result = load(data, DB, owner, [Upload.of(str(path))])
        assert result.rejected == 0, result.summary()


def restore(folder: Path, base: Manifest) -> None:
    """Publish the base generation's files again, under the lock as every publisher does.

    Their names were never reused (segment numbers only grow, tombstone files carry their
    generation), so they are still on disk, and a newer generation names them again."""
    with Writer(folder, DB):
        current = read_manifest(folder, DB)
        manifest = current.successor(base.segments, current.next_segment)
        write_manifest(folder, manifest)
        remove_unreferenced(folder, manifest)


def stray_files(folder: Path) -> list[str]:
    named = read_manifest(folder, DB).files() | {LOCK_NAME}
    return sorted(set(os.listdir(folder)) - named)


@dataclass
class Expected:
    """What the server may say: the old generation's answers or the new one's."""

    old_records: int = -1
    new_records: int = -1
    records_of: dict[int, int] = field(default_factory=dict)
    """generation -> record count seen: one generation never has two counts."""


class Watcher:
    """From a thread, asks the server all the time and keeps every inconsistent answer."""

    def __init__(self, server: ServerProcess, key: str, upload: Upload200k) -> None:
        self.server = server
        self.key = key
        self.upload = upload
        self.expected = Expected()
        self.problems: list[str] = []
        self.answers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
            except Exception as error:  # a refused connection is as bad as a 5xx
                self.problems.append(f"request failed: {error!r}")
            self._stop.wait(0.05)

    def check_once(self) -> bool | None:
        """One /v1/databases and one /v1/screen; returns whether the upload was visible."""
        listed = self.server.request("GET", "/v1/databases", key=self.key, timeout=10)
        self._check_listing(listed)
        queries = [SPECIMEN, *(r.query() for r in self.upload.added_sample)]
        queries += [r.query() for r in self.upload.replaced_sample]
        screened = self.server.request(
            "POST", "/v1/screen", key=self.key, json={"queries": queries}, timeout=10
        )
        self.answers += 1
        return self._check_screening(screened)

    def _check_listing(self, reply: Reply) -> None:
        if reply.status != 200:
            self.problems.append(f"/v1/databases: {reply.status} {reply.raw[:300]!r}")
            return
        entry = next(db for db in reply.body["databases"] if db["code"] == DB)
        generation, records = entry["generation"], entry["records"]
        seen = self.expected.records_of.setdefault(generation, records)
        if seen != records:
            self.problems.append(f"generation {generation}: {records} records, earlier {seen}")
        if self.expected.old_records >= 0 and records not in (
            self.expected.old_records,
            self.expected.new_records,
        ):
            self.problems.append(f"generation {generation}: {records} records, in between")

    def _check_screening(self, reply: Reply) -> bool | None:
        if reply.status != 200:
            self.problems.append(f"/v1/screen: {reply.status} {reply.raw[:300]!r}")
            return None
        results = reply.body["results"]
        if results[0].get("hit") is not True:
            self.problems.append(f"the specimen was not found: {results[0]}")
        added = [result.get("hit") is True for result in results[1 : 1 + SAMPLE]]
        replaced = [
            _exact_status(result) == row.status
            for result, row in zip(results[1 + SAMPLE :], self.upload.replaced_sample, strict=True)
        ]
        if len(set(added + replaced)) != 1:
            self.problems.append(f"part of the upload visible: added {added}, replaced {replaced}")
        return added[0]


def _exact_status(result: dict[str, Any]) -> str | None:
    exact = [m for m in result.get("matches", []) if m["match"] == "exact"]
    owned = [m["record"]["status"] for m in exact if m["record"].get("owner") == OWNER]
    return owned[0] if len(owned) == 1 else None


@dataclass(frozen=True)
class Run:
    """One `screening load`, as seen from outside: when its first temp file appeared, when
    it ended, how (a negative status: killed by that signal)."""

    first_temp: float | None
    ended: float
    status: int
    killed: bool


def run_load(data: Path, upload: Path, kill: Kill | None, logs: Path) -> Run:
    command = [sys.executable, "-m", "screening.cli", "load", "--data", str(data)]
    command += ["--db", DB, "--owner", OWNER, "--report", str(logs / "rejects.jsonl")]
    with open(logs / "load.txt", "ab") as log:
        started = time.monotonic()
        child = subprocess.Popen([*command, str(upload)], stdout=log, stderr=log)
        first_temp, killed = _watch(child, data / DB, started, kill)
        status = child.wait(60)
    return Run(first_temp, time.monotonic() - started, status, killed)


@dataclass(frozen=True)
class Kill:
    """Kill `after` seconds past the start, or, `in_publish`, past the first temp file."""

    after: float
    in_publish: bool


def _watch(
    child: subprocess.Popen[bytes], folder: Path, started: float, kill: Kill | None
) -> tuple[float | None, bool]:
    """Poll the directory for the child's temp files until it ends or its moment comes."""
    mark = f".tmp-{child.pid}"
    first_temp: float | None = None
    while child.poll() is None:
        now = time.monotonic() - started
        if first_temp is None and any(name.endswith(mark) for name in os.listdir(folder)):
            first_temp = now
        if kill is not None:
            origin = first_temp if kill.in_publish else 0.0
            if origin is not None and now >= origin + kill.after:
                child.send_signal(signal.SIGKILL)
                return first_temp, True
        time.sleep(0.002)
    return first_temp, False


def workers_on(server: ServerProcess, pids: set[int], generation: int) -> None:
    """Wait until every worker serves `generation`; none may have refused anything."""
    done: set[int] = set()

    def settled() -> bool:
        reply = server.health()
        if reply is not None and reply.status == 200:
            assert not reply.body["refused"], reply.body
            if reply.body["generations"].get(DB) == generation:
                done.add(reply.body["pid"])
        return done >= pids

    server.wait_until(settled, 30, f"every worker on generation {generation}")


@dataclass
class Tally:
    trials: list[str] = field(default_factory=list)
    landed: int = 0
    killed_in_publish: int = 0
    left_files: int = 0

    def add(self, line: str) -> None:
        self.trials.append(line)


@dataclass
class Bench:
    """Everything one trial needs."""

    data: Path
    upload: Upload200k
    server: ServerProcess
    pids: set[int]
    watcher: Watcher
    base: Manifest
    logs: Path
    new_records: int = -1
    tally: Tally = field(default_factory=Tally)

    @property
    def folder(self) -> Path:
        return self.data / DB

    def settle(self) -> bool:
        """Every worker on the generation on disk; returns whether the upload is in it."""
        manifest = read_manifest(self.folder, DB)
        workers_on(self.server, self.pids, manifest.generation)
        assert manifest.records in (self.base.records, self.new_records), manifest
        visible = self.watcher.check_once()
        assert visible is (manifest.records == self.new_records), (manifest, visible)
        assert cli(["check", "--data", str(self.data), "--db", DB]) == 0
        return bool(visible)


@pytest.fixture
def bench(upload_200k: Upload200k, tmp_path: Path) -> Iterator[Bench]:
    data = tmp_path / "data"
    load_base(data, upload_200k, tmp_path / "uploads")
    keys = tmp_path / "keys.json"
    key = add_key(keys, "gate-fra", "FRA", "frontline")[0]
    server = ServerProcess(
        ["--data", str(data), "--workers", str(WORKERS), "--keys", str(keys), *POLL_FAST],
        tmp_path / "server",
    )
    try:
        pids = server.wait_for_workers(WORKERS)
        watcher = Watcher(server, key, upload_200k)
        with watcher:
            base = read_manifest(data / DB, DB)
            yield Bench(data, upload_200k, server, pids, watcher, base, tmp_path)
    finally:
        server.stop(timeout=15)


def calibrate(bench: Bench) -> Run:
    """One whole load: how long a run takes, where its publish starts, the new totals."""
    assert bench.settle() is False
    old = bench.watcher.check_once()
    assert old is False
    old_records = _served_records(bench)
    run = run_load(bench.data, bench.upload.path, None, bench.logs)
    assert run.status == 0, (bench.logs / "load.txt").read_text()
    assert run.first_temp is not None
    bench.new_records = read_manifest(bench.folder, DB).records
    assert bench.new_records == bench.base.records + UPLOAD_RECORDS - REPLACED
    workers_on(bench.server, bench.pids, read_manifest(bench.folder, DB).generation)
    new_records = _served_records(bench)
    bench.watcher.expected.old_records, bench.watcher.expected.new_records = (
        old_records,
        new_records,
    )
    assert bench.settle() is True
    restore(bench.folder, bench.base)
    assert bench.settle() is False
    return run


def _served_records(bench: Bench) -> int:
    reply = bench.server.request("GET", "/v1/databases", key=bench.watcher.key)
    records: int = next(db for db in reply.body["databases"] if db["code"] == DB)["records"]
    return records


def trial(bench: Bench, number: int, kill: Kill) -> None:
    run = run_load(bench.data, bench.upload.path, kill, bench.logs)
    if not run.killed:
        assert run.status == 0, (bench.logs / "load.txt").read_text()
    left = stray_files(bench.folder)
    landed = bench.settle()
    bench.tally.landed += landed
    bench.tally.left_files += bool(left)
    in_publish = run.killed and run.first_temp is not None
    bench.tally.killed_in_publish += in_publish
    where = "in publish" if kill.in_publish else "from start"
    bench.tally.add(
        f"trial {number}: kill {kill.after:.3f} s {where}, ran {run.ended:.3f} s,"
        f" {'killed' if run.killed else 'finished'}, landed {landed}, left {left}"
    )
    if landed:
        restore(bench.folder, bench.base)
        assert bench.settle() is False


def draw_kills(rng: random.Random, whole: float, publish: float) -> list[Kill]:
    """Half over the whole run, half inside the publish (temp files to exit), shuffled."""
    kills = [Kill(rng.uniform(0, whole), False) for _ in range(TRIALS - TRIALS // 2)]
    kills += [Kill(rng.uniform(0, publish * 1.2), True) for _ in range(TRIALS // 2)]
    rng.shuffle(kills)
    return kills


@pytest.mark.timeout(900)  # ~1.5 min on two idle cores; a busy machine stretches every run
def test_a_load_killed_at_any_moment_is_all_or_nothing(bench: Bench) -> None:
    try:
        calibration = calibrate(bench)
        assert calibration.first_temp is not None
        publish = calibration.ended - calibration.first_temp
        kills = draw_kills(random.Random(SEED), calibration.ended, publish)
        for number, kill in enumerate(kills):
            trial(bench, number, kill)
        final = run_load(bench.data, bench.upload.path, None, bench.logs)
        assert final.status == 0, (bench.logs / "load.txt").read_text()
        assert bench.settle() is True
        assert stray_files(bench.folder) == [], "the last load left files behind"
    except AssertionError as error:
        raise AssertionError(f"SCREENING_KILL_SEED={SEED}: {error}\n{_report(bench)}") from None
    assert bench.watcher.problems == [], f"SCREENING_KILL_SEED={SEED}\n{_report(bench)}"
    assert bench.tally.killed_in_publish > 0, _report(bench)
    print(_report(bench))


def _report(bench: Bench) -> str:
    tally = bench.tally
    return "\n".join(
        [
            *tally.trials,
            f"{len(tally.trials)} trials, {tally.landed} landed, {tally.killed_in_publish}"
            f" killed during the publish, {tally.left_files} left files behind;"
            f" {bench.watcher.answers} answers watched, problems: {bench.watcher.problems[:10]}",
        ]
    )

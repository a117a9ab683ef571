"""The writes of the soak: NCB loads and compactions, on a schedule, while traffic runs.

They run as the real commands (`screening load`, `screening compact`) in child processes,
one at a time on a thread: the k-th is due `every` seconds after the (k-1)-th was due,
loads and compactions taking turns (load first), or starts at once when the one before
overran. Each load is a new generated upload (its own seed), owned by the key's country,
so every accepted record is one the soak's key sees and /v1/databases must grow by
exactly the accepted count. Each compaction merges every segment into one: the workers
then swap the whole database, which is where a reader that keeps old generations alive
would show.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.http_bodies import DB
from bench.loading import LoadingError, LoadProcess
from loaders.generate import generate
from loaders.normalise import document_number

OPERATION_TIMEOUT = 600.0
"""Seconds after which a load or compaction that has not finished is stopped and failed."""


@dataclass(frozen=True)
class Operation:
    """One load or compaction: when it ran (monotonic seconds) and how it went."""

    kind: str
    started: float
    ended: float
    detail: str
    ok: bool
    accepted: int = 0
    """Records a load accepted (0 for a compaction)."""

    def label(self) -> str:
        seconds = self.ended - self.started
        outcome = "" if self.ok else " FAILED"
        what = f"{self.kind} {self.detail}" if self.detail else self.kind
        return f"{what} ({seconds:.1f} s){outcome}"


def operations_due(seconds: float, every: float) -> int:
    """How many fit in a soak of `seconds`: the last is due at least every / 2 before the
    end, so its swap is served before the soak stops (the soak also runs on until a
    slice has started after the last one ended)."""
    if every <= 0:
        return 0
    return max(0, int((seconds - every / 2) // every))


def loads_among(operations: int) -> int:
    """Loads and compactions take turns, a load first."""
    return (operations + 1) // 2


def prepare_uploads(folder: Path, count: int, records: int, seed: int) -> list[Path]:
    """`count` uploads of about `records` new SLTD records each (seeds `seed`, `seed` + 1
    ...), generated before the clock."""
    folder.mkdir(parents=True, exist_ok=True)
    uploads, seen = [], set[tuple[str, str]]()
    for number in range(count):
        upload = folder / f"soak-load-{number}.csv"
        generate(DB, records, upload, seed=seed + number)
        drop_repeats(upload, seen)
        uploads.append(upload)
    return uploads


def drop_repeats(upload: Path, seen: set[tuple[str, str]]) -> None:
    """Rewrite `upload` without the documents (number and state) already in `seen`, and
    add its own. Different seeds do draw the same number now and then (one in 60,000 in
    a 2-minute soak): that row would replace a record instead of adding one, and the
    count /v1/databases must reach would be off by one."""
    with open(upload, newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or ())
        rows = list(reader)
    kept = []
    for row in rows:
        document = (document_number(row["number"]), row["country"])
        if document not in seen:
            seen.add(document)
            kept.append(row)
    if len(kept) == len(rows):
        return
    with open(upload, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(kept)


class Maintenance:
    """The schedule, on a thread; `operations` fills in as they finish."""

    def __init__(
        self, data_dir: Path, uploads: list[Path], owner: str, every: float, folder: Path
    ) -> None:
        """`uploads`: one per load (`loads_among(operations)` of them)."""
        self.data_dir, self.uploads, self.owner = data_dir, uploads, owner
        self.every, self.folder = every, folder
        self.count = 0
        self.operations: list[Operation] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-maintenance")
        self._stop = threading.Event()
        self._stopped_at = math.inf
        self.started = 0.0

    def start(self, started: float, count: int) -> None:
        """`count` operations from `started` on (at most 2 x uploads, a load first)."""
        self.started, self.count = started, min(count, 2 * len(self.uploads))
        self._thread.start()

    def stop(self) -> None:
        """No operation due from now on will start; those already due (late because one
        before them overran) still run, so the writes do not depend on the machine's speed."""
        self._stopped_at = time.monotonic()
        self._stop.set()

    def wait(self) -> None:
        """Stop, and wait for the operations already due."""
        if not self._stop.is_set():
            self.stop()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def running(self) -> bool:
        """An operation is running or still due."""
        return self._thread.is_alive()

    def _run(self) -> None:
        for number in range(self.count):
            due = self.started + (number + 1) * self.every
            self._stop.wait(max(0.0, due - time.monotonic()))
            if due > self._stopped_at:
                return
            if number % 2 == 0:
                self.operations.append(self._load(self.uploads[number // 2]))
            else:
                self.operations.append(self._compact())

    def _load(self, upload: Path) -> Operation:
        log = self.folder / f"{upload.stem}.log"
        load = LoadProcess(self.data_dir, upload, self.owner, log)
        try:
            load.process.wait(OPERATION_TIMEOUT)
            accepted = load.accepted()
        except (subprocess.TimeoutExpired, LoadingError) as error:
            load.stop()
            return Operation("load", load.started, time.monotonic(), _short(error), False)
        ended = load.ended or time.monotonic()
        return Operation("load", load.started, ended, f"{accepted:,}", True, accepted)

    def _compact(self) -> Operation:
        command = [sys.executable, "-m", "screening.cli", "compact", "--data",
                   str(self.data_dir), "--db", DB]  # fmt: skip
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=OPERATION_TIMEOUT, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            return Operation("compact", started, time.monotonic(), "timed out", False)
        ended = time.monotonic()
        if done.returncode != 0:
            detail = f"exit {done.returncode}: {_short(done.stderr or done.stdout)}"
            return Operation("compact", started, ended, detail, False)
        return Operation("compact", started, ended, "", True)


def _short(error: object, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

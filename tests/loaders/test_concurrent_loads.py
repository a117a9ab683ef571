"""Two NCBs load at the same moment: both uploads land, neither is lost (a lock, not a race).

Each `screening load` reads the current generation, stages its rows and publishes a new
manifest. Without the database lock the second publish would be built on the generation
the first one replaced, and the first upload would vanish; with it (indexes/writer.py,
`flock` on LOCK) the second waits, then builds on the first.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from indexes.manifest import read_manifest
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload
from screening import open_data
from screening.cli import main as cli

DB = "SLTD"
RECORDS = 30_000
OWNERS = ("FRA", "D")


@pytest.fixture(scope="module")
def upload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrent") / "sltd.csv"
    generate(DB, RECORDS, path, seed=11)
    return path


def some_public_rows(upload: Path, count: int) -> list[dict[str, str]]:
    with open(upload, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if not row["visible_to"]]
    step = len(rows) // count
    return [{"db": DB, "number": r["number"], "country": r["country"]} for r in rows[::step]]


def start_load(data: Path, owner: str, upload: Path, logs: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "screening.cli", "load", "--data", str(data), "--db", DB]
    command += ["--owner", owner, "--report", str(logs / f"{owner}.rejects.jsonl"), str(upload)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_loads_at_once_from_two_ncbs_both_land(upload: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    specimen = tmp_path / "specimen.csv"
    specimen.write_text("number,country,status\nL898902C3,UTO,stolen\n", encoding="utf-8")
    assert load(data, DB, "UTO", [Upload.of(str(specimen))]).generation == 1

    children = [start_load(data, owner, upload, tmp_path) for owner in OWNERS]  # together
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, (out, err)
        assert f"{RECORDS:,} accepted" in out, out
        outputs.append(out)
    generations = {int(out.rsplit("generation ", 1)[1].split()[0]) for out in outputs}
    assert generations == {2, 3}, "each load published its own generation, one after the other"

    manifest = read_manifest(data / DB, DB)
    assert (manifest.generation, manifest.records) == (3, 1 + 2 * RECORDS)
    assert cli(["check", "--data", str(data), "--db", DB]) == 0
    served = open_data(data)
    try:
        results = served.screen(some_public_rows(upload, 50), country="FRA")
    finally:
        served.close()
    for result in results:
        owners = {m["record"]["owner"] for m in result["matches"] if m["match"] == "exact"}
        assert owners == set(OWNERS), result

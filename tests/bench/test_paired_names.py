"""The paired bench (bench/paired_names.py) on a small real load: the committed matcher is
loaded as its own module, and both sides screen alternately and are each timed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.names import write_upload
from bench.paired_names import ROOT, matcher_at, paired
from loaders.load import load
from loaders.readers import Upload
from screening.data import open_data

LISTED = [
    {"surname": "AL-QATARI", "given_names": "MUHAMMAD YUSUF", "dob": "1980-01-02",
     "reference": "QDi.900", "notice_type": "UNSC"},
]  # fmt: skip


def _in_a_checkout() -> bool:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True)
    return found.returncode == 0


@pytest.mark.skipif(not _in_a_checkout(), reason="needs the project's git history")
def test_both_sides_screen_alternately_and_are_timed(tmp_path: Path) -> None:
    import screening.data
    import screening.name_match

    upload = tmp_path / "persons.jsonl"
    write_upload(upload, 300, LISTED)
    load(tmp_path / "data", "NOMINAL", "UTO", [Upload.of(str(upload))])
    data = open_data(tmp_path / "data")
    committed = matcher_at("HEAD", tmp_path)
    assert committed is not screening.name_match
    assert committed.__file__ != screening.name_match.__file__
    own = vars(screening.data)["matcher"]
    rates = paired(data, {"HEAD": committed, "here": screening.name_match}, 2, 5, 5)
    assert set(rates) == {"HEAD", "here"} and all(rate > 0 for rate in rates.values())
    assert vars(screening.data)["matcher"] is own  # the lookup is put back
    query = {"db": "NOMINAL", "surname": "AL QATARI", "given_names": "MOHAMMED YUSUF",
             "dob": "1980-01-02"}  # fmt: skip
    assert data.screen([query])[0]["hit"]

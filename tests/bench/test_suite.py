"""The engine table of `screening bench` (bench/suite.py), on a small real SLTD index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import suite
from bench.candidates import PlainDict

SPREAD = re.compile(r"[\d,]+ \([\d,]+-[\d,]+\)")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], dict[str, float]]:
    """2,000 generated SLTD records, loaded by a real `screening load`."""
    work = tmp_path_factory.mktemp("engine")
    upload = suite._upload(work, 2_000)
    data = work / "data-2000"
    build = suite._build(upload, data, reuse=False)
    return data, suite._keys(upload), build


def test_ours_dict_and_lmdb_side_by_side_from_interleaved_rounds(
    engine: tuple[Path, list[bytes], dict[str, float]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, keys, build = engine
    monkeypatch.setattr(suite, "SINGLE_LOOKUPS", 500)
    monkeypatch.setattr(suite, "BATCH_KEYS", 2_000)
    rows = suite._measure_all(data, keys, build, tmp_path, quick=False)
    assert list(rows) == ["screening (mapped xxh3 index)", "Python dict", "py-lmdb"]
    for name, row in rows.items():
        assert SPREAD.fullmatch(row["hit ns"]), (name, row["hit ns"])
        assert SPREAD.fullmatch(row["miss ns"]), (name, row["miss ns"])
        assert int(row["batch keys/s"].replace(",", "")) > 0
        assert "build rec/s" in row
    ours = rows["screening (mapped xxh3 index)"]
    for kind in ("hit", "miss"):
        assert re.fullmatch(r"\d+\.\d\d, \d+\.\d\d", ours[f"{kind} x dict, x lmdb"])
    assert float(ours["index B/record"]) > 0
    suite._print(2_000, rows)
    table = capsys.readouterr().out
    assert "hit x dict, x lmdb" in table and "<= 1.5, < 0.5" in table


def test_quick_runs_leave_lmdb_out(
    engine: tuple[Path, list[bytes], dict[str, float]], tmp_path: Path
) -> None:
    data, keys, _ = engine
    rows = suite._measure_all(data, keys[:1_000], {}, tmp_path, quick=True)
    assert list(rows) == ["screening (mapped xxh3 index)", "Python dict"]
    assert re.fullmatch(r"\d+\.\d\d", rows["screening (mapped xxh3 index)"]["hit x dict, x lmdb"])


def test_a_lookup_that_does_not_find_its_keys_is_not_timed(
    engine: tuple[Path, list[bytes], dict[str, float]],
) -> None:
    _, keys, _ = engine
    with pytest.raises(RuntimeError, match="Python dict: a stored key was not found"):
        suite._check_answers(PlainDict(keys[1:]), keys[:10], suite._misses(10))


def test_above_the_peers_size_ours_runs_alone(
    engine: tuple[Path, list[bytes], dict[str, float]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, keys, _ = engine
    monkeypatch.setattr(suite, "PEERS_UP_TO", 1_000)
    rows = suite._measure_all(data, keys, {}, tmp_path, quick=False)
    assert list(rows) == ["screening (mapped xxh3 index)"]
    assert SPREAD.fullmatch(rows["screening (mapped xxh3 index)"]["miss ns"])
    assert not (tmp_path / "lmdb").exists()

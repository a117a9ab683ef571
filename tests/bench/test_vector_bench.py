"""bench/vectors.py at a small size: it builds its three databases and its table says the
signature scan found what the exact scan found and that planted queries hit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.vectors import main


def test_the_vector_table_at_a_small_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(1000, tmp_path, quick=True) == 0
    table = capsys.readouterr().out
    rows = {
        cells[0]: cells[1]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| -")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert rows["cosine: signature scan = exact scan"] == "yes"
    assert rows["cosine: hits / queries (half planted)"] == "10 / 20"
    assert rows["phash: hits / queries (half planted)"] == "10 / 20"
    assert rows["DNA: hits / queries (half stored)"] == "5 / 10"
    assert (tmp_path / "vectors-1000" / "AFIS" / "MANIFEST").exists()

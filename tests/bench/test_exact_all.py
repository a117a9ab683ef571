"""bench/exact_all.py at a tiny size: every exact database loaded from its generated file,
one row per lookup (SMV, VESSELS and ICSE twice), each with figures and its ratio to SLTD."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.exact_all import COLUMNS, exact_databases, main


def test_the_exact_table_has_a_row_per_lookup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(300, tmp_path, quick=True) == 0
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ") and not line.startswith("| -")
    ]
    header, *body = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert header == ["lookup", *COLUMNS]
    rows = {cells[0]: dict(zip(COLUMNS, cells[1:], strict=True)) for cells in body}
    assert len(exact_databases()) == 15
    expected = [f"{db.code} by {lookup.name}" for db in exact_databases() for lookup in
                db.indexed_lookups]  # fmt: skip
    assert list(rows) == expected and len(expected) == 18
    for name in ("SMV by vin", "SMV by plate", "VESSELS by hin", "VESSELS by imo",
                 "ICSE by sha256", "ICSE by md5"):  # fmt: skip
        assert name in rows
    assert rows["SLTD by number"]["x SLTD"] == rows["SLTD by number"]["screen x SLTD"] == "1.00"
    assert rows["SLTD by number"]["records a hit"] == "1.00"
    for name, row in rows.items():
        assert all(row[column] not in ("", "-") for column in COLUMNS), name
        assert int(row["records"].replace(",", "")) > 0, name
    assert (tmp_path / "exact-300" / "data" / "GEIGER" / "MANIFEST").exists()

"""Shared fixtures for the screening tests: a data directory loaded through the real loader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loaders.load import load
from loaders.readers import Upload

HEADER = "number,country,status,type,visible_to\n"

# (owner, rows): L898902C3 is the ICAO specimen; DUP1 is issued by two states; R1 is
# restricted to GBR (and its owner); N000..N149 fill batches.
UPLOADS: tuple[tuple[str, str], ...] = (
    (
        "UTO",
        "L898902C3,UTO,stolen,P,\n"
        "DUP1,UTO,lost,P,\n"
        "R1,UTO,stolen,P,GBR\n" + "".join(f"N{i:03d},UTO,stolen,,\n" for i in range(150)),
    ),
    ("FRA", "DUP1,FRA,revoked,I,\nX1,FRA,lost,,\n"),
)

LoadRows = Callable[[Path, str, str], None]


def _load_rows(data: Path, owner: str, rows: str) -> None:
    """Load CSV rows (after the HEADER) as `owner`; every row must be accepted."""
    folder = data.parent / "uploads"
    folder.mkdir(exist_ok=True)
    source = folder / f"{owner}-{len(list(folder.iterdir()))}.csv"
    source.write_text(HEADER + rows, encoding="utf-8")
    result = load(data, "SLTD", owner, [Upload.of(str(source))])
    assert result.rejected == 0, result.summary()


@pytest.fixture
def load_rows() -> LoadRows:
    return _load_rows


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A data directory with the UPLOADS loaded, one load per owner."""
    data = tmp_path / "data"
    for owner, rows in UPLOADS:
        _load_rows(data, owner, rows)
    return data

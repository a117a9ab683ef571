"""A large upload's block workers spool the packed records themselves (loaders/block_pool.py):
what that changes for a load that fails, and what it leaves behind (nothing).

Hypothesis' byte-for-byte comparison of the pooled and serial paths is in
test_parallel_load.py; this file covers the spool's own failure and cleanup.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from pathlib import Path

import pytest

from indexes.manifest import MANIFEST_NAME
from loaders import block_pool, columnar
from loaders.generate import generate
from loaders.load import DataDirError, load, small_pages
from loaders.readers import Upload

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="block workers only on Linux"
)
ROWS = 3_000


@pytest.fixture
def upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An SLTD upload staged by the workers in blocks of a few hundred rows."""
    monkeypatch.setattr(block_pool, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 16 << 10)
    path = tmp_path / "upload.csv"
    generate("SLTD", ROWS, path)
    return path


def _only_engine_files(data: Path) -> list[str]:
    """What a data directory holds besides the database's own folder."""
    return sorted(name for name in os.listdir(data) if name != "SLTD")


def test_the_workers_spool_leaves_nothing_behind(tmp_path: Path, upload: Path) -> None:
    data = tmp_path / "data"
    result = load(data, "SLTD", "FRA", [Upload.of(str(upload))])
    assert result.accepted == ROWS
    assert _only_engine_files(data) == []
    published = {"LOCK", MANIFEST_NAME, "seg-000001.seg", "seg-000001.dead-000001"}
    assert set(os.listdir(data / "SLTD")) <= published


def test_a_full_disk_under_a_worker_is_a_failed_write_and_changes_nothing(
    tmp_path: Path, upload: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spool is written by another process: its ENOSPC still says the disk is full and
    nothing was stored, as a full spool of the loader's own does (test_full_disk.py)."""
    data = tmp_path / "data"
    load(data, "SLTD", "FRA", [Upload.of(str(upload))])
    before = (data / "SLTD" / MANIFEST_NAME).read_bytes()

    def full(fd: int, data: object, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)  # the workers fork with it
    with pytest.raises(DataDirError) as raised:
        load(data, "SLTD", "GBR", [Upload.of(str(upload))])
    message = str(raised.value)
    assert "No space left on device" in message
    assert "generation 1 is still the current one" in message
    assert "the upload was not stored" in message
    assert (data / "SLTD" / MANIFEST_NAME).read_bytes() == before
    assert _only_engine_files(data) == []
    monkeypatch.undo()
    assert load(data, "SLTD", "GBR", [Upload.of(str(upload))]).generation == 2


def test_a_load_leaves_numpys_page_setting_as_it_found_it() -> None:
    """`small_pages` turns numpy's huge pages off for a load only (a server that loads
    in-process keeps its own setting)."""
    original = _huge_pages(True)
    try:
        with small_pages():
            assert _huge_pages(False) is False  # off inside
        assert _huge_pages(True) is True  # restored
    finally:
        _huge_pages(original)


def _huge_pages(enabled: bool) -> bool:
    """Set numpy's setting; returns what it was."""
    multiarray = importlib.import_module("numpy._core.multiarray")
    return bool(multiarray._set_madvise_hugepage(enabled))

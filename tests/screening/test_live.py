"""A worker maps at startup without reading, then verifies on its watcher thread."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from indexes.container import Container
from indexes.segment import SEGMENT_MAGIC
from screening.live import Live


def _flip_a_record_byte(folder: Path) -> None:
    """Damage the record store, past every header and table the quick open checks."""
    segment = max(folder.glob("seg-*.seg"), key=lambda path: path.stat().st_size)
    container = Container(segment, SEGMENT_MAGIC, verify=False)
    records = container.sections["records"]
    container.close()
    data = bytearray(segment.read_bytes())
    data[records.offset + records.length // 2] ^= 0xFF
    segment.write_bytes(bytes(data))


def test_startup_serves_at_once_then_withdraws_a_database_that_fails_its_checksums(
    loaded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _flip_a_record_byte(loaded / "SLTD")
    live = Live(loaded, loaded / "keys.json")

    async def start_then_watch_once() -> tuple[bool, bool]:
        await live.refresh()
        mapped = "SLTD" in live.data.snapshots
        await live.refresh()
        return mapped, "SLTD" in live.data.snapshots

    with caplog.at_level(logging.ERROR, logger="screening.live"):
        mapped_at_start, served_after_check = asyncio.run(start_then_watch_once())
    live.close()
    assert mapped_at_start
    assert not served_after_check
    assert "SLTD" in live.refused
    assert any("no longer serving SLTD" in record.message for record in caplog.records)


def test_healthy_data_stays_served_after_the_startup_check(loaded: Path) -> None:
    live = Live(loaded, loaded / "keys.json")

    async def start_then_watch_once() -> bool:
        await live.refresh()
        await live.refresh()
        return "SLTD" in live.data.snapshots

    served = asyncio.run(start_then_watch_once())
    live.close()
    assert served
    assert live.verified
    assert not live.refused

"""Sections copied from files (`FileBytes`) and records another process spooled
(`PackedRecords.records` as a `FileBytes`): the same bytes as records given in memory.

A block worker of a load writes its packed records to a spool and hands the writer only
their place (loaders/block_pool.py); the segment must not be able to tell.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexes.container as container
from indexes.container import Container, FileBytes, SectionData, write_container
from indexes.segment import PackedRecords, Segment
from indexes.writer import Writer

MAGIC = b"TESTMAG\x00"
DB = "SLTD"
examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def spool() -> Iterator[int]:
    """An anonymous file, as the block pool's spool is."""
    with tempfile.TemporaryFile() as handle:
        yield handle.fileno()


@examples
@given(
    pieces=st.lists(st.tuples(st.binary(max_size=3000), st.booleans()), max_size=6),
    buffer=st.sampled_from([1, 7, 64, 1 << 20]),
)
def test_a_section_copied_from_a_file_is_the_bytes_written_there(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pieces: list[tuple[bytes, bool]],
    buffer: int,
) -> None:
    """Chunks in a file (anywhere in it, through a buffer of any size) and chunks in memory
    mix in one section; its checksum is that of the bytes, as `verify` recomputes it."""
    monkeypatch.setattr(container, "COPY_BUFFER", buffer)
    path = tmp_path / "file"
    chunks: list[SectionData | FileBytes] = []
    with tempfile.TemporaryFile() as handle:
        handle.write(b"junk before")
        for data, in_file in pieces:
            if in_file:
                chunks.append(FileBytes(handle.fileno(), handle.tell(), len(data)))
                handle.write(data + b"junk between")
            else:
                chunks.append(data)
        handle.flush()
        write_container(path, MAGIC, [("head", b"x"), ("copied", chunks), ("tail", b"y")])
    opened = Container(path, MAGIC)  # verifies every checksum
    assert bytes(opened.raw("copied")) == b"".join(data for data, _ in pieces)
    assert bytes(opened.raw("tail")) == b"y"
    opened.close()


def test_a_file_shorter_than_its_chunk_fails_the_write(tmp_path: Path, spool: int) -> None:
    """A spool that lost its end is a failed write, never a short section."""
    os.write(spool, b"only ten b")
    path = tmp_path / "file"
    with pytest.raises(OSError) as raised:
        write_container(path, MAGIC, [("copied", [FileBytes(spool, 0, 11)])])
    assert raised.value.errno == errno.EIO
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_a_write_failing_on_the_writing_thread_fails_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunks are written on a second thread: its failure (a full disk) reaches the
    caller as the error itself, the chunks after it are never written, and the
    temp file goes, as when the caller's own write failed."""
    written: list[int] = []
    real_write = container._write_chunk

    def write_chunk(out: Any, chunk: Any, digest: Any) -> None:
        if len(written) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(1)
        real_write(out, chunk, digest)

    monkeypatch.setattr(container, "_write_chunk", write_chunk)
    made: list[int] = []

    def chunks() -> Iterator[bytes]:
        for number in range(50):
            made.append(number)
            yield b"x" * 1000

    path = tmp_path / "file"
    with pytest.raises(OSError) as raised:
        write_container(path, MAGIC, [("a", b"a"), ("many", chunks())])
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(path)
    assert len(written) == 3
    assert len(made) < 50  # the caller stopped making chunks soon after
    assert os.listdir(tmp_path) == []


records_drawn = st.lists(
    st.tuples(st.sampled_from([b"A1", b"B22", b"C333", b"D4444"]), st.binary(max_size=40)),
    min_size=1,
    max_size=40,
)


def _packed(drawn: list[tuple[bytes, bytes]], spool: int | None) -> PackedRecords:
    """One block of records keyed by their identity; in memory, or written to `spool`."""
    packed = [msgpack.packb([identity, data], use_bin_type=True) for identity, data in drawn]
    blob = b"".join(packed)
    records: bytes | FileBytes = blob
    if spool is not None:
        offset = os.lseek(spool, 0, os.SEEK_END)
        os.write(spool, b"other" + blob)  # as a worker's range, after another's
        records = FileBytes(spool, offset + len(b"other"), len(blob))
    keys = [identity for identity, _ in drawn]
    return PackedRecords(
        records,
        np.array([len(p) for p in packed], dtype=np.uint64),
        b"".join(keys),
        np.array([len(k) for k in keys], dtype=np.uint64),
        keys,
        keys,
    )


def _build(directory: Path, blocks: list[list[tuple[bytes, bytes]]], spool: int | None) -> bytes:
    """Stage the blocks (every other one in memory when spooling) and commit."""
    with Writer(directory, DB) as writer:
        for number, block in enumerate(blocks):
            writer.upsert_packed(_packed(block, spool if number % 2 == 0 else None))
        writer.commit()
    return (directory / "seg-000001.seg").read_bytes()


@examples
@given(blocks=st.lists(records_drawn, min_size=1, max_size=4))
def test_spooled_records_make_the_segment_records_in_memory_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocks: list[list[tuple[bytes, bytes]]]
) -> None:
    """Byte for byte, duplicates included: their identities are read back from the spool
    (the last record of an identity wins, the others are tombstoned)."""
    monkeypatch.setattr("indexes.container._now_ns", lambda: 0)
    with tempfile.TemporaryDirectory(dir=tmp_path) as name, tempfile.TemporaryFile() as handle:
        folder = Path(name)
        spooled = _build(folder / "spooled", blocks, handle.fileno())
        in_memory = _build(folder / "memory", blocks, None)
        assert spooled == in_memory
        segment = Segment(folder / "spooled" / "seg-000001.seg")
        drawn = [record for block in blocks for record in block]
        assert [segment.record(r)[0] for r in range(segment.records)] == [i for i, _ in drawn]
        segment.close()
        memory, spooled_dir = folder / "memory", folder / "spooled"
        written = sorted(os.listdir(memory))
        assert sorted(os.listdir(spooled_dir)) == written
        for name in set(written) - {"MANIFEST"}:  # the tombstones too
            assert (spooled_dir / name).read_bytes() == (memory / name).read_bytes()


def test_spooled_lengths_must_add_up(tmp_path: Path, spool: int) -> None:
    """Lengths that do not cover the spooled range are the caller's bug, not a segment."""
    os.write(spool, b"abcdef")
    packed = PackedRecords(
        FileBytes(spool, 0, 6), np.array([2, 2], dtype=np.uint64), b"k", np.ones(1, np.uint64),
        [b"k"], [b"k"],
    )  # fmt: skip
    with Writer(tmp_path, DB) as writer, pytest.raises(ValueError, match="4 bytes in 6"):
        writer.upsert_packed(packed)

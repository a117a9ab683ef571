"""The column path on every core: CSV blocks parsed, checked and packed in worker processes.

The column path is numpy and Arrow driven from Python, which holds the GIL between calls,
so a second thread gives nothing; a second process does. The loader reads whole-line
blocks and numbers their lines; workers stage them (`stage_block`) and the results are
taken in block order, so the writer sees exactly what the serial path gives it: the same
rows, line numbers, later-line-wins order and reject report. Small uploads stay serial (a
worker's start costs more than they take).

Workers are forked before the writer takes the database lock, so none of them holds it,
and they die with the loader (PR_SET_PDEATHSIG): a killed load leaves no process behind.

A worker writes the packed records of its block to the pool's spool, an anonymous file
beside the data, and hands the loader their place (`SpooledRecords`), not their bytes: the
records, most of a block, no longer go through a pipe, a pickle and the builder's own
spool, and the segment copies them from this spool at the commit. At 10 million rows the
loader's own CPU time while blocks arrive fell from ~4.8 s to ~2.4 s (its core is the one
the workers share).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.reduction import ForkingPickler
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import numpy as np
import pyarrow as pa

from indexes.container import FileBytes, checksum
from indexes.hash_index import hash_keys
from loaders.catalog import database
from loaders.columnar import Chunk, PlainRows, parse_block, split_plain
from loaders.readers import BadRow, UnreadableFileError, csv_line_rows

WORKERS = 2
PARALLEL_MIN_BYTES = 32 << 20
"""Uploads smaller than this (8 blocks) are staged in the loader's own process."""
BLOCKS_AHEAD = 2
"""Blocks handed to each worker ahead of the one the loader waits for: bounded memory."""
PR_SET_PDEATHSIG = 1
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters

Row = tuple[int, dict[str, str]] | BadRow


@dataclass(frozen=True)
class SpooledRecords:
    """The packed records of a block as a worker wrote them to the pool's spool."""

    where: FileBytes
    lengths: np.ndarray
    """Each record's length in bytes, in row order."""


@dataclass(frozen=True)
class StagedBlock:
    """One block ready for the writer: its plain rows packed and hashed, and the rows for
    the row path (records.py) in line order. `spooled`: where a worker wrote the packed
    records (`plain.records` is then empty); None: they are in `plain.records`."""

    plain: PlainRows
    key_hashes: np.ndarray
    identity_hashes: np.ndarray
    others: list[Row]
    spooled: SpooledRecords | None = None

    def packed_records(self) -> tuple[memoryview | FileBytes, np.ndarray]:
        """The records' bytes or their place, and each one's length."""
        if self.spooled is not None:
            return self.spooled.where, self.spooled.lengths
        return buffer_of(self.plain.records)


def buffer_of(values: pa.Array) -> tuple[memoryview, np.ndarray]:
    """The bytes of a binary or string array end to end, and each value's length."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1]
    data = memoryview(values.buffers()[2] or b"")[int(offsets[0]) : int(offsets[-1])]
    return data, np.diff(offsets).astype(np.uint64)


class SpoolWriteError(OSError):
    """A worker could not write to the pool's spool (a full disk): a write of the load's."""


class Spool:
    """The pool's spool: an anonymous file its workers write records to, each at a range
    of its own, reserved under a lock shared by the forked workers."""

    def __init__(self, directory: Path | None) -> None:
        self.file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self._end: Synchronized[int] = multiprocessing.get_context("fork").Value("q", 0)

    def write(self, data: memoryview) -> FileBytes:
        """Write `data` at a range no other worker writes to; returns where it is."""
        with self._end.get_lock():
            offset = self._end.value
            self._end.value = offset + len(data)
        fd = self.file.fileno()
        written = 0
        try:
            while written < len(data):
                written += os.pwrite(fd, data[written:], offset + written)
        except OSError as error:
            raise SpoolWriteError(error.errno, error.strerror) from None
        return FileBytes(fd, offset, len(data))

    def close(self) -> None:
        self.file.close()


_spool: Spool | None = None
"""In a worker, the pool's spool (set when it starts); None in the loader."""


@dataclass(frozen=True)
class FileSlice:
    """A chunk by reference: a worker reads its block from the upload itself, so the loader
    neither pickles nor pipes the upload's bytes (it reads them once, to cut whole lines).
    `digest` is the checksum of the bytes the loader cut: an upload rewritten while it is
    being loaded is refused rather than stored with wrong line numbers."""

    path: str
    offset: int
    length: int
    first_line: int
    padded: bool
    digest: int

    @classmethod
    def of(cls, path: str, chunk: Chunk) -> FileSlice:
        length = len(chunk.data) - chunk.padded
        return cls(path, chunk.offset, length, chunk.first_line, chunk.padded,
                   checksum(chunk.data))  # fmt: skip

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            data = os.pread(handle.fileno(), self.length, self.offset)
        if self.padded:
            data += b"\n"
        if checksum(data) != self.digest:
            raise UnreadableFileError(self.path, "the file changed while it was being loaded")
        return data


def stage_block(
    db_code: str,
    owner: str,
    file: str,
    columns: list[str],
    chunk: Chunk | FileSlice,
    threads: bool = True,
) -> StagedBlock:
    """Everything of a block that needs neither the writer nor the published data.
    `threads=False` in a worker: Arrow's threads would only compete with the other one."""
    data = chunk.read() if isinstance(chunk, FileSlice) else chunk.data
    block = parse_block(data, columns, chunk.first_line, threads)
    plain, others = split_plain(database(db_code), block, owner)
    rows: list[Row] = list(csv_line_rows(file, columns, block.other_lines))
    leftovers = block.table.take(pa.array(others)).to_pylist()
    rows += list(zip(block.lines[others].tolist(), leftovers, strict=True))
    rows.sort(key=_line_of)
    key_hashes = hash_keys(plain.keys.cast(pa.binary()).to_pylist())
    identity_hashes = hash_keys(plain.identities.to_pylist())
    if _spool is None or not len(plain.records):
        return StagedBlock(plain, key_hashes, identity_hashes, rows)
    records, lengths = buffer_of(plain.records)
    spooled = SpooledRecords(_spool.write(records), lengths)
    unpacked = replace(plain, records=pa.array([], type=pa.binary()))
    return StagedBlock(unpacked, key_hashes, identity_hashes, rows, spooled)


def _line_of(row: Row) -> int:
    return row.line if isinstance(row, BadRow) else row[0]


def staged_blocks(
    pool: ProcessPoolExecutor | None,
    db_code: str,
    owner: str,
    file: str,
    columns: list[str],
    chunks: Iterator[Chunk],
) -> Iterator[StagedBlock]:
    """`stage_block` of each chunk, in chunk order: in the pool's workers if there is one
    (each reading its chunk from `file`), a few blocks ahead of the caller and no more
    (memory stays that of a few blocks)."""
    if pool is None:
        for chunk in chunks:
            yield stage_block(db_code, owner, file, columns, chunk)
        return
    pending: deque[Future[StagedBlock]] = deque()
    try:
        for chunk in chunks:
            slice_ = FileSlice.of(file, chunk)
            staging = pool.submit(stage_block, db_code, owner, file, columns, slice_, False)
            pending.append(staging)
            if len(pending) > WORKERS * BLOCKS_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


@contextmanager
def block_pool(
    upload_bytes: int, spool_directory: Path | None = None
) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for uploads of `upload_bytes` in all, or None when staging them in
    this process is as fast. Enter it before taking the database lock (module docstring).
    Their spool is an anonymous file in `spool_directory` (None: the system's temporary
    directory), which lives as long as the pool: commit the records it holds inside."""
    if upload_bytes < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        yield None
        return
    spool = Spool(spool_directory)
    try:
        pool = ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(os.getpid(), spool),
        )
        try:
            pool.submit(int).result()  # a forking pool starts all its workers at the first task
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        spool.close()


def _start_worker(parent: int, spool: Spool) -> None:
    """Die with the loader, leave Ctrl-C to it; keep freed memory for the next block.

    glibc hands large freed blocks back to the kernel, and every block's arrays would then
    be fresh pages, each faulted in and zeroed: a third of a worker's time went to the
    kernel. A block's arrays are a few MB, so keeping them costs little memory."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the loader died before the line above took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the loader's to handle
    global _spool
    _spool = spool
    mallopt = getattr(libc, "mallopt", None)  # glibc's; musl has none
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, 64 << 20)
        mallopt(M_TRIM_THRESHOLD, 256 << 20)


def _rebuilt_unreadable(file: str, line: int | None, message: str) -> UnreadableFileError:
    error = UnreadableFileError(file, "", line)
    error.args = (message,)
    return error


def _reduce_unreadable(
    error: UnreadableFileError,
) -> tuple[Callable[..., UnreadableFileError], tuple[str, int | None, str]]:
    return _rebuilt_unreadable, (error.file, error.line, str(error))


# An unreadable line found in a worker reaches the loader as the same error, same message.
ForkingPickler.register(UnreadableFileError, _reduce_unreadable)

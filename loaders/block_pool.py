"""The column path on every core: CSV blocks parsed, checked and packed in worker processes.

The column path is numpy and Arrow driven from Python, which holds the GIL between calls,
so a second thread gives nothing; a second process does. The loader reads whole-line
blocks and numbers their lines; workers stage them (`stage_block`) and the results are
taken in block order, so the writer sees exactly what the serial path gives it: the same
rows, line numbers, later-line-wins order and reject report. Small uploads stay serial (a
worker's start costs more than they take).

Workers are forked before the writer takes the database lock, so none of them holds it,
and they die with the loader (PR_SET_PDEATHSIG): a killed load leaves no process behind.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pyarrow as pa

from indexes.container import checksum
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
class StagedBlock:
    """One block ready for the writer: its plain rows packed and hashed, and the rows for
    the row path (records.py) in line order."""

    plain: PlainRows
    key_hashes: np.ndarray
    identity_hashes: np.ndarray
    others: list[Row]


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
    return StagedBlock(
        plain,
        hash_keys(plain.keys.cast(pa.binary()).to_pylist()),
        hash_keys(plain.identities.to_pylist()),
        rows,
    )


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
def block_pool(upload_bytes: int) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for uploads of `upload_bytes` in all, or None when staging them in
    this process is as fast. Enter it before taking the database lock (module docstring)."""
    if upload_bytes < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        yield None
        return
    pool = ProcessPoolExecutor(
        WORKERS,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(int).result()  # a forking pool starts all its workers at the first task
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent: int) -> None:
    """Die with the loader, leave Ctrl-C to it; keep freed memory for the next block.

    glibc hands large freed blocks back to the kernel, and every block's arrays would then
    be fresh pages, each faulted in and zeroed: a third of a worker's time went to the
    kernel. A block's arrays are a few MB, so keeping them costs little memory."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the loader died before the line above took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the loader's to handle
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

"""The one file layout every index file shares: a header, a section table, sections.

Every file of a database (segment, tombstones, manifest) proves itself when opened: magic,
version, its own length, a checksum of the header and section table, and one checksum per
section. Sharing one container keeps that proof in one place, and lets a reader map a file
and hand out zero-copy views of its sections (FORMAT.md, "The container").
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import xxhash

from indexes.errors import CorruptFileError, FormatVersionError

FORMAT_MAJOR = 2
FORMAT_MINOR = 0
HEADER_SIZE = 64
SECTION_ENTRY_SIZE = 32
SECTION_ALIGN = 64
# "magic(8) major(u16) minor(u16) sections(u32) file_size(u64) created_ns(u64)
#  table_checksum(u64) reserved(16) header_checksum(u64)", little-endian.
HEADER_STRUCT = struct.Struct("<8sHHIQQQ16sQ")
# "name(8, NUL-padded ASCII) offset(u64) length(u64) checksum(u64)"
SECTION_STRUCT = struct.Struct("<8sQQQ")

assert HEADER_STRUCT.size == HEADER_SIZE
assert SECTION_STRUCT.size == SECTION_ENTRY_SIZE


def checksum(data: bytes | memoryview | np.ndarray) -> int:
    """xxh3_64 of the bytes, seed 0: the checksum of every header and section."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).data.cast("B")
    return xxhash.xxh3_64_intdigest(data)


@dataclass(frozen=True)
class Section:
    name: str
    offset: int
    length: int
    checksum: int


COPY_BUFFER = 1 << 20
"""Bytes a `FileBytes` chunk is copied through at a time: small enough to stay in cache."""


@dataclass(frozen=True)
class FileBytes:
    """A chunk of a section that is already in a file (a builder's spool): `length` bytes
    from `offset` of the open file `fd`.

    They are read into one small buffer, checksummed there and written from it: 0.3 s of
    system time for 842 MB on the bench's VM, where `write()` straight from a mapping of
    the spool took 1.6 to 4.0 s (a 10-million-record commit's largest serial step). No
    chunk of the spool is mapped into this process at all."""

    fd: int
    offset: int
    length: int


SectionData = bytes | bytearray | memoryview | np.ndarray


def _as_bytes_view(data: SectionData) -> memoryview:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).data.cast("B")
    return memoryview(data).cast("B")


def _aligned(offset: int) -> int:
    return (offset + SECTION_ALIGN - 1) // SECTION_ALIGN * SECTION_ALIGN


def fsync_directory(path: Path) -> None:
    """A rename is durable only once the directory that holds it is fsynced."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Write to a temp file beside `path`, fsync, close, rename (cdbmake's discipline)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write() names no file: say which it was
        raise
    fsync_directory(path.parent)


def write_container(
    path: Path,
    magic: bytes,
    sections: Sequence[tuple[str, SectionData | Iterable[SectionData | FileBytes]]],
    created_ns: int | None = None,
) -> None:
    """Write a whole container atomically; a section may be given as an iterable of chunks.

    Chunked sections are streamed, so a multi-GiB section is never joined in memory; a
    chunk may be bytes already in a file (`FileBytes`), copied through a small buffer.
    Chunks are written and checksummed on a second thread while this one makes the next
    (`_WritingThread`), so a lazily made section costs the larger of the two, not the sum.
    """
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * len(sections)
    with _atomic_output(path) as out:
        writing = _WritingThread(out)
        try:
            writing.write(b"\0" * _aligned(table_end))
            placed = [_place_section(writing, name, data) for name, data in sections]
            writing.finish()
        finally:
            writing.close()
        entries = [
            Section(name, start, length, digest.intdigest())
            for name, start, length, digest in placed
        ]
        _write_header(out, magic, entries, writing.position, created_ns)


def _place_section(
    writing: _WritingThread, name: str, data: SectionData | Iterable[SectionData | FileBytes]
) -> tuple[str, int, int, xxhash.xxh3_64]:
    """Queue a section's padding and chunks; returns (name, start, length, its digest, whose
    value is known once the writing thread has finished)."""
    start = _aligned(writing.position)
    writing.write(b"\0" * (start - writing.position))
    digest = xxhash.xxh3_64()
    chunks: Iterable[SectionData | FileBytes] = (
        [data] if isinstance(data, bytes | bytearray | memoryview | np.ndarray) else data
    )
    for chunk in chunks:
        writing.write(chunk if isinstance(chunk, FileBytes) else _as_bytes_view(chunk), digest)
    return name, start, writing.position - start, digest


QUEUED_CHUNKS = 2
"""Chunks made ahead of the one being written: bounds the memory they hold."""


class _WritingThread:
    """Writes and checksums a container's chunks, in order, on a second thread.

    The commit of a load makes sections with numpy (the key rows by slot) and writes them
    to the page cache; both release the GIL, so on two cores one chunk is written while
    the next is made. The caller tracks the position (every chunk's length is known when
    it is queued), so sections are placed without waiting; a failed write is raised to
    the caller at its next `write` or at `finish`, and the chunks after it are dropped."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.position = 0
        self._queue: queue.Queue[tuple[memoryview | FileBytes, xxhash.xxh3_64 | None] | None]
        self._queue = queue.Queue(QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="write_container", daemon=True)
        self._thread.start()

    def write(
        self, chunk: bytes | memoryview | FileBytes, digest: xxhash.xxh3_64 | None = None
    ) -> None:
        if self._error is not None:
            raise self._error
        view = chunk if isinstance(chunk, FileBytes) else memoryview(chunk)
        self._queue.put((view, digest))
        self.position += view.length if isinstance(view, FileBytes) else view.nbytes

    def finish(self) -> None:
        """Wait until every queued chunk is written; raise what a write raised."""
        self.close()
        if self._error is not None:
            raise self._error
        if self._out.tell() != self.position:
            raise OSError(errno.EIO, f"wrote {self._out.tell()} bytes, {self.position} queued")

    def close(self) -> None:
        """Stop the thread once the queued chunks are done (at once after a failure)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    _write_chunk(self._out, *item)
                except BaseException as error:
                    self._error = error


def _write_chunk(
    out: BinaryIO, chunk: memoryview | FileBytes, digest: xxhash.xxh3_64 | None
) -> None:
    if isinstance(chunk, FileBytes):
        _copy_file_bytes(out, chunk, digest or xxhash.xxh3_64())
        return
    if digest is not None:
        digest.update(chunk)
    out.write(chunk)


def _copy_file_bytes(out: BinaryIO, chunk: FileBytes, digest: xxhash.xxh3_64) -> None:
    buffer = memoryview(bytearray(min(COPY_BUFFER, chunk.length)))
    copied = 0
    while copied < chunk.length:
        wanted = buffer[: min(len(buffer), chunk.length - copied)]
        got = os.preadv(chunk.fd, [wanted], chunk.offset + copied)
        if got == 0:
            raise OSError(errno.EIO, f"spool ends {chunk.length - copied} bytes early")
        digest.update(wanted[:got])
        out.write(wanted[:got])
        copied += got


def _encode_name(name: str) -> bytes:
    raw = name.encode("ascii")
    if len(raw) > 8:
        raise ValueError(f"section name {name!r} is longer than 8 bytes")
    return raw.ljust(8, b"\0")


def _write_header(
    out: BinaryIO,
    magic: bytes,
    entries: list[Section],
    file_size: int,
    created_ns: int | None,
) -> None:
    table = b"".join(
        SECTION_STRUCT.pack(_encode_name(s.name), s.offset, s.length, s.checksum) for s in entries
    )
    fields = (
        magic,
        FORMAT_MAJOR,
        FORMAT_MINOR,
        len(entries),
        file_size,
        created_ns if created_ns is not None else _now_ns(),
        checksum(table),
        b"\0" * 16,
    )
    head = HEADER_STRUCT.pack(*fields, 0)[: HEADER_SIZE - 8]
    header = head + struct.pack("<Q", checksum(head))
    out.seek(0)
    out.write(header + table)


def _now_ns() -> int:
    return time.time_ns()


class Container:
    """A mapped, checked container file; sections are zero-copy views of the mapping."""

    def __init__(self, path: Path, magic: bytes, verify: bool = True) -> None:
        self.path = path
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < HEADER_SIZE:
                raise CorruptFileError(path, 0, f"file is {size} bytes, shorter than a header")
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._view = memoryview(self._map)
        self.created_ns = 0
        self.sections: dict[str, Section] = {}
        self._read_header(magic, size)
        if verify:
            self.verify()

    def _read_header(self, magic: bytes, size: int) -> None:
        header = bytes(self._view[:HEADER_SIZE])
        found, major, minor, count, file_size, created, table_sum, _, head_sum = (
            HEADER_STRUCT.unpack(header)
        )
        if found != magic:
            raise CorruptFileError(self.path, 0, f"magic is {found!r}, expected {magic!r}")
        if checksum(header[: HEADER_SIZE - 8]) != head_sum:
            raise CorruptFileError(self.path, 56, "header checksum does not match the header")
        if major != FORMAT_MAJOR:
            raise FormatVersionError(self.path, major, minor, FORMAT_MAJOR)
        if file_size != size:
            raise CorruptFileError(
                self.path, 16, f"header says {file_size} bytes but the file has {size}"
            )
        table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * count
        if table_end > size:
            raise CorruptFileError(self.path, 12, f"{count} sections do not fit in {size} bytes")
        table = self._view[HEADER_SIZE:table_end]
        if checksum(table) != table_sum:
            raise CorruptFileError(self.path, HEADER_SIZE, "section table checksum does not match")
        self.created_ns = created
        for index in range(count):
            self._add_section(table, index, size)

    def _add_section(self, table: memoryview, index: int, size: int) -> None:
        raw_name, offset, length, digest = SECTION_STRUCT.unpack_from(
            table, index * SECTION_ENTRY_SIZE
        )
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        if offset + length > size or offset < HEADER_SIZE:
            raise CorruptFileError(
                self.path, offset, f"section {name!r} lies outside the file ({size} bytes)"
            )
        self.sections[name] = Section(name, offset, length, digest)

    def verify(self) -> None:
        """Check every section's checksum: reads the whole file once (~15 GB/s)."""
        for section in self.sections.values():
            if checksum(self.raw(section.name)) != section.checksum:
                raise CorruptFileError(
                    self.path,
                    section.offset,
                    f"section {section.name!r} ({section.length} bytes) fails its checksum",
                )

    def warm(self) -> None:
        """Touch one byte of every page so this process's page tables map the whole file.

        A mapped page costs a minor fault (~1 us) the first time a process touches it,
        which would otherwise land on the first lookups after every open or reload.
        """
        pages = np.frombuffer(self._view, dtype=np.uint8)[:: mmap.PAGESIZE]
        int(pages.sum(dtype=np.uint64))

    def raw(self, name: str) -> memoryview:
        section = self.require(name)
        return self._view[section.offset : section.offset + section.length]

    @property
    def mapping(self) -> mmap.mmap:
        """The whole mapped file, for readers that slice it by absolute offsets."""
        return self._map

    def require(self, name: str) -> Section:
        try:
            return self.sections[name]
        except KeyError:
            raise CorruptFileError(self.path, 0, f"section {name!r} is missing") from None

    def array(self, name: str, dtype: type[np.generic], count: int | None = None) -> np.ndarray:
        """A read-only numpy view of a section; `count` is checked against its length."""
        raw = self.raw(name)
        itemsize = np.dtype(dtype).itemsize
        if raw.nbytes % itemsize or (count is not None and raw.nbytes != count * itemsize):
            expected = "a multiple of" if count is None else f"{count} x"
            raise CorruptFileError(
                self.path,
                self.sections[name].offset,
                f"section {name!r} is {raw.nbytes} bytes, expected {expected} {itemsize}",
            )
        return np.frombuffer(raw, dtype=dtype)

    def close(self) -> None:
        """Release the mapping now if no view of it is alive, else when the last one dies.

        Requests in flight may still hold arrays of an old snapshot: they keep working.
        """
        try:
            self._view.release()
            self._map.close()
        except BufferError:
            pass

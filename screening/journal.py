"""An append-only journal of JSON lines that several processes write at once, read from a
cursor that never skips a line: the storage of the audit trail and of hit notifications.

A journal is a directory of streams, one per writing process: `w0/`, `w1/` ... (the worker
number; `w0-2` if `w0` is taken), each holding `00000001.jsonl`, `00000002.jsonl` ... (the
newest is the one written to) and `LOCK`. Why this shape:

- A writer owns its stream: it holds an exclusive `flock` of the stream's `LOCK` from its
  first append to its close, so an append is one `write()` of complete lines, each ending
  in `\\n`, with no lock, stat or seek per append (the flocks and fstat of a file all
  processes shared cost ~10 us of CPU an append, two per check that hits). The kernel
  drops a dead process's lock; the next owner ends a torn last line it left (a write cut
  short: killed mid-write, a full disk) before its own lines, so a torn line is one
  damaged line that readers skip, never glued to a good one.
- Rotation by size: the owner who finds its file at `rotate_at` bytes or more seals it
  (mode 0400) and creates the next number. A sealed file is never written again, whatever
  limit the next owner uses, and file N+1 exists only once N is sealed: a reader that saw
  N+1 before reading N knows that N's tail is final.
- Durability: the lines are in the page cache when `append` returns, so a killed worker
  loses nothing; the journal's syncer (screening/journal_sync.py) fdatasyncs them in
  batches, off the event loop, moments later.
- Reading: `scan` merges the streams (in the order of the lines' first bytes, which the
  service's writers make their time: audit.py) and yields each complete line with its
  stream and the `Position` after it (file number, byte offset). A `Cursor` holds one
  position per stream, so a read resumes every stream exactly where it stopped, however
  the streams interleave in time. A line still being written is not complete yet: the
  cursor stays before it, and the next read returns it.
- Files written before streams existed (`DIR/00000001.jsonl` ...) are the stream named
  `LEGACY` (""): read first and like any other, never written again.

Rotated files are kept: an audit trail is evidence. An operator may archive the oldest
files of a stream (never its newest); a cursor into an archived file resumes at the
oldest kept one.
"""

from __future__ import annotations

import errno
import fcntl
import heapq
import os
import re
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path
from typing import IO, Any

import orjson

from screening.journal_sync import DeferredSyncer, Syncer

SUFFIX = ".jsonl"
FILE_NAME = re.compile(r"(\d{8})\.jsonl")
STREAM_NAME = re.compile(r"w\d{1,6}(-\d{1,6})?")
LEGACY = ""
"""The stream of the files directly in the journal's directory (written before streams)."""
LOCK_NAME = "LOCK"
WRITABLE_MODE = 0o600
"""Journal files hold who checked what: readable by the service's user only."""
SEALED_MODE = 0o400
READ_BLOCK = 1 << 20
MERGE_KEY = 40
"""Bytes at the start of a line that order the streams' lines when they are merged: the
service's lines begin with their time (`{"at":"2026-11-23T08:00:00.000000Z"`)."""
STAMP = b'{"at":"'


class JournalError(Exception):
    """A journal cannot be written; the message names its directory and why."""


class CursorError(ValueError):
    """A position no reader of this journal was given; the message says what is wrong."""


@dataclass(frozen=True, order=True)
class Position:
    """Where a read of one stream starts: byte `offset` of file number `file`."""

    file: int
    offset: int


START = Position(0, 0)
"""Before the first line of the oldest file kept."""

Cursor = Mapping[str, Position]
"""Where a read starts in each stream (by name); a stream not named starts at START."""

BEGINNING: Cursor = {}


def file_path(directory: Path, number: int) -> Path:
    return directory / f"{number:08d}{SUFFIX}"


def file_numbers(directory: Path) -> list[int]:
    """The numbers of a stream's files, oldest first; none if there is no directory."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(match[1]) for name in names if (match := FILE_NAME.fullmatch(name)))


def stream_directory(directory: Path, stream: str) -> Path:
    return directory / stream if stream else directory


def streams(directory: Path) -> list[str]:
    """The names of a journal's streams, LEGACY first if it has files."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = sorted(name for name in names if STREAM_NAME.fullmatch(name))
    legacy = any(FILE_NAME.fullmatch(name) for name in names)
    return [LEGACY, *found] if legacy else found


class Journal:
    """The appending end of one journal, for one process; its methods are thread-safe.

    The stream is claimed, and its files opened, at the first append, so a journal nobody
    writes to leaves no trace. `syncer` makes its lines durable (screening/journal_sync.py);
    without one, they are made so when the journal is closed.
    """

    def __init__(
        self, directory: Path, rotate_at: int, worker: int = 0, syncer: Syncer | None = None
    ) -> None:
        self.directory = directory
        self.rotate_at = rotate_at
        self.worker = worker
        self.syncer: Syncer = syncer if syncer is not None else DeferredSyncer()
        self.stream: str | None = None
        """The name of the stream this process owns, once it has appended."""
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._number = 0
        self._size: int | None = None
        """Bytes in the file written to, or None when unknown (after a failed write)."""
        self._new_entries: set[Path] = set()
        """Directories that gained a file or folder, for the syncer once the append is made."""

    def append(self, lines: bytes) -> None:
        """Write complete lines (each ending in `\\n`) in one `write()`; JournalError if not."""
        if not lines.endswith(b"\n"):
            raise ValueError("a journal takes complete lines, each ending in a newline")
        with self._lock:
            try:
                size = self._size
                if size is None or size >= self.rotate_at:
                    size = self._writable()
                self._size = None  # unknown until the write is whole
                fd = self._fd_now()
                self._size = size + _write_all(fd, lines)
            except OSError as error:
                raise JournalError(
                    f"{self.directory}: cannot append: {error.strerror or error}"
                ) from None
            self.syncer.dirty(fd)

    def _fd_now(self) -> int:
        assert self._fd is not None
        return self._fd

    def _writable(self) -> int:
        """The size of the file to append to (its torn last line ended first), claiming
        the stream at the first append and rotating when the file is full."""
        if self._fd is None:
            self._claim()
        assert self._fd is not None
        while True:
            status = os.fstat(self._fd)
            writable = bool(status.st_mode & stat.S_IWUSR)
            if writable and status.st_size < self.rotate_at:
                self._hand_over_directories()
                return _ended(self._fd, status.st_size)
            if writable:
                os.fchmod(self._fd, SEALED_MODE)
            self._switch(self._number + 1)

    def _hand_over_directories(self) -> None:
        """The directories that gained entries, to the syncer (the deepest first)."""
        folders = sorted(self._new_entries, key=lambda path: len(path.parts), reverse=True)
        for folder in folders:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self.syncer.track(fd, folder)
            self.syncer.hand_over(fd)
            self._new_entries.discard(folder)

    def _claim(self) -> None:
        """Own a stream: `w<worker>`, or the first of `w<worker>-2`, `-3` ... no live
        process holds (another server on the same data, or another journal of this one)."""
        chain = (self.directory, *self.directory.parents)
        missing = list(takewhile(lambda folder: not folder.is_dir(), chain))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._new_entries.update(folder.parent for folder in missing)
        for index in range(1, 1000):
            name = f"w{self.worker}" if index == 1 else f"w{self.worker}-{index}"
            folder = self.directory / name
            if not folder.is_dir():
                folder.mkdir(exist_ok=True)
                self._new_entries.update((self.directory, folder))
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            lock = os.open(folder / LOCK_NAME, flags, WRITABLE_MODE)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                continue
            self._lock_fd, self.stream = lock, name
            numbers = file_numbers(folder)
            self._switch(numbers[-1] if numbers else 1)
            return
        raise OSError(errno.EBUSY, "every stream of this worker number is taken")

    def _stream_directory(self) -> Path:
        assert self.stream is not None
        return self.directory / self.stream

    def _switch(self, number: int) -> None:
        """Append to file `number` of the stream from now on (created if missing)."""
        folder = self._stream_directory()
        path = file_path(folder, number)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, WRITABLE_MODE)
        except PermissionError:
            if not _sealed(path):
                raise
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # fstat shows it sealed: next one
        if self._fd is not None:
            self.syncer.hand_over(self._fd)  # its last lines made durable, then closed
        self.syncer.track(fd, path)
        self._fd, self._number = fd, number
        self._new_entries.add(folder)

    def close(self) -> None:
        """Make every line durable, then close (which gives the stream up); only once
        nothing appends any more."""
        self.syncer.drain()
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._lock_fd = None
            self._size, self.stream = None, None


def _sealed(path: Path) -> bool:
    try:
        return not path.stat().st_mode & stat.S_IWUSR
    except FileNotFoundError:
        return False


def _ended(fd: int, size: int) -> int:
    """The size of a file after ending its torn last line (a write cut short), if any."""
    if size and os.pread(fd, 1, size - 1) != b"\n":
        return size + _write_all(fd, b"\n")
    return size


def _write_all(fd: int, lines: bytes) -> int:
    """Write all of `lines`; returns their length."""
    view = memoryview(lines)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.ENOSPC, "no space left on the device")
        view = view[written:]
    return len(lines)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line (without its `\\n`) of a stream, where it starts and the position after it."""

    text: bytes
    at: Position
    end: Position
    stream: str = LEGACY


def line_file(directory: Path, line: Line) -> Path:
    """The file a line is in, to name it in a message."""
    return file_path(stream_directory(directory, line.stream), line.at.file)


def scan(directory: Path, start: Cursor = BEGINNING, before: bytes | None = None) -> Iterator[Line]:
    """Every complete line of every stream from `start` on, across rotations: each
    stream's lines in their order, the streams merged by their lines' first bytes (time).

    `before` (the first bytes of a line stamped when the read began, `{"at":"...Z"`): each
    stream stops at its first line stamped then or later. The streams are read one after
    the other, so without it a read could take a line another worker wrote after it had
    already passed the end of an earlier stream, and an earlier line of the same terminal,
    written there meanwhile, would come on a later page: out of the order it was checked
    in. A line stamped before the read began was written before any file is read (a
    terminal's next check starts after its answer, so after the line), hence every line it
    follows is in this read too.
    """
    names = streams(directory)
    lines = [_until(scan_stream(directory, name, start.get(name, START)), before)
             for name in names]  # fmt: skip
    if len(lines) == 1:  # the usual reader's case: nothing to merge
        yield from lines[0]
        return
    yield from heapq.merge(*lines, key=_merge_key)


def _until(lines: Iterator[Line], before: bytes | None) -> Iterator[Line]:
    if before is None:
        return lines
    return takewhile(lambda line: not _stamped_since(line, before), lines)


def _stamped_since(line: Line, before: bytes) -> bool:
    """A line of the service stamped at or after `before` (a damaged one is not: it has no
    time to compare, and it is skipped by the reader anyway)."""
    return line.text.startswith(STAMP) and line.text[:MERGE_KEY] >= before


def _merge_key(line: Line) -> bytes:
    return line.text[:MERGE_KEY]


def scan_stream(directory: Path, stream: str, start: Position = START) -> Iterator[Line]:
    """Every complete line of one stream from `start` on, oldest first, across rotations.

    A sealed file's unfinished tail (a write cut short) comes out as a line of its own,
    for the caller to find damaged; the newest file's unfinished tail may still be being
    written, and is left for the next read.
    """
    folder = stream_directory(directory, stream)
    numbers = file_numbers(folder)
    if not numbers:
        return
    number, offset = start.file, start.offset
    if number < numbers[0]:
        number, offset = numbers[0], 0  # archived: resume at the oldest file kept
    while True:
        sealed = file_path(folder, number + 1).exists()  # before the read: see above
        try:
            handle = open(file_path(folder, number), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            if not sealed:
                return
        else:
            with handle:
                yield from _lines(handle, stream, number, offset, sealed)
        if not sealed:
            return
        number, offset = number + 1, 0


def _lines(
    handle: IO[bytes], stream: str, number: int, offset: int, sealed: bool
) -> Iterator[Line]:
    handle.seek(offset)
    pending = b""
    while block := handle.read(READ_BLOCK):
        pending += block
        start = 0
        while (newline := pending.find(b"\n", start)) >= 0:
            yield Line(
                pending[start:newline],
                Position(number, offset + start),
                Position(number, offset + newline + 1),
                stream,
            )
            start = newline + 1
        pending, offset = pending[start:], offset + start
    if pending and sealed:
        yield Line(pending, Position(number, offset), Position(number + 1, 0), stream)


def check_cursor(directory: Path, cursor: Cursor) -> None:
    """CursorError unless every position of `cursor` is one `scan` could have given."""
    names = set(streams(directory))
    for stream, position in cursor.items():
        if stream not in names and position != START:
            raise CursorError("names a stream this journal does not have")
        check_position(stream_directory(directory, stream), position)


def check_position(directory: Path, position: Position) -> None:
    """CursorError unless `position` is one `scan_stream` could have given for the stream
    in `directory`."""
    if position == START:
        return
    numbers = file_numbers(directory)
    if position.file < 1 or position.offset < 0:
        raise CursorError("not a position in this journal")
    if not numbers or position.file > numbers[-1]:
        raise CursorError("points past the newest file of this journal")
    if position.file < numbers[0]:
        return  # archived since: the read resumes at the oldest file kept
    path = file_path(directory, position.file)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if position.offset > size:
                raise CursorError(f"points past the end of {path.name} ({size:,} bytes)")
            if position.offset and os.pread(handle.fileno(), 1, position.offset - 1) != b"\n":
                raise CursorError(f"does not point at the start of a line of {path.name}")
    except FileNotFoundError:
        return  # a file archived out of order: the read moves on to the next one


@dataclass
class Page:
    """Up to `limit` entries from a cursor, and the cursor past the last one read."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    cursor: dict[str, Position] = field(default_factory=dict)
    more: bool = False
    damaged: list[Line] = field(default_factory=list)
    """Lines that are not JSON objects (torn by a crash), skipped."""


def read_page(directory: Path, start: Cursor, limit: int, before: bytes | None = None) -> Page:
    """The next `limit` entries after `start`, stamped before `before` if given (`scan`);
    `more` if others follow already."""
    page = Page(cursor=dict(start))
    for line in scan(directory, start, before):
        entry = parse_line(line.text)
        if entry is not None and len(page.entries) == limit:
            page.more = True
            break
        if entry is None:
            page.damaged.append(line)
        else:
            page.entries.append(entry)
        page.cursor[line.stream] = line.end
    return page


def parse_line(text: bytes) -> dict[str, Any] | None:
    """The object of one line, or None for a damaged line."""
    try:
        entry = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None

"""An append-only journal of JSON lines that several processes write at once, read from a
cursor that never skips a line: the storage of the audit trail and of hit notifications.

A journal is a directory: `00000001.jsonl`, `00000002.jsonl` ... (the newest is the one
written to) and `LOCK`. Why this shape:

- Every append is one `write()` of complete lines, each ending in `\\n`, made under an
  exclusive `flock` of `LOCK`: the lines of two workers never interleave, and the writer
  may look at the file's last byte first. A write cut short (its worker killed mid-write,
  a full disk) leaves a line without its `\\n`; the next writer ends it before its own
  lines, so a torn line is one damaged line that readers skip, never glued to a good one.
- Rotation by size: the lock holder who finds the file at `rotate_at` bytes or more seals
  it (mode 0400, which every writer sees in the `fstat` it makes anyway) and creates the
  next number. A sealed file is never written again, whatever limit another process uses,
  and file N+1 exists only once N is sealed: a reader that saw N+1 before reading N
  knows that N's tail is final.
- Durability: the lines are in the page cache when `append` returns, so a killed worker
  loses nothing; `Syncer` fdatasyncs them in batches, on a thread, moments later.
- Reading: `scan` yields each complete line with the `Position` after it (file number,
  byte offset), which is a cursor. A line still being written is not complete yet: the
  cursor stays before it, and the next read returns it.

Rotated files are kept: an audit trail is evidence. An operator may archive the oldest
files (never the newest); a cursor into an archived file resumes at the oldest kept one.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path
from typing import IO, Any

import orjson

from indexes.container import fsync_directory

log = logging.getLogger("screening.journal")

SUFFIX = ".jsonl"
FILE_NAME = re.compile(r"(\d{8})\.jsonl")
LOCK_NAME = "LOCK"
WRITABLE_MODE = 0o600
"""Journal files hold who checked what: readable by the service's user only."""
SEALED_MODE = 0o400
READ_BLOCK = 1 << 20


class JournalError(Exception):
    """A journal cannot be written; the message names its directory and why."""


class CursorError(ValueError):
    """A position no reader of this journal was given; the message says what is wrong."""


@dataclass(frozen=True, order=True)
class Position:
    """Where a read starts: byte `offset` of file number `file`."""

    file: int
    offset: int


START = Position(0, 0)
"""Before the first line of the oldest file kept."""


def file_path(directory: Path, number: int) -> Path:
    return directory / f"{number:08d}{SUFFIX}"


def file_numbers(directory: Path) -> list[int]:
    """The numbers of the journal's files, oldest first; none if there is no directory."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(match[1]) for name in names if (match := FILE_NAME.fullmatch(name)))


class Journal:
    """The appending end of one journal, for one process; its methods are thread-safe.

    Files are opened at the first append, so a journal nobody writes to leaves no trace.
    """

    def __init__(self, directory: Path, rotate_at: int) -> None:
        self.directory = directory
        self.rotate_at = rotate_at
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._number = 0
        self._retired: list[int] = []
        """Files left by a rotation: fdatasync'ed, then closed, by the next `sync`."""
        self._new_entries: set[Path] = set()
        """Directories that gained a file or folder: fsynced by the next `sync`."""
        self._dirty = False
        self._end = (0, -1)
        """(file, size) after this process's last complete write: if the file is still that
        size, its last line is ours and whole, and the check for a torn one is skipped."""

    def append(self, lines: bytes) -> None:
        """Write complete lines (each ending in `\\n`) in one `write()`; JournalError if not."""
        if not lines.endswith(b"\n"):
            raise ValueError("a journal takes complete lines, each ending in a newline")
        with self._lock:
            try:
                lock = self._open_lock()
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    fd, size = self._writable()
                    ours = self._end == (self._number, size)  # nobody wrote since we did
                    written = _write_after(fd, size, lines, ours)
                    self._end = (self._number, size + written)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            except OSError as error:
                raise JournalError(
                    f"{self.directory}: cannot append: {error.strerror or error}"
                ) from None
            self._dirty = True

    def _open_lock(self) -> int:
        if self._lock_fd is None:
            chain = (self.directory, *self.directory.parents)
            missing = list(takewhile(lambda folder: not folder.is_dir(), chain))
            self.directory.mkdir(parents=True, exist_ok=True)
            self._new_entries.update(folder.parent for folder in missing)
            self._new_entries.add(self.directory)
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._lock_fd = os.open(self.directory / LOCK_NAME, flags, WRITABLE_MODE)
        return self._lock_fd

    def _writable(self) -> tuple[int, int]:
        """(descriptor, size) of the file to append to, rotating first if it is full.

        Runs under the lock: only one process at a time seals a file or creates the next.
        """
        if self._fd is None:
            numbers = file_numbers(self.directory)
            self._switch(numbers[-1] if numbers else 1)
        assert self._fd is not None
        while True:
            status = os.fstat(self._fd)
            writable = bool(status.st_mode & stat.S_IWUSR)
            if writable and status.st_size < self.rotate_at:
                return self._fd, status.st_size
            if writable:
                os.fchmod(self._fd, SEALED_MODE)
            self._switch(self._number + 1)

    def _switch(self, number: int) -> None:
        """Append to file `number` from now on (created if missing)."""
        path = file_path(self.directory, number)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, WRITABLE_MODE)
        except PermissionError:
            if not _sealed(path):
                raise
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # fstat shows it sealed: next one
        if self._fd is not None:
            self._retired.append(self._fd)
        self._fd, self._number = fd, number
        self._new_entries.add(self.directory)

    def sync(self) -> None:
        """fdatasync what was appended since the last call (and the directory if a file
        was created). Called by `Syncer`'s thread; appends go on meanwhile."""
        with self._lock:
            if not self._dirty and not self._retired and not self._new_entries:
                return
            fd, retired, folders = self._fd, self._retired, self._new_entries
            self._retired, self._dirty, self._new_entries = [], False, set()
        for old in retired:
            try:
                os.fdatasync(old)
            finally:
                os.close(old)
        if fd is not None:
            os.fdatasync(fd)
        for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
            fsync_directory(folder)

    def close(self) -> None:
        """Sync and close; only once nothing appends any more."""
        self.sync()
        with self._lock:
            for fd in (self._fd, self._lock_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._lock_fd = None


def _sealed(path: Path) -> bool:
    try:
        return not path.stat().st_mode & stat.S_IWUSR
    except FileNotFoundError:
        return False


def _write_after(fd: int, size: int, lines: bytes, ours: bool) -> int:
    """Append `lines`, first ending a torn last line (a write that was cut short) unless
    the last line is known to be `ours`; returns the bytes written."""
    if size and not ours and os.pread(fd, 1, size - 1) != b"\n":
        lines = b"\n" + lines
    view = memoryview(lines)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.ENOSPC, "no space left on the device")
        view = view[written:]
    return len(lines)


class Syncer:
    """One thread per process that fdatasyncs its journals: `interval` seconds after a
    write it syncs everything written since, so one fdatasync covers a batch of requests
    and the event loop never waits for the disk."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.journals: list[Journal] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-sync", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """Something was appended: sync it soon."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._stop.wait(self.interval)
            self._wake.clear()
            self.sync_all()

    def sync_all(self) -> None:
        for journal in list(self.journals):
            try:
                journal.sync()
            except OSError as error:
                log.error(
                    "%s: fdatasync failed: %s; lines written just before may be lost if the"
                    " machine crashes now",
                    journal.directory,
                    error.strerror or error,
                )

    def close(self) -> None:
        """Stop the thread after a last sync, and close every journal."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        for journal in self.journals:
            journal.close()


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line (without its `\\n`) and the position of the line after it."""

    text: bytes
    at: Position
    end: Position


def scan(directory: Path, start: Position = START) -> Iterator[Line]:
    """Every complete line from `start` on, oldest first, across rotations.

    A sealed file's unfinished tail (a write cut short) comes out as a line of its own,
    for the caller to find damaged; the newest file's unfinished tail may still be being
    written, and is left for the next read.
    """
    numbers = file_numbers(directory)
    if not numbers:
        return
    number, offset = start.file, start.offset
    if number < numbers[0]:
        number, offset = numbers[0], 0  # archived: resume at the oldest file kept
    while True:
        sealed = file_path(directory, number + 1).exists()  # before the read: see above
        try:
            handle = open(file_path(directory, number), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            if not sealed:
                return
        else:
            with handle:
                yield from _lines(handle, number, offset, sealed)
        if not sealed:
            return
        number, offset = number + 1, 0


def _lines(handle: IO[bytes], number: int, offset: int, sealed: bool) -> Iterator[Line]:
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
            )
            start = newline + 1
        pending, offset = pending[start:], offset + start
    if pending and sealed:
        yield Line(pending, Position(number, offset), Position(number + 1, 0))


def check_position(directory: Path, position: Position) -> None:
    """CursorError unless `position` is one `scan` could have given for this journal."""
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
    """Up to `limit` entries from a position, and the cursor past the last one read."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    cursor: Position = START
    more: bool = False
    damaged: list[Position] = field(default_factory=list)
    """Where lines that are not JSON objects (torn by a crash) were skipped."""


def read_page(directory: Path, start: Position, limit: int) -> Page:
    """The next `limit` entries after `start`; `more` if others follow already."""
    page = Page(cursor=start)
    for line in scan(directory, start):
        entry = parse_line(line.text)
        if entry is not None and len(page.entries) == limit:
            page.more = True
            break
        if entry is None:
            page.damaged.append(line.at)
        else:
            page.entries.append(entry)
        page.cursor = line.end
    return page


def parse_line(text: bytes) -> dict[str, Any] | None:
    """The object of one line, or None for a damaged line."""
    try:
        entry = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None

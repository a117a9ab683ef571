"""Making the journals' lines durable without the event loop ever waiting for the disk.

A journal (screening/journal.py) writes its lines with plain `write()`s: they are in the
page cache when `append` returns, so a killed worker loses nothing. What a machine crash
could still take is made durable here, in batches: the first write after a quiet spell
starts a clock, and `interval` seconds later one fdatasync of a file covers every line
written to it meanwhile. A journal tells its syncer two things:

- `dirty(fd)`: this file has lines to make durable;
- `hand_over(fd)`: fsync this descriptor once, then close it. A file no longer written
  to (rotated) and a directory that gained an entry go this way; the journal never closes
  them itself, so their numbers cannot be reused while they wait.

`drain()` returns once everything queued before it is done; a journal drains before it
closes. Three syncers keep that contract:

- `NativeSyncer` (screening/_fsync_thread.c): a native thread that never takes the GIL.
  The one a server uses wherever the extension is built.
- `ThreadSyncer`: the same on a Python thread, where no C compiler was found. It must take
  the GIL back after every sleep and every sync, from an event loop that holds it almost
  always; on a 2-core machine that contention cost more CPU than the syncs themselves
  (bench/RESULTS.md, 2026-11-24 fifth session).
- `DeferredSyncer`: no thread; the work waits for `drain`. A journal made without a
  syncer uses one: tools and tests that append, then close.

A sync that fails is logged with the file's path; the lines stay written, and the next
sync of the file tries again.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from screening._fsync_thread import Fsyncer

log = logging.getLogger("screening.journal")


class Syncer(Protocol):
    """What a journal needs of its syncer (the module says what each call means)."""

    def dirty(self, fd: int) -> None: ...
    def hand_over(self, fd: int) -> None: ...
    def track(self, fd: int, path: Path) -> None: ...
    def drain(self) -> None: ...
    def close(self) -> None: ...
    @property
    def syncs(self) -> int: ...


def _native_class() -> type[Fsyncer] | None:
    try:
        from screening._fsync_thread import Fsyncer
    except ImportError:  # built without a C compiler: ThreadSyncer does the same, slower
        return None
    return Fsyncer


NATIVE = _native_class()


def start_syncer(interval: float) -> Syncer:
    """The syncer of a serving process: the native one when it is built (else a warning
    says what that costs and how to build it)."""
    if NATIVE is not None:
        return NativeSyncer(interval)
    log.warning(
        "screening._fsync_thread is not built: the audit's fdatasyncs run on a Python"
        " thread, which costs each request more CPU (README.md, troubleshooting)"
    )
    return ThreadSyncer(interval)


class _Paths:
    """The path of each descriptor a syncer was told about, to name a failed sync."""

    def __init__(self) -> None:
        self._paths: dict[int, Path] = {}

    def track(self, fd: int, path: Path) -> None:
        self._paths[fd] = path

    def report(self, failures: list[tuple[int, int]]) -> None:
        for fd, code in failures:
            if fd < 0:  # the native thread kept no more failures than it has room for
                path: Path | str = "more journal files"
            else:
                path = self._paths.get(fd, f"journal file descriptor {fd}")
            log.error(
                "%s: fdatasync failed: %s; lines written just before may be lost if the"
                " machine crashes now",
                path,
                os.strerror(code),
            )


class NativeSyncer(_Paths):
    """The syncs on screening._fsync_thread's native thread."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        if NATIVE is None:
            raise RuntimeError("screening._fsync_thread is not built")
        self._native = NATIVE(interval)
        self._closed = False

    def dirty(self, fd: int) -> None:
        if not self._closed:
            try:
                if self._native.dirty(fd):  # errors are waiting: log them on this thread
                    self.report(self._native.take_errors())
                return
            except RuntimeError:  # closed by another thread meanwhile
                pass
        self.report(sync_batch([fd], []))  # a line written during shutdown: synced here

    def hand_over(self, fd: int) -> None:
        if not self._closed:
            try:
                self._native.hand_over(fd)
                return
            except RuntimeError:  # closed by another thread meanwhile
                pass
        self.report(sync_batch([], [fd]))

    def drain(self) -> None:
        self._native.drain()
        self.report(self._native.take_errors())

    def close(self) -> None:
        self._closed = True
        self._native.close()
        self.report(self._native.take_errors())

    @property
    def syncs(self) -> int:
        count: int = self._native.syncs
        return count


class DeferredSyncer(_Paths):
    """The work queued until `drain`, which does it on the caller's thread; once closed,
    each `dirty` or `hand_over` is done at once, on its caller's thread."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._dirty: dict[int, None] = {}
        self._handed: list[int] = []
        self._working = threading.Lock()
        """Held while a batch is synced: a drain waits for a batch under way."""
        self._syncs = 0
        self._closed = False
        """Set under `_lock` by `close`: what comes after is done on the caller's thread."""

    def dirty(self, fd: int) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._dirty[fd] = None
                idle = len(self._dirty) == 1 and not self._handed
        if closed:  # a line written during shutdown: synced here and now
            self.report(sync_batch([fd], []))
        elif idle:
            self._queued()

    def hand_over(self, fd: int) -> None:
        with self._lock:
            closed = self._closed
            if not closed:
                self._handed.append(fd)
                idle = len(self._handed) == 1 and not self._dirty
        if closed:
            self.report(sync_batch([], [fd]))
        elif idle:
            self._queued()

    def _queued(self) -> None:
        """The queue was empty and is not: a thread would start its clock here."""

    def drain(self) -> None:
        with self._working:
            with self._lock:
                dirty, handed = list(self._dirty), self._handed
                self._dirty, self._handed = {}, []
            if dirty or handed:
                self.report(sync_batch(dirty, handed))
                self._syncs += len(set(dirty) - set(handed)) + len(handed)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.drain()

    @property
    def syncs(self) -> int:
        return self._syncs


class ThreadSyncer(DeferredSyncer):
    """`DeferredSyncer` with a Python thread that drains `interval` seconds after the
    queue stops being empty."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-sync", daemon=True)
        self._thread.start()

    def _queued(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._stop.wait(self.interval)
            self._wake.clear()
            super().drain()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
        super().close()


def sync_batch(dirty: list[int], handed: list[int]) -> list[tuple[int, int]]:
    """fdatasync each dirty descriptor, then fsync and close each handed-over one (in
    their order); (fd, errno) of each that failed. As screening/_fsync_thread.c does."""
    failures: list[tuple[int, int]] = []
    closing = set(handed)
    for fd in dirty:
        if fd not in closing:  # its fsync below covers it
            _sync(os.fdatasync, fd, failures)
    for fd in handed:
        _sync(os.fsync, fd, failures)
        os.close(fd)
    return failures


def _sync(call: Callable[[int], None], fd: int, failures: list[tuple[int, int]]) -> None:
    try:
        call(fd)
    except OSError as error:
        failures.append((fd, error.errno or errno.EIO))

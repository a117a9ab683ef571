"""The journals' syncers (screening/journal_sync.py): every syncer keeps one contract,
whether its thread is native, Python, or none (the work waits for `drain`): written
files are fdatasync'ed moments later, a handed-over descriptor is synced then closed, a
drain waits for everything queued before it (never for the interval), and a failed sync
is logged with the file's path."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from screening import journal_sync
from screening.journal import Journal, file_numbers
from screening.journal_sync import (
    DeferredSyncer,
    NativeSyncer,
    Syncer,
    ThreadSyncer,
    start_syncer,
)

NATIVE_BUILT = journal_sync.NATIVE is not None
needs_native = pytest.mark.skipif(not NATIVE_BUILT, reason="screening._fsync_thread not built")

THREADED: dict[str, Callable[[float], Syncer]] = {
    "native": NativeSyncer,
    "python thread": ThreadSyncer,
}
WAIT = 20.0
"""Seconds a threaded syncer gets to do what it was asked (generous: CI machines are slow)."""


def threaded_params() -> list[object]:
    return [
        pytest.param(make, id=name, marks=needs_native if name == "native" else ())
        for name, make in THREADED.items()
    ]


def all_params() -> list[object]:
    return [*threaded_params(), pytest.param(lambda _interval: DeferredSyncer(), id="deferred")]


@pytest.fixture
def open_file(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "lines.jsonl", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    yield fd
    with contextlib.suppress(OSError):  # handed over: the syncer closed it
        os.close(fd)


def line(n: int) -> bytes:
    return orjson.dumps({"n": n}) + b"\n"


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return condition()


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@pytest.mark.parametrize("make", threaded_params())
def test_a_written_file_is_synced_moments_later_without_a_drain(
    make: Callable[[float], Syncer], open_file: int
) -> None:
    syncer = make(0.001)
    try:
        os.write(open_file, line(0))
        syncer.dirty(open_file)
        assert wait_for(lambda: syncer.syncs == 1), "no fdatasync after a write"
    finally:
        syncer.close()


@pytest.mark.parametrize("make", all_params())
def test_writes_before_one_sync_share_it(make: Callable[[float], Syncer], open_file: int) -> None:
    syncer = make(3600.0)  # the batch gathers until the drain
    try:
        for n in range(5):
            os.write(open_file, line(n))
            syncer.dirty(open_file)
        syncer.drain()
        assert syncer.syncs == 1
    finally:
        syncer.close()


@pytest.mark.parametrize("make", all_params())
def test_a_drain_does_not_wait_out_the_interval(
    make: Callable[[float], Syncer], open_file: int
) -> None:
    syncer = make(3600.0)
    os.write(open_file, line(0))
    syncer.dirty(open_file)
    drained = threading.Thread(target=syncer.drain, daemon=True)
    drained.start()
    drained.join(WAIT)
    assert not drained.is_alive(), "drain waited for the hour-long interval"
    assert syncer.syncs == 1
    syncer.close()


@pytest.mark.parametrize("make", all_params())
def test_a_handed_over_descriptor_is_synced_then_closed(
    make: Callable[[float], Syncer], open_file: int
) -> None:
    syncer = make(0.001)
    os.write(open_file, line(0))
    syncer.dirty(open_file)
    syncer.hand_over(open_file)
    syncer.drain()
    assert not is_open(open_file)
    assert syncer.syncs == 1  # the fsync of the handed-over file covers its dirty mark
    syncer.close()


@pytest.mark.parametrize("make", all_params())
def test_close_syncs_what_is_still_queued(make: Callable[[float], Syncer], open_file: int) -> None:
    syncer = make(3600.0)
    os.write(open_file, line(0))
    syncer.hand_over(open_file)
    syncer.close()
    assert not is_open(open_file)
    assert syncer.syncs == 1


@pytest.mark.parametrize("make", all_params())
def test_a_failed_sync_is_logged_with_the_files_path(
    make: Callable[[float], Syncer], caplog: pytest.LogCaptureFixture
) -> None:
    syncer = make(3600.0)
    read_end, write_end = os.pipe()  # fdatasync of a pipe fails: EINVAL
    try:
        syncer.track(read_end, Path("/data/audit/w0/00000001.jsonl"))
        with caplog.at_level(logging.ERROR, logger="screening.journal"):
            syncer.dirty(read_end)
            syncer.drain()
        assert "/data/audit/w0/00000001.jsonl: fdatasync failed: Invalid argument" in caplog.text
        assert "may be lost if the machine crashes" in caplog.text
    finally:
        syncer.close()
        os.close(read_end)
        os.close(write_end)


def test_a_journal_without_a_syncer_syncs_when_closed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    journal.append(line(0))
    assert isinstance(journal.syncer, DeferredSyncer)
    assert journal.syncer.syncs == 0
    journal.close()
    assert journal.syncer.syncs >= 2  # the file, and the directories it was created in


@pytest.mark.parametrize("make", all_params())
def test_rotations_leave_no_descriptor_open(
    make: Callable[[float], Syncer], tmp_path: Path
) -> None:
    syncer = make(0.001)
    journal = Journal(tmp_path / "j", rotate_at=64, syncer=syncer)
    journal.append(line(0) * 8)  # over 64 bytes: every append after it rotates
    syncer.drain()
    before = len(os.listdir("/proc/self/fd"))
    for n in range(1, 40):
        journal.append(line(n) * 8)
    syncer.drain()
    assert len(os.listdir("/proc/self/fd")) == before
    assert len(file_numbers(tmp_path / "j" / "w0")) == 40
    journal.close()
    syncer.close()


@needs_native
def test_the_native_syncer_refuses_what_is_not_a_descriptor() -> None:
    assert journal_sync.NATIVE is not None
    native = journal_sync.NATIVE(1.0)
    try:
        with pytest.raises(ValueError, match="file descriptor"):
            native.dirty(-1)
        with pytest.raises(TypeError):
            native.hand_over("3")  # type: ignore[arg-type]
    finally:
        native.close()
    with pytest.raises(RuntimeError, match="closed"):
        native.dirty(0)
    native.drain()  # closed: nothing to wait for
    native.close()  # idempotent


@needs_native
def test_the_native_syncer_syncs_at_once_once_closed(open_file: int) -> None:
    syncer = NativeSyncer(0.005)
    syncer.close()
    os.write(open_file, line(0))
    syncer.dirty(open_file)  # a late line (shutdown): synced on the caller's thread
    syncer.hand_over(open_file)
    assert not is_open(open_file)


@pytest.mark.parametrize("make", threaded_params())
def test_a_close_racing_appends_loses_no_descriptor_and_raises_nothing(
    make: Callable[[float], Syncer], tmp_path: Path
) -> None:
    syncer = make(0.001)
    before = len(os.listdir("/proc/self/fd"))
    failures: list[BaseException] = []
    closed = threading.Event()

    def append_and_rotate(name: str) -> None:
        try:
            for n in range(400):
                fd = os.open(tmp_path / f"{name}-{n}", os.O_RDWR | os.O_CREAT, 0o600)
                os.write(fd, line(n))
                syncer.dirty(fd)
                syncer.hand_over(fd)  # rotated: the syncer closes it, before or after close
                if n == 200:
                    closed.wait(WAIT)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=append_and_rotate, args=(str(i),)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.01)
    syncer.close()
    closed.set()
    for thread in threads:
        thread.join(WAIT)
    assert failures == []
    assert len(os.listdir("/proc/self/fd")) == before


@needs_native
def test_a_serving_process_syncs_on_the_native_thread() -> None:
    syncer = start_syncer(0.005)
    try:
        assert isinstance(syncer, NativeSyncer)
    finally:
        syncer.close()


def test_without_the_extension_a_python_thread_syncs_and_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(journal_sync, "NATIVE", None)
    with caplog.at_level(logging.WARNING, logger="screening.journal"):
        syncer = start_syncer(0.005)
    try:
        assert isinstance(syncer, ThreadSyncer)
        assert "screening._fsync_thread is not built" in caplog.text
    finally:
        syncer.close()

"""Zero-filled space ahead of a journal's lines (screening/journal.py, `prefill`): appends
overwrite zeros within the file's size, readers stop at the zeros, the file is cut to its
lines when it is sealed or closed, and a file left with zeros by a process that died is
sealed as it is by the next owner, every line of it still read."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.journal import (
    BEGINNING,
    PREFILL_FIRST,
    CursorError,
    Journal,
    Position,
    Syncer,
    check_position,
    file_numbers,
    file_path,
    read_page,
)

ROOT = Path(__file__).resolve().parents[2]


def line(**fields: object) -> bytes:
    return orjson.dumps(fields) + b"\n"


def numbers_read(directory: Path) -> list[object]:
    page = read_page(directory, BEGINNING, 100_000)
    assert not page.more
    return [entry["n"] for entry in page.entries]


def stream_file(directory: Path, number: int = 1) -> Path:
    return file_path(directory / "w0", number)


def filled(journal: Journal) -> None:
    """What `Syncer` does after an interval: sync, then write zeros ahead."""
    journal.sync()
    journal.prefill()


def test_appends_overwrite_the_zeros_ahead_and_readers_stop_at_them(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    journal.append(line(n=0))
    filled(journal)
    path = stream_file(directory)
    size = path.stat().st_size
    assert size >= 2 * PREFILL_FIRST and size % 4096 == 0
    first = read_page(directory, BEGINNING, 10)
    assert [entry["n"] for entry in first.entries] == [0] and not first.damaged
    for number in range(1, 50):
        journal.append(line(n=number))
    assert path.stat().st_size == size  # within the zeros: the file did not grow
    later = read_page(directory, first.cursor, 100)
    assert [entry["n"] for entry in later.entries] == list(range(1, 50))
    assert not later.damaged and not later.more
    assert read_page(directory, later.cursor, 10).entries == []
    journal.close()


def test_each_step_is_twice_the_last_up_to_the_limit_and_never_past_rotation(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    limit = 4 * PREFILL_FIRST
    journal = Journal(directory, rotate_at=64 * PREFILL_FIRST, prefill=limit)
    path = stream_file(directory)
    sizes = []
    pad = "x" * 1000
    written = 0
    while written < 20 * PREFILL_FIRST:
        entry = line(n=written, pad=pad)
        journal.append(entry)
        written += len(entry)
        filled(journal)
        sizes.append(path.stat().st_size)
    growth = [later - earlier for earlier, later in itertools.pairwise(sizes)]
    assert max(growth) <= 2 * limit + 4096
    assert all(size - written <= 2 * limit + 4096 for size in sizes[-5:])
    small = Journal(tmp_path / "small", rotate_at=3000, prefill=limit)
    small.append(line(n=0))
    filled(small)
    assert stream_file(tmp_path / "small").stat().st_size == 3000
    journal.close()
    small.close()


def test_closing_cuts_the_file_to_its_lines(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    lines = b"".join(line(n=number) for number in range(3))
    journal.append(lines)
    filled(journal)
    journal.close()
    assert stream_file(directory).read_bytes() == lines
    reopened = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    reopened.append(line(n=3))  # a clean close: the next owner goes on in the same file
    assert file_numbers(directory / "w0") == [1]
    reopened.close()
    assert numbers_read(directory) == [0, 1, 2, 3]


def test_rotation_seals_the_file_cut_to_its_lines(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=200, prefill=1 << 20)
    for number in range(12):
        journal.append(line(n=number, pad="p" * 30))
        filled(journal)
    numbers = file_numbers(directory / "w0")
    assert len(numbers) > 2
    for number in numbers[:-1]:
        content = stream_file(directory, number).read_bytes()
        assert b"\0" not in content and content.endswith(b"\n")
    assert numbers_read(directory) == list(range(12))
    journal.close()


def test_a_cursor_into_the_zeros_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    entry = line(n=0)
    journal.append(entry)
    filled(journal)
    check_position(directory / "w0", Position(1, len(entry)))
    with pytest.raises(CursorError, match="start of a line"):
        check_position(directory / "w0", Position(1, len(entry) + 100))
    journal.close()


def test_an_append_waits_for_a_fill_in_its_way_and_is_never_zeroed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst that reaches the space being filled waits for the zeros, then writes over
    them, rather than being overwritten by them."""
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    journal.append(line(n=0))
    release, zeroing = threading.Event(), threading.Event()
    real = os.pwrite

    def slow_zeros(fd: int, data: bytes | memoryview, offset: int) -> int:
        if bytes(data[:1]) == b"\0":
            zeroing.set()
            release.wait(10)
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", slow_zeros)
    filler = threading.Thread(target=journal.prefill)
    filler.start()
    assert zeroing.wait(10)
    appended = threading.Event()
    big = line(n=1, pad="b" * (3 * PREFILL_FIRST))

    def append_big() -> None:
        journal.append(big)
        appended.set()

    appender = threading.Thread(target=append_big)
    appender.start()
    assert not appended.wait(0.3)  # in the way of the fill: it waits
    release.set()
    filler.join(10)
    appender.join(10)
    assert appended.is_set()
    monkeypatch.undo()
    assert numbers_read(directory) == [0, 1]
    journal.close()


def test_the_syncer_writes_the_zeros_on_its_thread(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    syncer = Syncer(interval=0.01)
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    syncer.journals.append(journal)
    journal.append(line(n=0))
    syncer.written()
    deadline = time.monotonic() + 10
    while stream_file(directory).stat().st_size <= len(line(n=0)):
        assert time.monotonic() < deadline, "no zeros were written ahead"
        time.sleep(0.01)
    syncer.close()
    assert stream_file(directory).read_bytes() == line(n=0)


KILLED_OWNER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from screening.journal import Journal

    journal = Journal(Path(sys.argv[1]), rotate_at=1 << 20, prefill=1 << 20)
    journal.append(b'{"n": 0}\\n{"n": 1}\\n')
    journal.sync()
    journal.prefill()
    journal.append(b'{"n": 2}\\n')
    fd = os.open(Path(sys.argv[1]) / "w0" / "00000001.jsonl", os.O_WRONLY)
    os.pwrite(fd, b'{"n": 3, "torn', 27)  # a write cut short, as a kill mid-write leaves
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_file_left_with_zeros_by_a_killed_owner_is_sealed_by_the_next(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_OWNER, str(directory)], cwd=ROOT, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    left = stream_file(directory).read_bytes()
    assert left.endswith(b"\0") and left.rstrip(b"\0").endswith(b'"torn')
    page = read_page(directory, BEGINNING, 10)
    assert [entry["n"] for entry in page.entries] == [0, 1, 2]  # the torn line waits
    journal = Journal(directory, rotate_at=1 << 20, prefill=1 << 20)
    journal.append(line(n=4))
    assert file_numbers(directory / "w0") == [1, 2]
    assert stream_file(directory).read_bytes() == left.rstrip(b"\0")
    later = read_page(directory, page.cursor, 10)
    assert [entry["n"] for entry in later.entries] == [4]
    assert [item.text for item in later.damaged] == [b'{"n": 3, "torn']
    journal.close()


def test_lines_after_a_page_lost_in_a_crash_are_still_read(tmp_path: Path) -> None:
    """A machine crash may keep a later page and lose an earlier one: zeros between lines.
    The next owner seals the file; its reader drops the zeros before the next line."""
    stream = tmp_path / "j" / "w0"
    stream.mkdir(parents=True)
    lost_page = b"\0" * 4096
    left = line(n=0) + lost_page + line(n=1) + b"\0" * PREFILL_FIRST
    stream_file(tmp_path / "j").write_bytes(left)
    journal = Journal(tmp_path / "j", rotate_at=1 << 20, prefill=1 << 20)
    journal.append(line(n=2))
    assert file_numbers(stream) == [1, 2]
    page = read_page(tmp_path / "j", BEGINNING, 10)
    assert [entry["n"] for entry in page.entries] == [0, 1, 2] and not page.damaged
    journal.close()


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.integers(min_value=0, max_value=3000).map(lambda pad: ("append", pad)),
            st.just(("fill", 0)),
            st.just(("reopen", 0)),
        ),
        max_size=40,
    ),
    rotate_at=st.sampled_from([2000, 40_000, 1 << 20]),
)
def test_every_line_comes_back_in_order_whatever_fills_rotations_and_reopens_happen(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[str, int]],
    rotate_at: int,
) -> None:
    directory = tmp_path_factory.mktemp("j")
    journal = Journal(directory, rotate_at=rotate_at, prefill=PREFILL_FIRST)
    written: list[int] = []
    for action, pad in steps:
        if action == "append":
            journal.append(line(n=len(written), pad="a" * pad))
            written.append(len(written))
        elif action == "fill":
            filled(journal)
        else:
            journal.close()
            journal = Journal(directory, rotate_at=rotate_at, prefill=PREFILL_FIRST)
    assert numbers_read(directory) == written
    journal.close()
    for number in file_numbers(directory / "w0"):
        assert b"\0" not in stream_file(directory, number).read_bytes()

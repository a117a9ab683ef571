"""The journal under the audit trail and the hit notifications (screening/journal.py):
appends from several processes never interleave, rotation seals files, a cursor resumes
exactly where it stopped (across rotations too), and a torn line is skipped, never glued
to the next good one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.journal import (
    START,
    CursorError,
    Journal,
    Position,
    Syncer,
    check_position,
    file_numbers,
    file_path,
    read_page,
    scan,
)


def line(**fields: object) -> bytes:
    return orjson.dumps(fields) + b"\n"


def read_all(directory: Path, limit: int = 1000) -> list[dict[str, object]]:
    """Every entry, read page by page with the cursor each page returns."""
    entries: list[dict[str, object]] = []
    cursor = START
    while True:
        page = read_page(directory, cursor, limit)
        entries += page.entries
        if not page.more:
            return entries
        assert page.cursor > cursor
        cursor = page.cursor


def test_lines_come_back_in_order_with_a_cursor_after_each(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    for number in range(5):
        journal.append(line(n=number))
    lines = list(scan(tmp_path / "j"))
    assert [orjson.loads(item.text)["n"] for item in lines] == [0, 1, 2, 3, 4]
    for index, item in enumerate(lines):
        rest = [orjson.loads(after.text)["n"] for after in scan(tmp_path / "j", item.end)]
        assert rest == list(range(index + 1, 5))
    journal.close()


def test_several_lines_in_one_append_and_only_complete_lines(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    journal.append(line(n=1) + line(n=2))
    with pytest.raises(ValueError, match="complete lines"):
        journal.append(b'{"n": 3}')
    assert [entry["n"] for entry in read_all(tmp_path / "j")] == [1, 2]
    journal.close()


def test_nothing_written_leaves_no_files(tmp_path: Path) -> None:
    Journal(tmp_path / "j", rotate_at=100).close()
    assert not (tmp_path / "j").exists()
    assert list(scan(tmp_path / "j")) == []
    assert read_page(tmp_path / "j", START, 10).cursor == START


def test_rotation_seals_full_files_and_reading_crosses_them(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=64)
    for number in range(20):
        journal.append(line(n=number, pad="x" * 20))
    numbers = file_numbers(tmp_path / "j")
    assert len(numbers) == 10 and numbers == list(range(1, 11))
    for number in numbers[:-1]:
        assert stat.S_IMODE(file_path(tmp_path / "j", number).stat().st_mode) == 0o400
    assert stat.S_IMODE(file_path(tmp_path / "j", numbers[-1]).stat().st_mode) == 0o600
    assert [entry["n"] for entry in read_all(tmp_path / "j", limit=3)] == list(range(20))
    journal.close()


def test_a_sealed_file_is_never_written_again_whatever_the_limit(tmp_path: Path) -> None:
    small = Journal(tmp_path / "j", rotate_at=5)
    large = Journal(tmp_path / "j", rotate_at=1 << 20)
    large.append(line(n=0))  # file 1
    small.append(line(n=1))  # file 1 is over 5 bytes: sealed, file 2
    large.append(line(n=2))  # file 1 is sealed: file 2 even though it is under 1 MiB
    assert file_numbers(tmp_path / "j") == [1, 2]
    assert [entry["n"] for entry in read_all(tmp_path / "j")] == [0, 1, 2]
    small.close()
    large.close()


def test_a_new_process_appends_to_the_newest_file(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j", rotate_at=40)
    for number in range(3):
        first.append(line(n=number, pad="y" * 20))
    first.close()
    second = Journal(tmp_path / "j", rotate_at=40)
    second.append(line(n=3))
    assert file_numbers(tmp_path / "j") == [1, 2]  # 0 and 1 filled file 1
    newest = read_page(tmp_path / "j", Position(2, 0), 10).entries
    assert [entry["n"] for entry in newest] == [2, 3]
    assert [entry["n"] for entry in read_all(tmp_path / "j")] == [0, 1, 2, 3]
    second.close()


@given(
    sizes=st.lists(st.integers(0, 80), min_size=1, max_size=40),
    rotate_at=st.integers(1, 300),
    limit=st.integers(1, 7),
    batch=st.integers(1, 4),
)
@settings(max_examples=60, deadline=None)
def test_paging_with_cursors_returns_every_line_once(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    rotate_at: int,
    limit: int,
    batch: int,
) -> None:
    directory = tmp_path_factory.mktemp("j")
    journal = Journal(directory, rotate_at)
    written = [line(n=index, pad="z" * size) for index, size in enumerate(sizes)]
    for start in range(0, len(written), batch):
        journal.append(b"".join(written[start : start + batch]))
    journal.close()
    assert [entry["n"] for entry in read_all(directory, limit)] == list(range(len(sizes)))


# --- concurrency ---------------------------------------------------------------------------

APPENDER = textwrap.dedent(
    """
    import sys, orjson
    from pathlib import Path
    from screening.journal import Journal
    journal = Journal(Path(sys.argv[1]), int(sys.argv[2]))
    writer, count = sys.argv[3], int(sys.argv[4])
    for index in range(count):
        entry = {"writer": writer, "n": index, "pad": "p" * (index % 300)}
        journal.append(orjson.dumps(entry) + b"\\n" + orjson.dumps({**entry, "n2": 1}) + b"\\n")
    journal.close()
    """
)


def test_two_processes_append_while_a_reader_follows_with_its_cursor(tmp_path: Path) -> None:
    """Lines of two processes never interleave, each process's stay in its order, and a
    reader polling with its cursor during rotations sees every line exactly once."""
    directory, count = tmp_path / "j", 1500
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(directory), "20000", name, str(count)]
        )
        for name in ("a", "b")
    ]
    seen: list[dict[str, object]] = []
    cursor = START
    while True:
        done = all(writer.poll() is not None for writer in writers)
        page = read_page(directory, cursor, 97)
        assert not page.damaged
        seen += page.entries
        cursor = page.cursor
        if done and not page.more:
            break
    assert [writer.returncode for writer in writers] == [0, 0]
    assert len(file_numbers(directory)) > 5  # it did rotate while being read
    for name in ("a", "b"):
        mine = [(entry["n"], "n2" in entry) for entry in seen if entry["writer"] == name]
        assert mine == [(n, second) for n in range(count) for second in (False, True)]
    assert seen == read_all(directory)


def test_threads_of_one_process_share_a_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=4096)

    def append(name: str) -> None:
        for index in range(300):
            journal.append(line(writer=name, n=index))

    threads = [threading.Thread(target=append, args=(name,)) for name in "xyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = read_all(tmp_path / "j")
    for name in "xyz":
        assert [entry["n"] for entry in entries if entry["writer"] == name] == list(range(300))
    journal.close()


# --- crashes -------------------------------------------------------------------------------


def cut_short(directory: Path, text: bytes) -> None:
    """What a worker killed in the middle of its write() leaves: a line without its end."""
    with open(file_path(directory, file_numbers(directory)[-1]), "ab") as out:
        out.write(text)


def test_a_torn_last_line_is_not_read_and_the_cursor_waits_before_it(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20)
    journal.append(line(n=0))
    cut_short(directory, b'{"n": 1, "pad": "unfini')
    page = read_page(directory, START, 10)
    assert [entry["n"] for entry in page.entries] == [0] and not page.damaged
    journal.append(line(n=2))  # the next writer ends the torn line first
    later = read_page(directory, page.cursor, 10)
    assert [entry["n"] for entry in later.entries] == [2]
    assert later.damaged == [page.cursor]
    assert [entry["n"] for entry in read_all(directory)] == [0, 2]
    journal.close()


def test_a_torn_line_that_would_parse_glued_to_the_next_is_still_kept_apart(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20)
    journal.append(line(n=0))
    cut_short(directory, b"[1")  # `[1` + `{"n":1}` would be nonsense, `[1,` + ... too
    journal.append(line(n=1))
    assert [entry["n"] for entry in read_all(directory)] == [0, 1]
    journal.close()


def test_a_torn_tail_of_a_sealed_file_is_skipped_as_damaged(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=30)
    journal.append(line(n=0, pad="q" * 30))
    cut_short(directory, b'{"n": 9')  # torn, then the file is found full: sealed as it is
    journal.append(line(n=1))
    assert file_numbers(directory) == [1, 2]
    lines = list(scan(directory))
    assert [item.text for item in lines][1] == b'{"n": 9'
    assert lines[1].end == Position(2, 0)
    page = read_page(directory, START, 10)
    assert [entry["n"] for entry in page.entries] == [0, 1] and len(page.damaged) == 1
    journal.close()


# --- cursors -------------------------------------------------------------------------------


def test_cursors_are_checked(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=40)
    for number in range(4):
        journal.append(line(n=number, pad="c" * 20))
    journal.close()
    good = [item.end for item in scan(directory)]
    for position in [START, *good]:
        check_position(directory, position)
    cases = {
        Position(9, 0): "past the newest file",
        Position(1, 5): "start of a line",
        Position(2, 10_000): "past the end",
        Position(-1, 0): "not a position",
    }
    for position, message in cases.items():
        with pytest.raises(CursorError, match=message):
            check_position(directory, position)
    with pytest.raises(CursorError, match="past the newest"):
        check_position(tmp_path / "empty", Position(1, 0))


def test_a_cursor_into_an_archived_file_resumes_at_the_oldest_kept(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=40)
    for number in range(4):
        journal.append(line(n=number, pad="d" * 20))
    journal.close()
    cursor = next(iter(scan(directory))).end  # after n=0, in file 1
    os.chmod(file_path(directory, 1), 0o600)
    file_path(directory, 1).unlink()  # the operator archived the oldest file
    check_position(directory, cursor)
    remaining = read_page(directory, cursor, 10).entries  # file 1 held n=0 and n=1
    assert [entry["n"] for entry in remaining] == [2, 3]


# --- durability ----------------------------------------------------------------------------


def test_the_syncer_fdatasyncs_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    done = threading.Event()
    real = os.fdatasync

    def spy(fd: int) -> None:
        real(fd)
        synced.append(os.fstat(fd).st_size)
        done.set()

    monkeypatch.setattr(os, "fdatasync", spy)
    syncer = Syncer(0.001)
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    syncer.journals.append(journal)
    journal.append(line(n=0))
    syncer.written()
    assert done.wait(10), "no fdatasync after a write"
    assert synced[0] == len(line(n=0))
    syncer.close()  # a last sync, then the journal is closed
    assert synced[-1] == len(line(n=0))

"""The journal under the audit trail and the hit notifications (screening/journal.py):
each process appends to its own stream (no lock or stat per append), readers merge the
streams, rotation seals files, a cursor resumes every stream exactly where it stopped
(across rotations too), and a torn line is skipped, never glued to the next good one."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.journal import (
    BEGINNING,
    STAMP,
    START,
    Cursor,
    CursorError,
    Journal,
    JournalError,
    Position,
    check_cursor,
    check_position,
    file_numbers,
    file_path,
    line_file,
    read_page,
    scan,
    streams,
)


def line(**fields: object) -> bytes:
    return orjson.dumps(fields) + b"\n"


def read_all(directory: Path, limit: int = 1000) -> list[dict[str, object]]:
    """Every entry, read page by page with the cursor each page returns."""
    entries: list[dict[str, object]] = []
    cursor: Cursor = BEGINNING
    while True:
        page = read_page(directory, cursor, limit)
        entries += page.entries
        if not page.more:
            return entries
        assert page.cursor != cursor
        cursor = page.cursor


def test_lines_come_back_in_order_with_a_cursor_after_each(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    for number in range(5):
        journal.append(line(n=number))
    lines = list(scan(tmp_path / "j"))
    assert [orjson.loads(item.text)["n"] for item in lines] == [0, 1, 2, 3, 4]
    for index, item in enumerate(lines):
        after_it = {item.stream: item.end}
        rest = [orjson.loads(after.text)["n"] for after in scan(tmp_path / "j", after_it)]
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
    assert read_page(tmp_path / "j", BEGINNING, 10).cursor == {}


def test_rotation_seals_full_files_and_reading_crosses_them(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", rotate_at=64)
    for number in range(20):
        journal.append(line(n=number, pad="x" * 20))
    stream = tmp_path / "j" / "w0"
    numbers = file_numbers(stream)
    assert len(numbers) == 10 and numbers == list(range(1, 11))
    for number in numbers[:-1]:
        assert stat.S_IMODE(file_path(stream, number).stat().st_mode) == 0o400
    assert stat.S_IMODE(file_path(stream, numbers[-1]).stat().st_mode) == 0o600
    assert [entry["n"] for entry in read_all(tmp_path / "j", limit=3)] == list(range(20))
    journal.close()


def test_a_sealed_file_is_never_written_again_whatever_the_limit(tmp_path: Path) -> None:
    """Successive owners of a stream (a worker and its restarts) with different limits."""
    for number, limit in enumerate([1 << 20, 5, 1 << 20]):
        journal = Journal(tmp_path / "j", rotate_at=limit)
        journal.append(line(n=number))  # 0: file 1; 1: file 1 is over 5 bytes: sealed,
        journal.close()  # file 2; 2: file 1 is sealed: file 2 even though under 1 MiB
    assert file_numbers(tmp_path / "j" / "w0") == [1, 2]
    assert [entry["n"] for entry in read_all(tmp_path / "j")] == [0, 1, 2]


def test_a_new_process_appends_to_the_newest_file(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j", rotate_at=40)
    for number in range(3):
        first.append(line(n=number, pad="y" * 20))
    first.close()
    second = Journal(tmp_path / "j", rotate_at=40)
    second.append(line(n=3))
    assert second.stream == "w0"  # the first gave its stream up when it closed
    assert file_numbers(tmp_path / "j" / "w0") == [1, 2]  # 0 and 1 filled file 1
    newest = read_page(tmp_path / "j", {"w0": Position(2, 0)}, 10).entries
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
    """Two processes (of the same worker number: two servers on one data directory) get
    a stream each, each process's lines stay in its order, and a reader polling with its
    cursor during rotations sees every line exactly once."""
    directory, count = tmp_path / "j", 1500
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(directory), "20000", name, str(count)]
        )
        for name in ("a", "b")
    ]
    seen: list[dict[str, object]] = []
    cursor: Cursor = BEGINNING
    while True:
        done = all(writer.poll() is not None for writer in writers)
        page = read_page(directory, cursor, 97)
        assert not page.damaged
        seen += page.entries
        cursor = page.cursor
        if done and not page.more:
            break
    assert [writer.returncode for writer in writers] == [0, 0]
    assert streams(directory) in (["w0"], ["w0", "w0-2"])  # one after the other, or at once
    assert len(file_numbers(directory / "w0")) > 5  # it did rotate while being read
    for name in ("a", "b"):
        mine = [(entry["n"], "n2" in entry) for entry in seen if entry["writer"] == name]
        assert mine == [(n, second) for n in range(count) for second in (False, True)]
    assert len(seen) == len(read_all(directory)) == 4 * count


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


def killed_mid_write(journal: Journal, text: bytes) -> None:
    """What a worker killed in the middle of its write() leaves: a line without its end,
    and its stream free for the next owner (the kernel drops a dead process's lock)."""
    stream = journal.directory / "w0"
    journal.close()
    with open(file_path(stream, file_numbers(stream)[-1]), "ab") as out:
        out.write(text)


def test_a_torn_last_line_is_not_read_and_the_cursor_waits_before_it(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20)
    journal.append(line(n=0))
    killed_mid_write(journal, b'{"n": 1, "pad": "unfini')
    page = read_page(directory, BEGINNING, 10)
    assert [entry["n"] for entry in page.entries] == [0] and not page.damaged
    restarted = Journal(directory, rotate_at=1 << 20)
    restarted.append(line(n=2))  # the stream's next owner ends the torn line first
    later = read_page(directory, page.cursor, 10)
    assert [entry["n"] for entry in later.entries] == [2]
    assert [(item.stream, item.at) for item in later.damaged] == [("w0", page.cursor["w0"])]
    assert line_file(directory, later.damaged[0]) == file_path(directory / "w0", 1)
    assert [entry["n"] for entry in read_all(directory)] == [0, 2]
    restarted.close()


def test_a_torn_line_that_would_parse_glued_to_the_next_is_still_kept_apart(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20)
    journal.append(line(n=0))
    killed_mid_write(journal, b"[1")  # `[1` + `{"n":1}` would be nonsense, `[1,` + ... too
    restarted = Journal(directory, rotate_at=1 << 20)
    restarted.append(line(n=1))
    assert [entry["n"] for entry in read_all(directory)] == [0, 1]
    restarted.close()


def test_a_failed_write_is_ended_by_the_next_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write cut short in a living process (a full disk): its next append looks again."""
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=1 << 20)
    journal.append(line(n=0))
    real = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        monkeypatch.setattr(os, "write", failing)
        return real(fd, bytes(data[:5]))

    def failing(fd: int, data: bytes | memoryview) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(JournalError, match="No space left"):
        journal.append(line(n=1, pad="lost"))
    monkeypatch.setattr(os, "write", real)
    journal.append(line(n=2))
    page = read_page(directory, BEGINNING, 10)
    assert [entry["n"] for entry in page.entries] == [0, 2] and len(page.damaged) == 1
    journal.close()


def test_a_torn_tail_of_a_sealed_file_is_skipped_as_damaged(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory, rotate_at=30)
    journal.append(line(n=0, pad="q" * 30))
    killed_mid_write(journal, b'{"n": 9')  # torn, then found full: sealed as it is
    restarted = Journal(directory, rotate_at=30)
    restarted.append(line(n=1))
    assert file_numbers(directory / "w0") == [1, 2]
    lines = list(scan(directory))
    assert [item.text for item in lines][1] == b'{"n": 9'
    assert lines[1].end == Position(2, 0)
    page = read_page(directory, BEGINNING, 10)
    assert [entry["n"] for entry in page.entries] == [0, 1] and len(page.damaged) == 1
    restarted.close()


# --- cursors -------------------------------------------------------------------------------


def test_cursors_are_checked(tmp_path: Path) -> None:
    journal_directory = tmp_path / "j"
    journal = Journal(journal_directory, rotate_at=40)
    for number in range(4):
        journal.append(line(n=number, pad="c" * 20))
    journal.close()
    directory = journal_directory / "w0"
    good = [item.end for item in scan(journal_directory)]
    for position in [START, *good]:
        check_position(directory, position)
        check_cursor(journal_directory, {"w0": position, "w7": START})
    with pytest.raises(CursorError, match="stream this journal does not have"):
        check_cursor(journal_directory, {"w7": Position(1, 0)})
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
    cursor = {"w0": next(iter(scan(directory))).end}  # after n=0, in file 1
    os.chmod(file_path(directory / "w0", 1), 0o600)
    file_path(directory / "w0", 1).unlink()  # the operator archived the oldest file
    check_cursor(directory, cursor)
    remaining = read_page(directory, cursor, 10).entries  # file 1 held n=0 and n=1
    assert [entry["n"] for entry in remaining] == [2, 3]


# --- streams -------------------------------------------------------------------------------


def test_each_journal_of_a_directory_owns_a_stream_named_after_its_worker(
    tmp_path: Path,
) -> None:
    first, second = Journal(tmp_path / "j", 1 << 20, 3), Journal(tmp_path / "j", 1 << 20, 3)
    other = Journal(tmp_path / "j", 1 << 20, 4)
    for index, journal in enumerate([first, second, other]):
        journal.append(line(n=index))
    assert [first.stream, second.stream, other.stream] == ["w3", "w3-2", "w4"]
    assert streams(tmp_path / "j") == ["w3", "w3-2", "w4"]
    for journal in (first, second, other):
        journal.close()


def test_an_append_takes_no_lock_and_no_stat_of_a_shared_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the streams: past the first append, one write() and nothing else."""
    journal = Journal(tmp_path / "j", rotate_at=1 << 20)
    journal.append(line(n=0))
    calls: list[str] = []
    for module, name in ((fcntl, "flock"), (os, "fstat"), (os, "pread"), (os, "write")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, _counted(calls, name, real))
    for number in range(1, 4):
        journal.append(line(n=number))
    assert calls == ["write"] * 3
    monkeypatch.undo()
    assert [entry["n"] for entry in read_all(tmp_path / "j")] == [0, 1, 2, 3]
    journal.close()


def _counted(calls: list[str], name: str, real: Any) -> Any:
    def counted(*args: Any) -> Any:
        calls.append(name)
        return real(*args)

    return counted


def test_readers_merge_the_streams_by_time_and_resume_each_where_it_stopped(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "j"
    legacy = directory / "00000001.jsonl"  # written before streams: read like any other
    directory.mkdir()
    legacy.write_bytes(line(at="08:00", n=0) + line(at="08:03", n=3))
    first, second = Journal(directory, 1 << 20, 0), Journal(directory, 1 << 20, 1)
    first.append(line(at="08:01", n=1) + line(at="08:05", n=5))
    second.append(line(at="08:02", n=2) + line(at="08:04", n=4))
    assert streams(directory) == ["", "w0", "w1"]
    assert [entry["n"] for entry in read_all(directory)] == [0, 1, 2, 3, 4, 5]
    page = read_page(directory, BEGINNING, 3)
    assert [entry["n"] for entry in page.entries] == [0, 1, 2] and page.more
    second.append(line(at="08:00", n=6))  # late, in time order: still not skipped
    rest = read_page(directory, page.cursor, 10)
    assert [entry["n"] for entry in rest.entries] == [3, 4, 6, 5]  # by time, of what is left
    first.close()
    second.close()


def test_a_read_holds_back_lines_stamped_after_it_began(tmp_path: Path) -> None:
    """Worker 1's line stamped after the read began waits for the next read, while worker
    0's earlier line and a damaged line (no stamp) are read: a line written meanwhile by
    worker 0 with an earlier stamp cannot then come after it on a later page."""
    directory = tmp_path / "hits"
    first, second = Journal(directory, 1 << 20, 0), Journal(directory, 1 << 20, 1)
    first.append(line(at="2026-11-24T01:00:00.000001Z", n=1) + b"torn\n")
    second.append(line(at="2026-11-24T01:00:00.000003Z", n=3))
    began = STAMP + b'2026-11-24T01:00:00.000002Z"'
    page = read_page(directory, BEGINNING, 10, before=began)
    assert [entry["n"] for entry in page.entries] == [1] and len(page.damaged) == 1
    first.append(line(at="2026-11-24T01:00:00.000002Z", n=2))  # stamped before 3, late
    later = read_page(directory, page.cursor, 10, before=STAMP + b'2026-11-24T02:00:00Z"')
    assert [entry["n"] for entry in later.entries] == [2, 3]
    assert [entry["n"] for entry in read_page(directory, BEGINNING, 10).entries] == [1, 2, 3]
    first.close()
    second.close()

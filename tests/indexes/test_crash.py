"""Publishing interrupted at every step, damaged files, a killed writer, two writers at once.

FORMAT.md, "Publishing": a publish is files written, fsynced and renamed, then the manifest
renamed over the old one. Whatever step fails, readers see the old generation or the new
one, whole; the next commit succeeds and removes what the failed one left.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import indexes.container as container
import indexes.tombstones as tombstones
import indexes.writer as writer_module
from indexes import (
    CorruptFileError,
    Deletion,
    NoDatabaseError,
    Record,
    SegmentCache,
    Snapshot,
    Writer,
    open_snapshot,
)
from indexes.container import Container
from indexes.errors import WriteError
from indexes.manifest import MANIFEST_NAME, Manifest, read_manifest
from indexes.segment import SEGMENT_MAGIC, SegmentBuilder
from indexes.writer import LOCK_NAME

DB = "SLTD"
KEYS = [f"key-{n}".encode() for n in range(14)] + [b"shared", b""]
Contents = dict[bytes, list[tuple[bytes, Any]]]
REMOVE_UNREFERENCED = writer_module.remove_unreferenced


class InjectedCrash(Exception):
    """Raised where a publish is made to fail."""


def contents(snapshot: Snapshot) -> Contents:
    """The records of every known key as FRA sees them (record 5 is FRA's; 7 nobody's)."""
    return {key: sorted(snapshot.record(*hit) for hit in snapshot.find(key, "FRA")) for key in KEYS}


def read(directory: Path) -> Contents:
    return contents(open_snapshot(directory, DB, SegmentCache(verify=True)))


def stray_files(directory: Path) -> set[str]:
    """Files the manifest does not name (LOCK aside)."""
    named = read_manifest(directory, DB).files() | {LOCK_NAME}
    return set(os.listdir(directory)) - named


def stage_a_change(writer: Writer) -> None:
    """Touches every kind of file: old tombstones, a new segment, its own tombstones."""
    assert writer.delete([Deletion(b"id-1", b"key-1")]) == [1]
    writer.upsert(
        [
            Record(b"id-3", (b"key-3",), "three, replaced"),
            Record(b"id-11", (b"key-11",), "superseded in the batch"),
            Record(b"id-11", (b"key-11",), "eleven"),
        ]
    )


def fail_after(real: Callable[..., Any]) -> Callable[..., Any]:
    """`real` runs, then the crash: its file is on disk, not yet named."""

    def failing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise InjectedCrash(real.__name__)

    return failing


def fail_before(*args: Any, **kwargs: Any) -> Any:
    raise InjectedCrash("before")


def fail_when_published(directory: Path, manifest: Manifest) -> None:
    """The cleanup after the rename fails; the one when the writer starts still works."""
    if manifest.generation > 2:
        raise InjectedCrash("cleanup")
    REMOVE_UNREFERENCED(directory, manifest)


def inject(
    step: str,
    monkeypatch: pytest.MonkeyPatch,
    crash: Callable[[str], BaseException] = InjectedCrash,
) -> None:
    """Make `step` of the next publish fail; `crash` makes the exception (rename, fsync)."""
    real_replace, real_fsync_directory = os.replace, container.fsync_directory
    renamed: list[str] = []

    def replace(source: Any, target: Any) -> None:
        if step == "manifest rename" and Path(target).name == MANIFEST_NAME:
            raise crash("rename")
        real_replace(source, target)
        renamed.append(Path(target).name)

    def fsync_directory(path: Path) -> None:
        if renamed and renamed[-1] == MANIFEST_NAME:
            raise crash("directory fsync")
        real_fsync_directory(path)

    if step == "old tombstones, before writing":
        monkeypatch.setattr(writer_module, "write_tombstones", fail_before)
    elif step == "old tombstones, written":
        monkeypatch.setattr(
            writer_module, "write_tombstones", fail_after(tombstones.write_tombstones)
        )
    elif step == "segment, written":
        monkeypatch.setattr(SegmentBuilder, "finish", fail_after(SegmentBuilder.finish))
    elif step == "manifest, before writing":
        monkeypatch.setattr(writer_module, "write_manifest", fail_before)
    elif step == "manifest rename":
        monkeypatch.setattr(os, "replace", replace)
    elif step == "directory fsync after the rename":
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(container, "fsync_directory", fsync_directory)
    elif step == "cleanup":
        monkeypatch.setattr(writer_module, "remove_unreferenced", fail_when_published)
    else:
        raise AssertionError(step)


# (step, whether the new generation is what readers see afterwards)
STEPS = [
    ("old tombstones, before writing", False),
    ("old tombstones, written", False),
    ("segment, written", False),
    ("manifest, before writing", False),
    ("manifest rename", False),
    ("directory fsync after the rename", True),
    ("cleanup", True),
]


@pytest.mark.parametrize(("step", "published"), STEPS, ids=[step for step, _ in STEPS])
def test_an_interrupted_publish_leaves_a_whole_generation(
    small_db: Path, monkeypatch: pytest.MonkeyPatch, step: str, published: bool
) -> None:
    reader = open_snapshot(small_db, DB)
    before = contents(reader)
    expected = dict(before)
    expected.update(
        {
            b"key-1": [],
            b"key-3": [(b"id-3", "three, replaced")],  # and no longer under b"" and b"shared"
            b"key-11": [(b"id-11", "eleven")],
            b"": [],
            b"shared": [(b"id-8", 8)],
        }
    )
    assert before != expected

    with monkeypatch.context() as patch:
        inject(step, patch)
        with pytest.raises(InjectedCrash), Writer(small_db, DB) as writer:
            stage_a_change(writer)
            writer.commit()

    after = read(small_db)
    assert after == (expected if published else before)
    assert contents(reader) == before, "a reader in flight lost its generation"
    if not published:
        assert stray_files(small_db) == set(), "a failed commit left its files behind"
    assert read_manifest(small_db, DB).generation == (3 if published else 2)

    with Writer(small_db, DB) as writer:  # the lock was released; the next load works
        writer.upsert([Record(b"id-12", (b"key-12",), 12)])
        writer.commit()
    assert stray_files(small_db) == set(), "the next commit left garbage behind"
    after[b"key-12"] = [(b"id-12", 12)]
    assert read(small_db) == after


def disk_error(what: str) -> OSError:
    return OSError(errno.EIO, os.strerror(errno.EIO))


@pytest.mark.parametrize(
    ("step", "outcome"),
    [
        ("manifest rename", "nothing was published: generation 2 is still the current one"),
        ("directory fsync after the rename", "generation 3 was published before the failure"),
    ],
)
def test_a_write_error_says_which_generation_readers_see(
    small_db: Path, monkeypatch: pytest.MonkeyPatch, step: str, outcome: str
) -> None:
    with monkeypatch.context() as patch:
        inject(step, patch, disk_error)
        with pytest.raises(WriteError) as failed, Writer(small_db, DB) as writer:
            stage_a_change(writer)
            writer.commit()
    assert str(failed.value).startswith(f"{small_db}: cannot write: {os.strerror(errno.EIO)}")
    assert str(failed.value).endswith(outcome)
    assert read_manifest(small_db, DB).generation == failed.value.after
    assert stray_files(small_db) == set()


def test_a_full_spool_fails_the_staging_and_changes_nothing(
    small_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = read(small_db)

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with Writer(small_db, DB) as writer:
        monkeypatch.setattr(writer.builder, "add", full)
        with pytest.raises(WriteError, match="No space left on device; nothing was published"):
            writer.upsert([Record(b"id-12", (b"key-12",), 12)])
    assert read(small_db) == before
    assert stray_files(small_db) == set()


def die_at_the_manifest_rename(directory: Path) -> None:
    """In a child process: stage a change, then die (no exception, no cleanup) at the rename."""
    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        if Path(target).name == MANIFEST_NAME:
            os._exit(17)
        real_replace(source, target)

    with mock.patch.object(os, "replace", replace), Writer(directory, DB) as writer:
        stage_a_change(writer)
        writer.commit()


def test_a_writer_killed_before_the_rename(small_db: Path) -> None:
    before = read(small_db)
    child = multiprocessing.get_context("spawn").Process(
        target=die_at_the_manifest_rename, args=(small_db,)
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 17
    assert read(small_db) == before
    leftovers = stray_files(small_db)
    assert any(name.startswith(f".{MANIFEST_NAME}.tmp-") for name in leftovers), leftovers
    assert any(name.endswith(".seg") for name in leftovers), leftovers
    with Writer(small_db, DB) as writer:  # the dead process's lock went with it
        assert stray_files(small_db) == set(), "a new writer keeps a dead one's garbage"
        writer.upsert([Record(b"id-12", (b"key-12",), 12)])
        writer.commit()
    assert stray_files(small_db) == set()
    before[b"key-12"] = [(b"id-12", 12)]
    assert read(small_db) == before


def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x40
    path.write_bytes(bytes(raw))


def section_offset(path: Path, magic: bytes, name: str) -> int:
    opened = Container(path, magic, verify=False)
    offset = opened.sections[name].offset
    opened.close()
    return offset


@pytest.mark.parametrize("section", ["meta", "slots", "keyrows", "records", "visible"])
def test_a_damaged_segment_is_refused_by_name(small_db: Path, section: str) -> None:
    segment = small_db / "seg-000001.seg"
    flip_byte(segment, section_offset(segment, SEGMENT_MAGIC, section))
    with pytest.raises(CorruptFileError) as refused:
        open_snapshot(small_db, DB, SegmentCache(verify=True))
    assert refused.value.path == segment
    assert str(segment) in str(refused.value)
    assert f"section '{section}'" in str(refused.value) and "fails its checksum" in str(
        refused.value
    )


def test_the_last_good_snapshot_keeps_serving(small_db: Path) -> None:
    """A new generation with a damaged file is refused; the mapped one still answers."""
    cache = SegmentCache(verify=True)
    serving = open_snapshot(small_db, DB, cache)
    before = contents(serving)
    with Writer(small_db, DB) as writer:
        writer.upsert([Record(b"id-12", (b"key-12",), 12)])
        writer.commit()
    flip_byte(
        small_db / "seg-000003.seg",
        section_offset(small_db / "seg-000003.seg", SEGMENT_MAGIC, "records"),
    )
    with pytest.raises(CorruptFileError) as refused:
        open_snapshot(small_db, DB, cache)
    assert refused.value.path == small_db / "seg-000003.seg"
    assert contents(serving) == before


@pytest.mark.parametrize("name", ["seg-000001.seg", "seg-000001.dead-000002", MANIFEST_NAME])
def test_a_damaged_header_is_refused_even_without_verify(small_db: Path, name: str) -> None:
    path = small_db / name
    flip_byte(path, 20)  # file_size
    for verify in (False, True):
        with pytest.raises(CorruptFileError) as refused:
            open_snapshot(small_db, DB, SegmentCache(verify=verify))
        assert refused.value.path == path


def lock_is_free(directory: Path) -> bool:
    descriptor = os.open(directory / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


@pytest.mark.parametrize("name", ["seg-000002.seg", MANIFEST_NAME])
def test_a_writer_refusing_a_damaged_database_releases_the_lock(small_db: Path, name: str) -> None:
    flip_byte(small_db / name, 0)  # magic
    with pytest.raises(CorruptFileError), Writer(small_db, DB):
        pass
    assert lock_is_free(small_db)


def test_a_file_named_but_missing(small_db: Path) -> None:
    (small_db / "seg-000002.seg").unlink()
    with pytest.raises(CorruptFileError, match="named by the manifest but missing") as refused:
        open_snapshot(small_db, DB)
    assert refused.value.path == small_db / "seg-000002.seg"


def increment(directory: Path, name: str, times: int, start: Any) -> None:
    """In a child process: `times` read-modify-write publishes of a shared counter."""
    start.wait(60)
    for number in range(times):
        with Writer(directory, DB) as writer:
            try:
                snapshot = open_snapshot(directory, DB, SegmentCache(verify=False))
                value = snapshot.record(*snapshot.find(b"counter")[0])[1]
                assert isinstance(value, int)
            except NoDatabaseError:
                value = 0
            writer.upsert(
                [
                    Record(b"counter", (b"counter",), value + 1),
                    Record(f"{name}-{number}".encode(), (f"{name}-{number}".encode(),), number),
                ]
            )
            writer.commit()


def test_two_writers_in_two_processes_lose_nothing(db_dir: Path) -> None:
    times = 8
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    children = [
        context.Process(target=increment, args=(db_dir, name, times, start)) for name in "ab"
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    snapshot = open_snapshot(db_dir, DB)
    assert snapshot.generation == 2 * times
    assert [snapshot.record(*hit)[1] for hit in snapshot.find(b"counter")] == [2 * times]
    for name in "ab":
        for number in range(times):
            assert len(snapshot.find(f"{name}-{number}".encode())) == 1
    assert stray_files(db_dir) == set()

"""The container every file shares (indexes/container.py): sections in, the same out, and
every damaged file refused with the path that names it (FORMAT.md, "The container")."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexes.container as container
from indexes.container import (
    HEADER_SIZE,
    HEADER_STRUCT,
    SECTION_ALIGN,
    SECTION_ENTRY_SIZE,
    SECTION_STRUCT,
    Container,
    SectionData,
    write_container,
)
from indexes.errors import CorruptFileError, FormatVersionError
from indexes.manifest import MANIFEST_MAGIC, MANIFEST_NAME
from indexes.segment import SEGMENT_MAGIC, Segment
from indexes.tombstones import TOMBSTONE_MAGIC

MAGIC = b"TESTMAG\x00"
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
payloads = st.binary(max_size=300)
file_examples = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def covered(path: Path) -> list[tuple[int, int]]:
    """(start, end) of every byte a checksum covers: header, table, each section."""
    raw = path.read_bytes()
    count = HEADER_STRUCT.unpack_from(raw)[3]
    ranges = [(0, HEADER_SIZE + SECTION_ENTRY_SIZE * count)]
    for index in range(count):
        _, offset, length, _ = SECTION_STRUCT.unpack_from(
            raw, HEADER_SIZE + index * SECTION_ENTRY_SIZE
        )
        ranges.append((offset, offset + length))
    return ranges


def flip(path: Path, position: int, mask: int = 0x01) -> bytes:
    """XOR one byte of the file in place; returns the original bytes."""
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[position] ^= mask
    path.write_bytes(bytes(damaged))
    return original


def rewrite_header(path: Path, **fields: int) -> None:
    """Change header fields and keep both checksums valid: only the semantic checks remain."""
    raw = bytearray(path.read_bytes())
    values = list(HEADER_STRUCT.unpack_from(raw))
    order = ["magic", "major", "minor", "sections", "file_size", "created_ns", "table_checksum"]
    for name, value in fields.items():
        values[order.index(name)] = value
    head = HEADER_STRUCT.pack(*values[:-1], 0)[: HEADER_SIZE - 8]
    raw[:HEADER_SIZE] = head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head))
    path.write_bytes(bytes(raw))


def rewrite_section(path: Path, index: int, offset: int, length: int) -> None:
    """Point section `index` elsewhere, with valid table and header checksums."""
    raw = bytearray(path.read_bytes())
    at = HEADER_SIZE + index * SECTION_ENTRY_SIZE
    name, _, _, digest = SECTION_STRUCT.unpack_from(raw, at)
    raw[at : at + SECTION_ENTRY_SIZE] = SECTION_STRUCT.pack(name, offset, length, digest)
    count = HEADER_STRUCT.unpack_from(raw)[3]
    table = bytes(raw[HEADER_SIZE : HEADER_SIZE + count * SECTION_ENTRY_SIZE])
    path.write_bytes(bytes(raw))
    rewrite_header(path, table_checksum=xxhash.xxh3_64_intdigest(table))


@pytest.fixture(scope="module")
def segment_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real segment with every section, entrec and visibility included."""
    from indexes import Record, Writer

    directory = tmp_path_factory.mktemp("segment") / "SLTD"
    with Writer(directory, "SLTD") as writer:
        writer.upsert(
            [
                Record(b"id-1", (b"key-1", b"shared"), {"n": 1}),
                Record(b"id-2", (b"key-2",), [2, "two"], frozenset({"FRA"})),
                Record(b"id-3", (b"", b"shared"), None, frozenset()),
            ]
        )
        writer.commit()
    return (directory / "seg-000001.seg").read_bytes()


@given(
    st.lists(st.tuples(names, payloads, st.integers(1, 64)), max_size=6, unique_by=lambda s: s[0])
)
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sections_round_trip(tmp_path: Path, sections: list[tuple[str, bytes, int]]) -> None:
    """Bytes given whole or in chunks come back identical, each on a 64-byte boundary."""
    path = tmp_path / "file"
    given_sections: list[tuple[str, SectionData | Iterable[SectionData]]] = []
    for number, (name, data, size) in enumerate(sections):
        given_sections.append((name, data if number % 2 else chunks(data, size)))
    write_container(path, MAGIC, given_sections, created_ns=123)
    opened = Container(path, MAGIC)
    assert opened.created_ns == 123
    assert list(opened.sections) == [name for name, _, _ in sections]
    for name, data, _ in sections:
        assert bytes(opened.raw(name)) == data
        assert opened.sections[name].offset % SECTION_ALIGN == 0
    assert path.stat().st_size == (
        max((s.offset + s.length for s in opened.sections.values()), default=0)
        or HEADER_SIZE + SECTION_ENTRY_SIZE * len(sections)
    )
    opened.close()


def test_numpy_sections_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "file"
    wide = np.arange(1000, dtype=np.uint64) * np.uint64(0x1_0000_0001)
    narrow = np.arange(7, dtype=np.uint32)
    pieces: list[np.ndarray | bytes] = [
        np.arange(3, dtype=np.uint64),
        b"",
        np.arange(3, 6, dtype=np.uint64),
    ]
    write_container(
        path,
        MAGIC,
        [("wide", wide), ("narrow", narrow), ("pieces", iter(pieces)), ("empty", b"")],
    )
    opened = Container(path, MAGIC)
    assert (opened.array("wide", np.uint64, 1000) == wide).all()
    assert opened.array("narrow", np.uint32).tolist() == list(range(7))
    assert opened.array("pieces", np.uint64).tolist() == list(range(6))
    assert bytes(opened.raw("empty")) == b""
    with pytest.raises(CorruptFileError, match="'narrow' is 28 bytes, expected 8 x 4"):
        opened.array("narrow", np.uint32, 8)
    with pytest.raises(CorruptFileError, match="'missing' is missing"):
        opened.raw("missing")
    opened.close()


def test_empty_container(tmp_path: Path) -> None:
    path = tmp_path / "file"
    write_container(path, MAGIC, [])
    assert path.stat().st_size == HEADER_SIZE
    assert Container(path, MAGIC).sections == {}


@file_examples
@given(data=st.data())
def test_any_flipped_byte_is_refused_or_harmless(
    tmp_path: Path, segment_file: bytes, data: st.DataObject
) -> None:
    """A flip in a checksummed byte: CorruptFileError naming the file (header and table:
    even without verify). A flip in the zero padding between sections: the same contents."""
    path = tmp_path / "seg-000001.seg"
    path.write_bytes(segment_file)
    position = data.draw(st.integers(0, len(segment_file) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="mask")
    ranges = covered(path)
    flip(path, position, mask)
    in_header = position < ranges[0][1]
    if any(start <= position < end for start, end in ranges):
        with pytest.raises(CorruptFileError) as refused:
            Segment(path, verify=True)
        assert refused.value.path == path and str(path) in str(refused.value)
        if in_header:
            with pytest.raises(CorruptFileError):
                Container(path, SEGMENT_MAGIC, verify=False)
    else:
        assert segment_file[position] == 0, "a gap that is not padding"
        damaged, clean = Container(path, SEGMENT_MAGIC), segment_file
        for section in damaged.sections.values():
            start = section.offset
            assert bytes(damaged.raw(section.name)) == clean[start : start + section.length]
        damaged.close()


@file_examples
@given(data=st.data())
def test_truncated_or_extended_files_are_refused(
    tmp_path: Path, segment_file: bytes, data: st.DataObject
) -> None:
    path = tmp_path / "seg-000001.seg"
    if data.draw(st.booleans(), label="truncate"):
        size = data.draw(st.integers(0, len(segment_file) - 1), label="size")
        path.write_bytes(segment_file[:size])
    else:
        path.write_bytes(segment_file + data.draw(st.binary(min_size=1, max_size=100)))
    for verify in (False, True):
        with pytest.raises(CorruptFileError) as refused:
            Container(path, SEGMENT_MAGIC, verify=verify)
        assert refused.value.path == path


def test_size_messages_name_offset_and_sizes(tmp_path: Path, segment_file: bytes) -> None:
    path = tmp_path / "seg"
    path.write_bytes(segment_file[:10])
    with pytest.raises(CorruptFileError, match="file is 10 bytes, shorter than a header"):
        Container(path, SEGMENT_MAGIC)
    path.write_bytes(segment_file + b"\0")
    with pytest.raises(CorruptFileError) as refused:
        Container(path, SEGMENT_MAGIC)
    size = len(segment_file)
    assert refused.value.offset == 16
    assert f"header says {size} bytes but the file has {size + 1}" in str(refused.value)


@pytest.mark.parametrize("magic", [TOMBSTONE_MAGIC, MANIFEST_MAGIC, b"SCRNSEG\x01"])
def test_wrong_magic_is_refused(tmp_path: Path, segment_file: bytes, magic: bytes) -> None:
    path = tmp_path / "seg"
    path.write_bytes(segment_file)
    with pytest.raises(CorruptFileError) as refused:
        Container(path, magic, verify=False)
    assert refused.value.offset == 0 and "magic is b'SCRNSEG\\x00'" in str(refused.value)


def test_a_segment_renamed_to_manifest_is_refused(tmp_path: Path, segment_file: bytes) -> None:
    from indexes.manifest import read_manifest

    (tmp_path / MANIFEST_NAME).write_bytes(segment_file)
    with pytest.raises(CorruptFileError, match="magic"):
        read_manifest(tmp_path, "SLTD")


def test_future_major_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file"
    with monkeypatch.context() as patch:
        patch.setattr(container, "FORMAT_MAJOR", container.FORMAT_MAJOR + 1)
        write_container(path, MAGIC, [("data", b"abc")])
    for verify in (False, True):
        with pytest.raises(FormatVersionError) as refused:
            Container(path, MAGIC, verify=verify)
        assert not isinstance(refused.value, CorruptFileError)
        assert str(path) in str(refused.value)
        major = container.FORMAT_MAJOR
        assert f"format version {major + 1}.0, this build reads major version {major}: " in str(
            refused.value
        )
        assert "written by a newer build" in str(refused.value)


def test_an_older_major_version_is_refused_with_the_advice_to_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory written before a format change (1.0: no fixed-width keys, tokens
    in the one slot array) is refused by its first file, the manifest, naming it."""
    from indexes import Record, Writer, open_snapshot

    with monkeypatch.context() as patch:
        patch.setattr(container, "FORMAT_MAJOR", container.FORMAT_MAJOR - 1)
        with Writer(tmp_path / "SLTD", "SLTD") as writer:
            writer.upsert([Record(b"id", (b"key",), 1)])
            writer.commit()
    with pytest.raises(FormatVersionError) as refused:
        open_snapshot(tmp_path / "SLTD", "SLTD")
    assert refused.value.path == tmp_path / "SLTD" / "MANIFEST"
    assert "remove the database's directory and load its data again" in str(refused.value)


def test_a_newer_minor_version_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file"
    with monkeypatch.context() as patch:
        patch.setattr(container, "FORMAT_MINOR", container.FORMAT_MINOR + 7)
        write_container(path, MAGIC, [("data", b"abc"), ("future", b"ignored")])
    assert bytes(Container(path, MAGIC).raw("data")) == b"abc"


def test_a_flipped_version_reads_as_corruption_not_as_a_version(
    tmp_path: Path, segment_file: bytes
) -> None:
    path = tmp_path / "seg"
    path.write_bytes(segment_file)
    flip(path, 8, 0x02)
    with pytest.raises(CorruptFileError) as refused:
        Container(path, SEGMENT_MAGIC, verify=False)
    assert refused.value.offset == 56


def test_a_consistent_header_cannot_point_outside_the_file(
    tmp_path: Path, segment_file: bytes
) -> None:
    """Checksums valid, bounds wrong: the bounds checks refuse it (cdb: never a wild read)."""
    path = tmp_path / "seg"
    size = len(segment_file)
    path.write_bytes(segment_file)
    rewrite_section(path, 1, size - 8, 9)
    with pytest.raises(CorruptFileError, match="lies outside the file"):
        Container(path, SEGMENT_MAGIC, verify=False)
    path.write_bytes(segment_file)
    rewrite_section(path, 0, 8, 8)
    with pytest.raises(CorruptFileError, match="lies outside the file"):
        Container(path, SEGMENT_MAGIC, verify=False)
    path.write_bytes(segment_file)
    rewrite_header(path, sections=10**6)
    with pytest.raises(CorruptFileError, match="sections do not fit"):
        Container(path, SEGMENT_MAGIC, verify=False)


def test_a_missing_section_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "seg-000001.seg"
    meta = b'{"records": 0, "capacity": 1, "one_key_each": true, "key_width": 0}'
    write_container(path, SEGMENT_MAGIC, [("meta", meta)])
    with pytest.raises(CorruptFileError, match="section 'slots' is missing") as refused:
        Segment(path)
    assert refused.value.path == path
    write_container(path, SEGMENT_MAGIC, [("meta", b"{}")])
    with pytest.raises(CorruptFileError, match="unreadable segment metadata"):
        Segment(path)

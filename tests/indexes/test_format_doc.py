"""indexes/FORMAT.md against the code: constants, byte tables, quotes, the probe trace and
the golden file. The page is parsed, not copied here, so editing either side alone fails.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import struct
import tokenize
from pathlib import Path

import numpy as np
import pytest
import xxhash

import indexes
from indexes import open_snapshot
from indexes.container import HEADER_SIZE, HEADER_STRUCT, SECTION_STRUCT, Container
from indexes.hash_index import EMPTY_ENTRY, key_hash
from indexes.segment import SEGMENT_MAGIC

PACKAGE = Path(indexes.__file__).parent
FORMAT = (PACKAGE / "FORMAT.md").read_text(encoding="utf-8")

REQUIRED_CONSTANTS = {
    "indexes.segment.SEGMENT_MAGIC",
    "indexes.tombstones.TOMBSTONE_MAGIC",
    "indexes.manifest.MANIFEST_MAGIC",
    "indexes.container.FORMAT_MAJOR",
    "indexes.container.HEADER_SIZE",
    "indexes.container.SECTION_ENTRY_SIZE",
    "indexes.hash_index.LOAD_FACTOR",
    "indexes.hash_index.EMPTY_ENTRY",
}
STRUCT_CODES = {"u16": "H", "u32": "I", "u64": "Q"}


def section(title: str) -> str:
    """The text of the `## title` section of FORMAT.md, up to the next `## `."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", FORMAT, re.M | re.S)
    assert match, f"FORMAT.md has no section {title!r}"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """Cells of every table row of `text` (separator rows left out)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[\s\-|]+\|$", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def first(pattern: str, text: str) -> str:
    """The first group of the first match of `pattern` in `text`, which must match."""
    match = re.search(pattern, text)
    assert match, f"FORMAT.md no longer says {pattern!r}"
    return match.group(1)


def unquote(cell: str) -> str:
    return cell.strip().strip("`")


def normalise(text: str) -> str:
    return " ".join(text.split())


def constants() -> dict[str, object]:
    found = {}
    for cells in table_rows(section("Constants")):
        if len(cells) == 3 and cells[2].startswith("`indexes."):
            found[unquote(cells[2])] = ast.literal_eval(unquote(cells[1]))
    return found


def resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_constant_of_the_page_is_the_code_s() -> None:
    documented = constants()
    assert documented.keys() >= REQUIRED_CONSTANTS
    for dotted, value in documented.items():
        assert resolve(dotted) == value, dotted
        assert type(resolve(dotted)) is type(value), dotted


def byte_tables() -> list[list[list[str]]]:
    """The byte tables of "The container": runs of rows whose first two cells are numbers."""
    tables: list[list[list[str]]] = [[]]
    for line in section("The container").splitlines():
        cells = table_rows(line)
        if cells and cells[0][0].isdigit() and cells[0][1].isdigit():
            tables[-1].append(cells[0])
        elif tables[-1]:
            tables.append([])
    return [table for table in tables if table]


def layout(rows: list[list[str]]) -> tuple[str, int]:
    """The struct format and the size a byte table describes; offsets must be contiguous."""
    fmt, at = "<", 0
    for offset, size, kind, *_ in rows:
        assert int(offset) == at, f"gap or overlap at {offset}"
        fmt += STRUCT_CODES.get(kind, f"{size}s")
        assert kind not in STRUCT_CODES or struct.calcsize("<" + STRUCT_CODES[kind]) == int(size)
        at += int(size)
    return fmt, at


def test_the_header_and_section_entry_tables_are_the_structs() -> None:
    header, entry = byte_tables()
    assert layout(header) == (HEADER_STRUCT.format, HEADER_SIZE)
    assert layout(entry) == (SECTION_STRUCT.format, SECTION_STRUCT.size)
    assert [row[3] for row in header] == [
        "magic", "major", "minor", "sections", "file_size", "created_ns",
        "table_checksum", "reserved", "header_checksum",
    ]  # fmt: skip
    assert [row[3] for row in entry] == ["name", "offset", "length", "checksum"]


def test_known_answers_on_the_page_are_the_hash_s() -> None:
    rows = [c for c in table_rows(section("Constants")) if len(c) == 2 and c[0].startswith("`b")]
    assert len(rows) >= 4
    for key, value in rows:
        assert key_hash(ast.literal_eval(unquote(key))) == int(unquote(value), 16)


def quotes_in_code() -> list[tuple[str, str]]:
    """(file, passage) for each quotation in docstrings and comments of indexes/*.py.

    A quotation is a double-quoted passage of 30 characters or more that opens a line of a
    docstring or comment: how the code cites FORMAT.md.
    """
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        texts = [
            ast.get_docstring(node, clean=True) or ""
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        ]
        comments = [
            token.string.lstrip("#")
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT
        ]
        texts.append("\n".join(comments))
        for text in texts:
            for match in re.finditer(r'(?m)^\s*"([^"]{30,})"', text):
                found.append((path.name, normalise(match.group(1))))
    return found


def test_code_quotes_are_sentences_of_the_page() -> None:
    quotes = quotes_in_code()
    assert len(quotes) >= 4, quotes
    page = normalise(FORMAT)
    for name, passage in quotes:
        assert passage in page, f"{name} quotes what FORMAT.md does not say: {passage!r}"


def test_sections_the_code_cites_exist() -> None:
    headings = set(re.findall(r"^#+ (.+)$", FORMAT, re.M))
    cited = set()
    for path in PACKAGE.glob("*.py"):
        cited.update(re.findall(r'FORMAT\.md, "([^"]+)"', path.read_text(encoding="utf-8")))
    assert cited, "no code cites FORMAT.md"
    assert cited <= headings


def build_the_example(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the page's snippet in `directory`; returns the segment it wrote."""
    snippet = re.search(r"```python\n(.*?)```", section("A probe, step by step"), re.S)
    assert snippet
    monkeypatch.chdir(directory)
    exec(compile(snippet.group(1), "FORMAT.md", "exec"), {})
    return directory / "SLTD" / "seg-000001.seg"


def test_the_probe_trace_is_the_code_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build_the_example(tmp_path, monkeypatch)
    text = section("A probe, step by step")
    file = Container(path, SEGMENT_MAGIC)
    slots = np.frombuffer(file.raw("slots"), dtype=np.uint64)
    documented = {
        int(cells[0]): int(unquote(cells[1]), 16)
        for cells in table_rows(text)
        if len(cells) == 5 and cells[0].isdigit()
    }
    assert documented == dict(enumerate(slots.tolist()))
    capacity = int(first(r"capacity = ceil\(5 / 0\.75\) = (\d+)", text))
    for cells in table_rows(text):
        if len(cells) == 7 and cells[0].isdigit():
            entry, key, hashed, high, home, placed, moved = map(unquote, cells)
            value = key_hash(key.encode())
            assert value == int(hashed, 16) and value >> 32 == int(high, 16)
            assert (value >> 32) * capacity >> 32 == int(home)
            assert (int(slots[int(placed)]) & 0xFFFF_FFFF) == int(entry)
            assert int(placed) - int(home) == int(moved)
    traces = re.findall(
        r"\*\*A (hit|miss)[^`]*`(\w+)`\*\* \(h = `(0x[0-9a-f]+)`, high\s+`(\w+)`, home (\d+)\)",
        text,
    )
    assert [kind for kind, *_ in traces] == ["hit", "miss", "miss"]
    snapshot = open_snapshot(path.parent, "SLTD")
    for kind, key, hashed, high, home in traces:
        value = key_hash(key.encode())
        assert value == int(hashed, 16) and value >> 32 == int(high, 16)
        assert (value >> 32) * capacity >> 32 == int(home)
        assert bool(snapshot.find(key.encode())) == (kind == "hit")
    steps = [len(re.findall(r"(?m)^\d+\. ", block)) for block in re.split(r"\*\*A ", text)[1:4]]
    stops = [probe(slots, capacity, key) for _, key, *_ in traces]
    assert stops == [("empty", 3), ("greater", 2), ("empty", 2)]
    assert steps == [reads for _, reads in stops], "the page's steps are not the slots read"


def probe(slots: np.ndarray, capacity: int, key: str) -> tuple[str, int]:
    """Why a probe stops and how many slots it read, by FORMAT.md's rule, on raw slots."""
    high = key_hash(key.encode()) >> 32
    position = high * capacity >> 32
    reads = 0
    while True:
        slot, reads = int(slots[position]), reads + 1
        if slot & 0xFFFF_FFFF == EMPTY_ENTRY:
            return "empty", reads
        if slot >> 32 > high:
            return "greater", reads
        position += 1


def test_the_golden_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilt from the page's recipe: its length, its digest and the printed dump."""
    raw = build_the_example(tmp_path, monkeypatch).read_bytes()
    text = section("A probe, step by step")
    size = int(first(r"is \*\*(\d+) bytes\*\*", text))
    digest = first(r"xxh3_64 \*\*`(0x[0-9a-f]{16})`\*\*", text)
    assert len(raw) == size
    assert xxhash.xxh3_64_intdigest(raw[HEADER_SIZE:]) == int(digest, 16)
    dump = bytes.fromhex(
        "".join(
            match.group(1).replace(" ", "")
            for match in re.finditer(r"^[0-9a-f]{8}: ((?:[0-9a-f]{4} ){7}[0-9a-f]{4})", text, re.M)
        )
    )
    assert len(dump) >= HEADER_SIZE
    clock_and_checksum = {*range(24, 32), *range(56, 64)}
    for offset, byte in enumerate(dump):
        if offset not in clock_and_checksum:
            assert raw[offset] == byte, f"byte {offset} differs from the dump"
    assert struct.unpack_from("<Q", dump, 24)[0] == 1_767_225_600_000_000_000

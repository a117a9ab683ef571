"""An NCB batch upload: files in, one published snapshot out, every bad row reported.

All files of one `screening load` are one publish: either every good row of every file is
visible afterwards or, if a file cannot be read at all or the disk fills up, nothing
changed. A bad row never stops the good ones and never half-enters the index: it goes to
the reject report with its line number and the reason.
"""

from __future__ import annotations

import errno
import importlib
import mmap
import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, overload

import orjson
import pyarrow as pa
from tqdm import tqdm

from indexes import Deletion, IndexStoreError, PackedRecords, Record, Writer
from indexes.errors import WriteError
from indexes.writer import compact_if_fragmented
from loaders.block_pool import (
    SpoolWriteError,
    StagedBlock,
    block_pool,
    buffer_of,
    staged_blocks,
)
from loaders.catalog import DATABASES, Database, database, lookup_names
from loaders.columnar import column_loadable, csv_chunks
from loaders.normalise import FieldError, state
from loaders.readers import (
    BadRow,
    UnreadableFileError,
    Upload,
    read_csv_header,
    read_rows,
)
from loaders.records import Rejected, SecondaryDeletion, parse_row, withdrawals

CHUNK_ROWS = 50_000
BARE_CR = re.compile(rb"\r(?!\n)")
FILE_SEQUENCE_BITS = 40  # a row's sequence is (file number << 40) + its line


class RowPath:
    """Marks an upload for the row path (records.py) alone."""


_ROW_PATH = RowPath()


class LoadUsageError(ValueError):
    """The command itself is wrong (unknown database, bad owner code): exit 2."""


class DataDirError(Exception):
    """The data directory cannot be used (not a directory, unwritable, corrupt): exit 1."""


@dataclass
class LoadResult:
    accepted: int = 0
    rejected: int = 0
    deleted: int = 0
    generation: int = 0
    seconds: float = 0.0
    reports: list[Path] = field(default_factory=list)
    housekeeping: str = ""
    """What happened after the publish (segments merged, or why that failed)."""
    notes: list[str] = field(default_factory=list)
    """What the readers said besides rows (a UN list: the entities it skipped)."""

    def summary(self) -> str:
        rate = self.accepted / self.seconds if self.seconds else 0.0
        line = (
            f"{self.accepted:,} accepted, {self.rejected:,} rejected, {self.deleted:,} deleted"
            f" in {self.seconds:.1f} s ({rate:,.0f} rows/s), generation {self.generation}"
        )
        line += "".join(f"\n{note}" for note in self.notes)
        if self.reports:
            line += "\nrejected rows: " + ", ".join(str(path) for path in self.reports)
        if self.housekeeping:
            line += "\n" + self.housekeeping
        return line


class RejectReport:
    """JSON lines of rejected rows, opened only when the first one comes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._out: IO[bytes] | None = None

    def write(self, file: str, line: int, reason: str, row: object) -> None:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        entry = {"file": file, "line": line, "reason": reason, "row": row}
        self._out.write(orjson.dumps(entry, default=str) + b"\n")
        self.rows += 1

    def close(self, keep: bool) -> None:
        """Keep the report of a stored load. A failed load leaves no report of its own, and
        a stored load that rejected nothing removes a stale one of an earlier run."""
        written = self._out is not None
        if self._out is not None:
            self._out.close()
        failed_after_writing = written and not keep
        stale = keep and self.rows == 0
        if failed_after_writing or stale:
            self.path.unlink(missing_ok=True)


class Progress(tqdm):  # type: ignore[type-arg]
    """A load's progress bar, without tqdm's monitor thread: every bar, even a disabled
    one, would start a thread that wakes every 10 s for the rest of the process (a server
    that built its demo data kept it for good), to nudge bars that update too rarely.
    Ours updates at every block."""

    monitor_interval = 0


def default_report_path(upload: Upload) -> Path:
    if upload.name == "-":
        return Path("stdin.rejects.jsonl")
    return Path(f"{upload.name}.rejects.jsonl")


def load(
    data_dir: Path,
    db_code: str,
    owner: str,
    uploads: Sequence[Upload],
    report: Path | None = None,
    progress: bool = False,
) -> LoadResult:
    """Validate and store every upload in one publish; see the module docstring."""
    with small_pages():
        return _load(data_dir, db_code, owner, uploads, report, progress)


def _load(
    data_dir: Path,
    db_code: str,
    owner: str,
    uploads: Sequence[Upload],
    report: Path | None,
    progress: bool,
) -> LoadResult:
    db = _loadable(db_code)
    owner = _owner(owner)
    _check_data_dir(data_dir)
    started = time.perf_counter()
    result = LoadResult()
    reports: dict[Path, RejectReport] = {}
    succeeded = False
    plain = [_plain_csv(upload) for upload in uploads]
    column_bytes = sum(u.size() or 0 for u, p in zip(uploads, plain, strict=True) if p)
    try:
        # the pool before the writer: its workers are forked without the database lock
        with (
            block_pool(column_bytes if column_loadable(db) else 0, data_dir) as pool,
            Writer(data_dir / db.code, db.code, db.key_scheme) as writer,
        ):
            for number, upload in enumerate(uploads):
                path = report or default_report_path(upload)
                rejects = reports.setdefault(path, RejectReport(path))
                base = number << FILE_SEQUENCE_BITS
                blocks = pool if plain[number] else _ROW_PATH
                _load_one(writer, db, owner, upload, rejects, result, progress, base, blocks)
            result.generation = writer.commit().generation
        succeeded = True
    except WriteError as error:
        raise DataDirError(f"{error}{_what_to_do(error, data_dir)}") from None
    except IndexStoreError as error:
        raise DataDirError(str(error)) from None
    finally:
        for rejects in reports.values():
            rejects.close(keep=succeeded)
    result.reports = [path for path, r in reports.items() if r.rows]
    result.housekeeping = _merge_small_segments(data_dir / db.code, db.code)
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def small_pages() -> Iterator[None]:
    """numpy's arrays in 4 KiB pages while a load runs (its block workers, forked inside,
    too), not the huge pages numpy asks for every array of 4 MiB or more.

    A load's large arrays are temporaries, made and freed in turn (the commit's sorts and
    slot arrays: ~10 of 80 MB at 10 million records), and on the 2-core VM of
    bench/RESULTS.md a fresh huge page costs the kernel far more than the small pages it
    replaces: an 80 MB `np.arange` took 0.29 s of system time, 0.06 s in small pages,
    and `build_slots` of 10 million keys 1.7 s (1.3 s of it the kernel's), 0.7 s. The
    setting is numpy's own (`NUMPY_MADVISE_HUGEPAGE`), restored afterwards; a numpy
    without it changes nothing."""
    try:
        toggle = importlib.import_module("numpy._core.multiarray")._set_madvise_hugepage
    except (ImportError, AttributeError):
        toggle = None
    if toggle is None:
        yield
        return
    previous = toggle(False)
    try:
        yield
    finally:
        toggle(previous)


def _what_to_do(error: WriteError, data_dir: Path) -> str:
    """A full disk is the operator's to fix; the load itself can simply be run again."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT) and error.after == error.before:
        return f"; the upload was not stored: free some space on {data_dir} and load it again"
    return ""


def _merge_small_segments(folder: Path, code: str) -> str:
    """Keep lookups probing few segments; the load has landed whatever happens here."""
    try:
        merged = compact_if_fragmented(folder, code)
    except IndexStoreError as error:
        return f"warning: the upload is stored, but merging small segments failed: {error}"
    if merged is None:
        return ""
    return f"merged the recent uploads: {merged.segments} segments, generation {merged.generation}"


def _loadable(code: str) -> Database:
    try:
        db = database(code)
    except ValueError as error:
        raise LoadUsageError(str(error)) from None
    if not db.loadable:
        loadable = ", ".join(code for code, known in DATABASES.items() if known.loadable)
        raise LoadUsageError(f"loading {db.code} is not supported yet (loadable: {loadable})")
    return db


def _owner(code: str) -> str:
    try:
        return state(code)
    except FieldError as error:
        raise LoadUsageError(f"--owner: {error}") from None


def _check_data_dir(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(f"{data_dir}: exists and is not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDirError(f"{data_dir}: cannot create: {error.strerror}") from None


def _load_one(
    writer: Writer,
    db: Database,
    owner: str,
    upload: Upload,
    rejects: RejectReport,
    result: LoadResult,
    progress: bool,
    base: int,
    blocks: ProcessPoolExecutor | RowPath | None,
) -> None:
    """`blocks`: the row path, or the column path staging blocks in this pool (None: here)."""
    stream = upload.open_binary()
    bar = Progress(
        total=upload.size(),
        unit="B",
        unit_scale=True,
        desc=Path(upload.name).name,
        disable=not progress,
        leave=False,
    )
    try:
        if not isinstance(blocks, RowPath):
            batches = _column_batches(writer, db, owner, upload, stream, result, base, blocks)
        else:
            batches = _chunks(_of_this_db(db, upload, read_rows(upload, stream, result.notes)))
        for chunk in batches:
            _store_chunk(writer, db, owner, upload.name, chunk, rejects, result, base)
            if progress and upload.name != "-":
                bar.update(stream.tell() - bar.n)
    finally:
        bar.close()
        if upload.name != "-":
            stream.close()


def _plain_csv(upload: Upload) -> bool:
    """A CSV file with no quote character anywhere: one line is one row (columnar.py).
    A file that cannot be opened is not: the row path's reader says why."""
    try:
        if upload.format != "csv" or upload.name == "-" or not upload.size():
            return False
        with (
            open(upload.name, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
        ):
            # nor a bare CR (old Mac line ends): the line splitter knows only LF and CRLF
            no_cr = mapped.find(b"\r") < 0  # the usual case, and a search many times faster
            return mapped.find(b'"') < 0 and (no_cr or BARE_CR.search(mapped) is None)
    except OSError:
        return False


def _column_batches(
    writer: Writer,
    db: Database,
    owner: str,
    upload: Upload,
    stream: IO[bytes],
    result: LoadResult,
    base: int,
    pool: ProcessPoolExecutor | None,
) -> Iterator[list[tuple[int, dict[str, str]] | BadRow]]:
    """Stage the plain rows of each block at once; yield the others for the row path."""
    columns = read_csv_header(upload.name, stream)
    _check_key_columns(db, upload, columns)
    chunks = csv_chunks(stream, first_line=2)
    try:
        for staged in staged_blocks(pool, db.code, owner, upload.name, columns, chunks):
            plain = staged.plain
            if len(plain.lines):
                writer.upsert_packed(_packed(staged), plain.lines + base)
                result.accepted += len(plain.lines)
            yield staged.others
    except SpoolWriteError as error:  # a worker's write of this load's records
        raise writer.write_error(error) from error


def _packed(staged: StagedBlock) -> PackedRecords:
    plain = staged.plain
    records, record_lengths = staged.packed_records()
    keys, key_lengths = buffer_of(plain.keys)
    return PackedRecords(
        records,
        record_lengths,
        keys,
        key_lengths,
        BytesList(plain.keys),
        BytesList(plain.identities),
        plain.viewers,
        staged.key_hashes,
        staged.identity_hashes,
    )


class BytesList(Sequence[bytes]):
    """An Arrow binary or string column as a sequence of bytes, converted when first read:
    the writer needs the values only to withdraw published records (the hashes came with
    the block), so a first upload never converts them."""

    def __init__(self, values: pa.Array) -> None:
        self._values = values
        self._list: list[bytes] | None = None

    def _converted(self) -> list[bytes]:
        if self._list is None:
            self._list = self._values.cast(pa.binary()).to_pylist()
        return self._list

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        return self._converted()[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._converted())


def _of_this_db(
    db: Database, upload: Upload, rows: Iterator[tuple[int, dict[str, str]] | BadRow]
) -> Iterator[tuple[int, dict[str, str]] | BadRow]:
    """Refuse a CSV of another database at its first row (JSON lines may omit fields)."""
    checked = upload.format != "csv"  # a JSON line may leave out any field; a CSV row cannot
    for item in rows:
        if not checked and not isinstance(item, BadRow):
            _check_key_columns(db, upload, list(item[1]))
            checked = True
        yield item


def _check_key_columns(db: Database, upload: Upload, columns: list[str]) -> None:
    """A CSV whose header lacks a key field is another database's file: unreadable (API.md)."""
    header = dict.fromkeys(columns, "x")
    if not any(lookup.present(header) for lookup in db.lookups):
        reason = f"the header has no {lookup_names(db)}: not an upload for {db.code}"
        raise UnreadableFileError(upload.name, reason, 1)


def _chunks(
    rows: Iterator[tuple[int, dict[str, str]] | BadRow],
) -> Iterator[list[tuple[int, dict[str, str]] | BadRow]]:
    chunk: list[tuple[int, dict[str, str]] | BadRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _store_chunk(
    writer: Writer,
    db: Database,
    owner: str,
    file: str,
    chunk: list[tuple[int, dict[str, str]] | BadRow],
    rejects: RejectReport,
    result: LoadResult,
    base: int = 0,
) -> None:
    """Stage a chunk row by row; each row's sequence is its line (after `base`), so a
    later line wins whatever order the rows are staged in. Rejects go out in line order."""
    refused: list[tuple[int, str, object]] = []
    upserts: list[Record] = []
    upsert_lines: list[int] = []
    deletes: list[tuple[int, dict[str, str], Deletion]] = []
    for item in chunk:
        if isinstance(item, BadRow):
            refused.append((item.line, item.reason, item.raw))
            continue
        line, row = item
        parsed = parse_row(db, row, owner)
        if isinstance(parsed, SecondaryDeletion):
            found = withdrawals(writer.published, db, owner, parsed)
            deletes += [(line, row, deletion) for deletion in found]
        elif isinstance(parsed, Rejected):
            refused.append((line, parsed.reason, row))
        elif isinstance(parsed, Record):
            upserts.append(parsed)
            upsert_lines.append(base + line)
        else:
            deletes.append((line, row, parsed))
    writer.upsert(upserts, upsert_lines)
    result.accepted += len(upserts)
    refused += _apply_deletes(writer, owner, deletes, result, base)
    for line, reason, raw in sorted(refused, key=lambda entry: entry[0]):
        rejects.write(file, line, reason, raw)
    result.rejected += len(refused)


def _nothing_to_delete(owner: str) -> str:
    return f"action delete: no record with this key owned by {owner} to withdraw"


def _apply_deletes(
    writer: Writer,
    owner: str,
    deletes: list[tuple[int, dict[str, str], Deletion]],
    result: LoadResult,
    base: int,
) -> list[tuple[int, str, object]]:
    """Stage the deletions; returns those that found nothing to withdraw, as rejects."""
    lines = [base + line for line, _, _ in deletes]
    counts = writer.delete([deletion for _, _, deletion in deletes], lines)
    refused: list[tuple[int, str, object]] = []
    reason = _nothing_to_delete(owner)
    withdrawn: dict[int, int] = {}  # line -> records withdrawn (a delete by plate: several)
    rows: dict[int, object] = {}
    for (line, row, _), count in zip(deletes, counts, strict=True):
        withdrawn[line] = withdrawn.get(line, 0) + count
        rows[line] = row
    for line, count in withdrawn.items():
        if count:
            result.deleted += count
        else:
            refused.append((line, reason, rows[line]))
    return refused

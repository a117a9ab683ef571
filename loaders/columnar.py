"""The vectorised CSV path: millions of plain rows a minute without a Python loop per row.

Most NCB rows are plain: no quotes, one value per column, an upsert, every value
already in its stored form. Such rows are split and parsed by Arrow,
checked column by column (Arrow compute, numpy) and packed into the record store's
msgpack bytes column by column. Every other row (and every row a check is unsure of) is
handed, with its line number, to the row-by-row path in records.py, which stays the one
definition of what is valid: the fast path only ever says "plain" or "ask records.py",
and a test holds both paths to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import IO, TypeAlias

import msgpack
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loaders import normalise
from loaders.catalog import Database
from loaders.countries import ISSUING_STATES
from loaders.currencies import ALL_CODES, currency
from loaders.records import SPECIAL_FIELDS

BLOCK_BYTES = 4 << 20  # small enough that numpy's temporaries reuse freed memory
NEWLINE, CARRIAGE_RETURN, COMMA = 10, 13, 44

Check = Callable[[pa.StringArray], tuple[pa.Array, np.ndarray]]
Part: TypeAlias = pa.Array | pa.Scalar | np.ndarray
"""A piece of every packed row: a constant, a column of values, or k bytes per row (n x k)."""


@dataclass(frozen=True)
class Block:
    """One block of a CSV file: the plain lines parsed by Arrow, the others left as text."""

    lines: np.ndarray
    table: pa.Table
    other_lines: list[tuple[int, bytes]]


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a CSV upload, unparsed, and where they lie in it: `offset` is the byte
    of the file `data` starts at; `padded`: the file's last line had no newline and `data`
    ends with one the file lacks (so `data` is `padded` bytes longer than the slice)."""

    data: bytes
    first_line: int
    offset: int
    padded: bool = False


def csv_blocks(
    stream: IO[bytes], columns: list[str], first_line: int, block_bytes: int | None = None
) -> Iterator[Block]:
    """Blocks of whole lines after the header; `first_line` is the header's line number + 1."""
    for chunk in csv_chunks(stream, first_line, block_bytes):
        yield parse_block(chunk.data, columns, chunk.first_line)


def csv_chunks(
    stream: IO[bytes], first_line: int, block_bytes: int | None = None
) -> Iterator[Chunk]:
    """What `parse_block` takes, unparsed, so the parsing can happen in another process
    (block_pool.py). Blocks of about BLOCK_BYTES, from where `stream` stands."""
    line = first_line
    offset = stream.tell()
    carry = b""
    while True:
        read = stream.read(block_bytes or BLOCK_BYTES)
        if not read:
            if carry:
                yield Chunk(carry + b"\n", line, offset, padded=True)
            return
        cut = read.rfind(b"\n") + 1
        if cut == 0:
            carry += read
            continue
        data = carry + memoryview(read)[:cut]  # one copy of the block, not three
        carry = read[cut:]
        yield Chunk(data, line, offset)
        line += data.count(b"\n")
        offset += len(data)


def parse_block(data: bytes, columns: list[str], first_line: int, threads: bool = True) -> Block:
    """Whole lines, numbered from `first_line`: the plain ones parsed, the others kept as
    text. `threads=False` in a worker process, where the other cores have their own."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == NEWLINE)
    starts = np.concatenate(([0], ends[:-1] + 1))
    content_ends = ends - (raw[np.maximum(ends - 1, 0)] == CARRIAGE_RETURN) * (ends > starts)
    commas = np.flatnonzero(raw == COMMA)
    separators = np.searchsorted(commas, content_ends) - np.searchsorted(commas, starts)
    numbers = np.arange(first_line, first_line + len(ends))
    blank = content_ends == starts
    plain = (separators == len(columns) - 1) & ~blank
    other = np.flatnonzero(~plain & ~blank)
    others = [(int(numbers[i]), data[starts[i] : content_ends[i]]) for i in other.tolist()]
    kept = np.flatnonzero(plain)
    if len(kept) == len(ends):
        selected = data
    else:
        line_of_byte = np.repeat(np.arange(len(ends)), ends - starts + 1)
        selected = raw[plain[line_of_byte]].tobytes()
    try:
        table = _parse(selected, columns, threads)
    except pa.ArrowInvalid:
        # Bytes Arrow will not read as UTF-8: the row path finds and names the line.
        lines = [(int(numbers[i]), data[starts[i] : content_ends[i]]) for i in kept.tolist()]
        return Block(np.empty(0, dtype=np.int64), _empty(columns), sorted(others + lines))
    return Block(numbers[kept], table, others)


def _parse(data: bytes, columns: list[str], threads: bool) -> pa.Table:
    if not data:
        return _empty(columns)
    return pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=columns, use_threads=threads),
        parse_options=pacsv.ParseOptions(
            quote_char=False, escape_char=False, newlines_in_values=False,
            ignore_empty_lines=False,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={column: pa.string() for column in columns},
            strings_can_be_null=False,
        ),
    )  # fmt: skip


def _empty(columns: list[str]) -> pa.Table:
    return pa.table({column: pa.array([], type=pa.string()) for column in columns})


# Column checks: (stored values, mask of rows the check is sure are plain and valid).
# A check may refuse a valid value (the row path then takes it); it must never accept a
# value the row path would refuse or store differently.


def _bytes_of(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(all bytes, offsets) of a string array, zero-copy: the numpy view of its buffers."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)
    data = values.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw, offsets


def _byte_class(allowed: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(allowed, dtype=np.uint8)] = True
    return table


UPPER_DIGITS = _byte_class(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
PRINTABLE = _byte_class(bytes(range(0x20, 0x7F)))
DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _all_bytes_in(values: pa.Array, table: np.ndarray) -> np.ndarray:
    """Per value: every byte is in the class (an empty value passes)."""
    raw, offsets = _bytes_of(values)
    sizes = np.diff(offsets)
    plain: np.ndarray = sizes == 0
    filled = np.flatnonzero(~plain)
    if filled.size:
        bad = ~table[raw[offsets[0] : offsets[-1]]]
        plain[filled] = ~np.logical_or.reduceat(bad, offsets[filled] - offsets[0])
    return plain


def _lengths_of(values: pa.Array) -> np.ndarray:
    return np.diff(_bytes_of(values)[1])


def _document_number(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
    sizes = _lengths_of(values)
    plain = _all_bytes_in(values, UPPER_DIGITS) & (sizes >= 1) & (sizes <= 30)
    if plain.all():
        return values, plain
    # Some numbers as typed ("l89 8902-c3"): normalise those, as the row path would (the
    # regular expressions run over them alone; the others are stored as they are).
    typed = pa.array(~plain)
    values_typed = values.filter(typed)
    normalised = pc.utf8_upper(pc.replace_substring_regex(values_typed, r"[ \-<\t]", ""))
    shaped = pc.match_substring_regex(values_typed, r"^[A-Za-z0-9 <\-\t]+$")
    fine = pc.and_(shaped, pc.match_substring_regex(normalised, r"^[A-Z0-9]{1,30}$"))
    plain[~plain] = _mask(fine)
    return pc.replace_with_mask(values, typed, normalised), plain


def _identifier(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
    """Plain only when already stored form (A-Z, 0-9, 1..40); anything typed otherwise
    takes the row path."""
    sizes = _lengths_of(values)
    return values, _all_bytes_in(values, UPPER_DIGITS) & (sizes >= 1) & (sizes <= 40)


def _member_of(allowed: list[str]) -> Check:
    value_set = pa.array(sorted(allowed), type=pa.string())

    def check(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
        return values, _mask(pc.is_in(values, value_set=value_set))

    return check


def _document_type(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
    return values, _mask(pc.match_substring_regex(values, r"^[PIACV][A-Z0-9]?$"))


def _iso_date(values: pa.StringArray, latest: str | None = None) -> tuple[pa.Array, np.ndarray]:
    """YYYY-MM-DD of a real calendar day, from the bytes: ten of them, digits and dashes."""
    raw, offsets = _bytes_of(values)
    sizes = np.diff(offsets)
    plain = sizes == 10
    rows = np.flatnonzero(plain)
    if not rows.size:
        return values, plain
    if not sizes[~plain].any():  # the others are empty: the dates lie end to end
        matrix = raw[offsets[0] : offsets[-1]].reshape(-1, 10)
    else:
        matrix = raw[offsets[rows][:, None] + np.arange(10)]
    digits = matrix - np.uint8(ord("0"))  # wraps below "0": a digit is < 10
    shape = digits < 10
    shape[:, 4] = matrix[:, 4] == ord("-")
    shape[:, 7] = matrix[:, 7] == ord("-")
    shaped = shape.all(axis=1)
    wide = digits.astype(np.int32)
    year = wide[:, 0] * 1000 + wide[:, 1] * 100 + wide[:, 2] * 10 + wide[:, 3]
    month = wide[:, 5] * 10 + wide[:, 6]
    day = wide[:, 8] * 10 + wide[:, 9]
    real = shaped & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    real &= day <= _days_in_month(year, np.clip(month, 1, 12))
    if latest is not None:
        real &= year * 10000 + month * 100 + day <= int(latest.replace("-", ""))
    plain[rows] = real
    return values, plain


def _past_date(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
    return _iso_date(values, date.today().isoformat())


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    days = DAYS_IN_MONTH[month]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return np.asarray(days + ((month == 2) & leap))


def _text(values: pa.StringArray) -> tuple[pa.Array, np.ndarray]:
    """Printable ASCII with no space at either end (what str.strip would leave alone)."""
    raw, offsets = _bytes_of(values)
    sizes = np.diff(offsets)
    plain = _all_bytes_in(values, PRINTABLE)
    filled = np.flatnonzero(sizes > 0)
    ends = (raw[offsets[filled]] != 0x20) & (raw[offsets[filled + 1] - 1] != 0x20)
    plain[filled] &= ends
    return values, plain


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def column_check(normaliser: Callable[[str], object]) -> Check | None:
    """The column form of a row normaliser, or None if it has none (row path only)."""
    if normaliser is normalise.document_number:
        return _document_number
    if normaliser is normalise.state:
        return _member_of(list(ISSUING_STATES))
    if isinstance(normaliser, normalise.ChoiceNormaliser):
        return _member_of(list(normaliser.options))
    if normaliser is normalise.identifier:
        return _identifier
    if normaliser is currency:
        return _member_of(sorted(ALL_CODES))
    if normaliser is normalise.document_type:
        return _document_type
    if normaliser is normalise.iso_date:
        return _iso_date
    if normaliser is normalise.past_date:
        return _past_date
    if normaliser is normalise.text:
        return _text
    return None


@dataclass(frozen=True)
class PlainRows:
    """The plain rows of a block, ready for the segment: packed, keyed, numbered."""

    lines: np.ndarray
    records: pa.BinaryArray
    keys: pa.StringArray
    identities: pa.BinaryArray
    viewers: dict[str, np.ndarray]
    """Each viewer's rows, of those only some states may see (visible_to)."""


def column_loadable(db: Database) -> bool:
    """Whether rows of `db` can take this path: one lookup keyed without a prefix, the
    identity that lookup's fields, every field stored, no vector (the row path does the
    rest: several lookups, extra index keys, vectors)."""
    return (
        len(db.lookups) == 1
        and not db.prefixed
        and not db.identity_fields
        and db.vector_of is None
        and len(db.record_fields) == len(db.fields)
    )


def split_plain(db: Database, block: Block, owner: str) -> tuple[PlainRows, np.ndarray]:
    """(the plain rows, packed) and the positions in `block.table` of the other rows."""
    table = block.table
    if not column_loadable(db):
        return _no_plain_rows(block), np.arange(table.num_rows)
    plain = np.ones(table.num_rows, dtype=bool)
    stored: dict[str, pa.Array] = {}
    for field in db.fields:
        if field.name not in table.column_names:
            plain &= not field.required
            continue
        values = table.column(field.name).combine_chunks()
        empty = _mask(pc.equal(values, ""))
        check = column_check(field.normaliser)
        if check is None:
            # No column form: a row is plain only if it leaves the field empty, which a
            # required field may not (records.py rejects it): those rows take the row path.
            plain &= empty & (not field.required)
            continue
        normalised, valid = check(values)
        # A check may pass an empty value (text does): empty is plain only where optional.
        plain &= np.where(empty, not field.required, valid)
        stored[field.name] = normalised
    if "action" in table.column_names:
        action = table.column("action").combine_chunks()
        plain &= _mask(pc.is_in(action, value_set=pa.array(["", "upsert"])))
    viewers = _viewer_lists(table, owner, plain)
    plain &= viewers is None or ~_mask(pc.equal(viewers, b"?"))
    if any(name not in stored for name in db.lookups[0].fields):
        # a key the columns cannot normalise: every row takes the row path
        return _no_plain_rows(block), np.arange(table.num_rows)
    rows = np.flatnonzero(plain)
    others = np.flatnonzero(~plain)
    taken = table
    if len(others):  # else (most blocks) every row is kept: nothing to copy
        kept = pa.array(rows)
        taken = table.take(kept)
        stored = {name: values.take(kept) for name, values in stored.items()}
        viewers = None if viewers is None else viewers.take(kept)
    extras = [c for c in table.column_names if c not in db.by_name and c not in SPECIAL_FIELDS]
    lookup = db.lookups[0]
    probed = [stored[name] for name in lookup.fields[: lookup.probe]]
    key = probed[0] if len(probed) == 1 else _separated(probed).cast(pa.string())
    identities = _separated([*(stored[name] for name in lookup.fields), _constant(owner.encode())])
    extra_columns = [(c, taken.column(c)) for c in extras]
    packed = _pack(db, stored, owner, identities, viewers, extra_columns)
    visible = _visible_rows(viewers)
    return PlainRows(block.lines[rows], packed, key, identities, visible), others


def _no_plain_rows(block: Block) -> PlainRows:
    empty = pa.array([], type=pa.binary())
    return PlainRows(block.lines[:0], empty, pa.array([], type=pa.string()), empty, {})


def _viewer_lists(table: pa.Table, owner: str, plain: np.ndarray) -> pa.BinaryArray | None:
    """Per row, the msgpack of its sorted viewer list (owner included), nil if none, or
    b"?" where records.py must decide. Lists repeat, so each distinct one is done once."""
    if "visible_to" not in table.column_names:
        return None
    encoded = pc.dictionary_encode(table.column("visible_to").combine_chunks())
    distinct = encoded.dictionary.to_pylist()
    packed = [b"\xc0" if value == "" else _viewer_list(value, owner) for value in distinct]
    return pa.array(packed, type=pa.binary()).take(encoded.indices)


@lru_cache(maxsize=4096)
def _viewer_list(value: str, owner: str) -> bytes:
    try:
        states = normalise.state_list(value)
    except normalise.FieldError:
        return b"?"
    if not states:
        return b"?"
    packed: bytes = msgpack.packb(sorted({*states, owner}))
    return packed


def _visible_rows(listed: pa.BinaryArray | None) -> dict[str, np.ndarray]:
    """Each viewer's rows (ascending), from the rows' packed viewer lists (nil: everyone)."""
    if listed is None:
        return {}
    encoded = pc.dictionary_encode(listed)
    codes = encoded.indices.to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(encoded.dictionary) + 1))
    parts: dict[str, list[np.ndarray]] = {}
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        if value != b"\xc0":
            for viewer in msgpack.unpackb(value):
                parts.setdefault(viewer, []).append(order[bounds[code] : bounds[code + 1]])
    return {viewer: np.sort(np.concatenate(rows)) for viewer, rows in parts.items()}


# msgpack, written column by column. A record is the 2-array [identity (bin), data], data
# the list records.py builds: the catalog's fields (nil when empty), owner, the sorted
# visibility list or nil, then a map of the non-empty extra fields or nil.


def _pack(
    db: Database,
    stored: dict[str, pa.Array],
    owner: str,
    identities: pa.BinaryArray,
    viewers: pa.BinaryArray | None,
    extras: list[tuple[str, pa.ChunkedArray]],
) -> pa.BinaryArray:
    count = len(identities)
    parts: list[Part] = [_constant(b"\x92"), _bin_header(identities), identities]
    parts.append(_constant(_array_header(len(db.fields) + 3)))
    for field in db.fields:
        values = stored.get(field.name)
        if values is None:
            parts.append(_constant(b"\xc0"))
        else:
            parts += [_str_header(values, nil_when_empty=True), values.cast(pa.binary())]
    parts.append(_constant(_str_bytes(owner)))
    parts.append(_constant(b"\xc0") if viewers is None else viewers)
    parts += _pack_extras(extras, count)
    return join_rows(parts)


def _separated(parts: list[pa.Array | pa.Scalar]) -> pa.BinaryArray:
    """The values of each row joined by the unit separator (0x1f), as the row path joins."""
    separator = _constant(b"\x1f")
    joined: list[Part] = [parts[0]]
    for part in parts[1:]:
        joined += [separator, part]
    return join_rows(joined)


def join_rows(parts: list[Part]) -> pa.BinaryArray:
    """Row i is part 0's row i, then part 1's, and so on (Arrow's element-wise join, its
    inputs made cheap: runs of constants merged, per-row headers as views of a matrix)."""
    return pc.binary_join_element_wise(*(_binary(part) for part in _merged(parts)), b"")


def _merged(parts: list[Part]) -> list[Part]:
    """Runs of constants and per-row headers as one part: fewer inputs to the join."""
    merged: list[Part] = []
    for part in parts:
        last = merged[-1] if merged else None
        if isinstance(part, pa.Scalar) and isinstance(last, pa.Scalar):
            merged[-1] = _constant(last.as_py() + part.as_py())
        elif isinstance(part, pa.Array) or last is None or isinstance(last, pa.Array):
            merged.append(part)
        else:  # a matrix beside a constant or a matrix
            merged[-1] = _side_by_side(last, part)
    return merged


def _side_by_side(left: pa.Scalar | np.ndarray, right: pa.Scalar | np.ndarray) -> np.ndarray:
    count = next(len(part) for part in (left, right) if isinstance(part, np.ndarray))

    def matrix(part: pa.Scalar | np.ndarray) -> np.ndarray:
        if isinstance(part, np.ndarray):
            return part
        constant = np.frombuffer(part.as_py(), dtype=np.uint8)
        return np.broadcast_to(constant, (count, len(constant)))

    return np.hstack([matrix(left), matrix(right)])


def _binary(part: Part) -> pa.Array | pa.Scalar:
    """A part as the join takes it: a count x k byte matrix becomes k bytes per row."""
    if isinstance(part, pa.Array):
        return part.cast(pa.binary())
    if not isinstance(part, np.ndarray):
        return part
    count, width = part.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(part, dtype=np.uint8)
    return pa.BinaryArray.from_buffers(
        pa.binary(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _pack_extras(extras: list[tuple[str, pa.ChunkedArray]], count: int) -> list[Part]:
    if not extras:
        return [_constant(b"\xc0")]
    columns = [(name, values.combine_chunks()) for name, values in extras]
    present = [~_mask(pc.equal(values, "")) for _, values in columns]
    sizes = np.sum(present, axis=0) if present else np.zeros(count, dtype=np.int64)
    header = np.where(sizes == 0, 0xC0, 0x80 | np.minimum(sizes, 15)).astype(np.uint8)
    parts: list[Part] = [header[:, None]]
    for (name, values), here in zip(columns, present, strict=True):
        key = pa.array(np.where(here, _str_bytes(name), b""), type=pa.binary())
        head = _binary(_str_header(values, nil_when_empty=False))
        empty = pa.array(~here)
        parts += [
            key,
            pc.if_else(empty, b"", head),
            pc.if_else(empty, b"", values.cast(pa.binary())),
        ]
    if (sizes > 15).any():
        raise ValueError("more than 15 extra fields in one row")
    return parts


def _bin_header(values: pa.BinaryArray) -> np.ndarray:
    """Per row: the msgpack bin 8 header (identities are far below 256 bytes)."""
    sizes = _lengths(values)
    if (sizes >= 256).any():
        raise ValueError("an identity of 256 bytes or more")
    return np.stack([np.full(len(sizes), 0xC4, dtype=np.uint8), sizes.astype(np.uint8)], axis=1)


def _constant(data: bytes) -> pa.Scalar:
    return pa.scalar(data, type=pa.binary())


def _array_header(size: int) -> bytes:
    return bytes([0x90 | size]) if size < 16 else b"\xdc" + size.to_bytes(2, "big")


def _str_bytes(text: str) -> bytes:
    raw = text.encode()
    return bytes(_str_prefix(len(raw))) + raw


def _str_prefix(size: int) -> list[int]:
    if size < 32:
        return [0xA0 | size]
    if size < 256:
        return [0xD9, size]
    return [0xDA, size >> 8, size & 0xFF]


def _lengths(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.binary_length(values).to_numpy(zero_copy_only=False), dtype=np.int64)


def _str_header(values: pa.Array, nil_when_empty: bool) -> pa.BinaryArray | np.ndarray:
    """Per row: the msgpack str header of the value, or nil (0xc0) for an empty one."""
    sizes = _lengths(values)
    if (sizes >= 1 << 16).any():
        raise ValueError("a value of 64 KiB or more")
    if len(sizes) and sizes.max() < 32:  # the usual case: one byte each
        first = (0xA0 | sizes).astype(np.uint8)
        if nil_when_empty:
            first[sizes == 0] = 0xC0
        return first[:, None]
    first = np.where(sizes < 32, 0xA0 | sizes, np.where(sizes < 256, 0xD9, 0xDA))
    if nil_when_empty:
        first = np.where(sizes == 0, 0xC0, first)
    second = np.where(sizes < 256, sizes, sizes >> 8)
    third = sizes & 0xFF
    width = np.where(sizes < 32, 1, np.where(sizes < 256, 2, 3))
    return _bytes_per_row([first, second, third], width)


def _bytes_per_row(columns: list[np.ndarray], width: np.ndarray | None = None) -> pa.BinaryArray:
    """A binary array whose row i is columns[0][i], ..., the first width[i] of them."""
    matrix = np.stack([np.asarray(c, dtype=np.uint8) for c in columns], axis=1)
    count, most = matrix.shape
    if width is None:
        width = np.full(count, most)
    keep = np.arange(most) < width[:, None]
    offsets = np.concatenate(([0], np.cumsum(width))).astype(np.int32)
    data = matrix[keep].tobytes()
    return pa.BinaryArray.from_buffers(
        pa.binary(), count, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )

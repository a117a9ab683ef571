"""Types of indexes._probe (_probe.c): the hashed-index lookup, compiled."""

from collections.abc import Callable, Iterable, Sequence

import numpy as np

# Anything with the buffer protocol; spelled out because numpy's stubs for Python 3.11
# do not declare ndarray a typing_extensions.Buffer.
Buffer = bytes | bytearray | memoryview | np.ndarray
# (restricted records as a bitset or None, dead records or None, visible(record, viewer));
# the dead records are anything answering `record in dead` (a pyroaring bitmap).
Filter = tuple[Buffer | None, object | None, Callable[[int, str | None], bool]]

PREFETCH_AHEAD: int

class Table:
    """One segment's slots, keys and entry -> record numbers (if any); `width` 8 to 32:
    `keys` is a section of fixed-width rows, one per slot, `keyoffs` is not read and
    `entries` bounds the entry numbers."""

    def __init__(
        self,
        slots: Buffer,
        capacity: int,
        keyoffs: Buffer,
        keys: Buffer,
        entrec: Buffer | None = None,
        width: int = 0,
        entries: int = 0,
    ) -> None: ...
    def find(self, key: bytes, hashed: int | None = None, /) -> list[int]: ...
    def find_many(
        self, keys: Sequence[bytes], hashes: Buffer, /
    ) -> tuple[bytearray, bytearray]: ...

class Lookup:
    """Every table of a snapshot: one key, hashed once, probed in each, hits filtered."""

    def __init__(
        self,
        tables: Iterable[Table],
        filters: Iterable[Filter | None] | None = None,
        fallback: Callable[[bytes, str | None], list[tuple[int, int]]] | None = None,
    ) -> None: ...
    def find(self, key: bytes, viewer: str | None = None) -> list[tuple[int, int]]: ...

def xxh3_64(data: Buffer, /) -> int: ...
def hash_into(keys: Sequence[bytes], out: Buffer, /) -> None: ...
def run_bounds(slots: Buffer, capacity: int, hashed: int) -> tuple[int, int]: ...
def runs_records(
    tables: Sequence[tuple[Buffer, int]], keys: Sequence[bytes], entrec: Buffer | None
) -> tuple[bytes, list[int]]: ...

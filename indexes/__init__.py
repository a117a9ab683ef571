"""The storage engine: mapped hashed indexes, record stores and roaring bitmaps on disk.

It knows nothing of HTTP or of police work; screening/ and loaders/ build on it.
"""

from indexes.errors import (
    CorruptFileError,
    FormatVersionError,
    IndexStoreError,
    LimitError,
    NoDatabaseError,
)
from indexes.segment import PackedRecords, Record
from indexes.snapshot import Found, SegmentCache, Snapshot, manifest_stamp, open_snapshot
from indexes.writer import Deletion, Published, Writer, compact

__all__ = [
    "CorruptFileError",
    "Deletion",
    "FormatVersionError",
    "Found",
    "IndexStoreError",
    "LimitError",
    "NoDatabaseError",
    "PackedRecords",
    "Published",
    "Record",
    "SegmentCache",
    "Snapshot",
    "Writer",
    "compact",
    "manifest_stamp",
    "open_snapshot",
]

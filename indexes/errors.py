"""The storage engine's errors: each names the file, the byte offset and what is wrong.

A reader never lets a `struct.error` or an `IndexError` escape from a bad file: it raises
one of these, so an operator reading the log at 3 a.m. knows which file to look at.
"""

from __future__ import annotations

from pathlib import Path


class IndexStoreError(Exception):
    """Base of every error the storage engine raises on purpose."""


class CorruptFileError(IndexStoreError):
    """A file failed a check (magic, size, checksum, bounds): it is refused, never read."""

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        self.path = path
        self.offset = offset
        self.reason = reason
        super().__init__(f"{path}: corrupt at byte {offset}: {reason}")


class FormatVersionError(IndexStoreError):
    """A file written by an incompatible major version of the format."""

    def __init__(self, path: Path, major: int, minor: int, supported: int) -> None:
        self.path = path
        advice = (
            "written by an older build: remove the database's directory and load its data again"
            if major < supported
            else "written by a newer build: upgrade this one"
        )
        super().__init__(
            f"{path}: format version {major}.{minor}, this build reads major version "
            f"{supported}: {advice}"
        )


class NoDatabaseError(IndexStoreError):
    """The directory holds no manifest for this database (nothing was ever published)."""


class LimitError(IndexStoreError):
    """A build would exceed a limit of the format (entries per segment, keys per record)."""


class WriteError(IndexStoreError):
    """Writing a database failed (a full disk, an I/O error); says what readers now see.

    A publish that fails before its manifest rename changes nothing and removes the files
    it wrote; one that fails after it (the directory fsync, say) has published. The
    message says which, by the generation current before and after.
    """

    def __init__(self, directory: Path, error: OSError, before: int, after: int) -> None:
        self.directory = directory
        self.errno = error.errno
        self.before = before
        self.after = after
        where = f" ({error.filename})" if error.filename else ""
        if after != before:
            outcome = f"generation {after} was published before the failure"
        elif before:
            outcome = f"nothing was published: generation {before} is still the current one"
        else:
            outcome = "nothing was published: the database has no generation yet"
        super().__init__(f"{directory}: cannot write: {error.strerror or error}{where}; {outcome}")

"""The manifest: which segments and tombstone files make up a database right now.

It is the only file ever replaced. A publish writes every new file first, fsyncs them,
then renames a new manifest over the old one: a crash at any instant leaves the old
manifest or the new one, never a mix, and readers see whole generations only.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from indexes.container import Container, write_container
from indexes.errors import CorruptFileError, NoDatabaseError

MANIFEST_MAGIC = b"SCRNMAN\x00"
MANIFEST_NAME = "MANIFEST"


@dataclass(frozen=True)
class SegmentEntry:
    name: str
    records: int
    dead: int = 0
    tombstones: str | None = None

    @property
    def live(self) -> int:
        return self.records - self.dead


@dataclass(frozen=True)
class Manifest:
    db: str
    generation: int = 0
    next_segment: int = 1
    updated_ns: int = 0
    segments: tuple[SegmentEntry, ...] = field(default_factory=tuple)

    @property
    def records(self) -> int:
        """Live records (stored minus tombstoned), visibility aside."""
        return sum(segment.live for segment in self.segments)

    @property
    def updated(self) -> str:
        return datetime.fromtimestamp(self.updated_ns / 1e9, UTC).isoformat(timespec="seconds")

    def files(self) -> set[str]:
        names = {MANIFEST_NAME}
        for segment in self.segments:
            names.add(f"{segment.name}.seg")
            if segment.tombstones:
                names.add(segment.tombstones)
        return names

    def successor(self, segments: tuple[SegmentEntry, ...], next_segment: int) -> Manifest:
        return replace(
            self,
            generation=self.generation + 1,
            next_segment=next_segment,
            updated_ns=time.time_ns(),
            segments=segments,
        )


def read_manifest(directory: Path, db: str, verify: bool = True) -> Manifest:
    path = directory / MANIFEST_NAME
    try:
        container = Container(path, MANIFEST_MAGIC, verify=verify)
    except FileNotFoundError:
        raise NoDatabaseError(f"{directory}: no {MANIFEST_NAME}: nothing loaded for {db}") from None
    try:
        body = orjson.loads(bytes(container.raw("body")))
        manifest = Manifest(
            db=body["db"],
            generation=int(body["generation"]),
            next_segment=int(body["next_segment"]),
            updated_ns=int(body["updated_ns"]),
            segments=tuple(SegmentEntry(**entry) for entry in body["segments"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CorruptFileError(path, 0, f"unreadable manifest body: {error}") from None
    finally:
        container.close()
    if manifest.db != db:
        raise CorruptFileError(path, 0, f"manifest is for {manifest.db!r}, expected {db!r}")
    return manifest


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """The commit point of every publish: an atomic rename, then a directory fsync."""
    body = orjson.dumps(asdict(manifest))
    write_container(directory / MANIFEST_NAME, MANIFEST_MAGIC, [("body", body)])

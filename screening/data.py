"""The screening data of one directory, in process: `open_data(DIR).screen([...])`.

It holds one snapshot per database and screens batches against them. The HTTP service
wraps the same object, so a notebook, the benchmarks and a terminal get the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from indexes import NoDatabaseError, SegmentCache, Snapshot, manifest_stamp, open_snapshot
from loaders.catalog import DATABASES, Database
from screening.errors import ScreeningError
from screening.exact import Result, screen_exact
from screening.queries import ExactQuery, parse_query


class Data:
    """Snapshots of every database present in `directory`; `refresh` picks up new loads."""

    def __init__(self, directory: Path, verify: bool = True) -> None:
        if not directory.is_dir():
            raise FileNotFoundError(f"{directory}: no such data directory")
        self.directory = directory
        self._caches = {code: SegmentCache(verify) for code in DATABASES}
        self._stamps: dict[str, tuple[int, int] | None] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.refresh()

    def refresh(self) -> list[str]:
        """Re-map the databases whose manifest changed; returns their codes."""
        changed = []
        for code in DATABASES:
            folder = self.directory / code
            stamp = manifest_stamp(folder)
            if stamp == self._stamps.get(code, ...):
                continue
            if stamp is None:
                self.snapshots.pop(code, None)
            else:
                try:
                    self.snapshots[code] = open_snapshot(folder, code, self._caches[code])
                except NoDatabaseError:
                    continue
            self._stamps[code] = stamp
            changed.append(code)
        return changed

    def count(self, db: Database, viewer: str | None = None) -> int:
        snapshot = self.snapshots.get(db.code)
        return snapshot.count(viewer) if snapshot else 0

    def screen(
        self, queries: Sequence[Mapping[str, Any]], country: str | None = None
    ) -> list[Result]:
        """Results in query order; a bad query gets its own error entry, not the batch's."""
        results: list[Result | None] = [None] * len(queries)
        by_db: dict[str, list[tuple[int, ExactQuery]]] = {}
        for index, query in enumerate(queries):
            try:
                parsed = parse_query(query, f"queries[{index}]")
            except ScreeningError as error:
                results[index] = {"error": {"code": error.code, "message": str(error)}}
                continue
            by_db.setdefault(parsed.db.code, []).append((index, parsed))
        for code, items in by_db.items():
            answers = self._screen_db(code, [parsed for _, parsed in items], country)
            for (index, _), answer in zip(items, answers, strict=True):
                results[index] = answer
        return [result for result in results if result is not None]

    def _screen_db(
        self, code: str, queries: list[ExactQuery], country: str | None
    ) -> list[Result]:
        snapshot = self.snapshots.get(code)
        if snapshot is None:
            return [{"hit": False, "matches": []} for _ in queries]
        return screen_exact(snapshot, queries, country)

    def close(self) -> None:
        self.snapshots.clear()
        self._caches.clear()


def open_data(directory: str | Path, verify: bool = True) -> Data:
    """Map the snapshot of every database under `directory`: cheap, no record is read."""
    return Data(Path(directory), verify)

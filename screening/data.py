"""The screening data of one directory, in process: `open_data(DIR).screen([...])`.

It holds one snapshot per database and screens batches against them. The HTTP service
wraps the same object, so a notebook, the benchmarks and a terminal get the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from indexes import (
    IndexStoreError,
    NoDatabaseError,
    SegmentCache,
    Snapshot,
    manifest_stamp,
    open_snapshot,
)
from loaders.catalog import DATABASES, Database
from loaders.normalise import FieldError, state
from screening.errors import NotLoadedError, NotSupportedError, QueryError, ScreeningError
from screening.exact import Result, screen_exact
from screening.matchers import matcher, missing
from screening.queries import (
    COLUMN_BATCH,
    columnar,
    lookup_shapes,
    parse_column,
    parse_exact,
    query_database,
)

Stamp = tuple[int, int] | None
"""A manifest's (inode, mtime_ns), or None when there is none (`indexes.manifest_stamp`)."""


class Data:
    """Snapshots of every database present in `directory`; `refresh` picks up new loads."""

    def __init__(self, directory: Path, verify: bool = True, *, refresh: bool = True) -> None:
        """`refresh=False` maps nothing yet: the caller maps with `stale`/`reopen`/`install`
        (the server does, on a thread, refusing a bad database without failing the rest)."""
        if not directory.is_dir():
            raise FileNotFoundError(f"{directory}: no such data directory")
        self.directory = directory
        self._caches = {code: SegmentCache(verify) for code in DATABASES}
        self._stamps: dict[str, Stamp] = {}
        self.snapshots: dict[str, Snapshot] = {}
        if refresh:
            self.refresh()

    def refresh(self) -> list[str]:
        """Re-map the databases whose manifest changed; returns their codes."""
        changed = []
        for code, stamp in self.stale().items():
            try:
                snapshot = self.reopen(code) if stamp is not None else None
            except NoDatabaseError:
                continue
            self.install(code, stamp, snapshot)
            changed.append(code)
        return changed

    def stale(self) -> dict[str, Stamp]:
        """Databases whose manifest changed since `install`/`skip` saw it: code -> new stamp.

        One `stat` per database; a stamp of None means the database is gone.
        """
        stale = {}
        for code in DATABASES:
            stamp = manifest_stamp(self.directory / code)
            if stamp != self._stamps.get(code, ...):
                stale[code] = stamp
        return stale

    def reopen(self, code: str) -> Snapshot:
        """Map the current generation of one database without serving it yet.

        Raises `NoDatabaseError` if nothing is published, and another `IndexStoreError`
        (naming the file and why) if the new generation fails its checks.
        """
        return open_snapshot(self.directory / code, code, self._caches[code])

    def install(self, code: str, stamp: Stamp, snapshot: Snapshot | None) -> None:
        """Serve `snapshot` for `code` from now on (None: the database is gone).

        Queries already holding the previous snapshot finish on it.
        """
        if snapshot is None:
            self.snapshots.pop(code, None)
        else:
            self.snapshots[code] = snapshot
        self._stamps[code] = stamp

    def verify_now(self) -> dict[str, str]:
        """Check every checksum of what is served (when opened with verify=False), and
        verify whatever is mapped from now on; returns code -> why, for those that fail."""
        failed = {}
        for code, snapshot in list(self.snapshots.items()):
            try:
                snapshot.verify()
            except IndexStoreError as error:
                failed[code] = str(error)
        for cache in self._caches.values():
            cache.verify = True
        return failed

    def stamp_of(self, code: str) -> Stamp:
        """The manifest stamp of what is served for `code`."""
        return self._stamps.get(code)

    def skip(self, code: str, stamp: Stamp) -> None:
        """Keep serving what `code` serves now and do not retry until the manifest changes."""
        self._stamps[code] = stamp

    def count(self, db: Database, viewer: str | None = None) -> int:
        snapshot = self.snapshots.get(db.code)
        return snapshot.count(viewer) if snapshot else 0

    def screen(self, queries: Sequence[object], country: str | None = None) -> list[Result]:
        """Results in query order; a bad query gets its own error entry, not the batch's.

        `country` is the caller's state (ICAO code, `D<<` and case tolerated); a code that
        is not one raises ValueError rather than silently seeing less.
        """
        if country is not None:
            country = caller_country(country)
        if len(queries) == 1:
            return [self._screen_one(queries[0], country)]
        results: list[Result | None] = [None] * len(queries)
        groups: dict[tuple[str, str], list[tuple[int, object]]] = {}
        for code, items in _by_database(queries).items():
            db = DATABASES.get(code)
            parsed: list[tuple[int, str, object]] = []
            rest = items
            if db is not None and columnar(db) and len(items) >= COLUMN_BATCH:
                columns, rest = parse_column(db, items)
                parsed = [(index, "exact", one) for index, one in columns]
            for index, query in rest:
                try:
                    parsed.append((index, *route(query, f"queries[{index}]")))
                except ScreeningError as error:
                    results[index] = _error_entry(error)
            for index, name, one in parsed:
                groups.setdefault((_code_of(one, code), name), []).append((index, one))
        for (code, name), items in groups.items():
            answers = self._screen_db(code, name, [one for _, one in items], country)
            for (index, _), answer in zip(items, answers, strict=True):
                results[index] = answer
        return [result for result in results if result is not None]

    def _screen_one(self, query: object, country: str | None) -> Result:
        """The terminal's usual request, one document: no grouping, no columns."""
        try:
            name, parsed = route(query, "queries[0]")
        except ScreeningError as error:
            return _error_entry(error)
        code = query["db"].strip().upper()  # type: ignore[index]
        return self._screen_db(code, name, [parsed], country)[0]

    def _screen_db(
        self, code: str, name: str, queries: list[object], country: str | None
    ) -> list[Result]:
        snapshot = self.snapshots.get(code)
        if snapshot is None:
            # Never a silent miss: an officer must see that this database was not checked.
            error = NotLoadedError(f"{code}: no data is loaded on this server; not screened")
            return [_error_entry(error) for _ in queries]
        if name == "exact":
            return screen_exact(snapshot, queries, country)  # type: ignore[arg-type]
        plugged = matcher(name)
        assert plugged is not None  # route() only picks available matchers
        return plugged.screen(snapshot, DATABASES[code], queries, country)

    def close(self) -> None:
        self.snapshots.clear()
        self._caches.clear()


def route(query: object, where: str) -> tuple[str, object]:
    """(matcher name, parsed query): the first of the database's matchers this build has
    that accepts the query; exact-only databases (SLTD...) go straight to the exact parser,
    whose messages name the missing field."""
    db = query_database(query, where)
    assert isinstance(query, Mapping)
    if db.matchers == ("exact",):
        return "exact", parse_exact(db, query, where)
    for name in db.matchers:
        plugged = matcher(name)
        if plugged is not None and plugged.accepts(db, query):
            return name, plugged.parse(db, query, where)
    absent = missing(db)
    if absent:
        raise NotSupportedError(
            f"{where}: screening {db.code} by {_query_fields(db, absent)} is not supported yet "
            f"(its {' and '.join(absent)} matcher is not built)"
            + (f"; it can be screened by {lookup_shapes(db)}" if "exact" in db.matchers else "")
        )
    raise QueryError(f"{where}: {db.code} is screened by {_query_fields(db, db.matchers)}")


def _query_fields(db: Database, matchers: tuple[str, ...]) -> str:
    """What queries for these matchers of `db` give, for a message."""
    shapes = []
    for name in matchers:
        if name == "exact":
            shapes.append(lookup_shapes(db))
        elif name == "name":
            shapes.append(" and ".join(db.name_query or db.name_fields[:1]))
        else:
            shapes.append(db.query_extra[0])
    return ", or ".join(shapes)


def _code_of(parsed: object, written: str) -> str:
    db = getattr(parsed, "db", None)
    return db.code if isinstance(db, Database) else written


def _error_entry(error: ScreeningError) -> Result:
    return {"error": {"code": error.code, "message": str(error)}}


def _by_database(queries: Sequence[object]) -> dict[str, list[tuple[int, Any]]]:
    """Queries grouped by their `db` as written (upper-cased); anything else under ''."""
    groups: dict[str, list[tuple[int, Any]]] = {}
    for index, query in enumerate(queries):
        code = query.get("db") if isinstance(query, dict) else None
        key = code.strip().upper() if isinstance(code, str) else ""
        groups.setdefault(key, []).append((index, query))
    return groups


def caller_country(code: str) -> str:
    try:
        return state(code)
    except FieldError as error:
        raise ValueError(f"country: {error}") from None


def open_data(directory: str | Path, verify: bool = True) -> Data:
    """Map the snapshot of every database under `directory`: cheap, no record is read."""
    return Data(Path(directory), verify)

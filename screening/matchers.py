"""The matchers that answer queries, by name: the plug-in point of the screening path.

Each matcher module exposes a module-level `MATCHER` with `name`, `accepts(db, query)`,
`parse(db, query, where)` and `screen(snapshot, db, parsed, viewer)` (the `Matcher`
protocol below; /work/coord/INTERFACE.md and README.md describe it). A database lists its
matchers in the catalog in dispatch order. A matcher whose module is not part of this
build is unavailable: its queries get a `not_supported` entry, never a silent miss.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Protocol

from indexes import Snapshot
from loaders.catalog import Database

Result = dict[str, Any]

MATCHER_MODULES: Mapping[str, str] = {
    "exact": "screening.exact",
    "name": "screening.name_match",
    "vector": "screening.vector_match",
    "profile": "screening.profile_match",
}


class Matcher(Protocol):
    name: str

    def accepts(self, db: Database, query: Mapping[str, object]) -> bool:
        """Does the query carry the fields this matcher answers by? Cheap, never raises."""

    def parse(self, db: Database, query: Mapping[str, object], where: str) -> object:
        """The query validated and normalised; QueryError(f"{where}.field: why") if bad."""

    def screen(
        self, snapshot: Snapshot, db: Database, parsed: Sequence[Any], viewer: str | None
    ) -> list[Result]:
        """One result per parsed query, in order; only records `viewer` may see."""


@cache
def matcher(name: str) -> Matcher | None:
    """The matcher called `name`, or None when its module is not in this build."""
    module_name = MATCHER_MODULES.get(name)
    if module_name is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the module exists but something it imports does not: a real bug
        return None
    found: Matcher = module.MATCHER
    return found


def load_all() -> dict[str, str]:
    """Import every matcher module of this build; returns those that failed, with why.

    A worker calls this before it listens: the name matcher alone imports rapidfuzz (~15 ms
    from cached bytecode, ~60 ms without), which the first name query or `/v1/databases`
    would otherwise pay on the event loop, stalling every request queued behind it. A
    matcher that cannot be imported (a broken dependency) must not keep the worker from
    serving the others: it is reported, and its queries fail as they would have.
    """
    return {name: why for name in MATCHER_MODULES if (why := _import_error(name)) is not None}


def available(db: Database) -> tuple[str, ...]:
    """The matchers of `db` this build has and can import: a broken one (logged when the
    worker started) makes its databases unscreenable in listings, rather than failing
    `/v1/databases` for all of them; a query for it still fails loudly."""
    return tuple(name for name in db.matchers if _usable(name))


def _usable(name: str) -> bool:
    return _import_error(name) is None and matcher(name) is not None


@cache
def _import_error(name: str) -> str | None:
    """Why the matcher cannot be imported, or None. Cached either way: a broken import is
    not retried at every listing (`matcher` itself retries, so a query raises it again)."""
    try:
        matcher(name)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def screenable(db: Database) -> bool:
    """Whether this build answers every kind of query `db` takes."""
    return len(available(db)) == len(db.matchers)


def missing(db: Database) -> tuple[str, ...]:
    return tuple(name for name in db.matchers if not _usable(name))

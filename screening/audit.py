"""The audit trail and the hit notifications: every screening written down before its
answer leaves, and every hit routed to the NCB that owns the record.

Two kinds of journal (screening/journal.py) under the data directory, so that
`screening audit --data DIR` and every worker of `screening serve --data DIR` find them:

- `DIR/audit/`: one line per screening request: when, who (key id, name, country, role),
  which endpoint and databases, the query values as the client sent them (for an MRZ
  check, the zone and its parsed document fields), and per query whether it hit and the
  record ids hit. Query values go here and nowhere else: never to the service's log.
- `DIR/hits/CC/`: one line per hit on a record owned by `CC`, for that NCB's
  `GET /v1/hits`: when, the database, the record's id and the record, the match, and the
  place of the check (`by`: the key's country and name).

A match is a hit when its result is a hit and the match is `exact` or scores at or above
its database's threshold (so SLTD's `number_only` kin are not). Both journals share one
`check` id per request, which ties a notification to its audit entry.
"""

from __future__ import annotations

import logging
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from loaders.catalog import DATABASES
from screening.http_errors import UnavailableError
from screening.journal import (
    BEGINNING,
    STAMP,
    Cursor,
    Journal,
    JournalError,
    Line,
    parse_line,
    scan,
)
from screening.journal_sync import start_syncer
from screening.keys import ApiKey

log = logging.getLogger("screening.audit")

AUDIT_DIR = "audit"
HITS_DIR = "hits"
OWNER = re.compile(r"[A-Z]{1,3}")
"""An owner code as the loader stores it (ICAO 9303): safe as a directory name."""
REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID = 200

Result = Mapping[str, Any]


def audit_directory(data: Path) -> Path:
    return data / AUDIT_DIR


def hits_directory(data: Path, owner: str) -> Path:
    if not OWNER.fullmatch(owner):
        raise ValueError(f"owner: {owner!r} is not an ICAO state code")
    return data / HITS_DIR / owner


_second: tuple[int, str] = (-1, "")
"""The last whole second formatted, and its text: strftime costs more than a lookup does."""


def timestamp() -> str:
    """Now, in UTC, in the one fixed format of every `at`, so that text order is time order."""
    global _second
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    second = _second
    if second[0] != seconds:
        second = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{second[1]}.{micros:06d}Z"


_check_ids = random.Random(secrets.randbits(128))
"""Check ids need to be unique, not secret: a seeded generator, no system call each."""


def check_id() -> str:
    return f"{_check_ids.getrandbits(64):016x}"


def counts_as_hit(match: Mapping[str, Any]) -> bool:
    """An exact match, or one scoring at or above its database's threshold."""
    if match.get("match") == "exact":
        return True
    db = DATABASES.get(str(match.get("db")))
    return db is not None and float(match.get("score", 0.0)) >= db.threshold


def hit_matches(results: Sequence[Result]) -> list[Mapping[str, Any]]:
    """The matches of hit results that are hits themselves, in result order."""
    return [
        match
        for result in results
        if result.get("hit")
        for match in result.get("matches", ())
        if counts_as_hit(match)
    ]


def answer_of(result: Result) -> dict[str, Any]:
    """One query's outcome as the audit keeps it: hit and ids hit, or the error's code."""
    if "error" in result:
        return {"error": result["error"]["code"]}
    answer: dict[str, Any] = {"db": result["db"]} if "db" in result else {}
    answer["hit"] = bool(result["hit"])
    if result["hit"]:
        answer["ids"] = [match["id"] for match in result["matches"] if counts_as_hit(match)]
    return answer


CATALOG_ORDER = {code: index for index, code in enumerate(DATABASES)}


def databases_of(queries: Sequence[object]) -> list[str]:
    """The distinct `db` codes the queries name (upper-cased, as screening reads them)."""
    codes = {
        query["db"].strip().upper()
        for query in queries
        if isinstance(query, dict) and isinstance(query.get("db"), str)
    }
    if len(codes) == 1:  # the usual request: one database, nothing to order
        return list(codes)
    order = CATALOG_ORDER
    return sorted(codes, key=lambda code: (order.get(code, len(order)), code))


class Audit:
    """The journals of one process: the audit trail and one hits journal per owner."""

    def __init__(self, data: Path, rotate_at: int, sync_interval: float, worker: int = 0) -> None:
        self.data = data
        self.rotate_at = rotate_at
        self.worker = worker
        self.syncer = start_syncer(sync_interval)
        self.journals: list[Journal] = []
        self.trail = self._journal(audit_directory(data))
        self._hits: dict[str, Journal] = {}
        self._hits_lock = threading.Lock()

    def _journal(self, directory: Path) -> Journal:
        journal = Journal(directory, self.rotate_at, self.worker, self.syncer)
        self.journals.append(journal)
        return journal

    def hits_journal(self, owner: str) -> Journal:
        journal = self._hits.get(owner)
        if journal is not None:  # the usual case: no lock needed to read the dict
            return journal
        with self._hits_lock:
            journal = self._hits.get(owner)
            if journal is None:
                journal = self._hits[owner] = self._journal(hits_directory(self.data, owner))
            return journal

    def record(
        self,
        caller: ApiKey,
        endpoint: str,
        request_id: str | None,
        asked: Mapping[str, Any],
        dbs: Sequence[str],
        results: Sequence[Result],
        answers: object = None,
    ) -> None:
        """Write one screening down, and its hits to their owners, before it is answered.

        `asked` is what the client sent, as the audit keeps it: `{"queries": [...]}`, or an
        MRZ check's `{"mrz", "document", "valid"}`; `dbs` the databases screened.
        `answers`, when given, is the compact account of every query (a columnar batch's
        `{"rows", "hits", "errors"}`) and `results` need then hold only the hit ones.
        A check that cannot be written down is not answered: UnavailableError (503), and
        the log says why.
        """
        try:
            self._record(caller, endpoint, request_id, asked, dbs, results, answers)
        except JournalError as error:
            log.error("%s; such checks are answered 503 until it can be written", error)
            raise UnavailableError(
                "the audit trail cannot be written; the check was not answered"
            ) from None

    def _record(
        self,
        caller: ApiKey,
        endpoint: str,
        request_id: str | None,
        asked: Mapping[str, Any],
        dbs: Sequence[str],
        results: Sequence[Result],
        answers: object,
    ) -> None:
        at, check = timestamp(), check_id()
        hits = hit_matches(results)
        entry = {
            "at": at,
            "check": check,
            "request": request_id,
            "key": {
                "id": caller.id,
                "name": caller.name,
                "country": caller.country,
                "role": caller.role,
            },
            "endpoint": endpoint,
            "worker": self.worker,
            "dbs": list(dbs),
            **asked,
            "answers": [answer_of(result) for result in results] if answers is None else answers,
            "hit": bool(hits),
            "ids": list(dict.fromkeys(match["id"] for match in hits)),
        }
        self.trail.append(dumps_line(entry))
        by_owner: dict[str, list[bytes]] = {}
        by = {"country": caller.country, "name": caller.name}
        for match in hits:
            notice = {
                "at": at,
                "db": match["db"],
                "id": match["id"],
                "match": match["match"],
                "record": match["record"],
                "by": by,
                "check": check,
                "endpoint": endpoint,
            }
            owner = match["record"].get("owner")
            if not isinstance(owner, str) or not OWNER.fullmatch(owner):
                log.error("check %s: a %s record hit has no owner to tell", check, match["db"])
                continue
            by_owner.setdefault(owner, []).append(dumps_line(notice))
        for owner, lines in by_owner.items():
            self.hits_journal(owner).append(b"".join(lines))

    def close(self) -> None:
        """The last syncs; every journal closed."""
        for journal in self.journals:
            journal.close()
        self.syncer.close()


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The client's `X-Request-Id`, if it sent one (cut to a sane length)."""
    value = headers.get(REQUEST_ID_HEADER)
    return value[:MAX_REQUEST_ID] if value else None


def dumps_line(value: object) -> bytes:
    """One JSON line; what JSON cannot hold (msgpack bytes, byte keys) is written readably."""
    try:
        return orjson.dumps(value, default=_jsonable_leaf, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return orjson.dumps(_jsonable(value), option=orjson.OPT_APPEND_NEWLINE)


def _jsonable_leaf(value: object) -> object:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return repr(value)


def _jsonable(value: object) -> object:
    """`value` with every key a string and every leaf JSON can hold."""
    if isinstance(value, dict):
        return {
            key if isinstance(key, str) else repr(key): _jsonable(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    return _jsonable_leaf(value)


def _text(value: str) -> str:
    """A string JSON can hold: a header's undecodable bytes (aiohttp's lone surrogates)
    become U+FFFD."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no byte stands for
        return value.encode("utf-8", "replace").decode("utf-8")


# --- reading: `screening audit` -----------------------------------------------------------

AT_PREFIX = b'{"at":"'
AT_LENGTH = len(timestamp())


def since_stamp(text: str) -> str:
    """An ISO date or time as an `at` to compare with (no zone: UTC); ValueError if not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since: {text!r} is not an ISO date or time (2026-11-23, 2026-11-23T08:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class TrailFilter:
    """Which audit entries `screening audit` prints: at or after `since` (an `at`), made
    with the key named (or with that id) `key`, only those that hit."""

    since: str | None = None
    key: str | None = None
    hits_only: bool = False

    def keeps(self, text: bytes) -> bool:
        """Whether to print this line; `DamagedLineError` if it is not an audit entry.

        Entries before `since` are passed over on their first bytes (every line begins with
        its `at`), without parsing: reading a long trail for the last hour stays fast.
        """
        if self.since is not None and text.startswith(AT_PREFIX):
            at = text[len(AT_PREFIX) : len(AT_PREFIX) + AT_LENGTH].decode("ascii", "replace")
            if at < self.since:
                return False
        entry = parse_line(text)
        if entry is None or not isinstance(entry.get("key"), dict):
            raise DamagedLineError
        if self.since is not None and str(entry.get("at", "")) < self.since:
            return False
        if self.key is not None and self.key not in (
            entry["key"].get("name"),
            entry["key"].get("id"),
        ):
            return False
        return not self.hits_only or entry.get("hit") is True


class DamagedLineError(Exception):
    """A line of the audit trail that is not an entry (a write cut short by a crash)."""


def read_horizon() -> bytes:
    """The first bytes of a line stamped now: a read given it (`journal.scan(before=)`)
    takes only lines written before it began, so every line they follow is in it too."""
    return STAMP + timestamp().encode() + b'"'


def read_trail(
    data: Path, keep: TrailFilter, start: Cursor = BEGINNING, before: bytes | None = None
) -> Iterator[tuple[Line, bool]]:
    """(line, damaged) for every line of the audit trail from `start` (stamped before
    `before`, if given) that `keep` keeps, oldest first, and for every damaged one (for
    the caller to report)."""
    for line in scan(audit_directory(data), start, before):
        try:
            if keep.keeps(line.text):
                yield line, False
        except DamagedLineError:
            yield line, True

"""`GET /v1/hits?since=CURSOR&limit=N` (ncb keys): the hits on the caller's country's own
records, oldest first, resumable by cursor.

The hits come from `DIR/hits/CC/`, the journal every worker appends to before it answers
a check that hit one of CC's records (screening/audit.py), so a hit is readable here the
moment its terminal has its answer, whichever worker took either request. The answer's
`cursor` holds, for each worker's stream of that journal, the position just past the last
hit returned from it: pass it as `since` and only newer hits come back; nothing is skipped,
however late the NCB reads (rotated files are kept) and however the workers' writes
interleave. A cursor from before the streams (`h1`) still reads on from where it was.
`more` is true when `limit` cut the page short. A cursor is opaque, bound to its country,
and checked: a made-up or another country's cursor is a 400 saying so.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from pathlib import Path

from aiohttp import web

from screening.audit import hits_directory, read_horizon
from screening.codec import respond
from screening.http_errors import BadRequestError, ForbiddenError
from screening.journal import (
    BEGINNING,
    LEGACY,
    START,
    Cursor,
    CursorError,
    Page,
    Position,
    check_cursor,
    line_file,
    read_page,
)
from screening.state import CALLER, SERVICE

log = logging.getLogger("screening.hits")

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
CURSOR_TEXT = re.compile(r"h2:([A-Z]{1,3}):(.{0,20000})")
STREAM_POSITION = re.compile(r"(-|w\d{1,6}(?:-\d{1,6})?)=(\d{1,12})\.(\d{1,15})")
OLD_CURSOR_TEXT = re.compile(r"h1:([A-Z]{1,3}):(\d{1,12}):(\d{1,15})")
"""A cursor given out before the hits journal had one stream per worker: a position in
its files, now the LEGACY stream (where the hits written since are not)."""


def encode_cursor(country: str, cursor: Cursor) -> str:
    """`h2:CC:w0=FILE.OFFSET,w1=...` (`-` for LEGACY), the streams at START left out."""
    positions = ",".join(
        f"{stream or '-'}={position.file}.{position.offset}"
        for stream, position in sorted(cursor.items())
        if position != START
    )
    text = f"h2:{country}:{positions}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, country: str) -> Cursor:
    """The positions of a cursor given to `country`; BadRequestError says what is wrong."""
    if not cursor:
        return BEGINNING
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    old = OLD_CURSOR_TEXT.fullmatch(text)
    match = CURSOR_TEXT.fullmatch(text) or old
    if match is None:
        raise BadRequestError("since: not a cursor this server gave out")
    if match[1] != country:
        raise BadRequestError(
            f"since: this cursor is for the hits of another country, not {country}"
        )
    if old is not None:
        return {LEGACY: Position(int(old[2]), int(old[3]))}
    return _positions(match[2])


def _positions(text: str) -> Cursor:
    positions: dict[str, Position] = {}
    for item in text.split(",") if text else ():
        found = STREAM_POSITION.fullmatch(item)
        if found is None:
            raise BadRequestError("since: not a cursor this server gave out")
        stream = "" if found[1] == "-" else found[1]
        positions[stream] = Position(int(found[2]), int(found[3]))
    return positions


def limit_of(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequestError(f"limit: a whole number from 1 to {MAX_LIMIT:,}, not {text!r}")
    return int(text)


def read_hits(data: Path, country: str, since: Cursor, limit: int) -> Page:
    """A page of `country`'s hits after `since`; BadRequestError for a cursor that does
    not fit the journal (made up, or from a restored older copy of it)."""
    directory = hits_directory(data, country)
    try:
        check_cursor(directory, since)
    except CursorError as error:
        raise BadRequestError(f"since: {error}: not a cursor this server gave out") from None
    page = read_page(directory, since, limit, before=read_horizon())
    for line in page.damaged:
        log.warning(
            "%s, byte %d: skipped a damaged line (a write cut short by a crash)",
            line_file(directory, line),
            line.at.offset,
        )
    return page


async def hits(request: web.Request) -> web.Response:
    caller = request[CALLER]
    if caller.role != "ncb":
        raise ForbiddenError(
            f"a {caller.role} key may not read hits: an ncb key reads its own country's"
        )
    since = decode_cursor(request.query.get("since", ""), caller.country)
    limit = limit_of(request.query.get("limit"))
    data = request.app[SERVICE].settings.data_dir
    loop = asyncio.get_running_loop()
    page = await loop.run_in_executor(None, read_hits, data, caller.country, since, limit)
    return respond(
        request,
        {
            "hits": page.entries,
            "cursor": encode_cursor(caller.country, page.cursor),
            "more": page.more,
        },
    )

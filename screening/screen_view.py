"""`POST /v1/screen`: one or many queries, answered in order, with `took_us`.

The body is `{"queries": [...]}` in JSON or msgpack, or the columnar batch of one
database `{"db": ..., "columns": {...}}` (screening/columns.py). More queries (or rows)
than `--max-batch` is a 413 whose message states the limit; a body that is not that
shape is a 400 naming what is wrong; a bad query inside a batch gets its own error entry
and the others are answered. The caller's key country is the viewer: records restricted
to other states are never returned. Every answered request is in the audit trail, and
its hits with their owners, before the answer leaves (screening/audit.py).
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from screening.audit import Audit, databases_of, request_id_of
from screening.codec import read_body, respond
from screening.columns import COLUMNS, ColumnAnswer, ColumnBatch, column_batch, screen_columns
from screening.data import Data
from screening.exact import Result
from screening.http_errors import BadRequestError, BatchTooLargeError
from screening.keys import ApiKey
from screening.metrics import count_hits
from screening.state import CALLER, SERVICE

INLINE_QUERIES = 64
"""Batches up to this size are answered on the event loop (a thread hop costs more than
they do); larger ones on a thread, so one big batch does not stall the small ones."""
INLINE_ROWS = 1024
"""The same for a columnar batch, whose rows cost ~1 us each (a miss) rather than ~20."""


def queries_of(body: object, limit: int) -> list[object]:
    """The `queries` list of a request body; 400 for another shape, 413 over `limit`."""
    if not isinstance(body, dict):
        raise BadRequestError(
            f'body: expected an object {{"queries": [...]}}, not {type(body).__name__}'
        )
    if "queries" not in body:
        raise BadRequestError("body.queries: required, a list of query objects")
    queries = body["queries"]
    if not isinstance(queries, list):
        raise BadRequestError(
            f"body.queries: must be a list of query objects, not {type(queries).__name__}"
        )
    if len(queries) > limit:
        raise BatchTooLargeError(
            f"too many queries in one batch: {len(queries):,} (limit: {limit:,})"
        )
    return queries


def screen_counted(data: Data, queries: list[object], country: str) -> list[Result]:
    """`data.screen`, with its hits counted (on the same thread, while the results are hot)."""
    results = data.screen(queries, country)
    if any(result.get("hit") for result in results):  # a miss, the usual answer, counts none
        count_hits(results)
    return results


def screen_audited(
    data: Data, queries: list[object], caller: ApiKey, audit: Audit, request_id: str | None
) -> list[Result]:
    """`screen_counted`, then written to the audit trail (a 503 if it cannot be)."""
    results = screen_counted(data, queries, caller.country)
    asked = {"queries": queries}
    audit.record(caller, "/v1/screen", request_id, asked, databases_of(queries), results)
    return results


def columns_audited(
    data: Data, batch: ColumnBatch, caller: ApiKey, audit: Audit, request_id: str | None
) -> ColumnAnswer:
    """`screen_columns`, its hits counted, then written to the audit trail: the columns as
    sent, every row's outcome compactly, and each hit to its owner."""
    answer = screen_columns(data, batch, caller.country)
    hits = answer.hit_results()
    count_hits(hits)
    asked = {"db": batch.db.code, "columns": batch.columns}
    audit.record(caller, "/v1/screen", request_id, asked, [batch.db.code], hits,
                 answers=answer.audit_answers())  # fmt: skip
    return answer


async def screen(request: web.Request) -> web.Response:
    started = time.perf_counter_ns()
    service = request.app[SERVICE]
    settings = service.settings
    body = await read_body(request, settings.max_body)
    if isinstance(body, dict) and COLUMNS in body:
        return await _screen_columns(request, body, started)
    queries = queries_of(body, settings.max_batch)
    data = service.live.current()
    work = (data, queries, request[CALLER], service.audit, request_id_of(request.headers))
    if len(queries) <= INLINE_QUERIES:
        results = screen_audited(*work)
    else:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(None, screen_audited, *work)
    took_us = (time.perf_counter_ns() - started) // 1000
    return respond(request, {"results": results, "took_us": took_us})


async def _screen_columns(
    request: web.Request, body: dict[str, object], started: int
) -> web.Response:
    service = request.app[SERVICE]
    batch = column_batch(body, service.settings.max_batch)
    data = service.live.current()
    work = (data, batch, request[CALLER], service.audit, request_id_of(request.headers))
    if batch.rows <= INLINE_ROWS:
        answer = columns_audited(*work)
    else:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, columns_audited, *work)
    took_us = (time.perf_counter_ns() - started) // 1000
    return respond(request, answer.payload(took_us))

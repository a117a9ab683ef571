"""`POST /v1/screen`: one or many queries, answered in order, with `took_us`.

The body is `{"queries": [...]}` in JSON or msgpack. More queries than `--max-batch` is a
413 whose message states the limit; a body that is not that shape is a 400 naming what
is wrong; a bad query inside a batch gets its own error entry and the others are
answered. The caller's key country is the viewer: records restricted to other states are
never returned. Every answered request is in the audit trail, and its hits with their
owners, before the answer leaves (screening/audit.py).
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from screening.audit import Audit, databases_of, request_id_of
from screening.codec import read_body, respond
from screening.data import Data
from screening.exact import Result
from screening.http_errors import BadRequestError, BatchTooLargeError
from screening.keys import ApiKey
from screening.metrics import count_hits
from screening.state import CALLER, SERVICE

INLINE_QUERIES = 64
"""Batches up to this size are answered on the event loop (a thread hop costs more than
they do); larger ones on a thread, so one big batch does not stall the small ones."""


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


async def screen(request: web.Request) -> web.Response:
    started = time.perf_counter_ns()
    service = request.app[SERVICE]
    settings = service.settings
    queries = queries_of(await read_body(request, settings.max_body), settings.max_batch)
    data = service.live.current()
    work = (data, queries, request[CALLER], service.audit, request_id_of(request.headers))
    if len(queries) <= INLINE_QUERIES:
        results = screen_audited(*work)
    else:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(None, screen_audited, *work)
    took_us = (time.perf_counter_ns() - started) // 1000
    return respond(request, {"results": results, "took_us": took_us})

"""`GET /metrics`: the Prometheus text format (screening/metrics.py), for ops keys only.

A Prometheus scraper sends the key with its `authorization` setting (`type: Bearer`).
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from screening.http_errors import ForbiddenError
from screening.metrics import exposition
from screening.state import CALLER


async def metrics(request: web.Request) -> web.Response:
    caller = request[CALLER]
    if caller.role != "ops":
        raise ForbiddenError(f"a {caller.role} key may not read /metrics (ops keys may)")
    return web.Response(body=exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

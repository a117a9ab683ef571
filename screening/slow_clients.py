"""Slow and half-sent requests (`serve --request-timeout`): cut off, never waited on.

Every connection lives on the event loop, so a stalled client costs a socket and a little
memory, never a worker; the timeout bounds how long it can hold even that:

- Headers: aiohttp closes a connection that has not delivered a whole request head within
  its keep-alive timeout of opening, or of the previous answer (`server.py` sets it to
  `--request-timeout`). That is also how long an idle keep-alive connection stays open.
- Body: `body_deadline` (after `authenticate`: an unknown caller's body, or one sent to
  `/healthz`, is never buffered) reads the whole body within `--request-timeout` of the
  headers, then hands it on (the handler's `request.read()` returns the same bytes). Past
  the deadline the client gets a 408 and the connection is closed at once.
- A body the service answers without reading (401, 429, a Content-Length over
  `--max-body`) is drained for at most `--request-timeout` (aiohttp's lingering time,
  set in `server.py`) so the client can read the answer, then the connection is closed.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from screening.error_shape import error_response
from screening.http_errors import RequestTimeoutError
from screening.state import CALLER, SERVICE


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.body_exists or CALLER not in request:  # /healthz never reads one
        return await handler(request)
    settings = request.app[SERVICE].settings
    limit = request.content_length
    if limit is not None and limit > settings.max_body:
        return await handler(request)  # refused unread (413) by the handler
    if request.content.is_eof():  # the body came whole with the head: nothing to wait for
        return await handler(request)
    try:
        async with asyncio.timeout(settings.request_timeout):
            await request.read()
    except TimeoutError:
        return await _cut_off(request, settings.request_timeout)
    return await handler(request)


async def _cut_off(request: web.Request, timeout: float) -> web.StreamResponse:
    """Answer 408 and close: the rest of the body is not worth waiting for."""
    error = RequestTimeoutError(
        f"request body not received within {timeout:g} s (--request-timeout); closing"
    )
    response = error_response(request, error)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response

"""Slow and half-sent requests (`serve --request-timeout`): cut off, never waited on.

Every connection lives on the event loop, so a stalled client costs a socket and a little
memory, never a worker; the timeout bounds how long it can hold even that:

- Headers: aiohttp closes a connection that has not delivered a whole request head within
  its keep-alive timeout of opening, or of the previous answer (`server.py` sets it to
  `--request-timeout`). That is also how long an idle keep-alive connection stays open.
- Body: `body_within_deadline` (after `authenticate`: an unknown caller's body, or one sent to
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

from screening.error_shape import error_response
from screening.http_errors import RequestTimeoutError
from screening.settings import Settings


def body_pending(request: web.Request, settings: Settings) -> bool:
    """Whether the request flow (app.py) must wait for the rest of an authenticated
    caller's body: not when it came whole with the head (the usual case), nor when it is
    refused unread (413) by the handler."""
    if request.content.is_eof():  # also a request without a body (GET)
        return False
    limit = request.content_length
    return limit is None or limit <= settings.max_body


async def body_within_deadline(
    request: web.Request, settings: Settings
) -> web.StreamResponse | None:
    """Read the whole body within `--request-timeout` (the handler's `request.read()` then
    returns the same bytes); None if it came, or the 408 sent when it did not."""
    try:
        async with asyncio.timeout(settings.request_timeout):
            await request.read()
    except TimeoutError:
        return await _cut_off(request, settings.request_timeout)
    return None


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

"""The one place an exception becomes the contract's error: `{"error": {"code", "message"}}`.

Our own errors (`ScreeningError` and its subclasses in errors.py, http_errors.py, keys.py)
carry their code and status. The few foreign ones a request can meet are translated by
the table below: aiohttp's routing and body-size errors, and a storage-engine error found
while answering. Anything else is a bug: a 500 in the same shape, traceback in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from indexes import IndexStoreError
from screening.codec import body_too_large, respond
from screening.errors import ScreeningError
from screening.http_errors import (
    BadRequestError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    RequestError,
    UnavailableError,
)
from screening.state import SERVICE

log = logging.getLogger("screening.errors")


def _not_found(request: web.Request, error: BaseException) -> ScreeningError:
    return NotFoundError(f"no such resource: {request.method} {request.path}")


def _method(request: web.Request, error: BaseException) -> ScreeningError:
    allowed = error.headers.get("Allow", "") if isinstance(error, web.HTTPException) else ""
    return MethodNotAllowedError(
        f"{request.method} {request.path}: method not allowed (allowed: {allowed})",
        {"Allow": allowed},
    )


def _too_large(request: web.Request, error: BaseException) -> ScreeningError:
    return body_too_large(request.content_length, request.app[SERVICE].settings.max_body)


def _bad_request(request: web.Request, error: BaseException) -> ScreeningError:
    reason = error.text if isinstance(error, web.HTTPException) else str(error)
    return BadRequestError(f"bad request: {reason}")


def _index_failed(request: web.Request, error: BaseException) -> ScreeningError:
    log.error("%s %s: an index failed a check: %s", request.method, request.path, error)
    return UnavailableError("an index failed a check while answering; the server log has details")


Translate = Callable[[web.Request, BaseException], ScreeningError]

FOREIGN: tuple[tuple[type[BaseException], Translate], ...] = (
    (web.HTTPNotFound, _not_found),
    (web.HTTPMethodNotAllowed, _method),
    (web.HTTPRequestEntityTooLarge, _too_large),
    (web.HTTPClientError, _bad_request),
    (IndexStoreError, _index_failed),
)


def as_screening_error(request: web.Request, error: BaseException) -> ScreeningError:
    if isinstance(error, ScreeningError):
        return error
    for kind, translate in FOREIGN:
        if isinstance(error, kind):
            return translate(request, error)
    log.error("%s %s failed", request.method, request.path, exc_info=error)
    return InternalError(f"internal error ({type(error).__name__}); the server log has details")


def error_response(request: web.Request, error: ScreeningError) -> web.Response:
    headers = error.headers if isinstance(error, RequestError) else {}
    body = {"error": {"code": error.code, "message": str(error)}}
    return respond(request, body, error.status, headers)

"""The request-level errors of the HTTP service: the rest of the `ScreeningError` hierarchy.

`screening/errors.py` holds the errors of one query (an entry in a batch's results); these
fail a whole request. Each class is one status of API.md, and `error_shape.py` is the one
place that turns any of them into `{"error": {"code", "message"}}`. Messages say what,
where and, for a limit, the limit.
"""

from __future__ import annotations

from screening.errors import ScreeningError


class RequestError(ScreeningError):
    """A whole request is refused; `headers` go out with the error (Retry-After, Allow...)."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class BadRequestError(RequestError):
    """400: the body cannot be read, or has the wrong shape; the message names the field."""

    code = "bad_request"
    status = 400


class UnauthorizedError(RequestError):
    """401: no API key, a malformed Authorization header, or a key nobody issued."""

    code = "unauthorized"
    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": 'Bearer realm="screening"'})


class ForbiddenError(RequestError):
    """403: the caller's role or country may not do this."""

    code = "forbidden"
    status = 403


class NotFoundError(RequestError):
    code = "not_found"
    status = 404


class MethodNotAllowedError(RequestError):
    code = "method_not_allowed"
    status = 405


class RequestTimeoutError(RequestError):
    """408: the request's body did not arrive within `--request-timeout`; the connection
    is closed after the answer."""

    code = "request_timeout"
    status = 408


class BodyTooLargeError(RequestError):
    """413: the request body is larger than `--max-body`."""

    code = "body_too_large"
    status = 413


class BatchTooLargeError(RequestError):
    """413: more queries in one request than `--max-batch`."""

    code = "batch_too_large"
    status = 413


class RateLimitedError(RequestError):
    """429: the key sent more requests than `--rate` allows."""

    code = "rate_limited"
    status = 429


class UnavailableError(RequestError):
    """503: not serving right now (indexes not mapped yet, shutting down, index failure)."""

    code = "unavailable"
    status = 503


class InternalError(RequestError):
    """500: a bug. The message says so and the worker's log holds the traceback."""

    code = "internal"
    status = 500

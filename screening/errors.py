"""The service's errors, each with the contract's code (API.md: error shapes)."""

from __future__ import annotations


class ScreeningError(Exception):
    """An error a caller can act on; `code` is the contract's machine-readable code."""

    code = "error"
    status = 400


class QueryError(ScreeningError):
    """One query is wrong: the message names the field (`queries[3].country`) and why."""

    code = "bad_query"


class NotLoadedError(ScreeningError):
    """A screenable database with no data on this server: the query was not answered."""

    code = "not_loaded"
    status = 503


class NotSupportedError(ScreeningError):
    """A database the catalog knows but this build cannot screen yet."""

    code = "not_supported"
    status = 422

"""Who is calling: `Authorization: Bearer KEY` on every route but `/healthz`, and what
each role may do.

The caller's key decides the country screening runs for (records restricted to other
states stay hidden) and what it may do: `frontline` screens; `ncb` screens and makes
frontline keys for its own country's terminals; `ops` makes any key.
"""

from __future__ import annotations

from aiohttp import web

from screening.http_errors import ForbiddenError, UnauthorizedError
from screening.keys import ApiKey
from screening.state import Service

PUBLIC_PATHS = frozenset({"/healthz"})


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise UnauthorizedError("no API key: send the header 'Authorization: Bearer KEY'")
    if header.startswith("Bearer ") and (token := header[7:].strip()):
        return token  # the usual spelling, the same answer as the general case below
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("the Authorization header is not 'Bearer KEY'")
    return token.strip()


def authenticate(request: web.Request, service: Service) -> ApiKey:
    """The caller of a request to a non-public path: 401 without a key the key file knows;
    then the key's rate limit (429). Called by the request flow (app.py) for every request."""
    caller = service.live.keys.find(bearer_token(request))
    if caller is None:
        raise UnauthorizedError("unknown API key (never issued, or revoked)")
    service.limiter.take(caller)
    return caller


def check_key_maker(caller: ApiKey) -> None:
    """403 unless `caller` may make keys at all."""
    if caller.role not in ("ncb", "ops"):
        raise ForbiddenError(f"a {caller.role} key may not create keys (ncb and ops keys may)")


def check_may_create(caller: ApiKey, role: str, country: str) -> None:
    """403 unless `caller` may make a `role` key for `country`."""
    check_key_maker(caller)
    if caller.role == "ops":
        return
    if role != "frontline":
        raise ForbiddenError(f"an ncb key may create only frontline keys, not {role}")
    if country != caller.country:
        raise ForbiddenError(
            f"an ncb key of {caller.country} may create keys only for {caller.country},"
            f" not {country}"
        )

"""`POST /v1/keys`: make an API key over HTTP, `{"name", "role", "country"}`.

An `ncb` key makes `frontline` keys for its own country (`role` and `country` may be left
out); an `ops` key makes any key. The answer (201) carries the new key, shown this once,
and its entry. This worker accepts it at once, the others after their next look at the
key file (`--poll-interval`, 0.2 s).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from screening.auth import check_key_maker, check_may_create
from screening.codec import read_body, respond
from screening.http_errors import BadRequestError
from screening.keys import ApiKey, KeyRing, add_key, check_request, key_file_stamp, read_keys
from screening.state import CALLER, SERVICE

MAX_KEY_REQUEST = 4096
"""Bytes: a key request is three short fields."""


async def create_key(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    caller = request[CALLER]
    check_key_maker(caller)
    body = await read_body(request, MAX_KEY_REQUEST)
    if not isinstance(body, dict):
        raise BadRequestError(
            f'body: expected an object {{"name", "role", "country"}}, not {type(body).__name__}'
        )
    name, country, role = check_request(
        body.get("name"), body.get("country", caller.country), body.get("role", "frontline")
    )
    check_may_create(caller, role, country)
    created_by = f"{caller.name} ({caller.country}, {caller.role})"
    loop = asyncio.get_running_loop()
    token, entry = await loop.run_in_executor(
        None, _add_and_reload, service.live.keys, name, country, role, created_by
    )
    return respond(request, {"key": token, **entry.public()}, 201)


def _add_and_reload(
    ring: KeyRing, name: str, country: str, role: str, created_by: str
) -> tuple[str, ApiKey]:
    token, entry = add_key(ring.path, name, country, role, created_by)
    stamp = key_file_stamp(ring.path)
    ring.install(stamp, read_keys(ring.path))
    return token, entry

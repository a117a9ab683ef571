"""`POST /v1/screen/mrz`: a scanned zone in, the document and holder screened in one call.

The body is `{"mrz": "LINE1\\nLINE2"}` (or the lines as a list) in JSON or msgpack. A zone
that cannot be read is a 400 naming the line and what is wrong; a zone whose check digits
fail is still parsed and screened, with `valid: false`. The caller's key country is the
viewer, as for `/v1/screen`, and the check goes to the audit trail before it is answered:
the zone as sent and its parsed document fields (screening/audit.py).
"""

from __future__ import annotations

import time

from aiohttp import web

from screening.audit import request_id_of
from screening.codec import read_body, respond
from screening.http_errors import BadRequestError
from screening.metrics import count_hits
from screening.mrz import MrzError, parse
from screening.mrz_screen import screen_zone
from screening.state import CALLER, SERVICE


def mrz_of(body: object) -> str | list[str]:
    """The `mrz` of a request body; 400 for another shape."""
    if not isinstance(body, dict):
        kind = type(body).__name__
        raise BadRequestError(f'body: expected an object {{"mrz": "..."}}, not {kind}')
    if "mrz" not in body:
        raise BadRequestError("body.mrz: required, the zone's lines separated by \\n")
    mrz = body["mrz"]
    if isinstance(mrz, str):
        return mrz
    if not isinstance(mrz, list):
        raise BadRequestError(
            f"body.mrz: must be text (lines separated by \\n) or a list of lines,"
            f" not {type(mrz).__name__}"
        )
    for index, line in enumerate(mrz):
        if not isinstance(line, str):
            raise BadRequestError(f"body.mrz[{index}]: must be text, not {type(line).__name__}")
    return mrz


async def screen_mrz(request: web.Request) -> web.Response:
    started = time.perf_counter_ns()
    service = request.app[SERVICE]
    mrz = mrz_of(await read_body(request, service.settings.max_body))
    try:
        zone = parse(mrz)
    except MrzError as error:
        raise BadRequestError(f"body.mrz: {error}") from None
    caller = request[CALLER]
    answer = screen_zone(service.live.current(), zone, caller.country)
    count_hits(answer["results"])
    asked = {"mrz": mrz, "document": answer["document"], "valid": answer["valid"]}
    screened = [code for code, done in answer["screened"].items() if done]
    request_id = request_id_of(request.headers)
    service.audit.record(caller, "/v1/screen/mrz", request_id, asked, screened, answer["results"])
    answer["took_us"] = (time.perf_counter_ns() - started) // 1000
    return respond(request, answer)

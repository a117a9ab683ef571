"""The HTTP application: routes and the one middleware every request passes, wired.
Handlers live in their modules.

`request_flow` is, in one frame, what used to be five middlewares, outermost first:
count the request in flight (state.py), count and time it (metrics.py), shape any error
(error_shape.py), authenticate the caller and take its rate limit (auth.py), and wait for
a slow body (slow_clients.py). Each middleware level costs aiohttp a coroutine and a
frame per request, tens of microseconds together: a third of a single query's time.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from screening.auth import PUBLIC_PATHS, authenticate
from screening.databases_view import databases
from screening.error_shape import as_screening_error, error_response
from screening.health import healthz
from screening.hits_view import hits
from screening.keys_view import create_key
from screening.metrics import PENDING, route_of
from screening.metrics_view import metrics
from screening.mrz_view import screen_mrz
from screening.openapi import openapi
from screening.screen_view import screen
from screening.slow_clients import body_pending, body_within_deadline
from screening.state import CALLER, SERVICE, Service


def make_app(service: Service) -> web.Application:
    app = web.Application(middlewares=[request_flow], client_max_size=service.settings.max_body)
    app[SERVICE] = service
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/databases", databases)
    app.router.add_post("/v1/screen", screen)
    app.router.add_post("/v1/screen/mrz", screen_mrz)
    app.router.add_post("/v1/keys", create_key)
    app.router.add_get("/v1/hits", hits)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.on_cleanup.append(close_audit)
    return app


@web.middleware
async def request_flow(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request, in flight, counted and timed (with its final status: a redirect
    passes through unshaped), its errors in the contract's shape."""
    service = request.app[SERVICE]
    service.in_flight += 1  # for the shutdown log line
    started = time.perf_counter()
    code = 500
    try:
        try:
            response = None
            if request.path not in PUBLIC_PATHS:
                request[CALLER] = authenticate(request, service)
                if body_pending(request, service.settings):  # an unknown caller's never is
                    response = await body_within_deadline(request, service.settings)
            if response is None:
                response = await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = error_response(request, as_screening_error(request, error))
        except Exception as error:
            response = error_response(request, as_screening_error(request, error))
        code = response.status
        return response
    except web.HTTPException as error:
        code = error.status
        raise
    finally:
        PENDING.request(route_of(request), code, time.perf_counter() - started)
        service.in_flight -= 1


async def close_audit(app: web.Application) -> None:
    """The last fdatasync of the audit and hits journals, once the requests are done."""
    app[SERVICE].audit.close()

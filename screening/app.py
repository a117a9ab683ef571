"""The HTTP application: routes and middlewares, wired. Handlers live in their modules."""

from __future__ import annotations

from aiohttp import web

from screening.auth import authenticate
from screening.databases_view import databases
from screening.error_shape import error_shape
from screening.health import healthz
from screening.hits_view import hits
from screening.keys_view import create_key
from screening.metrics import instrument
from screening.metrics_view import metrics
from screening.mrz_view import screen_mrz
from screening.openapi import openapi
from screening.screen_view import screen
from screening.slow_clients import body_deadline
from screening.state import SERVICE, Service, count_in_flight


def make_app(service: Service) -> web.Application:
    app = web.Application(
        middlewares=[count_in_flight, instrument, error_shape, authenticate, body_deadline],
        client_max_size=service.settings.max_body,
    )
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


async def close_audit(app: web.Application) -> None:
    """The last fdatasync of the audit and hits journals, once the requests are done."""
    app[SERVICE].audit.close()

"""`GET /healthz`: 200 once this worker's indexes are mapped, 503 before and while stopping.

No key is needed (load balancers call it). The answer names the worker (pid) and the
generation it serves of each database, so an operator, or a test, can see every worker
pick up a load; `refused` says why a newer version of something is not being served.
"""

from __future__ import annotations

import time

from aiohttp import web

from screening.codec import respond
from screening.state import SERVICE


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    live = service.live
    status = "stopping" if service.stopping else "ok" if live.ready else "starting"
    body = {
        "status": status,
        "pid": service.pid,
        "worker": service.worker,
        "uptime_s": round(time.time() - service.started, 3),
        "generations": {
            code: snapshot.generation for code, snapshot in live.data.snapshots.items()
        },
        "keys": len(live.keys.keys),
        "refused": dict(live.refused),
    }
    return respond(request, body, 200 if status == "ok" else 503)

"""What one worker serves from, kept on the application: settings, live data, limiter,
and the audit trail it writes.

Handlers reach it as `request.app[SERVICE]`, and the authenticated caller as
`request[CALLER]`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from aiohttp import web

from screening.audit import Audit
from screening.keys import ApiKey
from screening.live import Live
from screening.rate_limit import RateLimiter
from screening.settings import Settings


@dataclass
class Service:
    settings: Settings
    live: Live
    limiter: RateLimiter
    audit: Audit
    worker: int = 0
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    in_flight: int = 0
    stopping: bool = False


SERVICE = web.AppKey("service", Service)
CALLER = web.RequestKey("caller", ApiKey)


def make_service(settings: Settings, worker: int = 0) -> Service:
    """A worker's state before anything is mapped (`Live.refresh` maps); its audit
    journals open at the first screening."""
    live = Live(settings.data_dir, settings.keys_file)
    audit = Audit(settings.data_dir, settings.audit_rotate, settings.audit_sync, worker)
    return Service(settings, live, RateLimiter(settings.rate), audit, worker)

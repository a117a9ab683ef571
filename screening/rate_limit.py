"""Requests per second per API key, a token bucket in each worker (`serve --rate`).

The limit is per worker: with N workers a key may reach N times the rate in the worst
case. It keeps one misbehaving terminal from starving the others of a worker; a precise
fleet-wide quota belongs in the load balancer in front of the replicas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from screening.http_errors import RateLimitedError
from screening.keys import ApiKey


class RateLimiter:
    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(rate, 1.0)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: ApiKey) -> None:
        """Spend one request of `key`'s bucket; 429 when it is empty."""
        if self.rate <= 0:
            return
        now = self.clock()
        tokens, then = self._buckets.get(key.id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            wait = math.ceil((1 - tokens) / self.rate)
            raise RateLimitedError(
                f"too many requests for key {key.name!r}: limit {self.rate:g} per second",
                {"Retry-After": str(wait)},
            )
        self._buckets[key.id] = (tokens - 1, now)

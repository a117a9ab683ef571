"""A worker's long-lived objects, kept out of the garbage collector's full passes.

A full collection walks every tracked object, at ~1 us each on this machine (they are
scattered, and each is a cache miss). A worker's imports, catalog and mapped data are
~60,000 objects that live as long as it does; the name matcher's caches add more with
every query until they are full. Measured at a million persons (bench/RESULTS.md): full
passes came every few thousand name queries and took up to 360 ms, a stall of the event
loop and of every request in flight.

So a worker freezes its heap just before it listens (`settle`, as pre-fork servers do:
gunicorn's docs, Instagram's), and then every SETTLE_INTERVAL collects its young
generations and freezes what survived them (`settle_survivors`): a full pass is then
left only the few seconds' survivors. The cost: cyclic garbage that outlives two young
passes is never freed. A request's objects die by reference counting long before; what
is frozen grows with the bounded caches and stops, and `screening_heap_frozen_objects`
shows it.
"""

from __future__ import annotations

import asyncio
import gc

from screening.metrics import FROZEN_OBJECTS

SETTLE_INTERVAL = 5.0
"""Seconds between two `settle_survivors`: each costs a young pass (~1 ms)."""


RECOUNT_EVERY = 12
"""Settles between two exact counts of the frozen objects (about a minute). The count walks
every frozen object (`gc.get_freeze_count`: ~27 ms at a million persons, a stall of the
event loop); in between, each settle adds what it froze, which overcounts by the frozen
objects that died meanwhile (an evicted cache entry) until the next recount."""
_frozen = 0
_settles = 0


def settle() -> int:
    """Collect once, then freeze what is left; returns how many objects are frozen."""
    gc.collect()
    return _freeze(recount=True)


def settle_survivors() -> int:
    """Collect the young generations, then freeze what survived them (see the module)."""
    global _settles
    gc.collect(1)
    _settles += 1
    return _freeze(recount=_settles % RECOUNT_EVERY == 0)


def _freeze(recount: bool) -> int:
    global _frozen
    if recount:
        gc.freeze()
        _frozen = gc.get_freeze_count()
    else:
        # Nothing is young after a collection: what is not frozen yet is all in the oldest
        # generation, the survivors since the last freeze (a few thousand to count).
        _frozen += len(gc.get_objects(generation=2))
        gc.freeze()
    FROZEN_OBJECTS.set(_frozen)
    return _frozen


async def keep_settled(interval: float = SETTLE_INTERVAL) -> None:
    """A worker's task: `settle_survivors` every `interval` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        settle_survivors()

"""A worker's start-up heap, kept out of the garbage collector's full passes.

A worker imports numpy, aiohttp and the catalog and maps its data: ~60,000 objects that
live as long as it does. A full collection walks every tracked object, ~30 ms for those
alone on this machine: a stall of the event loop and of every request in flight. One
comes whenever the objects that outlived younger passes grew by a quarter, which the
name matcher's caches (a few objects a query) bring every few thousand queries.
`gc.freeze()`, as pre-fork servers do (gunicorn's docs, Instagram's), moves what exists at
start-up to a generation no pass walks; a full pass then costs only what came since.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then freeze what is left; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

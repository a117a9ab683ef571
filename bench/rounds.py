"""Timing that holds on a noisy machine: every candidate timed in interleaved rounds, and
the median kept.

This VM's speed moves by ±20% within minutes (bench/RESULTS.md), so two figures timed one
after the other compare two moments of the machine as much as two pieces of code: a
single pass of py-lmdb's misses has come out anywhere from 331 to 717 ns. Rounds that time
every candidate in turn, each round starting further down the list, give each candidate
the same share of fast and slow moments; the median then drops the odd stall, and the
range beside it shows how far the rounds disagreed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

WARM_ITEMS = 100
"""Calls made before the clock starts: the compiled lookup is made on first use."""


def round_order(items: Sequence[T], number: int, rounds: int) -> list[T]:
    """`items` in the order of round `number` of `rounds`: rotated by its share of the
    list, so that no item is always timed first (over HTTP, the lookup timed first in every
    round came out ~10% faster than the same cost timed later)."""
    start = number * len(items) // rounds
    return [*items[start:], *items[:start]]


def interleaved(measures: Mapping[K, Callable[[], float]], rounds: int) -> dict[K, list[float]]:
    """Every measure once a round, in `round_order`; each one's figures, by name."""
    figures: dict[K, list[float]] = {name: [] for name in measures}
    for number in range(rounds):
        for name in round_order(list(measures), number, rounds):
            figures[name].append(measures[name]())
    return figures


def per_call_ns(run: Callable[[T], object], items: Sequence[T]) -> float:
    """Mean ns of `run(item)` over `items`, after a few unmeasured calls."""
    for item in items[:WARM_ITEMS]:
        run(item)
    started = time.perf_counter()
    for item in items:
        run(item)
    return (time.perf_counter() - started) / len(items) * 1e9


def keys_per_second(run: Callable[[Sequence[bytes]], object], keys: Sequence[bytes]) -> float:
    """Keys a second of one `run(keys)`, after an unmeasured call on a few of them."""
    run(keys[:WARM_ITEMS])
    started = time.perf_counter()
    run(keys)
    return len(keys) / (time.perf_counter() - started)


def spread(figures: Sequence[float]) -> str:
    """The median, then the range of the rounds: `822 (790-870)`."""
    low, middle, high = min(figures), statistics.median(figures), max(figures)
    return f"{middle:,.0f} ({low:,.0f}-{high:,.0f})"

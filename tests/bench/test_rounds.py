"""bench/rounds.py: interleaved rounds, and the figures kept from them."""

from __future__ import annotations

import itertools

from bench.rounds import interleaved, keys_per_second, per_call_ns, round_order, spread


def test_each_round_starts_elsewhere_and_times_every_lookup_once() -> None:
    lookups = [f"L{number}" for number in range(18)]
    orders = [round_order(lookups, number, 5) for number in range(5)]
    assert all(sorted(order) == sorted(lookups) for order in orders)
    assert [order[0] for order in orders] == ["L0", "L3", "L7", "L10", "L14"]
    assert orders[1][-1] == "L2"


def test_interleaved_times_every_measure_once_a_round_in_round_order() -> None:
    calls: list[str] = []
    clock = itertools.count(1)

    def measure(name: str) -> float:
        calls.append(name)
        return float(next(clock))

    measures = {name: (lambda name=name: measure(name)) for name in ("ours", "dict", "lmdb")}
    figures = interleaved(measures, 3)
    assert calls == ["ours", "dict", "lmdb", "dict", "lmdb", "ours", "lmdb", "ours", "dict"]
    assert figures == {"ours": [1.0, 6.0, 8.0], "dict": [2.0, 4.0, 9.0], "lmdb": [3.0, 5.0, 7.0]}


def test_spread_is_the_median_then_the_range() -> None:
    assert spread([870.4, 790.0, 822.0]) == "822 (790-870)"
    assert spread([1500.0, 1200.0, 1300.0, 1900.0]) == "1,400 (1,200-1,900)"
    assert spread([5.0]) == "5 (5-5)"


def test_timers_run_what_they_time() -> None:
    seen: list[int] = []
    assert per_call_ns(seen.append, list(range(500))) > 0
    assert seen == list(range(100)) + list(range(500))  # the warm calls, then the timed ones
    batches: list[int] = []
    assert keys_per_second(lambda keys: batches.append(len(keys)), [b"k"] * 300) > 0
    assert batches == [100, 300]

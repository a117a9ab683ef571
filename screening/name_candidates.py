"""Which records a name query scores: set arithmetic over its posting runs.

screening/name_match.py decides the rule (how many of the query's tokens a record must
share, whether it must be born near the query's date, the lenient rule of a two-token
name); this module computes it, compiled (screening/_name_candidates.c, one call a query)
when the build has it, else with numpy (`reference_candidates`). Both give the same
records (tests/screening/test_name_candidates.py checks it on random runs): the numpy one
is the definition, the compiled one walks the smallest side once instead of making ~40
numpy calls of 1-3 us and binary-searching every record of a birth year in every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from indexes.segment import sorted_contains

Runs = Sequence[np.ndarray]
"""Sorted uint32 record numbers, one array per index key."""

Bits = Sequence[np.ndarray | None]
"""One entry a run: None, or the run as a bitset (`as_bits`)."""

Compiled = Callable[
    [Runs, int, Runs | None, Runs | None, int, int, Bits | None, Runs | None], bytes
]


def _compiled() -> Compiled | None:
    try:
        from screening._name_candidates import candidates
    except ImportError:  # no C compiler where it was built: numpy, same answers
        return None
    found: Compiled = candidates
    return found


COMPILED = _compiled()
EMPTY = np.empty(0, dtype=np.uint32)
NO_LIMIT = 2**32
"""A limit no candidate set reaches (as many as there are record numbers)."""


def choose(
    runs: Runs,
    need: int,
    near: Runs | None,
    on: Runs | None,
    rare: int,
    limit: int,
    bits: Bits | None = None,
    of_year: Runs | None = None,
) -> np.ndarray:
    """The records worth scoring, sorted (see `reference_candidates`); `bits` (the long
    runs as bitsets) only makes the compiled step faster."""
    if COMPILED is None:
        return reference_candidates(runs, need, near, on, rare, limit, of_year)
    found = COMPILED(runs, need, near, on, rare, limit, bits, of_year)
    return np.frombuffer(found, dtype=np.uint32)


def as_bits(run: np.ndarray, records: int) -> np.ndarray:
    """A sorted run as a bitset of `records` bits (bit r is byte r // 8's bit r % 8): one
    step to tell whether a record is in it, where a binary search of a long run is a dozen
    cache misses. records / 8 bytes: worth it for runs longer than records / 256 or so."""
    mask = np.zeros(max(records, int(run[-1]) + 1 if len(run) else 0), dtype=bool)
    mask[run] = True
    bits: np.ndarray = np.packbits(mask, bitorder="little")
    return bits


def reference_candidates(
    runs: Runs,
    need: int,
    near: Runs | None,
    on: Runs | None,
    rare: int,
    limit: int,
    of_year: Runs | None = None,
) -> np.ndarray:
    """The records in at least `need` of `runs` (shortest first), and in one of `near`
    when given. With `on` (the lenient rule of a two-token name, `need` ignored): the
    records of either run born near, kept when born on the day (in one of `on`, a subset
    of `near`), or holding both tokens, or a rare one (a run of at most `rare`).

    `of_year` (with `near`; one array a run, in their order): the records of each run
    born in the query's year, which `near` leaves out (the name matcher reads them from
    the keys of a name in a year, loaders/names.py): chosen as if `near` held them.
    More than `limit`: those in every run, the first `limit`."""
    if not runs:
        return EMPTY
    if of_year is not None:
        chosen = reference_candidates(runs, need, near, on, rare, NO_LIMIT)
        year = _year_candidates(runs, need, on is not None, rare, of_year)
        return _cut(runs, _sorted_union([chosen, year]), limit)
    within = _sorted_union(near) if near is not None else None
    if on is not None:
        chosen = at_least(runs, 1, within)
        if len(chosen):
            keep = sorted_contains(_sorted_union(on), chosen)
            keep |= sorted_contains_all(runs, chosen)
            for run in runs:
                if len(run) <= rare:
                    keep |= sorted_contains(run, chosen)
            chosen = chosen[keep]
    else:
        chosen = at_least(runs, need, within)
    return _cut(runs, chosen, limit)


def _year_candidates(runs: Runs, need: int, lenient: bool, rare: int, of_year: Runs) -> np.ndarray:
    """The records of `of_year` that `near` holding them would have let through: all of
    them are near, so only the rule's token counts are left (both tokens or a rare one
    under the lenient rule, else `need`)."""
    if not lenient:
        return at_least(of_year, need)
    rare_ones = [year for run, year in zip(runs, of_year, strict=True) if len(run) <= rare]
    return _sorted_union([at_least(of_year, 2), *rare_ones])


def _cut(runs: Runs, chosen: np.ndarray, limit: int) -> np.ndarray:
    """More than `limit`: those in every run, the first `limit`."""
    if len(chosen) > limit:
        chosen = chosen[sorted_contains_all(runs, chosen)][:limit]
    return chosen


def at_least(runs: Runs, need: int, within: np.ndarray | None = None) -> np.ndarray:
    """Records in at least `need` (>= 1) of the sorted record arrays `runs` (shortest
    first), and in `within` when given (sorted).

    Such a record is in one of the `len(runs) - need + 1` shortest runs, so only their
    union (or `within`, when smaller) is counted, by binary search in every run: a common
    token's long run is searched, never copied into a set.
    """
    if not runs:
        return EMPTY
    need = max(1, min(need, len(runs)))
    drivers = list(runs[: len(runs) - need + 1])
    if within is not None and len(within) < sum(len(run) for run in drivers):
        counts = np.zeros(len(within), dtype=np.int64)
        for run in runs:
            counts += sorted_contains(run, within)
        held: np.ndarray = within[counts >= need]
        return held
    union = _sorted_union(drivers)
    if within is not None:
        union = union[sorted_contains(within, union)]
    if need == 1 or not union.size:
        return union
    counts = np.zeros(len(union), dtype=np.int64)
    for run in runs:
        counts += sorted_contains(run, union)
    chosen: np.ndarray = union[counts >= need]
    return chosen


def _sorted_union(runs: Runs) -> np.ndarray:
    """The distinct records of sorted arrays, sorted (a merge, not a hash set)."""
    if not runs:
        return EMPTY
    merged = np.sort(np.concatenate(runs), kind="stable") if len(runs) > 1 else runs[0]
    if len(merged) < 2:
        return merged
    keep = np.empty(len(merged), dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    distinct: np.ndarray = merged[keep]
    return distinct


def sorted_contains_all(runs: Runs, records: np.ndarray) -> np.ndarray:
    """Which `records` are in every run."""
    inside = np.ones(len(records), dtype=bool)
    for run in runs:
        inside &= sorted_contains(run, records)
    return inside

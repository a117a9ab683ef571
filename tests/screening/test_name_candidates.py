"""The compiled candidate step (screening/_name_candidates.c) against its numpy definition
(screening/name_candidates.py `reference_candidates`): the same records for any runs.

Strategy: hypothesis draws small sorted runs over a narrow record range (so they overlap
and share records), dates' runs the same way, and every rule the matcher uses (all tokens,
all but one, the lenient two-token rule, with and without `near`, cuts at `limit`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening import name_candidates
from screening.name_candidates import as_bits, reference_candidates

pytestmark = pytest.mark.skipif(
    name_candidates.COMPILED is None, reason="screening._name_candidates is not built"
)

RECORDS = st.integers(min_value=0, max_value=300)
RUN = st.lists(RECORDS, max_size=120).map(lambda values: np.unique(np.array(values, np.uint32)))


def _shortest_first(runs: list[np.ndarray]) -> list[np.ndarray]:
    return sorted(runs, key=len)


def _compiled(*args: object) -> np.ndarray:
    assert name_candidates.COMPILED is not None
    return np.frombuffer(name_candidates.COMPILED(*args), dtype=np.uint32)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(RUN, min_size=1, max_size=6).map(_shortest_first),
    near=st.none() | st.lists(RUN, min_size=1, max_size=4),
    need_less=st.integers(0, 2),
    limit=st.integers(0, 80),
)
def test_at_least_is_the_reference(
    runs: list[np.ndarray], near: list[np.ndarray] | None, need_less: int, limit: int
) -> None:
    need = max(1, len(runs) - need_less)
    expected = reference_candidates(runs, need, near, None, 64, limit)
    assert _compiled(runs, need, near, None, 64, limit).tolist() == expected.tolist()
    bits = [as_bits(run, 301) if len(run) % 2 else None for run in runs]
    assert _compiled(runs, need, near, None, 64, limit, bits).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(RUN, min_size=2, max_size=2).map(_shortest_first),
    on=st.lists(RUN, min_size=1, max_size=3),
    year=RUN,
    rare=st.integers(0, 100),
    limit=st.integers(0, 80),
)
def test_the_lenient_rule_is_the_reference(
    runs: list[np.ndarray], on: list[np.ndarray], year: np.ndarray, rare: int, limit: int
) -> None:
    near = [*on, year]  # born on the day, or only the year known: `on` is within `near`
    expected = reference_candidates(runs, 1, near, on, rare, limit)
    assert _compiled(runs, 1, near, on, rare, limit).tolist() == expected.tolist()
    bits = [as_bits(runs[0], 250), None]  # records past the bitset's end are not in it
    assert _compiled(runs, 1, near, on, rare, limit, bits).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(
    runs=st.lists(RUN, min_size=1, max_size=5).map(_shortest_first),
    day=st.lists(RUN, min_size=1, max_size=3),
    year=RUN,
    need_less=st.integers(0, 2),
    lenient=st.booleans(),
    rare=st.integers(0, 100),
    limit=st.integers(0, 80),
)
def test_a_year_given_run_by_run_chooses_as_the_year_in_near(
    runs: list[np.ndarray],
    day: list[np.ndarray],
    year: np.ndarray,
    need_less: int,
    lenient: bool,
    rare: int,
    limit: int,
) -> None:
    """`of_year` (each run's records of the year, as the year-name keys give them) with the
    rest of `near` chooses what `near` with the whole year chose, compiled or not."""
    lenient = lenient and len(runs) == 2
    need = 1 if lenient else max(1, len(runs) - need_less)
    on = day if lenient else None
    expected = reference_candidates(runs, need, [*day, year], on, rare, limit)
    of_year = [run[np.isin(run, year)] for run in runs]
    split = reference_candidates(runs, need, day, on, rare, limit, of_year)
    assert split.tolist() == expected.tolist()
    bits = [as_bits(run, 301) if len(run) % 2 else None for run in runs]
    found = _compiled(runs, need, day, on, rare, limit, bits, of_year)
    assert found.tolist() == expected.tolist()


def test_large_runs_agree() -> None:
    chance = np.random.default_rng(7)
    runs = _shortest_first(
        [np.unique(chance.integers(0, 1_000_000, size, dtype=np.uint32)) for size in (900, 30_000)]
    )
    year = np.unique(chance.integers(0, 1_000_000, 6_000, dtype=np.uint32))
    day = np.unique(np.concatenate([chance.integers(0, 1_000_000, 30, dtype=np.uint32),
                                    runs[0][:5], runs[1][:5]]))  # fmt: skip
    bits = [None, as_bits(runs[1], 1_000_000)]
    for near, on in (([day, year], [day]), ([day, year], None), (None, None)):
        expected = reference_candidates(runs, 1 if on else 2, near, on, 64, 512)
        assert _compiled(runs, 1 if on else 2, near, on, 64, 512).tolist() == expected.tolist()
        found = _compiled(runs, 1 if on else 2, near, on, 64, 512, bits)
        assert found.tolist() == expected.tolist()


def test_bad_arrays_say_what_is_wrong() -> None:
    with pytest.raises(TypeError, match=r"runs\[0\]: a uint32 array"):
        _compiled([np.arange(3, dtype=np.int64)], 1, None, None, 64, 512)
    with pytest.raises(ValueError, match="bits: one entry"):
        _compiled([np.arange(3, dtype=np.uint32)], 1, None, None, 64, 512, [])
    with pytest.raises(ValueError, match="lenient rule takes two runs"):
        _compiled([np.arange(3, dtype=np.uint32)], 1, [np.arange(2, dtype=np.uint32)],
                  [np.arange(1, dtype=np.uint32)], 64, 512)  # fmt: skip
    with pytest.raises(ValueError, match="of_year: one array a run"):
        _compiled([np.arange(3, dtype=np.uint32)], 1, [np.arange(2, dtype=np.uint32)], None,
                  64, 512, None, [])  # fmt: skip


def test_without_the_compiled_step_numpy_answers_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [np.array([2, 5, 9], np.uint32), np.array([1, 2, 5, 7, 9, 11], np.uint32)]
    near, on = [np.array([5, 9, 11], np.uint32)], [np.array([11], np.uint32)]
    bits = [None, as_bits(runs[1], 16)]
    compiled = name_candidates.choose(runs, 1, near, on, 64, 512, bits)
    monkeypatch.setattr(name_candidates, "COMPILED", None)
    assert name_candidates.choose(runs, 1, near, on, 64, 512, bits).tolist() == [5, 9, 11]
    assert compiled.tolist() == [5, 9, 11]

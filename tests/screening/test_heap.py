"""`heap`: a worker's long-lived objects leave the garbage collector's full passes."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from screening import heap
from screening.metrics import FROZEN_OBJECTS


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Each test leaves the interpreter's collector as it found it."""
    yield
    gc.unfreeze()


def _tracked(thing: object, generation: int | None = None) -> bool:
    return any(found is thing for found in gc.get_objects(generation=generation))


def test_what_exists_at_settling_is_walked_by_no_pass() -> None:
    before = [object()]  # a tracked container, alive across the call
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 0
    assert FROZEN_OBJECTS._value.get() == frozen
    assert not _tracked(before)
    after = [object()]
    assert _tracked(after, generation=0)
    gc.unfreeze()
    assert _tracked(before)


class Node:
    """Something in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.itself = self


def test_survivors_are_frozen_and_young_cyclic_garbage_is_freed_first() -> None:
    heap.settle()
    survivor = [object()]
    garbage = weakref.ref(Node())
    assert garbage() is not None  # a cycle: reference counting alone does not free it
    frozen = heap.settle_survivors()
    assert frozen == gc.get_freeze_count()
    assert not _tracked(survivor)
    assert garbage() is None


def test_the_frozen_are_counted_by_what_each_settle_froze_and_recounted_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    heap.settle()
    recounts: list[int] = []
    real = gc.get_freeze_count

    def counted() -> int:
        recounts.append(real())
        return recounts[-1]

    monkeypatch.setattr(gc, "get_freeze_count", counted)
    monkeypatch.setattr(heap, "_settles", 0)
    kept: list[object] = []
    for _ in range(1, heap.RECOUNT_EVERY):
        kept.append([object() for _each in range(100)])  # survivors
        cycle = Node()  # garbage only the collector frees
        del cycle
        assert heap.settle_survivors() == real() == FROZEN_OBJECTS._value.get()
    assert recounts == []  # no walk of every frozen object: they were added up
    kept.clear()  # frozen objects die: an overcount until the recount
    # The recount itself, not a later reading: a frozen object another test's thread
    # drops in between would change that one (seen in CI: 2 objects).
    assert heap.settle_survivors() == recounts[0] == FROZEN_OBJECTS._value.get()
    assert len(recounts) == 1


def test_a_worker_settles_its_survivors_every_interval() -> None:
    async def run() -> bool:
        heap.settle()
        settling = asyncio.create_task(heap.keep_settled(0.01))
        survivor = [object()]
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not _tracked(survivor):
                break
        settling.cancel()
        return not _tracked(survivor)

    assert asyncio.run(run())

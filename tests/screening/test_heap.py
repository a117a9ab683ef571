"""`heap.settle`: a worker's start-up objects leave the garbage collector's passes."""

from __future__ import annotations

import gc

from screening.heap import settle


def test_what_exists_at_settling_is_walked_by_no_pass() -> None:
    before = [object()]  # a tracked container, alive across the call
    try:
        frozen = settle()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(found is before for found in gc.get_objects())
        after = [object()]
        assert any(found is after for found in gc.get_objects(generation=0))
    finally:
        gc.unfreeze()
    assert any(found is before for found in gc.get_objects())

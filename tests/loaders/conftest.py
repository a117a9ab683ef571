"""Fixtures of the loader tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _keep_pytest_scheduled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some tests run `screening load` in process (screening.cli.main): its
    `yield_to_lookups` would lower pytest itself to SCHED_IDLE for the rest of the run."""
    monkeypatch.setattr("screening.cli.yield_to_lookups", lambda: None)

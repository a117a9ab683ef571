"""The matcher registry (screening/matchers.py): what a worker imports before it listens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loaders.catalog import DATABASES
from screening import matchers


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private copy of MATCHER_MODULES, with tmp_path importable; caches cleared."""
    modules = dict(matchers.MATCHER_MODULES)
    monkeypatch.setattr(matchers, "MATCHER_MODULES", modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    _clear_caches()
    yield modules
    _clear_caches()


def _clear_caches() -> None:
    matchers.matcher.cache_clear()
    matchers._import_error.cache_clear()


def test_every_matcher_of_this_build_loads() -> None:
    assert matchers.load_all() == {}
    assert all(matchers.matcher(name) is not None for name in matchers.MATCHER_MODULES)


def test_a_broken_matcher_is_reported_and_the_others_load(
    registry: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "broken_matcher_for_test.py").write_text("import no_such_dependency_for_test\n")
    registry["broken"] = "broken_matcher_for_test"
    failed = matchers.load_all()
    assert failed == {
        "broken": "ModuleNotFoundError: No module named 'no_such_dependency_for_test'"
    }
    assert matchers.matcher("name") is not None
    with pytest.raises(ModuleNotFoundError):  # its queries fail as before, not silently miss
        matchers.matcher("broken")


def test_a_matcher_left_out_of_the_build_is_unavailable_not_broken(
    registry: dict[str, str],
) -> None:
    registry["absent"] = "screening.no_such_matcher_module"
    assert matchers.load_all() == {}
    assert matchers.matcher("absent") is None


def test_a_database_whose_matcher_is_broken_is_listed_unscreenable(
    registry: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "broken_name_matcher.py").write_text("import no_such_dependency_for_test\n")
    registry["name"] = "broken_name_matcher"
    nominal = DATABASES["NOMINAL"]
    assert not matchers.screenable(nominal)
    assert matchers.missing(nominal) == ("name",)
    assert matchers.screenable(DATABASES["SLTD"])

"""Border screening lookups: `open_data(DIR).screen([...], country=...)` in process.

The names are imported when first used, so `screening` itself is light: the command
(screening/launcher.py) lowers a load's priority before numpy and the engine load."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screening.data import Data, open_data

__all__ = ["Data", "open_data"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from screening import data

        return getattr(data, name)
    raise AttributeError(f"module 'screening' has no attribute {name!r}")

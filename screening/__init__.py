"""Border screening lookups: `open_data(DIR).screen([...], country=...)` in process."""

from screening.data import Data, open_data

__all__ = ["Data", "open_data"]

from collections.abc import Sequence

import numpy as np

def candidates(
    runs: Sequence[np.ndarray],
    need: int,
    near: Sequence[np.ndarray] | None,
    on: Sequence[np.ndarray] | None,
    rare: int,
    limit: int,
    bits: Sequence[np.ndarray | None] | None = None,
    of_year: Sequence[np.ndarray] | None = None,
    /,
) -> bytes: ...

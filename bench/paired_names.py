"""Two versions of the name matcher, timed side by side in one process.

Why: on this shared machine identical runs of `bench.names` move 15-40% within an hour, far
more than most changes to the matcher are worth, so two separate runs cannot tell whether
a change helped. Here both versions screen the same loaded NOMINAL in one process, in
alternating chunks of new travellers (the order reversed every chunk), and each side's CPU
time is summed: the machine's slow and fast minutes fall on both alike. An A/A run (a
revision against itself) shows what is left of the noise (-3% and +5% here).

The other version is screening/name_match.py as committed at a git revision, loaded from a
copy under its own module name; everything it imports (the engine, the loaders, the
candidate step) is this checkout's. Both sides first screen the same earlier travellers,
so that each has warmed its own caches as a running service would have (warming only one
side favoured it by 12%).

    python -m bench.paired_names --data .bench/nominal-data-1000000-keys3 --against HEAD
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch

from bench.names import EARLIER_TRAVELLERS, Served, travellers

MATCHER_PATH = "screening/name_match.py"
ROOT = Path(__file__).resolve().parents[1]


def matcher_at(revision: str, into: Path) -> ModuleType:
    """screening/name_match.py as committed at `revision`, imported as its own module."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{MATCHER_PATH}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    name = "name_match_at_" + "".join(c if c.isalnum() else "_" for c in revision)
    path = into / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def paired(
    data: Any, sides: dict[str, ModuleType], chunks: int, chunk: int, earlier: int
) -> dict[str, float]:
    """Queries/s (per CPU-second) of each side, screened alternately on the same data."""
    from screening.matchers import matcher

    def using(module: ModuleType) -> Any:
        """`Data`'s matcher lookup, with `module`'s name matcher."""
        return patch(
            "screening.data.matcher",
            lambda name: module.MATCHER if name == "name" else matcher(name),
        )

    served = Served(data)
    fresh = travellers(chunks * chunk * len(sides), seed=98, taken=set())
    for module in sides.values():
        with using(module):
            for query in travellers(earlier, seed=96, taken=set()):
                served.screen([query])
    spent = dict.fromkeys(sides, 0.0)
    at = 0
    for number in range(chunks):
        order = list(sides) if number % 2 == 0 else list(reversed(sides))
        for label in order:
            queries, at = fresh[at : at + chunk], at + chunk
            with using(sides[label]):
                started = time.process_time()
                for query in queries:
                    served.screen([query])
                spent[label] += time.process_time() - started
    return {label: chunks * chunk / seconds for label, seconds in spent.items()}


def main(data_dir: Path, against: str, chunks: int, chunk: int, earlier: int) -> int:
    import screening.name_match
    from screening.data import open_data
    from screening.heap import settle

    data = open_data(data_dir)
    for snapshot in data.snapshots.values():
        snapshot.warm()
    with tempfile.TemporaryDirectory() as copies:
        sides = {against: matcher_at(against, Path(copies)), "this checkout": screening.name_match}
        settle()
        rates = paired(data, sides, chunks, chunk, earlier)
    base = rates[against]
    for label, rate in rates.items():
        print(f"{label:>20}  {rate:8,.0f} new travellers/s  ({rate / base - 1:+.1%})")
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.paired_names", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a loaded NOMINAL directory")
    parser.add_argument("--against", default="HEAD", help="git revision of the other side")
    parser.add_argument("--chunks", type=int, default=40, help="chunks a side")
    parser.add_argument("--chunk", type=int, default=500, help="travellers a chunk")
    parser.add_argument("--earlier", type=int, default=EARLIER_TRAVELLERS, help="warm-up")
    options = parser.parse_args()
    sys.exit(main(options.data, options.against, options.chunks, options.chunk, options.earlier))

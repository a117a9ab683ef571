"""The `screening` command (and `python -m screening`): a load or a compaction yields the
cores to lookups before anything heavy is imported (screening/priority.py says why), then
screening/cli.py runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from screening.priority import yield_to_lookups

BACKGROUND_COMMANDS = frozenset({"load", "compact"})


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] and arguments[0] in BACKGROUND_COMMANDS:
        yield_to_lookups()
    from screening.cli import main as run

    return run(arguments)

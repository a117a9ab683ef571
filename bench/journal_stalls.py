"""How long a journal append (screening/journal.py) can stall the event loop while another
process writes and fsyncs a large file, as `screening load` does: with zeros written ahead
of the lines (`--audit-prefill`, the default) and without (every append grows the file).

An append that grows a file joins the file system's journal for the new size and waits
whenever a commit is under way; the syncer's fdatasync every 5 ms starts one, and a load's
fsyncs make each one long. One such stall holds every request behind it: it is the p99
of `bench.http`'s "p99 while loading" row. This measures the appends alone, with the
service's own Journal and Syncer, one process, no HTTP and no CPU-bound work, so a noisy
machine moves it less than the HTTP row.

    python -m bench.journal_stalls --seconds 15 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from screening.journal import Journal, Syncer

LINE = b'{"at":"2026-11-24T00:00:00.000000Z","check":"' + b"c" * 250 + b'"}\n'
BURST = 20
"""Appends between two 1 ms pauses: ~15,000 a second, the audit lines of a busy worker."""
MODES = {"zeros ahead (4 MiB)": 4 << 20, "none (file grows)": 0}

WRITER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
block = os.urandom(1 << 20)
for number in range(int(sys.argv[2])):
    os.write(fd, block)
    if number % 256 == 255:
        os.fsync(fd)
os.fsync(fd)
"""


@dataclass(frozen=True)
class Stalls:
    appends: int
    p999_us: float
    max_us: float
    over_1ms: int
    over_5ms: int


def measure(folder: Path, prefill: int, seconds: float, writer_mib: int) -> Stalls:
    """Append for `seconds` while a writer process writes `writer_mib` MiB with fsyncs."""
    syncer = Syncer(0.005)
    journal = Journal(folder / f"journal-{prefill}", rotate_at=64 << 20, prefill=prefill)
    syncer.journals.append(journal)
    big = folder / "load.bin"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(big), str(writer_mib)])
    took: list[float] = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(BURST):
                start = time.perf_counter()
                journal.append(LINE)
                took.append(time.perf_counter() - start)
                syncer.written()
            time.sleep(0.001)
    finally:
        writer.kill()
        writer.wait()
        syncer.close()
        big.unlink(missing_ok=True)
    took.sort()
    return Stalls(
        appends=len(took),
        p999_us=took[int(len(took) * 0.999)] * 1e6,
        max_us=took[-1] * 1e6,
        over_1ms=sum(1 for value in took if value > 0.001),
        over_5ms=sum(1 for value in took if value > 0.005),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.journal_stalls", description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0, help="each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two modes")
    parser.add_argument("--writer-mib", type=int, default=3000, help="MiB the writer writes")
    parser.add_argument("--work", type=Path, help="a folder on the data's file system")
    args = parser.parse_args(argv)
    work = args.work or Path(".bench")
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'appends stalled (one process)':30} {'appends':>9} {'p99.9':>9} {'max':>10}"
          f" {'> 1 ms':>7} {'> 5 ms':>7}")  # fmt: skip
    for round_number in range(1, args.rounds + 1):
        for name, prefill in MODES.items():
            with tempfile.TemporaryDirectory(dir=work) as folder:
                stalls = measure(Path(folder), prefill, args.seconds, args.writer_mib)
            print(f"{name + f', run {round_number}':30} {stalls.appends:>9,}"
                  f" {stalls.p999_us:>6.0f} us {stalls.max_us / 1000:>7.1f} ms"
                  f" {stalls.over_1ms:>7} {stalls.over_5ms:>7}", flush=True)  # fmt: skip
    os.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())

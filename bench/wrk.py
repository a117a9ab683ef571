"""Running wrk and reading what it prints.

wrk is the load generator of the HTTP bench because it is written in C with an event loop
per thread: on a 2-core machine a Python client would measure itself. Every target gets
the same command line (threads, connections, duration, the Lua script of bench/rotate.lua
and the same headers); only the URL and the list of bodies change.

We read wrk's ordinary `--latency` report rather than a custom Lua `done()` so that what
the table shows is exactly what anyone rerunning wrk by hand sees.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROTATE_SCRIPT = "rotate.lua"
TIME_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
SIZE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
GRACE_SECONDS = 30
"""How long past its duration a wrk run may take before we give up on it."""


class WrkError(RuntimeError):
    """wrk could not run or printed something we cannot read."""


@dataclass(frozen=True)
class WrkSettings:
    """The part of the command line that is the same for every target."""

    threads: int = 2
    connections: int = 4
    seconds: int = 10
    timeout_seconds: int = 10
    """wrk's per-request timeout; its default (2 s) would drop slow batches from the stats."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_us: float
    p75_us: float
    p90_us: float
    p99_us: float
    bytes_read: int
    non_2xx: int = 0
    socket_errors: int = 0
    """connect + read + write + timeout errors."""
    max_us: float = 0.0
    """The slowest request (wrk's `Latency ... Max`)."""

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def wrk_path() -> str:
    """The wrk binary, or a WrkError saying how to get it (`make bench-tools`)."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed: run `make bench-tools` (Debian package wrk)")
    return found


def rotate_script() -> Path:
    """bench/rotate.lua (package data), beside this module: wrk needs a real path."""
    return Path(__file__).with_name(ROTATE_SCRIPT)


def wrk_command(
    url: str,
    bodies: Path,
    headers: Mapping[str, str],
    settings: WrkSettings,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> list[str]:
    """The wrk command line: `--latency` for the percentiles, bodies from `bodies`, given
    to `script` (bench/rotate.lua unless told) with any `script_args` after it."""
    command = [
        wrk_path(),
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{settings.seconds}s",
        f"--timeout={settings.timeout_seconds}s",
        "--latency",
        "-s",
        str(script or rotate_script()),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return [*command, url, "--", str(bodies), *script_args]


def run_wrk(
    url: str,
    bodies: Path,
    headers: Mapping[str, str],
    settings: WrkSettings,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkResult:
    """One bounded wrk run: it stops by itself after `settings.seconds`."""
    command = wrk_command(url, bodies, headers, settings, script, script_args)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=settings.seconds + GRACE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish within {settings.seconds + GRACE_SECONDS} s") from None
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's `--latency` report (the sample in tests/bench shows its shape)."""
    latencies = _percentiles(output)
    missing = {"50", "75", "90", "99"} - set(latencies)
    if missing:
        raise WrkError(f"no latency distribution in wrk output (run with --latency): {output!r}")
    requests, seconds, read = _totals(output)
    return WrkResult(
        requests=requests,
        seconds=seconds,
        requests_per_second=float(_field(r"^Requests/sec:\s+([\d.]+)", output)),
        p50_us=latencies["50"],
        p75_us=latencies["75"],
        p90_us=latencies["90"],
        p99_us=latencies["99"],
        bytes_read=read,
        non_2xx=int(_field(r"Non-2xx or 3xx responses:\s+(\d+)", output, "0")),
        socket_errors=_socket_errors(output),
        max_us=_max_latency_us(output),
    )


def _max_latency_us(output: str) -> float:
    """'    Latency   402.00us  123.00us   6.79ms   90.00%': the third figure is the max."""
    match = re.search(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)([a-z]+)\s", output, re.MULTILINE)
    return 0.0 if match is None else duration_us(*match.groups())


def _percentiles(output: str) -> dict[str, float]:
    """'     99%    6.79ms' lines of the Latency Distribution block, in microseconds."""
    block = output.partition("Latency Distribution")[2]
    found = re.findall(r"^\s+(\d+(?:\.\d+)?)%\s+([\d.]+)([a-z]+)\s*$", block, re.MULTILINE)
    return {percent: duration_us(value, unit) for percent, value, unit in found}


def _totals(output: str) -> tuple[int, float, int]:
    """'  50849 requests in 2.01s, 9.99MB read': count, seconds, bytes."""
    match = re.search(r"^\s*(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", output, re.M)
    if match is None:
        raise WrkError(f"no 'N requests in T' line in wrk output: {output!r}")
    count, value, unit, size, size_unit = match.groups()
    return int(count), duration_us(value, unit) / 1e6, round(float(size) * SIZE_UNITS[size_unit])


def _socket_errors(output: str) -> int:
    """'Socket errors: connect 0, read 1, write 0, timeout 2' -> 3 (absent: none)."""
    line = re.search(r"Socket errors:(.*)$", output, re.MULTILINE)
    if line is None:
        return 0
    return sum(int(number) for number in re.findall(r"\d+", line.group(1)))


def _field(pattern: str, output: str, default: str | None = None) -> str:
    match = re.search(pattern, output, re.MULTILINE)
    if match is not None:
        return match.group(1)
    if default is None:
        raise WrkError(f"{pattern!r} not found in wrk output: {output!r}")
    return default


def duration_us(value: str, unit: str) -> float:
    """wrk prints times as '402.00us', '1.04ms', '2.00s', '1.50m'."""
    if unit not in TIME_UNITS_US:
        raise WrkError(f"unknown time unit {unit!r} in wrk output")
    return float(value) * TIME_UNITS_US[unit]


@dataclass(frozen=True)
class Slice:
    """One short wrk run of a series, with when it ran (monotonic seconds)."""

    started: float
    ended: float
    result: WrkResult


def run_slice(
    url: str,
    bodies: Path,
    headers: Mapping[str, str],
    settings: WrkSettings,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> Slice:
    """A wrk run stamped with its start and end, for a series of them (`p99 while
    loading`, the soak)."""
    started = time.monotonic()
    result = run_wrk(url, bodies, headers, settings, script, script_args)
    return Slice(started, time.monotonic(), result)


def worst_slice_p99_us(slices: Sequence[Slice]) -> float:
    """The p99 of the worst slice: wrk cannot merge runs, so we take the pessimistic one."""
    return max(piece.result.p99_us for piece in slices)

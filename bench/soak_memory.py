"""The memory of the server's processes, at the start and the end of the soak.

RSS counts every page a process has mapped, including the data files it maps: the
index pages that lookups touch, and the new segments that loads and compactions bring,
are page cache, shared by the workers and given back by the kernel when it needs them.
PSS splits those shared pages between the processes that map them. Neither says leak by
itself. The anonymous memory (smaps_rollup `Anonymous`: the Python heap, buffers) is
what a leak grows, so it is the figure a process is judged by: growth beyond
NOISE_KIB and NOISE_SHARE is flagged.

A worker that swaps to a new generation must also let go of the old one: files that a
compaction removed but a worker still maps (`(deleted)` in /proc/PID/maps, under the
served directory) are disk space and memory never given back, so they are counted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOISE_KIB = 16 * 1024
NOISE_SHARE = 0.10
"""Anonymous memory may grow by this much (the larger of the two) before it is flagged:
the allocator's arenas and aiohttp's buffers move by a few MiB from one moment to the
next, a leak keeps growing with the traffic."""


@dataclass(frozen=True)
class Footprint:
    """One process's memory at one moment, in KiB (smaps_rollup), and how many removed
    data files it still maps."""

    rss_kib: int
    pss_kib: int
    anon_kib: int
    deleted_maps: int


@dataclass(frozen=True)
class Change:
    """One process's memory at the start and the end; `end` is None if it was gone."""

    role: str
    pid: int
    start: Footprint
    end: Footprint | None

    @property
    def anon_growth_kib(self) -> int:
        return 0 if self.end is None else self.end.anon_kib - self.start.anon_kib

    @property
    def grew(self) -> bool:
        """Anonymous memory grew beyond the noise."""
        allowed = max(NOISE_KIB, NOISE_SHARE * self.start.anon_kib)
        return self.anon_growth_kib > allowed

    def verdict(self) -> str:
        if self.end is None:
            return "GONE (the process ended during the soak)"
        flags = []
        if self.grew:
            flags.append(f"GROWS: anon +{mib(self.anon_growth_kib)}")
        if self.end.deleted_maps:
            flags.append(f"MAPS {self.end.deleted_maps} removed file(s)")
        return "; ".join(flags) or "ok"


def footprint(pid: int, served: Path) -> Footprint | None:
    """The process's memory now, or None if it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None
    fields = _kib_fields(rollup)
    return Footprint(
        rss_kib=fields["Rss"],
        pss_kib=fields["Pss"],
        anon_kib=fields["Anonymous"],
        deleted_maps=deleted_mappings(maps, served),
    )


def _kib_fields(rollup: str) -> dict[str, int]:
    """'Rss:  1608 kB' lines -> {'Rss': 1608}."""
    fields = {}
    for line in rollup.splitlines():
        name, _, rest = line.partition(":")
        value = rest.split()
        if len(value) == 2 and value[1] == "kB":
            fields[name] = int(value[0])
    return fields


def deleted_mappings(maps: str, served: Path) -> int:
    """Distinct files under `served` that are mapped but no longer exist."""
    prefix = str(served.resolve()) + "/"
    deleted = set()
    for line in maps.splitlines():
        if not line.endswith(" (deleted)"):
            continue
        path = line.split(maxsplit=5)[-1].removesuffix(" (deleted)")
        if path.startswith(prefix):
            deleted.add(path)
    return len(deleted)


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"

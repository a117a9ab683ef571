"""The soak's traffic: single checks, passport scans and small batches, mixed in one list.

A border's traffic is not one kind of request: terminals send single checks, gates send
passport scans (POST /v1/screen/mrz), and small passenger lists come as batches. The soak
sends all three through the same connections, in fixed proportions, so that a leak or a
stall on any route shows. The bodies are the HTTP bench's (bench/http_bodies.py: built
from the served data, half hits the key may see, half misses) and are checked the same
way before the clock starts.

The mix is written as one list, a line per request ("ROUTE<TAB>CONTENT-TYPE<TAB>FILE"),
that bench/soak_paced.lua reads for wrk and the pure-Python driver reads too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bench.http_bodies import (
    BodySet,
    open_sltd,
    sample_queries,
    write_batches,
    write_mrz,
    write_singles,
)

SHARES = {"single": 7, "mrz": 2, "batch": 1}
"""Requests of each kind in every 10: mostly terminals, some gates, a few lists."""
SINGLES = 400
BATCHES = 40
BATCH_SIZE = 20
"""A small passenger list (msgpack): the batch path without the bench's 1,000-query load."""
LISTING = "mix.list"


@dataclass(frozen=True)
class MixRequest:
    """One request of the mix, as the pure-Python driver sends it."""

    route: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Mix:
    kinds: dict[str, BodySet]
    listing: Path
    """One line per request, in the order they are sent."""

    def requests(self) -> list[MixRequest]:
        """The listing read back: what the Python driver sends, in the same order as wrk."""
        requests = []
        for line in self.listing.read_text().splitlines():
            route, content_type, path = line.split("\t")
            requests.append(MixRequest(route, content_type, Path(path).read_bytes()))
        return requests

    def describe(self) -> str:
        total = sum(SHARES.values())
        parts = {
            "single": "single checks (JSON)",
            "mrz": "MRZ scans (JSON)",
            "batch": f"batches of {BATCH_SIZE} (msgpack)",
        }
        return ", ".join(f"{SHARES[kind] / total:.0%} {parts[kind]}" for kind in SHARES)


def write_mix(data_dir: Path, folder: Path, viewer: str, seed: int = 5) -> Mix:
    """Bodies of the three kinds from the data in `data_dir`, and the mixed listing."""
    snapshot = open_sltd(data_dir)
    singles = sample_queries(snapshot, SINGLES, viewer, seed=seed)
    listed = sample_queries(snapshot, BATCHES * BATCH_SIZE, viewer, seed=seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {
        "single": write_singles(singles, folder),
        "mrz": write_mrz(singles, folder),
        "batch": write_batches(listed, BATCH_SIZE, folder),
    }
    listing = folder / LISTING
    listing.write_text("".join(_lines(kinds, random.Random(seed))))
    return Mix(kinds, listing)


def _lines(kinds: dict[str, BodySet], chance: random.Random) -> list[str]:
    """Rounds of 10 requests in SHARES proportions, each round shuffled, cycling through
    each kind's bodies, until every body has been listed at least once."""
    rounds = max(
        -(-len(bodies.paths) // SHARES[kind]) for kind, bodies in kinds.items()
    )  # ceiling division: enough rounds for the kind with the most bodies per share
    lines = []
    for round_number in range(rounds):
        batch = []
        for kind, share in SHARES.items():
            bodies = kinds[kind]
            for offset in range(share):
                path = bodies.paths[(round_number * share + offset) % len(bodies.paths)]
                batch.append(f"{bodies.path}\t{bodies.content_type}\t{path.resolve()}\n")
        chance.shuffle(batch)
        lines += batch
    return lines

"""The request bodies of the HTTP bench, built from the data being served.

Why from the data: a hit must be a record the server holds (and the caller may see), a
miss a number that looks like a real one but is not stored, so both paths of the lookup
are exercised as a terminal would. Half hits, half misses: a real border is nearly all
misses, and a hit also costs the record's decoding, so this mix flatters no one.

Bodies are written one per file and listed in a text file that bench/rotate.lua reads;
msgpack bodies are bytes, and wrk sends them as they are. The bare aiohttp candidate
gets the stored numbers as a text file (one per line) to build its dict from.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import msgpack
import numpy as np
import orjson

from indexes import Snapshot, open_snapshot
from indexes.snapshot import SegmentCache
from screening.mrz import Document, compose

DB = "SLTD"
HIT_SHARE = 0.5
MRZ_NUMBER = 9
MISS_TRIES = 50
"""Attempts to turn a stored number into one that is not stored; collisions are rare."""


@dataclass(frozen=True)
class Query:
    number: str
    country: str
    hit: bool

    def as_json(self) -> dict[str, str]:
        return {"db": DB, "number": self.number, "country": self.country}


@dataclass(frozen=True)
class BodySet:
    """Body files of one kind, and what answers they should get (for the preflight check)."""

    listing: Path
    paths: list[Path]
    expected_hits: list[list[bool]]
    queries_per_body: int
    content_type: str
    path: str = "/v1/screen"
    """The route the bodies go to."""
    columnar: bool = False
    """Columnar bodies, answered with one `hit` list rather than `results`."""


def open_sltd(data_dir: Path) -> Snapshot:
    """The served SLTD snapshot, mapped without verifying (the server verifies)."""
    return open_snapshot(data_dir / DB, DB, SegmentCache(verify=False))


def sample_queries(
    snapshot: Snapshot, count: int, viewer: str, seed: int, hit_share: float = HIT_SHARE
) -> list[Query]:
    """`count` queries, `hit_share` of them (at least one) hits the viewer may see, shuffled."""
    chance = random.Random(seed)
    hits = list(_stored(snapshot, max(1, round(count * hit_share)), viewer, chance))
    misses = [_miss_of(snapshot, chance.choice(hits), chance) for _ in range(count - len(hits))]
    queries = hits + misses
    chance.shuffle(queries)
    return queries


def _stored(snapshot: Snapshot, count: int, viewer: str, chance: random.Random) -> Iterator[Query]:
    """Random live records `viewer` may see, as queries (number and issuing state)."""
    parts = [(index, part) for index, part in enumerate(snapshot.parts) if part.segment.records]
    if not parts or count == 0:
        return
    weights = [part.segment.records for _, part in parts]
    produced, attempts = 0, 0
    while produced < count:
        attempts += 1
        if attempts > count * 100:
            raise ValueError(f"{DB}: too few records visible to {viewer} to sample {count}")
        index, part = chance.choices(parts, weights)[0]
        record = chance.randrange(part.segment.records)
        if not part.is_live(record, viewer):
            continue
        identity, _ = snapshot.record(index, record)
        number, country, _owner = identity.decode().split("\x1f")
        produced += 1
        yield Query(number, country, hit=True)


def _miss_of(snapshot: Snapshot, model: Query, chance: random.Random) -> Query:
    """A number shaped like a stored one (same length and state) that nothing holds."""
    for _ in range(MISS_TRIES):
        tail = "".join(chance.choice("0123456789") for _ in range(min(4, len(model.number))))
        number = model.number[: -len(tail)] + tail
        if not snapshot.find(number.encode()):
            return Query(number, model.country, hit=False)
    raise ValueError(f"could not make a miss out of {model.number}")


def json_body(queries: Sequence[Query]) -> bytes:
    return orjson.dumps({"queries": [query.as_json() for query in queries]})


def msgpack_body(queries: Sequence[Query]) -> bytes:
    packed: bytes = msgpack.packb(
        {"queries": [query.as_json() for query in queries]}, use_bin_type=True
    )
    return packed


def columns_body(queries: Sequence[Query]) -> bytes:
    """The columnar batch (screening/columns.py) in msgpack, each column in its text form
    (the values joined by newlines: one string to decode rather than one a value)."""
    columns = {
        "number": "\n".join(query.number for query in queries),
        "country": "\n".join(query.country for query in queries),
    }
    packed: bytes = msgpack.packb({"db": DB, "columns": columns}, use_bin_type=True)
    return packed


def write_singles(queries: Sequence[Query], folder: Path) -> BodySet:
    """One JSON body per query: the terminal's request."""
    bodies = [json_body([query]) for query in queries]
    expected = [[query.hit] for query in queries]
    return write_bodies(folder, "single", ".json", bodies, expected, 1, "application/json")


def mrz_zone(query: Query) -> str:
    """A TD3 passport zone for the query's document (holder fields are made up)."""
    document = Document(
        format="TD3", type="P", country=query.country, number=query.number,
        surname="ERIKSSON", given_names="ANNA MARIA", nationality=query.country,
        birth_date="1974-08-12", sex="F", expiry_date="2031-04-15",
    )  # fmt: skip
    return "\n".join(compose(document))


def write_mrz(queries: Sequence[Query], folder: Path) -> BodySet:
    """One JSON body per passport scan: the e-gate's request to /v1/screen/mrz.

    Only numbers a TD3 zone can hold (9 characters or fewer) are used."""
    usable = [query for query in queries if len(query.number) <= MRZ_NUMBER]
    bodies = [orjson.dumps({"mrz": mrz_zone(query)}) for query in usable]
    expected = [[query.hit] for query in usable]
    written = write_bodies(folder, "mrz", ".json", bodies, expected, 1, "application/json")
    return replace(written, path="/v1/screen/mrz")


def write_batches(queries: Sequence[Query], size: int, folder: Path) -> BodySet:
    """msgpack bodies of `size` queries each: an e-gate bank or a passenger list."""
    groups = [queries[start : start + size] for start in range(0, len(queries), size)]
    groups = [group for group in groups if len(group) == size]
    if not groups:
        raise ValueError(f"fewer than {size} queries: no full batch")
    bodies = [msgpack_body(group) for group in groups]
    expected = [[query.hit for query in group] for group in groups]
    return write_bodies(folder, "batch", ".msgpack", bodies, expected, size, "application/msgpack")


def write_columns(queries: Sequence[Query], size: int, folder: Path, name: str) -> BodySet:
    """Columnar msgpack bodies of `size` rows each, the same rows `write_batches` sends
    as maps, so the two columns of the table differ only by the body's shape."""
    groups = [queries[start : start + size] for start in range(0, len(queries), size)]
    groups = [group for group in groups if len(group) == size]
    if not groups:
        raise ValueError(f"fewer than {size} queries: no full batch")
    bodies = [columns_body(group) for group in groups]
    expected = [[query.hit for query in group] for group in groups]
    written = write_bodies(folder, name, ".msgpack", bodies, expected, size, "application/msgpack")
    return replace(written, columnar=True)


def write_bodies(
    folder: Path,
    name: str,
    suffix: str,
    bodies: Sequence[bytes],
    expected: list[list[bool]],
    per_body: int,
    content_type: str,
) -> BodySet:
    directory = folder / name
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{number:05d}{suffix}" for number in range(len(bodies))]
    for path, body in zip(paths, bodies, strict=True):
        path.write_bytes(body)
    listing = folder / f"{name}.list"
    listing.write_text("".join(f"{path.resolve()}\n" for path in paths))
    return BodySet(listing, paths, expected, per_body, content_type)


def write_numbers(snapshot: Snapshot, out: Path) -> int:
    """Every stored lookup key (the normalised number), one per line; returns the count.

    Read straight from each segment's key section (`Segment.stored_keys`) with numpy:
    decoding every record in Python would take longer than the bench itself at 10 million
    records.
    """
    total = 0
    with open(out, "wb") as handle:
        for part in snapshot.parts:
            stored, lengths = part.segment.stored_keys()
            keys = np.frombuffer(stored, dtype=np.uint8)
            count = len(lengths)
            if count <= 0:
                continue
            ends = np.cumsum(lengths, dtype=np.uint64).astype(np.int64)
            lines = np.insert(keys, ends, ord("\n"))
            handle.write(lines.tobytes())
            total += count
    return total

"""Fixtures of the storage engine's tests (tests/indexes/).

Strategy:

- Every test builds the files it reads, in its own `tmp_path` (or, inside hypothesis state
  machines, which take no fixtures, a `tempfile.mkdtemp` removed at teardown). No database
  is shared between tests and none is checked in.
- The one golden file is not stored either: `test_format_doc.py` rebuilds it from the
  recipe printed in indexes/FORMAT.md and compares it with the length, digest and hex dump
  printed there, so the page and the bytes cannot drift apart.
- `small_db` is two generations of ten records with every feature of the format in them
  (extra keys, the empty key, restricted records, a record visible to nobody, tombstones,
  two segments); record N has identity `id-N` and primary key `key-N`.
- Hypothesis draws keys from tiny alphabets and short lengths, so duplicates, shared
  prefixes and the empty key come up in most examples.
- `constant_hash` replaces xxh3_64 by one constant in every `indexes` module that bound
  `key_hash` or `hash_keys`, parametrised over a middle value, 0 and 2**64 - 1: every key
  then lands in one run of slots and only the stored key can tell them apart (STYLE.md,
  practice 4). Checksums keep the real xxh3 (they call `xxhash` directly). The patch is the
  same for every example of a hypothesis test, so sharing this function-scoped fixture
  across examples is safe; tests that do so suppress that health check by name.
- Provenance of the hash's known answers: xxHash's own sanity vectors (test_hash_index.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import xxhash

from indexes import Deletion, Record, Writer  # imports every engine module, to patch

CONSTANT_HASHES = (0x5555_5555_AAAA_AAAA, 0, 0xFFFF_FFFF_FFFF_FFFF)
DB = "SLTD"


def _record(number: int, data: int, *extra: bytes, viewers: frozenset[str] | None = None) -> Record:
    return Record(f"id-{number}".encode(), (f"key-{number}".encode(), *extra), data, viewers)


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    """The directory of one database, not created yet (the first Writer creates it)."""
    return tmp_path / DB


@pytest.fixture(params=CONSTANT_HASHES, ids=lambda value: f"hash={value:#x}")
def constant_hash(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every key hashes to `request.param`, in every engine module; returns that value."""
    value: int = request.param

    def key_hash(data: bytes) -> int:
        return value

    def hash_keys(keys: Sequence[bytes]) -> np.ndarray:
        return np.full(len(keys), value, dtype=np.uint64)

    import indexes.hash_index as hash_index

    # The compiled probe hashes in C, out of this patch's reach: segments opened under it
    # take the Python path (tests/indexes/test_probe*.py feed the C path equal hashes).
    monkeypatch.setenv(hash_index.PROBE_ENV, "python")
    real_key_hash, real_hash_keys = xxhash.xxh3_64_intdigest, hash_index.hash_keys
    patched = set()
    for name, module in list(sys.modules.items()):
        if name != "indexes" and not name.startswith("indexes."):
            continue
        if getattr(module, "key_hash", None) is real_key_hash:
            monkeypatch.setattr(module, "key_hash", key_hash)
            patched.add(name)
        if getattr(module, "hash_keys", None) is real_hash_keys:
            monkeypatch.setattr(module, "hash_keys", hash_keys)
            patched.add(name)
    assert "indexes.hash_index" in patched, "the hash injection reached nothing"
    return value


@pytest.fixture
def small_db(db_dir: Path) -> Path:
    """Generation 1: records 0-9; generation 2: 2 deleted, 4 replaced, 10 added.

    Record 3 has the extra keys `shared` and the empty key, record 8 the key `shared` too;
    5 is visible to FRA only, 7 to nobody. Generation 2 leaves two segments and a tombstone
    file for the first.
    """
    extra_keys = {3: (b"shared", b""), 8: (b"shared",)}
    viewers = {5: frozenset({"FRA"}), 7: frozenset[str]()}
    with Writer(db_dir, DB) as writer:
        writer.upsert(
            [_record(n, n, *extra_keys.get(n, ()), viewers=viewers.get(n)) for n in range(10)]
        )
        writer.commit()
    with Writer(db_dir, DB) as writer:
        assert writer.delete([Deletion(b"id-2", b"key-2")]) == [1]
        writer.upsert([_record(4, 40), _record(10, 10)])
        writer.commit()
    return db_dir

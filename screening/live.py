"""Live data: what a worker serves, and the watcher that swaps in new loads and keys.

Every `poll_interval` (0.5 s) the watcher stats each database's manifest and the key file
on a thread of its own (so big batches busy on the default executor never delay it). What
changed is mapped, verified and made ready for lookups there too (the compiled probe is
built before the swap, not by the first request after it), so the event loop never waits
on a file; the loop then swaps the new snapshot in between two requests. A query already
running keeps the snapshot it started with.

A new generation that fails its checks is refused with one log line naming the file and
why; the previous one keeps serving, and the next publish is tried afresh.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from indexes import IndexStoreError, NoDatabaseError, Snapshot
from screening.data import Data, Stamp
from screening.http_errors import UnavailableError
from screening.keys import ApiKey, KeyFileError, KeyRing, key_file_stamp, read_keys
from screening.keys import Stamp as KeyStamp
from screening.metrics import flush as flush_metrics
from screening.metrics import observe_data

log = logging.getLogger("screening.live")


@dataclass(frozen=True)
class DatabaseChange:
    code: str
    stamp: Stamp
    snapshot: Snapshot | None = None
    refused: str | None = None
    withdraw: bool = False
    """Stop serving this database at all (its served files failed verification)."""


@dataclass(frozen=True)
class KeysChange:
    stamp: KeyStamp
    keys: dict[str, ApiKey] | None = None
    refused: str | None = None


@dataclass(frozen=True)
class Changes:
    databases: list[DatabaseChange] = field(default_factory=list)
    keys: KeysChange | None = None


class Live:
    """The worker's `Data` and `KeyRing`, and what the last checks refused.

    Startup maps the files without reading them (cold start does not grow with the data);
    the first check on the watcher thread then reads every checksum, and a database whose
    files fail is withdrawn from service with an error in the log. Every later generation
    is verified before it is swapped in.
    """

    def __init__(self, directory: Path, keys_file: Path) -> None:
        self.data = Data(directory, verify=False, refresh=False)
        self.verified = False
        self.keys = KeyRing(keys_file)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-watch")
        self.ready = False
        self.refused: dict[str, str] = {}
        """database code (or 'keys') -> why its newest version is not served."""

    def current(self) -> Data:
        """The data to answer from; 503 until the first mapping is done."""
        if not self.ready:
            raise UnavailableError("starting: the indexes are not mapped yet", {"Retry-After": "1"})
        return self.data

    def check(self) -> Changes:
        """Stat, map and verify what changed, on a thread; serves nothing new by itself."""
        databases = self._verify_startup() if self.ready and not self.verified else []
        for code, stamp in self.data.stale().items():
            if stamp is None:
                databases.append(DatabaseChange(code, None))
                continue
            try:
                snapshot = self.data.reopen(code)
            except NoDatabaseError:
                continue  # removed between the stat and the read: look again next time
            except (IndexStoreError, OSError) as error:
                databases.append(DatabaseChange(code, stamp, refused=str(error)))
            else:
                snapshot.prepare()
                databases.append(DatabaseChange(code, stamp, snapshot))
        return Changes(databases, self._check_keys())

    def _verify_startup(self) -> list[DatabaseChange]:
        """The checksums startup skipped: databases that fail them are withdrawn."""
        failed = self.data.verify_now()
        for snapshot in list(self.data.snapshots.values()):
            snapshot.prepare()
        self.verified = True
        return [
            DatabaseChange(code, self.data.stamp_of(code), refused=why, withdraw=True)
            for code, why in failed.items()
        ]

    def _check_keys(self) -> KeysChange | None:
        stamp = key_file_stamp(self.keys.path)
        if self.keys.is_current(stamp):
            return None
        try:
            return KeysChange(stamp, read_keys(self.keys.path))
        except KeyFileError as error:
            return KeysChange(stamp, refused=str(error))

    def apply(self, changes: Changes) -> None:
        """Swap in what `check` found; runs on the event loop, between requests."""
        for change in changes.databases:
            self._apply_database(change)
        if changes.databases or not self.ready:
            observe_data(self.data.snapshots)
        if changes.keys is not None:
            self._apply_keys(changes.keys)
        self.ready = True

    def _apply_database(self, change: DatabaseChange) -> None:
        code = change.code
        old = self.data.snapshots.get(code)
        serving = f"generation {old.generation}" if old else "nothing"
        if change.withdraw:
            self.data.install(code, change.stamp, None)
            self.refused[code] = change.refused or ""
            log.error(
                "%s: served files fail their checks: %s; no longer serving %s",
                code,
                change.refused,
                code,
            )
            return
        if change.refused is not None:
            self.data.skip(code, change.stamp)
            self.refused[code] = change.refused
            log.error("%s: new data refused: %s; still serving %s", code, change.refused, serving)
            return
        self.data.install(code, change.stamp, change.snapshot)
        self.refused.pop(code, None)
        if change.snapshot is None:
            if old is not None:
                log.warning("%s: manifest removed; no longer serving %s", code, serving)
        else:
            snapshot = change.snapshot
            log.info(
                "%s: serving generation %d (%s records), was %s",
                code,
                snapshot.generation,
                f"{snapshot.manifest.records:,}",
                serving,
            )

    def _apply_keys(self, change: KeysChange) -> None:
        self.keys.install(change.stamp, change.keys)
        if change.refused is not None:
            self.refused["keys"] = change.refused
            log.error(
                "keys: %s; still accepting the %d keys read before",
                change.refused,
                len(self.keys.keys),
            )
            return
        self.refused.pop("keys", None)
        if change.stamp is None:
            log.warning(
                "keys: no key file at %s: every request but /healthz gets a 401", self.keys.path
            )
        else:
            log.info("keys: %d keys from %s", len(self.keys.keys), self.keys.path)

    async def refresh(self) -> None:
        """One check on a thread, then the swap here."""
        loop = asyncio.get_running_loop()
        self.apply(await loop.run_in_executor(self._thread, self.check))

    async def watch(self, interval: float) -> None:
        """`refresh` every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            flush_metrics()
            try:
                await self.refresh()
            except Exception:  # a bug here must not stop the watching
                log.exception("checking for new data failed; trying again")

    def close(self) -> None:
        self._thread.shutdown()
        self.data.close()

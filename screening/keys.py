"""API keys: who may call the service, for which country, in which role.

A key is `scr_<id>_<secret>`: `id` (12 hex digits) finds its entry in the key file, and
`secret` carries 256 random bits. The file stores only the SHA-256 of the whole key, so a
copy of the file lets nobody in; a presented key is hashed and compared in constant time.
A key is printed once, when it is made, and never again.

The key file is JSON, `{"version": 1, "keys": [{"id", "name", "country", "role",
"sha256", "created", "created_by"}, ...]}`, replaced atomically (temp file, fsync, rename,
directory fsync) under an exclusive lock, so `screening keys add` and `POST /v1/keys` on
several workers never lose each other's keys. Workers re-read it when it changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from indexes.container import fsync_directory
from loaders.normalise import FieldError, state
from screening.errors import ScreeningError

ROLES = ("frontline", "ncb", "ops")
"""frontline: a border terminal, screens; ncb: a National Central Bureau, screens and makes
frontline keys for its own country; ops: operators, make any key."""

KEY_PREFIX = "scr"
KEY_FORMAT = re.compile(r"scr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
VERIFIED_CACHE = 10_000  # tokens remembered after a hash match; a revoked key empties it
NAME_FORMAT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,63}")
FILE_VERSION = 1

Stamp = tuple[int, int, int] | None


class KeyRequestError(ScreeningError):
    """A key cannot be made as asked (bad name, country or role; a duplicate name)."""

    code = "bad_request"
    status = 400


class KeyFileError(ScreeningError):
    """The key file cannot be read or written; the message names it and says why."""

    code = "keys_unavailable"
    status = 503


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    country: str
    role: str
    sha256: str
    created: str
    created_by: str | None = None

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(_digest(token), self.sha256)

    def public(self) -> dict[str, object]:
        """The entry without its hash, as `POST /v1/keys` answers it."""
        entry = asdict(self)
        del entry["sha256"]
        return entry


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_request(name: object, country: object, role: object) -> tuple[str, str, str]:
    """(name, country, role) normalised; `KeyRequestError` names the field that is wrong."""
    if not isinstance(name, str) or not NAME_FORMAT.fullmatch(name):
        raise KeyRequestError(
            "name: 1 to 64 letters, digits, spaces or . _ : @ / -, starting with a letter or digit"
        )
    if not isinstance(country, str):
        raise KeyRequestError("country: required, an ICAO 9303 state code such as 'FRA'")
    try:
        country = state(country)
    except FieldError as error:
        raise KeyRequestError(f"country: {error}") from None
    if role not in ROLES:
        raise KeyRequestError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    assert isinstance(role, str)
    return name, country, role


def add_key(
    path: Path, name: str, country: str, role: str, created_by: str | None = None
) -> tuple[str, ApiKey]:
    """Make a key and store its hash in `path` (created if missing): (the key, its entry)."""
    name, country, role = check_request(name, country, role)
    key_id, token = secrets.token_hex(6), secrets.token_urlsafe(32)
    token = f"{KEY_PREFIX}_{key_id}_{token}"
    entry = ApiKey(
        id=key_id,
        name=name,
        country=country,
        role=role,
        sha256=_digest(token),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        created_by=created_by,
    )
    with _locked(path):
        keys = read_keys(path)
        if any(k.name == name and k.country == country for k in keys.values()):
            raise KeyRequestError(f"name: {country} already has a key named {name!r}")
        keys[entry.id] = entry
        _write_keys(path, keys)
    return token, entry


def read_keys(path: Path) -> dict[str, ApiKey]:
    """The entries of a key file by id; a missing file holds no keys."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise KeyFileError(f"{path}: cannot read the key file: {error.strerror}") from None
    try:
        body = orjson.loads(raw)
        if body.get("version") != FILE_VERSION:
            raise ValueError(f"version {body.get('version')!r}, this build reads {FILE_VERSION}")
        entries = [ApiKey(**entry) for entry in body["keys"]]
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise KeyFileError(f"{path}: not a key file: {error}") from None
    return {entry.id: entry for entry in entries}


def _write_keys(path: Path, keys: Mapping[str, ApiKey]) -> None:
    body = {"version": FILE_VERSION, "keys": [asdict(entry) for entry in keys.values()]}
    raw = orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n"
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:  # mkstemp's mode: 0600, as a secret wants
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside the key file, held across read-modify-write."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise KeyFileError(f"{path}: cannot lock the key file: {error.strerror}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def key_file_stamp(path: Path) -> Stamp:
    """(inode, mtime_ns, size): an atomic replace always changes it."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


class KeyRing:
    """The keys a worker accepts, re-read from the file when its stamp changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys: dict[str, ApiKey] = {}
        self.stamp: Stamp = None
        self.loaded = False
        self._verified: dict[str, ApiKey] = {}

    def find(self, token: str) -> ApiKey | None:
        """The entry of a presented key, or None; the hash is compared in constant time.

        A terminal sends the same key with every request: once its hash has matched, the
        token maps straight to its entry (until the key file changes), which saves a
        SHA-256 and a regex on each of thousands of requests a second.
        """
        known = self._verified.get(token)
        if known is not None:
            return known
        parsed = KEY_FORMAT.fullmatch(token)
        if parsed is None:
            return None
        entry = self.keys.get(parsed.group(1))
        if entry is None or not entry.matches(token):
            return None
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.clear()
        self._verified[token] = entry
        return entry

    def is_current(self, stamp: Stamp) -> bool:
        """Whether `stamp` (from `key_file_stamp`) is the file these keys came from."""
        return self.loaded and stamp == self.stamp

    def install(self, stamp: Stamp, keys: dict[str, ApiKey] | None) -> None:
        """Accept `keys` from now on (None: keep the current ones until the file changes)."""
        if keys is not None:
            self.keys = keys
            self._verified = {}
        self.stamp = stamp
        self.loaded = True

"""Shared fixtures for the screening tests: a data directory loaded through the real loader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loaders.load import load
from loaders.readers import Upload
from screening.keys import add_key
from screening.settings import KEYS_FILE_NAME, Settings
from screening.testing import LocalClient, MakeClient, Serve, ServerProcess

HEADER = "number,country,status,type,visible_to\n"

# (owner, rows): L898902C3 is the ICAO specimen; DUP1 is issued by two states; R1 is
# restricted to GBR (and its owner); N000..N149 fill batches.
UPLOADS: tuple[tuple[str, str], ...] = (
    (
        "UTO",
        "L898902C3,UTO,stolen,P,\n"
        "DUP1,UTO,lost,P,\n"
        "R1,UTO,stolen,P,GBR\n" + "".join(f"N{i:03d},UTO,stolen,,\n" for i in range(150)),
    ),
    ("FRA", "DUP1,FRA,revoked,I,\nX1,FRA,lost,,\n"),
)

LoadRows = Callable[[Path, str, str], None]


def _load_rows(data: Path, owner: str, rows: str) -> None:
    """Load CSV rows (after the HEADER) as `owner`; every row must be accepted."""
    folder = data.parent / "uploads"
    folder.mkdir(exist_ok=True)
    source = folder / f"{owner}-{len(list(folder.iterdir()))}.csv"
    source.write_text(HEADER + rows, encoding="utf-8")
    result = load(data, "SLTD", owner, [Upload.of(str(source))])
    assert result.rejected == 0, result.summary()


@pytest.fixture
def load_rows() -> LoadRows:
    return _load_rows


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A data directory with the UPLOADS loaded, one load per owner."""
    data = tmp_path / "data"
    for owner, rows in UPLOADS:
        _load_rows(data, owner, rows)
    return data


# --- The HTTP service (test_server*.py, test_keys*.py) ----------------------------------
#
# Strategy: read-only tests share one data directory (UPLOADS, loaded once per session by
# the real loader) and one key file with a key per (role, country) of API_KEYS, served in
# process by a module-scoped `http` client: fast enough for hypothesis. Tests that change
# data or keys get their own client (`make_client`) or real processes (`serve`), which are
# always stopped at teardown.

API_KEYS: dict[str, tuple[str, str]] = {
    "fra": ("frontline", "FRA"),
    "gbr": ("frontline", "GBR"),
    "uto": ("frontline", "UTO"),
    "ncb_fra": ("ncb", "FRA"),
    "ops": ("ops", "XPO"),
}
"""name -> (role, country) of the session's keys; R1 of UPLOADS is visible to GBR and UTO."""


def make_keys(path: Path) -> dict[str, str]:
    """One key per API_KEYS entry in the key file `path`: name -> key."""
    return {
        name: add_key(path, name, country, role)[0] for name, (role, country) in API_KEYS.items()
    }


@pytest.fixture(scope="session")
def served_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("served") / "data"
    for owner, rows in UPLOADS:
        _load_rows(data, owner, rows)
    return data


@pytest.fixture(scope="session")
def api_keys(served_data: Path) -> dict[str, str]:
    return make_keys(served_data / KEYS_FILE_NAME)


@pytest.fixture(scope="module")
def http(served_data: Path, api_keys: dict[str, str]) -> Iterator[LocalClient]:
    client = LocalClient(Settings(data=served_data))
    yield client
    client.close()


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """`make_client(data=DIR, **settings)`: an in-process service, closed at teardown."""
    clients: list[LocalClient] = []

    def make(**settings: Any) -> LocalClient:
        clients.append(LocalClient(Settings(**settings)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """`serve(*args)`: `screening serve ARGS` as real processes, killed at teardown."""
    servers: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        servers.append(ServerProcess(list(args), tmp_path / f"server-{len(servers)}"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop(timeout=15)


@pytest.fixture(autouse=True)
def _keep_pytest_scheduled(monkeypatch: pytest.MonkeyPatch) -> None:
    """`screening load` and `compact` run in process here (screening.cli.main): their
    `yield_to_lookups` would lower pytest itself to SCHED_IDLE for the rest of the run."""
    monkeypatch.setattr("screening.cli.yield_to_lookups", lambda: None)

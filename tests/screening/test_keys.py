"""API keys (screening/keys.py) and `screening keys add`: made once, stored as a hash."""

from __future__ import annotations

import hashlib
import stat
import threading
from pathlib import Path

import orjson
import pytest

from screening.cli import main
from screening.keys import (
    KeyFileError,
    KeyRequestError,
    KeyRing,
    add_key,
    key_file_stamp,
    read_keys,
)


def ring_of(path: Path) -> KeyRing:
    ring = KeyRing(path)
    ring.install(key_file_stamp(path), read_keys(path))
    return ring


def test_the_file_stores_only_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    token, entry = add_key(path, "gate-3", "fra", "frontline")
    assert entry.country == "FRA" and entry.role == "frontline" and entry.name == "gate-3"
    text = path.read_text()
    secret = token.rsplit("_", 1)[1]
    assert token not in text and secret not in text
    assert hashlib.sha256(token.encode()).hexdigest() in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    body = orjson.loads(text)
    assert body["version"] == 1
    assert set(body["keys"][0]) == {
        "id", "name", "country", "role", "sha256", "created", "created_by"
    }  # fmt: skip


def test_a_key_carries_256_random_bits(tmp_path: Path) -> None:
    token, entry = add_key(tmp_path / "keys.json", "gate-3", "FRA", "frontline")
    prefix, key_id, secret = token.split("_", 2)
    assert prefix == "scr" and key_id == entry.id and len(secret) == 43  # 32 bytes, base64url


def test_find(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    token, entry = add_key(path, "gate-3", "FRA", "frontline")
    other, _ = add_key(path, "gate-4", "FRA", "frontline")
    ring = ring_of(path)
    assert ring.find(token) == entry
    assert ring.find(other) != entry
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert ring.find(flipped) is None
    assert ring.find(token.replace(entry.id, "0" * 12)) is None
    for junk in ("", "scr", token + "x", token.upper(), "Bearer " + token):
        assert ring.find(junk) is None


def test_names_are_unique_per_country(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    add_key(path, "gate-1", "FRA", "frontline")
    add_key(path, "gate-1", "GBR", "frontline")
    with pytest.raises(KeyRequestError, match="FRA already has a key named 'gate-1'"):
        add_key(path, "gate-1", "FRA", "ncb")
    assert len(read_keys(path)) == 2


@pytest.mark.parametrize(
    ("name", "country", "role", "field"),
    [
        ("", "FRA", "frontline", "name"),
        ("a\nb", "FRA", "frontline", "name"),
        ("x" * 65, "FRA", "frontline", "name"),
        ("gate", "ZZZ", "frontline", "country"),
        ("gate", "FRA", "admin", "role"),
    ],
)
def test_bad_requests_name_the_field(
    tmp_path: Path, name: str, country: str, role: str, field: str
) -> None:
    with pytest.raises(KeyRequestError, match=f"^{field}:"):
        add_key(tmp_path / "keys.json", name, country, role)
    assert not (tmp_path / "keys.json").exists()


def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"

    def add_some(worker: int) -> None:
        for number in range(5):
            add_key(path, f"gate-{worker}-{number}", "FRA", "frontline")

    threads = [threading.Thread(target=add_some, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(read_keys(path)) == 40
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".keys.json.lock")] == [
        "keys.json"
    ]  # no temp files left behind


def test_a_broken_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    assert read_keys(path) == {}
    for content in (b"{", b"[]", b'{"version": 2, "keys": []}', b'{"version": 1, "keys": [1]}'):
        path.write_bytes(content)
        with pytest.raises(KeyFileError, match=f"^{path}: not a key file"):
            read_keys(path)
        with pytest.raises(KeyFileError):
            add_key(path, "gate", "FRA", "frontline")
        assert path.read_bytes() == content  # left alone


# --- screening keys add ----------------------------------------------------------------


def test_cli_prints_the_key_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.json"
    args = ["keys", "add", "--keys", str(path), "--name", "gate-3", "--country", "GBR"]
    assert main([*args, "--role", "frontline"]) == 0
    out, err = capsys.readouterr()
    [token] = out.splitlines()
    assert ring_of(path).find(token) is not None
    assert "not shown again" in err and token not in err
    assert main([*args, "--role", "frontline"]) == 2  # the same name again
    assert "already has a key named" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        (["--country", "ZZZ", "--role", "ncb"], 2),
        (["--country", "FRA", "--role", "king"], 2),
        (["--country", "FRA"], 2),
    ],
)
def test_cli_usage_errors(tmp_path: Path, extra: list[str], status: int) -> None:
    path = tmp_path / "keys.json"
    with pytest.raises(SystemExit) as exited:
        code = main(["keys", "add", "--keys", str(path), "--name", "g", *extra])
        raise SystemExit(code)
    assert exited.value.code == status
    assert not path.exists()


def test_cli_broken_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.json"
    path.write_text("nope")
    args = ["keys", "add", "--keys", str(path), "--name", "g", "--country", "FRA"]
    assert main([*args, "--role", "ops"]) == 1
    assert f"{path}: not a key file" in capsys.readouterr().err

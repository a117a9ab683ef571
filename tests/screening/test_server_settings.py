"""`screening serve`'s settings and start-up errors (screening/settings.py, server.py)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from indexes import FormatVersionError
from screening import demo
from screening import settings as settings_module
from screening.cli import main
from screening.demo import KEYS_TEXT, MARKER, instructions, prepare_demo
from screening.keys import KeyRing, key_file_stamp, read_keys
from screening.matchers import MATCHER_MODULES
from screening.server import EXIT_CANNOT_START, run_worker
from screening.settings import Settings
from screening.testing import free_port

SERVING = Path(settings_module.__file__).with_name("SERVING.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("option", "text"), settings_module.options())
def test_every_setting_is_documented(option: str, text: str) -> None:
    assert f"| `{option}" in SERVING, f"{option} is missing from screening/SERVING.md"
    assert text


def test_every_documented_option_exists() -> None:
    documented = {
        line.split("`")[1].split()[0] for line in SERVING.splitlines() if line.startswith("| `--")
    }
    assert documented == {option for option, _ in settings_module.options()}


def test_defaults_match_the_contract() -> None:
    settings = Settings(data=Path("d"))
    assert (settings.host, settings.port, settings.max_batch) == ("127.0.0.1", 8080, 10_000)
    assert settings.keys_file == Path("d/keys.json")
    assert Settings(demo=True).check().data_dir == Path("demo-data")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--data", ".", "--workers", "0"],
        ["--data", ".", "--max-batch", "-1"],
        ["--data", ".", "--port", "70000"],
        ["--data", ".", "--poll-interval", "0"],
        ["--demo", "--keys", "k.json"],
        ["--data", ".", "--workers", "many"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(["serve", *args])
    except SystemExit as exited:  # argparse's own errors
        status = int(str(exited.code))
    assert status == 2
    assert "screening" in capsys.readouterr().err


def test_missing_data_directory_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--data", str(tmp_path / "nowhere")]) == 1
    assert "no such data directory" in capsys.readouterr().err


def test_broken_key_file_exits_1(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (loaded / "keys.json").write_text("{", encoding="utf-8")
    assert main(["serve", "--data", str(loaded)]) == 1
    assert "not a key file" in capsys.readouterr().err


def test_port_in_use_exits_1(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["serve", "--data", str(loaded), "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# --- the demo data set ---------------------------------------------------------------------


def test_demo_is_built_once(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    built = prepare_demo(directory, records=500)
    assert built.built and {key.role for key in built.keys} == {"frontline", "ncb", "ops"}
    assert (directory / MARKER).exists() and (directory / "SLTD" / "MANIFEST").exists()
    assert not list(tmp_path.glob(".demo.building*"))
    assert (directory / KEYS_TEXT).stat().st_mode & 0o077 == 0
    ring = KeyRing(directory / "keys.json")
    ring.install(key_file_stamp(ring.path), read_keys(ring.path))
    assert all(ring.find(key.key) is not None for key in built.keys)
    manifest = (directory / "SLTD" / "MANIFEST").stat().st_mtime_ns
    again = prepare_demo(directory, records=500)
    assert not again.built and again.keys == built.keys
    assert (directory / "SLTD" / "MANIFEST").stat().st_mtime_ns == manifest
    text = instructions(again, "0.0.0.0", 8080)
    frontline = next(key for key in built.keys if key.role == "frontline")
    assert (
        f"curl -s http://127.0.0.1:8080/v1/screen -H 'Authorization: Bearer {frontline.key}'"
        in (text)
    )


def test_demo_refuses_a_directory_of_something_else(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--demo", "--data", str(loaded)]) == 1
    assert "is not a demo data set" in capsys.readouterr().err


def test_a_demo_of_an_older_format_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` after an upgrade of the engine: the old demo's files would be refused."""
    directory = tmp_path / "demo"
    first = prepare_demo(directory, records=100)

    def written_by_version_1(folder: Path, *args: object) -> None:
        raise FormatVersionError(folder / "seg-000001.seg", 1, 0, 2)

    with monkeypatch.context() as old_build:
        old_build.setattr(demo, "open_snapshot", written_by_version_1)
        again = prepare_demo(directory, records=100)
    assert again.built and again.keys != first.keys
    assert not prepare_demo(directory, records=100).built  # readable now: reused


def test_an_interrupted_demo_build_starts_afresh(tmp_path: Path) -> None:
    leftover = tmp_path / ".demo.building"
    leftover.mkdir()
    (leftover / "junk").write_text("half a build", encoding="utf-8")
    assert prepare_demo(tmp_path / "demo", records=100).built
    assert not leftover.exists() and not (tmp_path / "demo" / "junk").exists()


# --- a worker that cannot start tells the supervisor so (exit 78), not a restart loop ----


def test_worker_without_its_data_cannot_start(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path / "gone", port=free_port())
    assert asyncio.run(run_worker(settings, 0)) == EXIT_CANNOT_START


def test_worker_without_its_port_cannot_start(loaded: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        settings = Settings(data=loaded, port=holder.getsockname()[1])
        assert asyncio.run(run_worker(settings, 0)) == EXIT_CANNOT_START


# --- a worker is ready for every kind of query before it listens -------------------------

MATCHERS_AT_LISTEN = """
import asyncio, os, signal, sys
from pathlib import Path
from screening.matchers import MATCHER_MODULES
from screening.server import run_worker
from screening.settings import Settings

async def main(data: str, port: int) -> int:
    async def look_once_listening() -> None:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            break
        print(" ".join(sorted(m for m in MATCHER_MODULES.values() if m in sys.modules)))
        os.kill(os.getpid(), signal.SIGTERM)

    looking = asyncio.create_task(look_once_listening())
    status = await run_worker(Settings(data=Path(data), port=port), 0)
    await looking
    return status

sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
"""


def test_a_worker_imports_every_matcher_before_it_listens(loaded: Path) -> None:
    """The name matcher's import (rapidfuzz, 15-90 ms) must not fall on the event loop at
    the first name query or /v1/databases: a fresh interpreter, as a spawned worker is."""
    run = subprocess.run(
        [sys.executable, "-c", MATCHERS_AT_LISTEN, str(loaded), str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == sorted(MATCHER_MODULES.values())

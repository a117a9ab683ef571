"""`screening serve --demo`: a demo data set of realistic size, built once, and demo keys.

The data set is `--demo-records` (1,000,000) synthetic SLTD records uploaded by FRA
(loaders/generate.py, then the real loader), plus the ICAO 9303 specimen passport
L898902C3 of Utopia, reported stolen by UTO; the UN Security Council list (tests/data) in
NOMINAL; and OTHER_RECORDS generated records in each of the other 17 databases, so an
officer trying any database gets answers, not `not_loaded`. Three keys are made, one
per role, and kept in plain text in DIR/demo-keys.txt so that a second start can print
them again: demo keys guard nothing. The set is built in a sibling directory and renamed
into place when complete, so an interrupted build is started afresh and never served
half-made; a directory that holds a finished build is reused as it is.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from indexes import FormatVersionError, SegmentCache, open_snapshot
from loaders.catalog import DATABASES
from loaders.generate import generate
from loaders.load import load
from loaders.readers import Upload
from screening.keys import add_key
from screening.settings import KEYS_FILE_NAME

log = logging.getLogger("screening.demo")

MARKER = ".demo-built"
KEYS_TEXT = "demo-keys.txt"
BULK_OWNER = "FRA"
SPECIMEN = {
    "number": "L898902C3", "country": "UTO", "type": "P", "status": "stolen",
    "reported_on": "2024-05-01",
}  # fmt: skip
SPECIMEN_OWNER = "UTO"
KEYS = (("frontline", "demo-gate", "GBR"), ("ncb", "demo-ncb", "UTO"), ("ops", "demo-ops", "XPO"))
"""(role, name, country) of the demo keys; XPO is INTERPOL's own ICAO code. The NCB is
Utopia's, so the printed curl line (a hit on its specimen) shows up in its `/v1/hits`."""
OTHER_RECORDS = 10_000
UN_LIST = Path(__file__).resolve().parents[1] / "tests/data/un-sc-consolidated-2018-10-29.xml"
"""The real UN list a clone carries; a demo built without it leaves it out, says so."""


class DemoError(Exception):
    """The demo directory holds something that is not a demo data set."""


@dataclass(frozen=True)
class DemoKey:
    role: str
    name: str
    country: str
    key: str


@dataclass(frozen=True)
class Demo:
    directory: Path
    keys: tuple[DemoKey, ...]
    built: bool


def prepare_demo(directory: Path, records: int) -> Demo:
    """The demo data set in `directory`: reused if it is complete and readable by this
    build, else built now."""
    if (directory / MARKER).exists() and _outdated_format(directory):
        shutil.rmtree(directory)
    if (directory / MARKER).exists():
        return Demo(directory, read_demo_keys(directory / KEYS_TEXT), built=False)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise DemoError(
            f"{directory}: exists and is not a demo data set (it has no {MARKER});"
            " remove it or pass another --data"
        )
    staging = directory.with_name(f".{directory.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    keys = _build(staging, records)
    if directory.exists():
        directory.rmdir()
    staging.rename(directory)
    return Demo(directory, keys, built=True)


def _outdated_format(directory: Path) -> bool:
    """A demo built by an older build of the engine, whose files this one refuses: the
    demo is generated data, so `make run` rebuilds it rather than serve nothing."""
    try:
        open_snapshot(directory / "SLTD", "SLTD", SegmentCache(verify=False))
    except FormatVersionError as error:
        log.warning("the demo data set was written in an older format (%s): rebuilding", error)
        return True
    return False


def _build(staging: Path, records: int) -> tuple[DemoKey, ...]:
    started = time.monotonic()
    log.info("building the demo data set (%s SLTD records) once, in %s", f"{records:,}", staging)
    bulk = staging / "sltd-demo.csv"
    generate("SLTD", records, bulk, seed=0)
    loaded = load(staging, "SLTD", BULK_OWNER, [Upload.of(str(bulk))], staging / "rejects.jsonl")
    specimen = staging / "specimen.jsonl"
    specimen.write_bytes(orjson.dumps(SPECIMEN) + b"\n")
    load(staging, "SLTD", SPECIMEN_OWNER, [Upload.of(str(specimen))], staging / "rejects.jsonl")
    bulk.unlink()
    specimen.unlink()
    _load_other_databases(staging, min(records, OTHER_RECORDS))
    keys = tuple(
        DemoKey(role, name, country, add_key(staging / KEYS_FILE_NAME, name, country, role)[0])
        for role, name, country in KEYS
    )
    lines = "".join(f"{k.role}\t{k.name}\t{k.country}\t{k.key}\n" for k in keys)
    descriptor = os.open(staging / KEYS_TEXT, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("role\tname\tcountry\tkey\n" + lines)
    (staging / MARKER).write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z\n"), encoding="utf-8")
    log.info(
        "demo data set built in %.0f s: %s records accepted, %s rejected",
        time.monotonic() - started,
        f"{loaded.accepted:,}",
        f"{loaded.rejected:,}",
    )
    return keys


def _load_other_databases(staging: Path, records: int) -> None:
    """Every other database: generated records uploaded by FRA, and the UN list."""
    for code, db in DATABASES.items():
        if code == "SLTD":
            continue
        upload = staging / f"{code.lower()}-demo.jsonl"
        generate(code, records, upload, seed=0)
        load(staging, code, BULK_OWNER, [Upload.of(str(upload))], staging / "rejects.jsonl")
        upload.unlink()
        log.info("demo: %s (%s) loaded, %s generated records", code, db.name, f"{records:,}")
    if UN_LIST.exists():
        un = Upload.of(str(UN_LIST), "un-xml")
        load(staging, "NOMINAL", "UTO", [un], staging / "rejects.jsonl")
    else:
        log.warning("demo: %s is missing; NOMINAL has generated persons only", UN_LIST)


def read_demo_keys(path: Path) -> tuple[DemoKey, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        return tuple(DemoKey(*line.split("\t")) for line in lines if line.strip())
    except (OSError, TypeError) as error:
        raise DemoError(f"{path}: cannot read the demo keys: {error}") from None


def instructions(demo: Demo, host: str, port: int, scheme: str = "http") -> str:
    """The keys and a ready curl line, as `serve --demo` prints them."""
    where = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in where:
        where = f"[{where}]"
    lines = [
        f"Demo data: {demo.directory} ({'built now' if demo.built else 'reused'})",
        f"Demo keys (also in {demo.directory / KEYS_TEXT}):",
        *(f"  {k.role:<10} {k.name:<10} {k.country:<4} {k.key}" for k in demo.keys),
        "Screen the ICAO specimen passport (stolen):",
    ]
    frontline = next(k for k in demo.keys if k.role == "frontline")
    query = {"queries": [{"db": "SLTD", "number": SPECIMEN["number"], "country": "UTO"}]}
    curl = [
        "curl", "-s", f"{scheme}://{where}:{port}/v1/screen",
        "-H", f"Authorization: Bearer {frontline.key}",
        "-H", "Content-Type: application/json",
        "-d", orjson.dumps(query).decode(),
    ]  # fmt: skip
    lines.append("  " + shlex.join(curl))
    return "\n".join(lines)

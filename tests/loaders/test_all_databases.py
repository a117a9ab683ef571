"""Every database of the catalog end to end: generate, load, screen, reject, delete.

For each database: a generated CSV and JSON Lines upload load with no reject, every row a
record; known records are found (hits) and unknown ones are not (misses); bad rows are
rejected with their line and the field. Multi-key databases (SMV, VESSELS, ICSE) are
found by each of their lookups and withdrawn by each.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from loaders.catalog import DATABASES, Database
from loaders.generate import generate
from loaders.load import LoadResult, load
from loaders.readers import Upload
from screening import Data, open_data

ROWS = 300
OTHERS = [code for code in DATABASES if code not in ("SLTD", "TDAWN")]
EXACT = [code for code in DATABASES if "exact" in DATABASES[code].matchers]

# A value of one key field that the field's normaliser refuses, and what the reason says.
BAD_KEYS: dict[str, tuple[str, str, str]] = {
    "SLTD": ("number", "AB#1", "characters other than"),
    "TDAWN": ("number", "AB#1", "characters other than"),
    "SAD": ("doc_kind", "banknote", "not one of"),
    "NOMINAL": ("dob", "1974-13-01", "date"),
    "AFIS": ("template", "1 2 3", "a template here has 256"),
    "FACE": ("template", "[1, 2]", "a template here has 512"),
    "DNA": ("loci", "D3S1358:15/x", "not an allele"),
    "SMV": ("vin", "1M8GDM9A1KP042788", "check digit"),
    "VESSELS": ("imo", "IMO 9074728", "check digit"),
    "WOA": ("object_id", "#", "other than A-Z"),
    "IARMS": ("serial", "#12", "other than A-Z"),
    "IFRT": ("make", "&", "no letter or digit"),
    "IBIN": ("exhibit_id", "A" * 41, "longer than 40"),
    "ICSE": ("sha256", "abc", "a SHA-256 has 64"),
    "DIALDOC": ("country", "XX1", "ICAO"),
    "EDISON": ("valid_from", "2020-02-30", "not a real date"),
    "COUNTERFEIT": ("currency", "ABC", "ISO 4217"),
    "PIRACY": ("imo", "1234560", "check digit"),
    "GEIGER": ("isotope", "Xx-1", "not a radionuclide"),
}


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def upload(data: Path, code: str, owner: str, *files: Path) -> LoadResult:
    return load(data, code, owner, [Upload.of(str(f)) for f in files])


def query(db: Database, row: dict[str, Any]) -> dict[str, Any]:
    return {"db": db.code, **{k: v for k, v in row.items() if k in db.query_fields and v != ""}}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Data]]:
    """Every database generated as CSV (owner FRA) and JSON Lines (owner GBR), loaded."""
    files = tmp_path_factory.mktemp("uploads")
    data = tmp_path_factory.mktemp("data")
    for code in DATABASES:
        for suffix, owner, seed in (("csv", "FRA", 1), ("jsonl", "GBR", 2)):
            out = files / f"{code}.{suffix}"
            assert generate(code, ROWS, out, seed=seed) == ROWS
            result = upload(data, code, owner, out)
            assert (result.accepted, result.rejected) == (ROWS, 0), (code, suffix)
    opened = open_data(data)
    yield files, data, opened
    opened.close()


@pytest.mark.parametrize("code", list(DATABASES))
def test_every_generated_row_is_a_record(loaded: tuple[Path, Path, Data], code: str) -> None:
    _, _, data = loaded
    db = DATABASES[code]
    assert data.count(db, "FRA") >= 2 * ROWS * 0.9  # restricted ones may hide from FRA
    assert data.snapshots[code].count("FRA") + data.snapshots[code].count("GBR") >= 2 * ROWS


@pytest.mark.parametrize("code", EXACT)
def test_known_records_are_exact_hits(loaded: tuple[Path, Path, Data], code: str) -> None:
    files, _, data = loaded
    db = DATABASES[code]
    rows = rows_of(files / f"{code}.csv")[:40]
    results = data.screen([query(db, row) for row in rows], country="FRA")
    for row, result in zip(rows, results, strict=True):
        assert result["hit"], (row, result)
        mine = [m for m in result["matches"] if m["record"]["owner"] == "FRA"]
        assert any(m["match"] == "exact" and m["score"] == 1.0 for m in mine)
    [one] = data.screen([query(db, rows[0])], country="FRA")
    assert one == results[0]  # the single-query path agrees with the batch


def natural_key(db: Database, row: dict[str, Any]) -> tuple[object, ...]:
    by = db.by_name
    return tuple(by[f].normaliser(str(row[f])) if row.get(f) else "" for f in db.key)


@pytest.mark.parametrize("code", EXACT)
def test_unknown_records_miss(loaded: tuple[Path, Path, Data], code: str) -> None:
    files, _, data = loaded
    db = DATABASES[code]
    other = files / f"{code}-other.csv"
    generate(code, 3 * ROWS, other, seed=99)
    jsonl = [
        orjson.loads(line) for line in (files / f"{code}.jsonl").read_bytes().split(b"\n")[:-1]
    ]
    stored = {natural_key(db, row) for row in [*rows_of(files / f"{code}.csv"), *jsonl]}
    unknown = [r for r in rows_of(other)[2 * ROWS :] if natural_key(db, r) not in stored]
    assert len(unknown) >= 30
    results = data.screen([query(db, row) for row in unknown[:30]], country="FRA")
    assert all("error" not in r for r in results)
    assert not [r for r in results if r["hit"]]


@pytest.mark.parametrize("code", list(DATABASES))
def test_bad_rows_are_rejected_with_line_and_field(tmp_path: Path, code: str) -> None:
    db = DATABASES[code]
    out = tmp_path / f"{code}.jsonl"
    generate(code, 5, out, seed=4)
    lines = out.read_bytes().splitlines()
    field, value, why = BAD_KEYS[code]
    bad = orjson.loads(lines[2])
    bad[field] = value
    missing = orjson.loads(lines[3])
    # a required field, or for SMV/VESSELS/ICSE every lookup's fields, left out
    dropped = db.required[:1] or [name for lookup in db.lookups for name in lookup.fields]
    for name in dropped:
        missing.pop(name, None)
    lines[2], lines[3] = orjson.dumps(bad), orjson.dumps(missing)
    out.write_bytes(b"\n".join(lines) + b"\n")
    result = load(tmp_path / "data", code, "FRA", [Upload.of(str(out))],
                  report=tmp_path / "rejects.jsonl")  # fmt: skip
    assert (result.accepted, result.rejected) == (3, 2)
    rejects = [
        orjson.loads(line) for line in (tmp_path / "rejects.jsonl").read_bytes().splitlines()
    ]
    assert [r["line"] for r in rejects] == [3, 4]
    assert rejects[0]["reason"].startswith(f"{field}: ") and why in rejects[0]["reason"]
    assert "required, but missing or empty" in rejects[1]["reason"]


def test_a_csv_of_another_database_is_refused_whole(tmp_path: Path) -> None:
    out = tmp_path / "smv.csv"
    generate("SMV", 5, out)
    with pytest.raises(Exception, match="the header has no exhibit_id"):
        upload(tmp_path / "data", "IBIN", "FRA", out)


# --- multi-key databases -----------------------------------------------------------------


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def screen(data_dir: Path, **fields: str) -> dict[str, Any]:
    opened = open_data(data_dir)
    try:
        [result] = opened.screen([fields], country="FRA")
        return result
    finally:
        opened.close()


VIN = "1M8GDM9AXKP042788"
CAR = {"vin": VIN, "plate": "AB-123-CD", "country": "FRA", "make": "Renault", "status": "stolen"}
PLATE_ONLY = {"plate": "GH 456 JK", "country": "ITA", "status": "robbed"}


def test_smv_is_found_by_vin_or_by_plate_and_country(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upload(data, "SMV", "FRA", write_jsonl(tmp_path / "a.jsonl", [CAR, PLATE_ONLY]))
    by_vin = screen(data, db="SMV", vin=VIN.lower())
    by_plate = screen(data, db="smv", plate="ab123cd", country="fra")
    assert by_vin["hit"] and by_plate["hit"]
    assert by_vin["matches"] == by_plate["matches"]
    assert by_vin["matches"][0]["id"] == f"SMV/vin/{VIN}/FRA"
    assert by_vin["matches"][0]["record"]["make"] == "RENAULT"
    assert screen(data, db="SMV", plate="GH456JK", country="ITA")["matches"][0]["id"] == (
        "SMV/plate/GH456JK/ITA/FRA"
    )
    # the VIN wins when a query gives both; the plate of another state is another plate
    assert screen(data, db="SMV", vin=VIN, plate="nothing", country="D")["hit"]
    assert not screen(data, db="SMV", plate="AB123CD", country="D")["hit"]
    error = screen(data, db="SMV", plate="AB123CD")["error"]
    assert error["code"] == "bad_query" and "vin, or plate and country" in error["message"]


def test_a_reupload_with_a_new_plate_replaces_the_vin_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upload(data, "SMV", "FRA", write_jsonl(tmp_path / "a.jsonl", [CAR]))
    moved = {**CAR, "plate": "ZZ-999-ZZ"}
    upload(data, "SMV", "FRA", write_jsonl(tmp_path / "b.jsonl", [moved]))
    assert not screen(data, db="SMV", plate="AB123CD", country="FRA")["hit"]
    assert len(screen(data, db="SMV", plate="ZZ999ZZ", country="FRA")["matches"]) == 1
    assert len(screen(data, db="SMV", vin=VIN)["matches"]) == 1


@pytest.mark.parametrize(
    "deletion",
    [{"vin": VIN}, {"plate": "AB 123 CD", "country": "FRA"}],
    ids=["by-vin", "by-plate"],
)
def test_smv_delete_by_each_key(tmp_path: Path, deletion: dict[str, str]) -> None:
    data = tmp_path / "data"
    upload(data, "SMV", "FRA", write_jsonl(tmp_path / "a.jsonl", [CAR, PLATE_ONLY]))
    gone = write_jsonl(tmp_path / "d.jsonl", [{"action": "delete", **deletion}])
    result = upload(data, "SMV", "FRA", gone)
    assert (result.deleted, result.rejected) == (1, 0)
    assert not screen(data, db="SMV", vin=VIN)["hit"]
    assert not screen(data, db="SMV", plate="AB123CD", country="FRA")["hit"]
    assert screen(data, db="SMV", plate="GH456JK", country="ITA")["hit"]


def test_a_delete_by_key_withdraws_only_the_owners_records(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upload(data, "SMV", "FRA", write_jsonl(tmp_path / "a.jsonl", [CAR]))
    upload(data, "SMV", "D", write_jsonl(tmp_path / "b.jsonl", [CAR]))
    gone = {"action": "delete", "plate": "AB123CD", "country": "FRA"}
    result = upload(data, "SMV", "GBR", write_jsonl(tmp_path / "d.jsonl", [gone]))
    assert (result.deleted, result.rejected) == (0, 1)
    result = upload(data, "SMV", "D", write_jsonl(tmp_path / "e.jsonl", [gone]))
    assert result.deleted == 1
    owners = [m["record"]["owner"] for m in screen(data, db="SMV", vin=VIN)["matches"]]
    assert owners == ["FRA"]


BOAT = {"hin": "ABC12345D404", "name": "Sea Breeze", "flag": "FRA"}
SHIP = {"imo": "IMO 9074729", "hin": "FR-BEN12345D404", "name": "Ocean Pride"}


def test_vessels_by_hin_or_imo_and_delete_by_each(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upload(data, "VESSELS", "FRA", write_jsonl(tmp_path / "a.jsonl", [BOAT, SHIP]))
    assert screen(data, db="VESSELS", hin="abc-12345-d404")["hit"]
    by_imo = screen(data, db="VESSELS", imo="9074729")
    by_hin = screen(data, db="VESSELS", hin="FRBEN12345D404")
    assert by_imo["matches"] == by_hin["matches"] and by_imo["hit"]
    assert by_imo["matches"][0]["id"] == "VESSELS/hin/FRBEN12345D404/FRA"
    gone = [{"action": "delete", "imo": "9074729"}, {"action": "delete", "hin": "ABC12345D404"}]
    result = upload(data, "VESSELS", "FRA", write_jsonl(tmp_path / "d.jsonl", gone))
    assert (result.deleted, result.rejected) == (2, 0)
    assert not screen(data, db="VESSELS", hin="FRBEN12345D404")["hit"]
    assert not screen(data, db="VESSELS", hin="ABC12345D404")["hit"]


SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "098f6bcd4621d373cade4e832627b4f6"


@pytest.mark.parametrize("by", ["sha256", "md5"])
def test_icse_by_sha256_or_md5_and_delete_by_each(tmp_path: Path, by: str) -> None:
    data = tmp_path / "data"
    row = {"sha256": SHA, "md5": MD5, "phash": "c809836a364f5fee", "series": "S-1"}
    upload(data, "ICSE", "FRA", write_jsonl(tmp_path / "a.jsonl", [row]))
    assert screen(data, db="ICSE", sha256=SHA.upper())["hit"]
    assert screen(data, db="ICSE", md5=MD5)["matches"][0]["id"] == f"ICSE/sha256/{SHA}/FRA"
    gone = write_jsonl(tmp_path / "d.jsonl", [{"action": "delete", by: row[by]}])
    result = upload(data, "ICSE", "FRA", gone)
    assert result.deleted == 1
    assert not screen(data, db="ICSE", md5=MD5)["hit"]
    assert not screen(data, db="ICSE", sha256=SHA)["hit"]


def test_iarms_serial_on_another_make_is_serial_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gun = {"serial": "ABC123", "make": "Glock", "model": "17", "status": "stolen"}
    upload(data, "IARMS", "FRA", write_jsonl(tmp_path / "a.jsonl", [gun]))
    assert screen(data, db="IARMS", serial="abc-123", make="GLOCK")["matches"][0]["match"] == (
        "exact"
    )
    other = screen(data, db="IARMS", serial="ABC123", make="Heckler & Koch")
    assert not other["hit"] and other["matches"][0]["match"] == "serial_only"


def test_piracy_keeps_every_incident_of_a_ship(tmp_path: Path) -> None:
    data = tmp_path / "data"
    incidents = [{"imo": "9074729", "incident": f"IMB-2024-00{n}"} for n in range(3)]
    upload(data, "PIRACY", "FRA", write_jsonl(tmp_path / "a.jsonl", incidents))
    assert len(screen(data, db="PIRACY", imo="IMO 9074729")["matches"]) == 3
    gone = {"action": "delete", "imo": "9074729", "incident": "IMB-2024-001"}
    assert upload(data, "PIRACY", "FRA", write_jsonl(tmp_path / "d.jsonl", [gone])).deleted == 1
    assert len(screen(data, db="PIRACY", imo="9074729")["matches"]) == 2


def test_a_plate_only_car_staged_earlier_in_the_upload_is_deleted_by_plate(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    gone = {"action": "delete", "plate": "GH456JK", "country": "ITA"}
    result = upload(data, "SMV", "FRA", write_jsonl(tmp_path / "a.jsonl", [PLATE_ONLY, gone]))
    assert (result.accepted, result.deleted, result.rejected) == (1, 1, 0)
    assert not screen(data, db="SMV", plate="GH456JK", country="ITA")["hit"]
    again = upload(data, "SMV", "FRA", write_jsonl(tmp_path / "b.jsonl", [gone]))
    assert (again.deleted, again.rejected) == (0, 1)

"""The catalog against shared/DATABASES.md, and its identity and key rules.

Every database of the table is declared with its matcher, its starred (key) fields as
lookups or required fields, and every field the table names; identities and keys follow
the documented rule (loaders/catalog.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loaders.catalog import (
    DATABASES,
    NOMINAL,
    PIRACY,
    SLTD,
    SMV,
    IndexKeys,
    Lookup,
    database,
    identity,
    record_id,
    record_keys,
)

TABLE = Path(__file__).resolve().parents[3] / "shared" / "DATABASES.md"


def table_rows() -> list[tuple[str, str, list[str], list[str]]]:
    """(code, matcher, starred fields, all fields named) of each row of DATABASES.md."""
    rows = []
    for line in TABLE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        code, _name, matcher, keys, others = cells
        named = re.findall(r"`([a-z_0-9]+)`(\*?)", keys)
        fields = [name for name, _ in named] + re.findall(r"`([a-z_0-9]+)`", others)
        rows.append((code.strip("`"), matcher, [n for n, star in named if star], fields))
    return rows


@pytest.mark.skipif(not TABLE.exists(), reason="shared/DATABASES.md is not beside the checkout")
def test_every_database_of_the_table_is_declared_as_the_table_says() -> None:
    rows = table_rows()
    assert [code for code, *_ in rows] == list(DATABASES)
    statuses = {"stolen", "lost", "revoked", "invalidated", "stolen_blank", "QDi", "person"}
    for code, matcher, starred, fields in rows:
        db = DATABASES[code]
        assert db.matcher == matcher.replace(" ", ""), code
        declared = set(db.by_name)
        assert {f for f in fields if f not in statuses} <= declared, code
        keyed = {name for lookup in db.lookups for name in lookup.fields} | set(db.required)
        assert set(starred) <= keyed, code


def test_lookup_keys_and_identities() -> None:
    values = {"number": "L898902C3", "country": "UTO"}
    assert record_keys(SLTD, values) == (b"L898902C3",)  # unchanged on disk
    assert identity(SLTD, values, "FRA") == b"L898902C3\x1fUTO\x1fFRA"
    car = {"vin": "VIN1", "plate": "AB1", "country": "D"}
    assert record_keys(SMV, car) == (b"vin:VIN1", b"plate:AB1\x1fD")
    assert identity(SMV, car, "FRA") == b"vin\x1fVIN1\x1fFRA"
    assert record_id(SMV, identity(SMV, car, "FRA")) == "SMV/vin/VIN1/FRA"
    plate_only = {"plate": "AB1", "country": "D"}
    assert record_keys(SMV, plate_only) == (b"plate:AB1\x1fD",)
    assert identity(SMV, plate_only, "FRA") == b"plate\x1fAB1\x1fD\x1fFRA"
    with pytest.raises(KeyError):
        identity(SMV, {"plate": "AB1"}, "FRA")


def test_identity_fields_and_partial_lookups() -> None:
    incident = {"imo": "9074729", "incident": "IMB1"}
    assert identity(PIRACY, incident, "FRA") == b"9074729\x1fIMB1\x1fFRA"
    assert record_keys(PIRACY, incident)[0] == b"imo:9074729"
    un = {"surname": "X", "reference": "QDi.346"}
    assert identity(NOMINAL, un, "UTO") == b"reference\x1fQDi.346\x1fUTO"
    known_by_surname = {"surname": "ERIKSSON"}
    assert identity(NOMINAL, known_by_surname, "UTO") == b"person\x1fERIKSSON\x1f\x1f\x1fUTO"
    keys = record_keys(NOMINAL, known_by_surname)
    assert keys[0] == b"person:ERIKSSON\x1f\x1f" and len(keys) > 1  # then the name keys


def test_declarations_are_checked() -> None:
    from loaders.catalog import Database, Field

    with pytest.raises(ValueError, match="unknown matcher"):
        Database("X", "x", "exact+fuzzy", ("a",), (Field("a"),))
    with pytest.raises(ValueError, match="fields"):
        Database("X", "x", "exact", ("b",), (Field("a"),))
    with pytest.raises(ValueError, match="probe"):
        Lookup("a", ("a",), 2)
    hook: IndexKeys = lambda values: [b"token:x"]  # noqa: E731
    hooked = Database("X", "x", "exact", ("a",), (Field("a"),), index_keys=hook)
    assert hooked.prefixed and record_keys(hooked, {"a": "1"}) == (b"a:1", b"token:x")
    assert database(" smv ") is SMV


def test_the_readme_table_is_the_catalog() -> None:
    from loaders.catalog_docs import BEGIN, END, markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(), "run `screening catalog` and paste it into README.md"

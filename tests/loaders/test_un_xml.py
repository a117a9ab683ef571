"""The UN Security Council list reader, against the real published file (tests/data).

Provenance: un-sc-consolidated-2018-10-29.xml is the list as the UN published it (703
individuals, 390 entities); see tests/data/README.md. Small hand-written documents test
the refusals (malformed XML, a DTD, another root) with their line numbers.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from loaders.load import load
from loaders.readers import UnreadableFileError, Upload
from loaders.un_xml import UnList, birth_date, read_un_rows
from screening.data import open_data

UN_FILE = Path(__file__).resolve().parents[1] / "data" / "un-sc-consolidated-2018-10-29.xml"
"""The real list, kept in tests/data (its README says where from)."""


@pytest.fixture(scope="module")
def rows() -> dict[str, tuple[int, dict[str, str]]]:
    seen = UnList()
    with open(UN_FILE, "rb") as stream:
        read = list(read_un_rows(str(UN_FILE), stream, seen))
    assert (seen.individuals, seen.entities, seen.generated) == (703, 390, "2018-10-29")
    return {row["reference"]: (line, row) for line, row in read}


def test_every_individual_becomes_one_unsc_row(rows: dict[str, tuple[int, dict[str, str]]]) -> None:
    assert len(rows) == 703
    assert {row["notice_type"] for _, row in rows.values()} == {"UNSC"}


def test_known_person_qdi_346(rows: dict[str, tuple[int, dict[str, str]]]) -> None:
    line, row = rows["QDi.346"]
    assert line == 18
    assert row["given_names"] == "'ABD AL-MALIK"
    assert row["surname"] == "MUHAMMAD YUSUF 'UTHMAN 'ABD AL-SALAM"
    assert row["original_script"] == "عبدالملك محمد يوسف عثمان عبد السلام"
    assert row["aliases"] == "'Abd al-Malik Muhammad Yusif 'Abd-al-Salam"
    assert row["low_quality_aliases"] == "'Umar al-Qatari;'Umar al-Tayyar"
    assert row["dob"] == "1989-07-13"
    assert row["nationality"] == "JOR"
    assert (
        row["documents"]
        == "Passport K475336 (JOR);National Identification Number 28940000602 (QAT)"
    )


def test_partial_and_approximate_dates(rows: dict[str, tuple[int, dict[str, str]]]) -> None:
    dates = [row.get("dob", "") for _, row in rows.values()]
    assert sum("/" in one for one in dates) >= 20  # BETWEEN
    assert sum("~" in one for one in dates) >= 100  # APPROXIMATELY
    assert sum(len(part) == 4 for one in dates for part in one.split(";")) >= 200  # YEAR
    assert sum(not one for one in dates) == 39


@pytest.mark.parametrize(
    ("group", "stored"),
    [
        ({"TYPE_OF_DATE": "EXACT", "DATE": "1964-07-17"}, "1964-07-17"),
        ({"TYPE_OF_DATE": "EXACT", "DATE": "1958-01-01-05:00"}, "1958-01-01"),
        ({"TYPE_OF_DATE": "EXACT", "YEAR": "1964"}, "1964"),
        ({"TYPE_OF_DATE": "APPROXIMATELY", "YEAR": "1964"}, "~1964"),
        ({"TYPE_OF_DATE": "BETWEEN", "FROM_YEAR": "1955", "TO_YEAR": "1958"}, "1955/1958"),
        ({"TYPE_OF_DATE": "EXACT", "NOTE": "Nov. 1960"}, "1960-11"),
        ({"TYPE_OF_DATE": "EXACT", "NOTE": "Between Aug. and Sep. 1958"}, "1958"),
        ({"TYPE_OF_DATE": "EXACT", "NOTE": "23/10/1375 (Hijri Calendar)"}, ""),
        ({"TYPE_OF_DATE": "APPROXIMATELY", "NOTE": "35-40 years old"}, ""),
    ],
)
def test_birth_dates_of_every_kind(group: dict[str, str], stored: str) -> None:
    assert birth_date(group) == stored


@pytest.mark.parametrize(
    ("document", "line", "reason"),
    [
        (
            b'<?xml version="1.0"?>\n<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n</INDIVIDUAL>',
            4,
            "mismatched",
        ),
        (b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<CONSOLIDATED_LIST/>', 2, "DTD"),
        (b'<?xml version="1.0"?>\n<OTHER/>', 1, "not a UN"),
        (b"", 1, "not well-formed"),
    ],
)
def test_unreadable_files_are_refused_with_their_line(
    document: bytes, line: int, reason: str
) -> None:
    with pytest.raises(UnreadableFileError) as refused:
        list(read_un_rows("list.xml", io.BytesIO(document)))
    assert refused.value.line == line
    assert reason in str(refused.value)


def test_load_un_xml_then_screen_by_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = load(data, "NOMINAL", "UTO", [Upload.of(str(UN_FILE), "un-xml")])
    assert (result.accepted, result.rejected) == (703, 0)
    assert "390 entities skipped" in result.summary()
    screening = open_data(data)
    by_script = screening.screen(
        [{"db": "NOMINAL", "surname": "عبدالملك محمد يوسف عثمان عبد السلام"}]
    )
    assert by_script[0]["hit"]
    assert by_script[0]["matches"][0]["record"]["reference"] == "QDi.346"
    by_alias = screening.screen([{"db": "NOMINAL", "given_names": "Omar", "surname": "Al Qatari",
                                  "dob": "1989-07-13"}])  # fmt: skip
    assert by_alias[0]["matches"][0]["record"]["reference"] == "QDi.346"
    assert by_alias[0]["matches"][0]["reasons"]["matched"] == "low_quality_alias"


def test_a_malformed_list_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "list.xml"
    bad.write_bytes(
        b'<?xml version="1.0"?>\n<CONSOLIDATED_LIST><INDIVIDUALS>\n<INDIVIDUAL><FIRST_NAME>A'
        b"</FIRST_NAME><SECOND_NAME>B</SECOND_NAME><REFERENCE_NUMBER>X.1</REFERENCE_NUMBER>"
        b"</INDIVIDUAL>\n<INDIVIDUAL><FIRST_NAME>C</INDIVIDUAL>\n"
    )
    with pytest.raises(UnreadableFileError, match="line 4"):
        load(tmp_path / "data", "NOMINAL", "UTO", [Upload.of(str(bad), "un-xml")])
    assert not (tmp_path / "data" / "NOMINAL" / "MANIFEST").exists()

"""The column path (loaders/columnar.py) must store exactly what the row path stores.

Strategy: hypothesis draws upload rows from values that sit on every edge the fast path
checks (case, spaces, fillers, bad dates, unknown codes, deletes, visibility lists, extra
columns, rows with a stray comma), writes them as one CSV, loads it twice — once as
`load` chooses (column path), once with the column path switched off — and compares the
stored records, visibility, rejected lines and counts.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexes import open_snapshot
from loaders import columnar, load
from loaders.catalog import SLTD, Database, Field
from loaders.readers import UnreadableFileError, Upload

COLUMNS = ["number", "country", "type", "status", "reported_on", "visible_to", "action",
           "national_ref", "colour"]  # fmt: skip
VALUES = {
    "number": ["L898902C3", "ab 12-3", "X<1", "", " ", "é1", "A" * 31, "12345", "l898902c3"],
    "country": ["FRA", "fra", "D", "DEU", "ZZZ", "", " UTO", "UTO", "GBR"],
    "type": ["P", "PD", "p", "X", "", "P<", " "],
    "status": ["stolen", "Stolen", "lost", "gone", "", "stolen_blank"],
    "reported_on": ["2024-02-29", "2023-02-29", "2099-01-01", "2024-1-1", "", "0000-01-01"],
    "visible_to": ["", "", "", "GBR", "GBR;USA", "gbr", "ZZZ", "GBR;;USA", ";", "D;FRA"],
    "action": ["", "", "", "upsert", "delete", "UPSERT", "remove"],
    "national_ref": ["", "REF 1", " x", "é", "a", "x "],
    "colour": ["", "", "red", "é", " "],
}

rows = st.lists(
    st.tuples(
        st.fixed_dictionaries({name: st.sampled_from(VALUES[name]) for name in COLUMNS}),
        st.sampled_from(["plain", "plain", "plain", "plain", "stray comma", "blank"]),
    ),
    max_size=40,
)


def _csv(drawn: list[tuple[dict[str, str], str]], columns: list[str] = COLUMNS) -> str:
    lines = [",".join(columns)]
    for row, shape in drawn:
        if shape == "blank":
            lines.append("")
            continue
        line = ",".join(row[name] for name in columns)
        lines.append(line + ("," if shape == "stray comma" else ""))
    return "\r\n".join(lines) + "\n"


def _stored(folder: Path, db: str = "SLTD") -> list[tuple[bytes, object, object]]:
    if not (folder / "MANIFEST").exists():
        return []
    snapshot = open_snapshot(folder, db)
    found = []
    for part in snapshot.parts:
        for record in range(part.entry.records):
            if record in part.dead:
                continue
            identity, data = part.segment.record(record)
            viewers = part.segment.visible_to(record)
            found.append((identity, data, sorted(viewers) if viewers else None))
    return sorted(found, key=repr)


def _load_twice(
    text: str, previous: str | None, monkeypatch: pytest.MonkeyPatch, db: str = "SLTD"
) -> list[tuple[object, ...]]:
    outcomes: list[tuple[object, ...]] = []
    for column_path in (True, False):
        with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as patch:
            if not column_path:
                patch.setattr(load, "_plain_csv", lambda upload: False)
            data = Path(tmp) / "data"
            if previous is not None:
                first = Path(tmp) / "first.csv"
                first.write_text(previous, encoding="utf-8")
                load.load(data, db, "FRA", [Upload.of(str(first))])
            upload = Path(tmp) / "upload.csv"
            upload.write_text(text, encoding="utf-8")
            report = Path(tmp) / "rejects.jsonl"
            result = load.load(data, db, "FRA", [Upload.of(str(upload))], report)
            rejected = report.read_text().replace(tmp, "TMP") if report.exists() else ""
            counts = (result.accepted, result.rejected, result.deleted)
            outcomes.append((counts, rejected, _stored(data / db, db)))
    return outcomes


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=rows, earlier=st.one_of(st.none(), rows))
def test_column_path_stores_what_the_row_path_stores(
    drawn: list[tuple[dict[str, str], str]],
    earlier: list[tuple[dict[str, str], str]] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previous = None if earlier is None else _csv(earlier)
    fast, slow = _load_twice(_csv(drawn), previous, monkeypatch)
    assert fast == slow


TDAWN_COLUMNS = ["number", "country", "type", "notice", "notice_type", "reported_on",
                 "visible_to", "action", "colour"]  # fmt: skip
TDAWN_VALUES = {
    **VALUES,
    "notice": ["A-1234/5-2024", "", " ", "x ", "é", "N1"],
    "notice_type": ["RED", "red", "Yellow", "PINK", "", " BLUE", "purple"],
}
tdawn_rows = st.lists(
    st.tuples(
        st.fixed_dictionaries(
            {name: st.sampled_from(TDAWN_VALUES[name]) for name in TDAWN_COLUMNS}
        ),
        st.sampled_from(["plain", "plain", "plain", "plain", "stray comma", "blank"]),
    ),
    max_size=40,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=tdawn_rows, earlier=st.one_of(st.none(), tdawn_rows))
def test_tdawn_column_path_stores_what_the_row_path_stores(
    drawn: list[tuple[dict[str, str], str]],
    earlier: list[tuple[dict[str, str], str]] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previous = None if earlier is None else _csv(earlier, TDAWN_COLUMNS)
    fast, slow = _load_twice(_csv(drawn, TDAWN_COLUMNS), previous, monkeypatch, "TDAWN")
    assert fast == slow


def test_a_field_without_a_column_check_takes_the_row_path() -> None:
    """Rows that fill a field the column path cannot check go to records.py, and so do
    rows that leave it empty when it is required; no check at all is a row-path field."""
    unchecked = Field("kind", lambda value: value.strip().lower())
    assert columnar.column_check(unchecked.normaliser) is None
    for required, plain_rows in ((False, ["N1"]), (True, [])):
        field = Field("kind", unchecked.normaliser, required)
        db = Database("TEST", "test", "exact", ("number", "country"),
                      (*SLTD.fields[:2], field), weaker_match="number_only")  # fmt: skip
        columns = ["number", "country", "kind"]
        block = next(columnar.csv_blocks(io.BytesIO(b"N1,FRA,\nN2,FRA,Big\n"), columns, 2))
        plain, others = columnar.split_plain(db, block, "FRA")
        assert plain.keys.to_pylist() == plain_rows
        assert len(others) == 2 - len(plain_rows)


def test_blocks_keep_line_numbers_across_block_edges(tmp_path: Path) -> None:
    lines = [f"N{i:05d},FRA,P,lost" for i in range(2000)]
    lines[1500] = "bad,row"
    path = tmp_path / "u.csv"
    path.write_text("number,country,type,status\n" + "\n".join(lines) + "\n")
    with open(path, "rb") as stream:
        stream.readline()
        blocks = list(columnar.csv_blocks(stream, ["number", "country", "type", "status"], 2, 4096))
    assert len(blocks) > 5
    numbers = [int(n) for block in blocks for n in block.lines]
    others = [line for block in blocks for line, _ in block.other_lines]
    assert others == [1502]
    assert sorted(numbers + others) == list(range(2, 2002))
    table = pa.concat_tables([block.table for block in blocks])
    assert table.column("number")[0].as_py() == "N00000"


def test_dates_are_checked_as_the_calendar_says() -> None:
    values = pa.array(["2024-02-29", "2023-02-29", "2023-13-01", "0000-01-01", "2023-1-01",
                       "", "2023-01-0a", "9999-12-31", "1900-02-29", "2000-02-29"])  # fmt: skip
    _, plain = columnar._iso_date(values)
    assert plain.tolist() == [True, False, False, False, False, False, False, True, False, True]


def test_a_non_utf8_line_is_named_by_the_row_path(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"number,country,status\nA1,FRA,lost\nA\xff2,FRA,lost\n")
    with pytest.raises(UnreadableFileError) as raised:
        load.load(tmp_path / "data", "SLTD", "FRA", [Upload.of(str(path))])
    assert raised.value.line == 3


# The other databases the column path takes (one unprefixed lookup, every field stored):
# SAD (number probe), GEIGER (identifier key), EDISON (a three-field key). COUNTERFEIT and
# the rest go to the row path whole, which this also checks (`column_loadable`).
OTHER_VALUES = {
    **VALUES,
    "doc_kind": ["visa", "Visa", "passport", "banknote", "", "id_card"],
    "serial": ["QSA-12345", "QSA12345", "qsa12345", "AB#1", "", "A" * 41, "X1"],
    "isotope": ["Cs-137", "cs137", "", "Xx-1", "Co-60"],
    "series": ["2019A", "2019a", "2019-A", "", "#"],
    "valid_from": VALUES["reported_on"],
    "valid_to": ["2030-01-01", "", "2030-02-30"],
    "features": ["", "UV fibres", " x", "é"],
    "status": [*VALUES["status"], "missing", "abandoned"],
    "currency": ["USD", "usd", "XYZ", ""],
    "denomination": ["50", "050", "0.50", "1,000", ""],
}
OTHER_COLUMNS = {
    "SAD": ["number", "country", "doc_kind", "status", "reported_on", "visible_to", "action"],
    "GEIGER": ["serial", "isotope", "status", "reported_on", "visible_to", "action", "colour"],
    "EDISON": ["country", "doc_kind", "series", "valid_from", "valid_to", "features", "action"],
    "COUNTERFEIT": ["currency", "denomination", "serial", "action"],
}


@pytest.mark.parametrize("code", list(OTHER_COLUMNS))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_other_databases_column_path_stores_what_the_row_path_stores(
    code: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = OTHER_COLUMNS[code]
    drawn_rows = st.lists(
        st.tuples(
            st.fixed_dictionaries({n: st.sampled_from(OTHER_VALUES[n]) for n in columns}),
            st.sampled_from(["plain", "plain", "plain", "stray comma", "blank"]),
        ),
        max_size=30,
    )
    drawn, earlier = data.draw(drawn_rows), data.draw(st.one_of(st.none(), drawn_rows))
    previous = None if earlier is None else _csv(earlier, columns)
    fast, slow = _load_twice(_csv(drawn, columns), previous, monkeypatch, code)
    assert fast == slow


def test_column_loadable_databases() -> None:
    from loaders.catalog import DATABASES

    taken = {code for code, db in DATABASES.items() if columnar.column_loadable(db)}
    assert {"SLTD", "TDAWN", "SAD", "GEIGER", "EDISON"} <= taken
    assert not taken & {"SMV", "VESSELS", "ICSE", "NOMINAL", "AFIS", "DNA", "PIRACY", "DIALDOC"}

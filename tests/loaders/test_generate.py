"""Synthetic upload files: they parse, they are plausible, unique, deterministic, atomic."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders import generate as generate_module
from loaders.catalog import NOTICE_TYPES
from loaders.countries import ISSUING_STATES
from loaders.document_numbers import (
    GERMAN,
    NEVER_ISSUING,
    STATE_FORMATS,
    NumberStream,
    number_formats,
    parse_pattern,
    patterns_disjoint,
    random_number,
    state_weights,
)
from loaders.generate import SLTD_FIELDS, TDAWN_FIELDS, generate
from loaders.load import load
from loaders.readers import Upload

ROWS = 20_000
TYPES = {"P", "I", "PD", "PO", "PS", "A", "C", "V"}
STATUSES = {"lost", "stolen", "stolen_blank", "revoked", "invalidated"}
REQUIRED = {"number", "country", "status"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == SLTD_FIELDS
        return list(reader)


def read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file]


def key(row: dict[str, str]) -> tuple[str, str]:
    """The SLTD key after the loader's normalisation of numbers."""
    return re.sub(r"[ \-<]", "", row["number"]).upper(), row["country"]


@pytest.fixture(scope="module")
def csv_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("csv") / "sltd.csv"
    assert generate("SLTD", ROWS, out, seed=7) == ROWS
    return read_csv(out)


@pytest.fixture(scope="module")
def jsonl_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("jsonl") / "sltd.jsonl"
    assert generate("sltd", ROWS, out, seed=7) == ROWS
    return read_jsonl(out)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chunks of 1,000 rows, so that a few thousand rows cross chunk boundaries."""
    monkeypatch.setattr(generate_module, "CHUNK_ROWS", 1_000)
    yield


# --- the files parse and have the right rows --------------------------------------------


def test_csv_parses_with_the_right_count_and_fields(csv_rows: list[dict[str, str]]) -> None:
    assert len(csv_rows) == ROWS
    for row in csv_rows:
        assert set(row) == set(SLTD_FIELDS)
        assert all(row[field] for field in REQUIRED)


def test_jsonl_parses_with_the_right_count_and_fields(jsonl_rows: list[dict[str, str]]) -> None:
    assert len(jsonl_rows) == ROWS
    for row in jsonl_rows:
        assert REQUIRED <= set(row) <= set(SLTD_FIELDS)
        assert all(isinstance(value, str) and value for value in row.values())


def test_csv_and_jsonl_carry_the_same_rows(
    csv_rows: list[dict[str, str]], jsonl_rows: list[dict[str, str]]
) -> None:
    assert [{k: v for k, v in row.items() if v} for row in csv_rows] == jsonl_rows


def test_codes_are_9303_issuing_states(csv_rows: list[dict[str, str]]) -> None:
    for row in csv_rows:
        assert row["country"] in ISSUING_STATES
        assert row["country"] not in NEVER_ISSUING
        if row["visible_to"]:
            listed = row["visible_to"].split(";")
            assert len(listed) == len(set(listed)) <= 3
            assert all(code in ISSUING_STATES for code in listed)


def test_keys_are_unique_after_normalisation(csv_rows: list[dict[str, str]]) -> None:
    keys = [key(row) for row in csv_rows]
    assert len(set(keys)) == len(keys)


def test_types_and_statuses_are_from_the_contract(csv_rows: list[dict[str, str]]) -> None:
    assert {row["type"] for row in csv_rows} == TYPES
    assert {row["status"] for row in csv_rows} == STATUSES


def test_dates_are_plausible(csv_rows: list[dict[str, str]]) -> None:
    today = date.today()
    for row in csv_rows:
        reported = date.fromisoformat(row["reported_on"])
        assert today - timedelta(days=3653) <= reported <= today
        if row["status"] == "stolen_blank":
            assert row["issued_on"] == row["expires_on"] == ""
            continue
        issued = date.fromisoformat(row["issued_on"])
        expires = date.fromisoformat(row["expires_on"])
        assert issued <= reported < expires
        assert expires.year - issued.year in (5, 10)
        assert (expires.month, expires.day) in ((issued.month, issued.day), (2, 28))


def test_proportions_look_like_the_real_thing(csv_rows: list[dict[str, str]]) -> None:
    statuses = Counter(row["status"] for row in csv_rows)
    assert 0.57 < statuses["lost"] / ROWS < 0.63
    assert 0.27 < statuses["stolen"] / ROWS < 0.33
    assert 0.6 < Counter(row["type"] for row in csv_rows)["P"] / ROWS < 0.9
    restricted = sum(1 for row in csv_rows if row["visible_to"]) / ROWS
    assert 0.02 < restricted < 0.04
    typed = sum(1 for row in csv_rows if re.search("[ -]", row["number"])) / ROWS
    assert 0.01 < typed < 0.03
    states = Counter(row["country"] for row in csv_rows)
    assert sum(count for _, count in states.most_common(40)) / ROWS > 0.8
    assert len(states) > 150  # the long tail is there too


# --- determinism, chunking, progress ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_same_seed_same_bytes(tmp_path: Path, suffix: str) -> None:
    first, second, other = (tmp_path / f"{name}{suffix}" for name in ("a", "b", "c"))
    generate("SLTD", 3_000, first, seed=3)
    generate("SLTD", 3_000, second, seed=3)
    generate("SLTD", 3_000, other, seed=4)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


@pytest.mark.usefixtures("small_chunks")
def test_progress_is_reported_per_chunk_and_keys_stay_unique(tmp_path: Path) -> None:
    seen: list[int] = []
    out = tmp_path / "sltd.csv"
    assert generate("SLTD", 5_500, out, seed=1, progress=seen.append) == 5_500
    assert seen == [1_000, 2_000, 3_000, 4_000, 5_000, 5_500]
    rows = read_csv(out)
    assert len({key(row) for row in rows}) == len(rows) == 5_500


def test_zero_records_is_a_header_only_csv(tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert generate("SLTD", 0, out) == 0
    assert out.read_text() == ",".join(SLTD_FIELDS) + "\n"


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    out = tmp_path / "UPLOAD.CSV"
    assert generate("SLTD", 10, out) == 10
    assert len(read_csv(out)) == 10


# --- errors and atomicity -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["sltd.txt", "sltd.json", "sltd", "sltd.csv.gz"])
def test_bad_suffix_raises_and_writes_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.csv or \.jsonl"):
        generate("SLTD", 10, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_tdawn_rows_load_without_a_reject(tmp_path: Path) -> None:
    out = tmp_path / "tdawn.csv"
    assert generate("TDAWN", 3_000, out, seed=2) == 3_000
    with out.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == TDAWN_FIELDS
    assert {row["notice_type"] for row in rows} <= set(NOTICE_TYPES)
    assert all(row["notice"] and row["reported_on"] <= date.today().isoformat() for row in rows)
    assert len({key(row) for row in rows}) == len(rows)
    result = load(tmp_path / "data", "TDAWN", "FRA", [Upload.of(str(out))])
    assert (result.accepted, result.rejected) == (3_000, 0)


def test_every_database_of_the_catalog_has_a_generator() -> None:
    from loaders.catalog import DATABASES

    assert set(generate_module.GENERATORS) == set(DATABASES) == set(generate_module.DATABASES)
    for code, generator in generate_module.GENERATORS.items():
        fields = set(DATABASES[code].by_name) | {"visible_to"}
        assert set(generator.fields) <= fields, code
        assert set(DATABASES[code].required) <= set(generator.fields), code


def test_unknown_database_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown database 'NOPE'"):
        generate("NOPE", 10, tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_negative_count_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="zero or more"):
        generate("SLTD", -1, tmp_path / "x.csv")


def test_success_leaves_only_the_file(tmp_path: Path) -> None:
    out = tmp_path / "sltd.jsonl"
    generate("SLTD", 100, out)
    assert list(tmp_path.iterdir()) == [out]
    assert out.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


@pytest.mark.usefixtures("small_chunks")
def test_failure_leaves_the_old_file_and_no_debris(tmp_path: Path) -> None:
    out = tmp_path / "sltd.csv"
    out.write_text("old\n")

    def fail(rows: int) -> None:
        raise RuntimeError(f"interrupted at {rows}")

    with pytest.raises(RuntimeError, match="interrupted at 1000"):
        generate("SLTD", 5_000, out, progress=fail)
    assert out.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [out]


# --- the CSV fast path writes what csv.writer writes --------------------------------------


def csv_writer_text(columns: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode()


@pytest.mark.parametrize(
    "columns",
    [
        [["A1", "B 2", "C-3"], ["FRA", "D", "UTO"], ["", "x;y", ""]],
        [["SMITH, JOHN", "B"], ["1", "2"]],
        [['say "hi"', "B"], ["1", "2"]],
        [["two\nlines", "B"], ["1", "2"]],
        [["", "x"]],
    ],
)
def test_csv_chunk_matches_csv_writer(columns: list[list[str]]) -> None:
    assert generate_module._csv_chunk(columns) == csv_writer_text(columns)


@given(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), min_size=1, max_size=20))
def test_csv_chunk_matches_csv_writer_for_any_text(rows: list[tuple[str, str]]) -> None:
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert generate_module._csv_chunk(columns) == csv_writer_text(columns)


# --- document numbers ----------------------------------------------------------------------


def test_formats_cover_the_busiest_states() -> None:
    assert len(STATE_FORMATS) >= 30
    codes, weights = state_weights()
    busiest = [code for _, code in sorted(zip(weights, codes, strict=True), reverse=True)[:30]]
    assert sum(code in STATE_FORMATS for code in busiest) >= 25


def test_state_weights_cover_every_issuing_state() -> None:
    codes, weights = state_weights()
    assert len(codes) == len(weights) == len(set(codes))
    assert set(codes) == set(ISSUING_STATES) - NEVER_ISSUING
    assert all(weight > 0 for weight in weights)
    top = sorted(weights, reverse=True)
    assert sum(top[:40]) / sum(top) > 0.8


@pytest.mark.parametrize("state", sorted(STATE_FORMATS))
def test_a_states_patterns_are_disjoint(state: str) -> None:
    patterns = [parse_pattern(spec) for spec, _ in STATE_FORMATS[state]]
    for index, pattern in enumerate(patterns):
        assert all(patterns_disjoint(pattern, other) for other in patterns[index + 1 :])


@pytest.mark.parametrize(
    ("state", "shape"),
    [
        ("GBR", r"\d{9}"),
        ("USA", r"\d{9}|A\d{8}"),
        ("FRA", r"\d\d[A-Z]{2}\d{5}"),
        ("D", rf"C[{GERMAN}]{{8}}"),
        ("NLD", r"[A-NP-Z]{2}[A-NP-Z0-9]{6}\d"),
        ("ITA", r"[A-Z]{2}\d{7}"),
        ("ESP", r"[A-Z]{3}\d{6}"),
        ("CHN", r"[EG]\d{8}"),
        ("IND", r"[A-Z]\d{7}"),
        ("RUS", r"\d{9}"),
        ("CAN", r"[A-Z]{2}\d{6}"),
        ("AUS", r"[A-Z]{1,2}\d{7}"),
        ("UTO", r"L\d{6}C\d|D\d{8}"),
        ("XPO", r"[A-Z0-9]{9}"),
    ],
)
def test_numbers_have_the_states_shape(state: str, shape: str) -> None:
    rng = random.Random(state)
    for _ in range(200):
        assert re.fullmatch(shape, random_number(state, rng))
    for number in NumberStream(state, 0).take(200, np.random.default_rng(0)):
        assert re.fullmatch(shape, number)


@settings(max_examples=50)
@given(state=st.sampled_from(sorted(ISSUING_STATES)), seed=st.integers(0, 2**32))
def test_random_number_fits_one_of_the_states_patterns(state: str, seed: int) -> None:
    number = random_number(state, random.Random(seed))
    patterns = [parse_pattern(spec) for spec, _ in number_formats(state)]
    assert any(
        len(number) == len(pattern) and all(c in a for c, a in zip(number, pattern, strict=True))
        for pattern in patterns
    )


def test_unknown_state_has_no_numbers() -> None:
    with pytest.raises(ValueError, match="'DEU'"):
        random_number("DEU", random.Random(0))
    with pytest.raises(ValueError):
        NumberStream("DEU", 0)


@pytest.mark.parametrize("state", ["GBR", "USA", "D", "UTO"])
def test_number_stream_never_repeats_and_is_deterministic(state: str) -> None:
    def draw(seed: int) -> list[str]:
        stream, gen = NumberStream(state, seed), np.random.default_rng(seed)
        return [number for size in (1, 999, 50_000) for number in stream.take(size, gen)]

    numbers = draw(5)
    assert len(set(numbers)) == len(numbers)
    assert draw(5) == numbers
    assert draw(6) != numbers


def test_number_stream_stops_when_a_format_is_used_up() -> None:
    stream = NumberStream("PRT", 0)  # A999999: 26 million numbers
    stream._streams[0]._drawn = 26 * 10**6 - 5
    assert len(set(stream.take(5, np.random.default_rng(0)))) == 5
    with pytest.raises(ValueError, match="distinct numbers fit"):
        stream.take(1, np.random.default_rng(0))

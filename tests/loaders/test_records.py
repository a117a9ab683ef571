"""From an upload row to a stored record and back (loaders/records.py)."""

from __future__ import annotations

import pytest

from indexes import Deletion, Record
from loaders.catalog import SLTD, identity, record_id
from loaders.records import Rejected, decode, parse_row

OWNER = "UTO"


def row(**fields: str) -> dict[str, str]:
    base = {"number": "L898902C3", "country": "UTO", "status": "stolen"}
    base.update(fields)
    return {name: value for name, value in base.items()}


def parsed_record(fields: dict[str, str], owner: str = OWNER) -> Record:
    parsed = parse_row(SLTD, fields, owner)
    assert isinstance(parsed, Record), parsed
    return parsed


def rejected(fields: dict[str, str], owner: str = OWNER) -> str:
    parsed = parse_row(SLTD, fields, owner)
    assert isinstance(parsed, Rejected), parsed
    return parsed.reason


def test_minimal_row() -> None:
    record = parsed_record(row(number="l89 8902-c3"))
    assert record.identity == b"L898902C3\x1fUTO\x1fUTO"
    assert record.keys == (b"L898902C3",)
    assert record.visible_to is None
    assert decode(SLTD, record.data) == {
        "number": "L898902C3",
        "country": "UTO",
        "status": "stolen",
        "owner": "UTO",
    }


def test_full_row_is_normalised() -> None:
    record = parsed_record(
        row(
            number="X-1",
            country=" d<< ",
            type="p<",
            status="Stolen_Blank",
            reported_on="2024-05-01",
            issued_on="2020-01-31",
            expires_on="2030-01-30",
            stolen_on="2024-04-30",
            review_on="2026-01-01",
            national_ref="  REF 7 ",
        )
    )
    assert decode(SLTD, record.data) == {
        "number": "X1",
        "country": "D",
        "type": "P",
        "status": "stolen_blank",
        "reported_on": "2024-05-01",
        "issued_on": "2020-01-31",
        "expires_on": "2030-01-30",
        "stolen_on": "2024-04-30",
        "review_on": "2026-01-01",
        "national_ref": "REF 7",
        "owner": "UTO",
    }


@pytest.mark.parametrize("field", ["number", "country", "status"])
def test_each_required_field_missing(field: str) -> None:
    fields = row()
    del fields[field]
    assert rejected(fields) == f"{field}: required, but missing or empty"


@pytest.mark.parametrize("field", ["number", "country", "status"])
def test_each_required_field_blank(field: str) -> None:
    assert rejected(row(**{field: "  "})) == f"{field}: required, but missing or empty"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("number", "L89/8902"),
        ("number", "A" * 31),
        ("country", "ZZZ"),
        ("country", "DEU"),
        ("status", "found"),
        ("type", "X"),
        ("reported_on", "2024-5-1"),
        ("reported_on", "2999-01-01"),
        ("issued_on", "2023-02-30"),
        ("expires_on", "soon"),
        ("stolen_on", "2999-01-01"),
        ("review_on", "01/01/2026"),
        ("visible_to", "GBR;ZZZ"),
    ],
)
def test_bad_value_reason_starts_with_the_field(field: str, value: str) -> None:
    reason = rejected(row(**{field: value}))
    assert reason.startswith(f"{field}: ")
    named = value.split(";")[-1]  # visible_to: the member that is wrong
    assert repr(named) in reason


def test_optional_fields_may_be_empty() -> None:
    record = parsed_record(row(type="", reported_on=" ", visible_to=""))
    assert record.visible_to is None
    assert "type" not in decode(SLTD, record.data)


@pytest.mark.parametrize("action", ["upsert", "UPSERT", " Upsert ", ""])
def test_upsert_actions(action: str) -> None:
    parsed_record(row(action=action))


def test_unknown_action_is_rejected() -> None:
    reason = rejected(row(action="remove"))
    assert reason.startswith("action: ")
    assert "'remove'" in reason


def test_delete_needs_only_the_key_fields() -> None:
    parsed = parse_row(SLTD, {"action": "delete", "number": "l89 8902 c3", "country": "uto"}, "FRA")
    assert parsed == Deletion(b"L898902C3\x1fUTO\x1fFRA", b"L898902C3")


def test_delete_ignores_bad_non_key_fields() -> None:
    fields = row(action="Delete", status="whatever", reported_on="never")
    assert isinstance(parse_row(SLTD, fields, OWNER), Deletion)


@pytest.mark.parametrize("field", ["number", "country"])
def test_delete_without_a_key_field(field: str) -> None:
    fields = {"action": "delete", "number": "L1", "country": "UTO"}
    del fields[field]
    assert rejected(fields) == f"{field}: required, but missing or empty"


def test_delete_with_a_bad_key_field() -> None:
    reason = rejected({"action": "delete", "number": "L1", "country": "ZZZ"})
    assert reason.startswith("country: ")


def test_unknown_fields_are_kept_as_extras() -> None:
    record = parsed_record(row(colour="blue", remarks="seen at CDG", blank=""))
    assert decode(SLTD, record.data) == {
        "number": "L898902C3",
        "country": "UTO",
        "status": "stolen",
        "owner": "UTO",
        "colour": "blue",
        "remarks": "seen at CDG",
    }


def test_special_fields_are_not_extras() -> None:
    record = parsed_record(row(action="upsert", visible_to="GBR", owner="FRA"))
    decoded = decode(SLTD, record.data)
    assert decoded["owner"] == OWNER
    assert "action" not in decoded
    assert "visible_to" not in decoded


def test_visible_to_gets_the_owner_added() -> None:
    record = parsed_record(row(visible_to="gbr, usa"), owner="FRA")
    assert record.visible_to == frozenset({"GBR", "USA", "FRA"})
    assert "visible_to" not in decode(SLTD, record.data)


def test_visible_to_of_the_owner_only() -> None:
    record = parsed_record(row(visible_to="UTO"))
    assert record.visible_to == frozenset({"UTO"})


def test_identity_includes_the_owner() -> None:
    by_uto = parsed_record(row(), owner="UTO")
    by_fra = parsed_record(row(), owner="FRA")
    assert by_uto.identity != by_fra.identity
    assert by_uto.keys == by_fra.keys
    assert identity(SLTD, {"number": "L1", "country": "D"}, "FRA") == b"L1\x1fD\x1fFRA"
    assert record_id(SLTD, by_fra.identity) == "SLTD/L898902C3/UTO/FRA"


def test_same_identity_whatever_the_typing() -> None:
    one = parsed_record(row(number="L898902C3", country="UTO"))
    two = parsed_record(row(number="l89-8902 c3<", country=" uto<"))
    assert one.identity == two.identity


def test_decode_refuses_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="SLTD"):
        decode(SLTD, ["L1", "UTO"])
    with pytest.raises(ValueError, match="SLTD"):
        decode(SLTD, {"number": "L1"})


def test_extras_never_override_catalog_fields_in_decode() -> None:
    values: list[object] = [None] * len(SLTD.fields)
    values[0], values[1], values[3] = "L1", "UTO", "lost"
    data = [*values, "UTO", None, {"owner": "XXX", "number": "FAKE", "note": "n"}]
    assert decode(SLTD, data) == {
        "number": "L1",
        "country": "UTO",
        "status": "lost",
        "owner": "UTO",
        "note": "n",
    }

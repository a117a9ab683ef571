"""The normalisers shared by the loader and the screening path (loaders/normalise.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders import maritime, normalise, vehicles
from loaders.normalise import FieldError

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SEPARATORS = " -<"
NORMAL_NUMBER = re.compile(r"[A-Z0-9]+")

numbers = st.text(alphabet=ALNUM, min_size=1, max_size=30)


@st.composite
def typed_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(canonical number, the same number as a clerk might type it)."""
    number = draw(numbers)
    typed = []
    for char in number:
        typed.append(draw(st.text(alphabet=SEPARATORS, max_size=3)))
        typed.append(char.lower() if draw(st.booleans()) else char)
    typed.append(draw(st.text(alphabet=SEPARATORS, max_size=3)))
    return number, "".join(typed)


# document_number ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("L898902C3", "L898902C3"),
        ("l898902c3", "L898902C3"),
        ("L89 8902-C3", "L898902C3"),
        ("L898902C3<<<", "L898902C3"),
        ("  l89-89<02 c3 ", "L898902C3"),
        ("\tAB12\t", "AB12"),
        ("X" * 30, "X" * 30),
    ],
)
def test_document_number_examples(typed: str, expected: str) -> None:
    assert normalise.document_number(typed) == expected


@given(typed_numbers())
def test_document_number_ignores_separators_and_case(pair: tuple[str, str]) -> None:
    number, typed = pair
    assert normalise.document_number(typed) == number


@given(st.text(max_size=40))
def test_document_number_is_idempotent_and_canonical(value: str) -> None:
    try:
        number = normalise.document_number(value)
    except FieldError:
        return
    assert NORMAL_NUMBER.fullmatch(number)
    assert normalise.document_number(number) == number


@given(st.text(max_size=40))
def test_document_number_accepts_only_ascii_alnum_and_separators(value: str) -> None:
    kept = value.translate(str.maketrans("", "", " -<\t"))
    acceptable = kept != "" and len(kept) <= 30 and all(c.upper() in ALNUM for c in kept)
    acceptable = acceptable and kept.isascii()
    if acceptable:
        assert normalise.document_number(value) == kept.upper()
    else:
        with pytest.raises(FieldError):
            normalise.document_number(value)


@pytest.mark.parametrize("value", ["L89/8902", "L898902C3!", "L89_8902", "ÀB12", "AB.12", "ß12"])
def test_document_number_bad_characters_name_the_value(value: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise.document_number(value)
    assert repr(value) in str(caught.value)
    assert "A-Z and 0-9" in str(caught.value)


def test_document_number_does_not_fold_non_ascii_into_ascii() -> None:
    # "ß".upper() == "SS", "ı".upper() == "I", "ﬁ".upper() == "FI": none is a document number.
    for value in ("ß1", "ı23", "ﬁ9", "A\u017f1"):
        with pytest.raises(FieldError):
            normalise.document_number(value)


@pytest.mark.parametrize("value", ["", " ", "---", "<<<", " -< \t"])
def test_document_number_empty(value: str) -> None:
    with pytest.raises(FieldError, match="empty"):
        normalise.document_number(value)


def test_document_number_too_long() -> None:
    value = "A" * 31
    with pytest.raises(FieldError) as caught:
        normalise.document_number(value)
    assert repr(value) in str(caught.value)
    assert "30" in str(caught.value)


# state / state_list -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("D", "D"),
        ("UTO", "UTO"),
        ("XXA", "XXA"),
        ("XXB", "XXB"),
        ("XXC", "XXC"),
        ("XXX", "XXX"),
        ("d<<", "D"),
        (" fra ", "FRA"),
        ("gbr", "GBR"),
    ],
)
def test_state_accepts_icao_codes(typed: str, expected: str) -> None:
    assert normalise.state(typed) == expected


@pytest.mark.parametrize("value", ["ZZZ", "DE", "", "FRANCE", "XKX"])
def test_state_rejects_non_icao_codes(value: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise.state(value)
    assert repr(value) in str(caught.value)


def test_state_rejects_deu_with_a_hint() -> None:
    with pytest.raises(FieldError) as caught:
        normalise.state("DEU")
    message = str(caught.value)
    assert "'DEU'" in message
    assert "'D'" in message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", ()),
        ("  ", ()),
        (";", ()),
        (" ; , ;", ()),
        ("GBR", ("GBR",)),
        ("GBR;FRA", ("FRA", "GBR")),
        ("GBR,FRA", ("FRA", "GBR")),
        ("gbr; fra ,", ("FRA", "GBR")),
        ("GBR;;FRA;", ("FRA", "GBR")),
        ("D<<;d;D", ("D",)),
        ("USA,GBR;FRA", ("FRA", "GBR", "USA")),
    ],
)
def test_state_list(typed: str, expected: tuple[str, ...]) -> None:
    assert normalise.state_list(typed) == expected


def test_state_list_rejects_a_bad_member() -> None:
    with pytest.raises(FieldError, match="ZZZ"):
        normalise.state_list("GBR;ZZZ")


# dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("2024-05-01", "2024-05-01"), (" 2024-02-29 ", "2024-02-29"), ("1999-12-31", "1999-12-31")],
)
def test_iso_date_accepts(typed: str, expected: str) -> None:
    assert normalise.iso_date(typed) == expected


@pytest.mark.parametrize(
    "value",
    ["2023-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-5-1", "2024/05/01", "01-05-2024",
     "20240501", "", "2024-05-01T00:00", "yesterday"],
)  # fmt: skip
def test_iso_date_rejects(value: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise.iso_date(value)
    assert repr(value) in str(caught.value)


def test_iso_date_message_tells_shape_from_calendar() -> None:
    with pytest.raises(FieldError, match="YYYY-MM-DD"):
        normalise.iso_date("2024-5-1")
    with pytest.raises(FieldError, match="not a real date"):
        normalise.iso_date("2023-02-30")


def test_past_date() -> None:
    today = date.today()
    assert normalise.past_date(today.isoformat()) == today.isoformat()
    assert normalise.past_date("2001-09-11") == "2001-09-11"
    tomorrow = (today + timedelta(days=1)).isoformat()
    with pytest.raises(FieldError, match="future"):
        normalise.past_date(tomorrow)
    with pytest.raises(FieldError, match="not a real date"):
        normalise.past_date("2023-02-30")


def test_iso_date_allows_the_future() -> None:
    later = (date.today() + timedelta(days=3650)).isoformat()
    assert normalise.iso_date(later) == later


# document_type, choice, text ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("P", "P"), ("p", "P"), ("P<", "P"), ("PD", "PD"), (" i ", "I"), ("V", "V"), ("AC", "AC"),
     ("C1", "C1")],
)  # fmt: skip
def test_document_type_accepts(typed: str, expected: str) -> None:
    assert normalise.document_type(typed) == expected


@pytest.mark.parametrize(
    "value", ["", "X", "PPP", "B", "passport", "<<", "P-", "p\u0131", "\u0131"]
)
def test_document_type_rejects(value: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise.document_type(value)
    assert repr(value) in str(caught.value)


def test_choice_is_case_insensitive() -> None:
    status = normalise.choice(("stolen", "lost"))
    assert status("stolen") == "stolen"
    assert status("Stolen") == "stolen"
    assert status(" LOST ") == "lost"
    with pytest.raises(FieldError) as caught:
        status("found")
    assert "'found'" in str(caught.value)
    assert "stolen, lost" in str(caught.value)
    with pytest.raises(FieldError):
        status("")


def test_choice_upper_stores_upper_case() -> None:
    notice = normalise.choice(("RED", "YELLOW"), upper=True)
    assert notice("RED") == "RED"
    assert notice(" red ") == "RED" and notice("Yellow") == "YELLOW"
    with pytest.raises(FieldError, match="'pink' is not one of RED, YELLOW"):
        notice("pink")


@pytest.mark.parametrize("value", ["revo\u212aed", "\u0131nvalidated"])
def test_choice_folds_ascii_only(value: str) -> None:
    # The Kelvin sign lower-cases to "k", and dotless i upper-cases to "I": neither is one.
    with pytest.raises(FieldError):
        normalise.choice(("revoked", "invalidated"))(value)
    with pytest.raises(FieldError):
        normalise.choice(("REVOKED", "INVALIDATED"), upper=True)(value)


def test_text_strips() -> None:
    assert normalise.text("  a b  ") == "a b"
    assert normalise.text("") == ""


DROP_TABLES = {
    "document number": normalise.DOCUMENT_NUMBER_DROP,
    "identifier": normalise.IDENTIFIER_DROP,
    "vin": vehicles.VIN_DROP,
    "plate": vehicles.PLATE_DROP,
    "hin": maritime.HIN_DROP,
}


@pytest.mark.parametrize("name", DROP_TABLES)
def test_no_drop_table_drops_a_letter_or_digit(name: str) -> None:
    """`without` skips the translate for letters and digits: sound only while no table
    drops one of them."""
    assert not any(chr(code).isalnum() for code in DROP_TABLES[name]), name


@given(st.sampled_from(sorted(DROP_TABLES)), st.text(alphabet=st.characters(), max_size=20))
def test_without_is_translate(name: str, value: str) -> None:
    drop = DROP_TABLES[name]
    assert normalise.without(value, drop) == value.translate(drop)
    assert normalise.without(value + " -.", drop) == (value + " -.").translate(drop)

"""The ICAO 9303 code list: the specials are there, DEU is not, normalisation round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders.countries import ISSUING_STATES, is_issuing_state, normalise_state

SPECIALS = (
    "D", "UTO", "XXA", "XXB", "XXC", "XXX", "GBD", "GBN", "GBO", "GBP", "GBS", "RKS",
    "EUE", "UNO", "UNA", "UNK", "XBA", "XIM", "XCC", "XCE", "XCO", "XEC", "XES", "XMP",
    "XOM", "XPO", "XDC", "ANT", "NTZ",
)  # fmt: skip

# Codes one meets in the wild that 9303 does not define.
NOT_9303 = ("DEU", "XKX", "XXK", "IAO", "XMI", "GB", "DE", "EU", "UN", "")

codes = st.sampled_from(sorted(ISSUING_STATES))


@pytest.mark.parametrize("code", SPECIALS)
def test_specials_are_issuing_states(code: str) -> None:
    assert is_issuing_state(code)
    assert ISSUING_STATES[code]


@pytest.mark.parametrize("code", ["FRA", "GBR", "USA", "CHN", "NLD", "ZWE", "ABW", "TWN"])
def test_iso_codes_are_issuing_states(code: str) -> None:
    assert is_issuing_state(code)


@pytest.mark.parametrize("code", NOT_9303)
def test_codes_outside_9303_are_rejected(code: str) -> None:
    assert not is_issuing_state(code)
    with pytest.raises(ValueError, match="not an ICAO Doc 9303"):
        normalise_state(code)


def test_size_is_iso_plus_9303_specials() -> None:
    # 249 ISO 3166-1 codes with DEU spelled D, and 28 codes only 9303 has.
    assert len(ISSUING_STATES) == 249 + 28


def test_germany_is_d_and_deu_gets_a_hint() -> None:
    assert ISSUING_STATES["D"] == "Germany"
    assert "DEU" not in ISSUING_STATES
    with pytest.raises(ValueError, match="use 'D' for Germany") as raised:
        normalise_state("deu")
    assert "'deu'" in str(raised.value)


def test_other_rejections_name_the_value_without_a_hint() -> None:
    with pytest.raises(ValueError) as raised:
        normalise_state(" XKX< ")
    assert "' XKX< '" in str(raised.value)
    assert "use" not in str(raised.value)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("d<<", "D"), ("D<<", "D"), (" fra ", "FRA"), ("Uto", "UTO"), ("xxa<", "XXA"), ("D", "D")],
)
def test_normalise_examples(typed: str, code: str) -> None:
    assert normalise_state(typed) == code


def test_codes_are_upper_case_letters() -> None:
    for code, name in ISSUING_STATES.items():
        assert code.isascii() and code.isalpha() and code.isupper(), code
        assert len(code) == 3 or code == "D", code
        assert name.strip() == name and name, code


def test_list_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        ISSUING_STATES["DEU"] = "Germany"  # type: ignore[index]


@given(
    code=codes,
    lower=st.lists(st.booleans(), min_size=3, max_size=3),
    before=st.text(" ", max_size=3),
    after=st.text(" <", max_size=4),
)
def test_normalise_round_trips(code: str, lower: list[bool], before: str, after: str) -> None:
    typed = (
        before
        + "".join(c.lower() if low else c for c, low in zip(code, lower[: len(code)], strict=True))
        + after
    )
    assert normalise_state(typed) == code
    assert normalise_state(normalise_state(typed)) == code


@given(code=codes)
def test_mrz_field_round_trips(code: str) -> None:
    # The issuing state field of an MRZ is three characters, padded with '<'.
    assert normalise_state(code.ljust(3, "<")) == code


@given(text=st.text(max_size=6))
def test_normalise_accepts_only_listed_codes(text: str) -> None:
    try:
        code = normalise_state(text)
    except ValueError as error:
        assert repr(text) in str(error)
    else:
        assert is_issuing_state(code)


@pytest.mark.parametrize("typed", ["ﬁn", "fın", "ＦＲＡ"])
def test_lookalikes_are_not_codes(typed: str) -> None:
    # Unicode upper-casing would make these FIN and FRA; an ICAO code is ASCII.
    with pytest.raises(ValueError):
        normalise_state(typed)

"""The normalisers of the databases beyond SLTD: VINs, IMO numbers, hull ids, digests,
makes, serials, amounts, currencies, isotopes, templates and DNA loci (NOMINAL's dates of
birth are loaders/birth_dates.py's, tested in test_names.py).

Each is idempotent (its output is its own fixed point), accepts what the generator writes
and stores it as the loader will, and refuses junk with a message that says why.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders import biometrics, digests, maritime, normalise, vehicles
from loaders.currencies import BANKNOTES, currency
from loaders.generators import arms
from loaders.generators import biometrics as bio_generators
from loaders.generators import maritime as boats
from loaders.generators import vehicles as cars
from loaders.generators.common import Serials
from loaders.isotopes import ISOTOPES, isotope
from loaders.normalise import FieldError

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def refuses(normaliser: Callable[[str], object], value: str, why: str) -> None:
    with pytest.raises(FieldError, match=why):
        normaliser(value)


# --- VIN ------------------------------------------------------------------------------


@st.composite
def north_american_vins(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=VIN_ALPHABET, min_size=16, max_size=16))
    draft = draw(st.sampled_from("12345")) + body
    return draft[:8] + vehicles.vin_check_digit(draft) + draft[9:]


@given(north_american_vins())
def test_a_valid_north_american_vin_is_kept_and_any_one_typo_is_caught(vin: str) -> None:
    assert vehicles.vin(vin) == vin
    assert vehicles.vin(f" {vin.lower()[:5]}-{vin.lower()[5:]} ") == vin
    position = 9 if vin[9] != "X" else 10  # a changed character breaks the check digit...
    for replacement in VIN_ALPHABET:
        typo = vin[:position] + replacement + vin[position + 1 :]
        if replacement != vin[position] and vehicles.vin_check_digit(typo) != typo[8]:
            refuses(vehicles.vin, typo, "check digit")


def test_vin_examples() -> None:
    assert vehicles.vin("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"  # the 49 CFR example
    assert vehicles.vin("WVWZZZ1JZXW000001") == "WVWZZZ1JZXW000001"  # European: no check
    refuses(vehicles.vin, "1M8GDM9A1KP042788", "check digit")
    refuses(vehicles.vin, "WVWZZZ1JZXW00000", "17 characters")
    refuses(vehicles.vin, "WVWZZZ1JZXW00000O", "never holds: 'O'")
    refuses(vehicles.vin, "WVWZZZ1JZXW0000ı1", "never holds")


@given(st.text(max_size=20))
def test_vin_is_idempotent_or_refuses(value: str) -> None:
    try:
        vin = vehicles.vin(value)
    except FieldError as error:
        assert str(error)
        return
    assert vehicles.vin(vin) == vin and len(vin) == 17


def test_generated_vins_and_plates_load() -> None:
    from datetime import date

    [columns] = list(cars.smv_chunks(2_000, 5, date(2026, 1, 1)))
    vins = [v for v in columns[0] if v]
    assert len({vehicles.vin(v) for v in vins}) == len(vins)
    plates = [(p, c) for p, c in zip(columns[1], columns[2], strict=True) if p]
    assert len({(vehicles.plate(p), c) for p, c in plates}) == len(plates)


# --- IMO and HIN ------------------------------------------------------------------------


@given(st.integers(1_000_000, 9_999_999))
def test_imo_check_digit(number: int) -> None:
    text = str(number)
    valid = text[6] == maritime.imo_check_digit(text[:6])
    for typed in (text, f"IMO {text}", f"imo{text}", f"IMO: {text[:3]} {text[3:]}"):
        if valid:
            assert maritime.imo(typed) == text
        else:
            refuses(maritime.imo, typed, "check digit")


def test_imo_examples() -> None:
    assert maritime.imo("IMO 9074729") == "9074729"  # SOLAS's own example
    refuses(maritime.imo, "9074728", "check digit")
    refuses(maritime.imo, "907472", "7 digits")
    refuses(maritime.imo, "IMO 90747A9", "7 digits")


def test_hin_examples() -> None:
    assert maritime.hin("abc 12345 d4 04") == "ABC12345D404"
    assert maritime.hin("FR-BEN12345D404") == "FRBEN12345D404"
    refuses(maritime.hin, "ABC12345M404", "month letter")
    refuses(maritime.hin, "ABC1234OD404", "without I/O/Q")
    refuses(maritime.hin, "AB12345D404", "hull identification number")


def test_generated_hins_and_imos_are_valid_and_distinct() -> None:
    from datetime import date

    [columns] = list(boats.vessels_chunks(3_000, 2, date(2026, 1, 1)))
    hins = [maritime.hin(h) for h in columns[0] if h]
    imos = [maritime.imo(i) for i in columns[1] if i]
    assert len(set(hins)) == len(hins) and len(set(imos)) == len(imos) and imos


# --- digests ------------------------------------------------------------------------------


@pytest.mark.parametrize("digest", [digests.sha256, digests.md5, digests.phash])
@given(data=st.data())
def test_digests_round_trip(digest: digests.HexDigest, data: st.DataObject) -> None:
    raw = data.draw(st.binary(min_size=digest.bits // 8, max_size=digest.bits // 8))
    text = raw.hex()
    assert digest(text) == text
    assert digest("0x" + text.upper()) == text
    refuses(digest, text[:-1], f"has {digest.length - 1} hex digits")
    refuses(digest, text[:-1] + "g", "not hexadecimal")


# --- make, identifiers, amounts, currencies, isotopes --------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Heckler & Koch", "HECKLER KOCH"),
        ("HECKLER-KOCH", "HECKLER KOCH"),
        ("H&K", "HECKLER KOCH"),
        ("heckler und koch", "HECKLER KOCH"),
        ("Smith and Wesson", "SMITH WESSON"),
        ("Citroën", "CITROEN"),
        ("  Glock ", "GLOCK"),
        ("Mercedes-Benz", "MERCEDES BENZ"),
    ],
)
def test_make_folds_case_accents_and_punctuation(typed: str, stored: str) -> None:
    assert normalise.make(typed) == stored


@given(st.text(max_size=30))
def test_make_is_idempotent_or_refuses(value: str) -> None:
    try:
        made = normalise.make(value)
    except FieldError as error:
        assert "no letter or digit" in str(error)
        return
    assert normalise.make(made) == made
    assert re.fullmatch(r"[A-Z0-9]+( [A-Z0-9]+)*", made)


def test_every_generated_firearm_make_is_stable() -> None:
    for make, model, *_ in arms.FIREARMS:
        assert normalise.make(normalise.make(make)) == normalise.make(make)
        assert normalise.make(model)


@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=40))
def test_identifier_round_trip(serial: str) -> None:
    assert normalise.identifier(serial) == serial
    assert normalise.identifier(f"{serial[:1].lower()}-{serial[1:]}/") == serial


def test_identifier_refuses_junk() -> None:
    refuses(normalise.identifier, " - / ", "is empty")
    refuses(normalise.identifier, "AB#12", "other than A-Z and 0-9: '#'")
    refuses(normalise.identifier, "A" * 41, "longer than 40")


@given(st.integers(0, 10**9), st.integers(0, 9999))
def test_amount_round_trip(whole: int, cents: int) -> None:
    stored = normalise.amount(f"{whole}.{cents:04d}")
    assert normalise.amount(stored) == stored
    assert math.isclose(float(stored), whole + cents / 10_000)


def test_amount_and_currency_refuse_junk() -> None:
    refuses(normalise.amount, "1,000", "not an amount")
    refuses(currency, "XYZ", "ISO 4217")
    assert currency(" usd ") == "USD"
    assert all(normalise.amount(note) == note for notes in BANKNOTES.values() for note in notes)


@pytest.mark.parametrize("name", list(ISOTOPES))
def test_isotope_spellings(name: str) -> None:
    element, mass = name.split("-")
    for typed in (name, name.lower(), f"{element}{mass}", f"{mass}{element}", f"{mass}-{element}"):
        assert isotope(typed) == name
    assert isotope(isotope(name)) == name


def test_isotope_refuses_junk() -> None:
    refuses(isotope, "Xx-999", "not a radionuclide")
    assert isotope("Cesium-137") == isotope("caesium 137") == "Cs-137"


# --- templates ------------------------------------------------------------------------------


@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=8, max_size=8))
def test_template_spellings_agree(values: list[float]) -> None:
    template = biometrics.Template(8)
    if not any(values):
        refuses(template, str(values), "no direction")
        return
    stored = template(biometrics.template_text(values))
    assert stored == [float(np.float32(v)) for v in values]
    assert template(str(stored)) == stored  # a JSON array
    assert template(" ".join(map(repr, stored))) == stored
    assert template(";".join(map(repr, stored))) == stored


def test_template_refuses_junk() -> None:
    template = biometrics.Template(4)
    refuses(template, "[1, 2, 3]", "has 3 numbers; a template here has 4")
    refuses(template, "[1, 2, 3, NaN]", "not a JSON array")
    refuses(template, "1 2 3 inf", "not finite")
    refuses(template, "1 2 x 4", "'x' is not a number")
    refuses(template, "f32:***", "not valid base64")
    refuses(template, "f32:" + base64.b64encode(b"12345").decode(), "whole float32")
    refuses(template, "0 0 0 0", "no direction")


def test_generated_templates_are_unit_vectors_of_the_dimension() -> None:
    from datetime import date

    [columns] = list(bio_generators.afis_chunks(50, 1, date(2026, 1, 1)))
    for text in columns[0]:
        vector = np.asarray(biometrics.Template(256)(text))
        assert math.isclose(float(np.linalg.norm(vector)), 1.0, rel_tol=1e-5)


# --- DNA loci -------------------------------------------------------------------------------


def test_loci_spellings_agree() -> None:
    compact = biometrics.loci("D3S1358:15/17; vwa:16,14 ;THO1:9.3/6;amelogenin:X/Y")
    assert compact == {"AMEL": ["X", "Y"], "D3S1358": ["15", "17"], "TH01": ["6", "9.3"],
                       "vWA": ["14", "16"]}  # fmt: skip
    as_json = biometrics.loci('{"D3S1358": [15, 17], "vWA": "14/16", "TH01": [6, 9.3], '
                              '"AMEL": ["X", "Y"]}')  # fmt: skip
    assert as_json == compact
    assert biometrics.loci(biometrics.loci_text(compact)) == compact
    assert biometrics.loci("D3S1358:15/15") == {"D3S1358": ["15"]}  # a homozygote


def test_loci_refuse_junk() -> None:
    refuses(biometrics.loci, "D99S1:15", "not a CODIS")
    refuses(biometrics.loci, "D3S1358:15/x", "not an allele")
    refuses(biometrics.loci, "D3S1358:99", "outside")
    refuses(biometrics.loci, "D3S1358 15", "LOCUS:ALLELE")
    refuses(biometrics.loci, "AMEL:X/Y", "no STR locus")
    refuses(biometrics.loci, "D3S1358:12/13/14/15", "at most 3")
    refuses(biometrics.loci, '{"D3S1358": [15], "d3s1358": [16]}', "given twice")
    refuses(biometrics.loci, "[1, 2]", "LOCUS:ALLELE")


def test_generated_profiles_round_trip() -> None:
    from datetime import date

    [columns] = list(bio_generators.dna_chunks(300, 4, date(2026, 1, 1)))
    sizes = set()
    for text, kind in zip(columns[0], columns[2], strict=True):
        profile = biometrics.loci(text)
        assert biometrics.loci_text(profile) == text  # written as the loader stores it
        sizes.add((kind == "crime_scene", len(profile) == 21))
    assert sizes == {(False, True), (True, False)}  # full reference, partial scene profiles


def test_serials_are_distinct_within_capacity() -> None:
    serials = Serials("LD", 3)
    values = [serials(i) for i in range(serials.capacity)]
    assert len(set(values)) == serials.capacity == 230
    with pytest.raises(ValueError, match="holds only 230"):
        serials(230)


@given(st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_imo_check_digit_is_the_weighted_sum_of_solas(six: str) -> None:
    weighted = zip(six, (7, 6, 5, 4, 3, 2), strict=True)
    expected = sum(int(digit) * weight for digit, weight in weighted) % 10
    assert maritime.imo_check_digit(six) == str(expected)


def test_imo_check_digit_wants_six_digits() -> None:
    with pytest.raises(ValueError, match="6 digits"):
        maritime.imo_check_digit("90747")


@given(st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17))
def test_vin_check_digit_is_the_weighted_sum_of_49_cfr_565(vin: str) -> None:
    values = {c: (ord(c) - 48) if c.isdigit() else "12345678_12345_7_923456789"[ord(c) - 65]
              for c in VIN_ALPHABET}  # fmt: skip
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(values[c]) * w for c, w in zip(vin, weights, strict=True)) % 11
    assert vehicles.vin_check_digit(vin) == ("X" if remainder == 10 else str(remainder))


def test_vin_check_digit_wants_17_characters() -> None:
    with pytest.raises(ValueError, match="17 characters of A-Z and 0-9"):
        vehicles.vin_check_digit("1M8GDM9AXKP04278")

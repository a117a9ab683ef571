"""Name folding, ICAO 9303 transliteration, phonetic keys and dates of birth.

Properties (hypothesis) hold the normaliser to what the matcher relies on: folding twice
changes nothing, token order never changes a record's keys, and diacritics fold as ICAO
Doc 9303 says. Known answers come from Doc 9303 Part 3 section 6's tables.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loaders.birth_dates import (
    APPROXIMATE,
    DISAGREES,
    EXACT,
    PARTIAL,
    UNKNOWN,
    BirthDate,
    agreement,
    date_keys,
    normalise_birth_dates,
    parse_birth_date,
    query_date_keys,
)
from loaders.names import (
    name_keys,
    name_tokens,
    normalise_name,
    person_index_keys,
    phonetic,
    significant,
)
from loaders.normalise import FieldError
from loaders.transliteration import to_latin

names = st.text(alphabet=st.sampled_from(list("abcdeÄÖÜßÅÆØÞéñç ЖХЦЩЮЯабв محمد-'<,")), max_size=40)


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Müller", "MUELLER"),
        ("Öztürk", "OEZTUERK"),
        ("Strauß", "STRAUSS"),
        ("Ångström", "AANGSTROEM"),
        ("Æsir Ørsted", "AESIR OERSTED"),
        ("Þórður", "THORDUR"),
        ("José Ñúñez", "JOSE NUNEZ"),
        ("Łukasz Wałęsa", "LUKASZ WALESA"),
        ("Горбачёв", "GORBACHEV"),
        ("Хрущёв", "KHRUSHCHEV"),
        ("Юлия Щукина", "IULIIA SHCHUKINA"),
        ("O'Neil", "ONEIL"),
        ("'ABD AL-MALIK", "ABD AL MALIK"),
        ("ERIKSSON<<ANNA<MARIA", "ERIKSSON ANNA MARIA"),
        ("محمد", "MHMD"),
    ],
)
def test_icao_transliteration_known_answers(written: str, folded: str) -> None:
    assert normalise_name(written) == folded


def test_other_scripts_fall_back_to_anyascii() -> None:
    assert to_latin("Ελληνικά") == "ELLINIKA"
    assert normalise_name("金正恩")  # some Latin, never empty for a real name


@given(names)
def test_folding_is_idempotent(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once
    assert once == once.upper() and once.isascii()


@given(
    st.lists(
        st.sampled_from(["ANNA", "MARIA", "ERIKSSON", "AL", "QATARI", "Müller"]),
        min_size=1,
        max_size=5,
    ),
    st.randoms(),
)
def test_token_order_never_changes_keys(tokens: list[str], random: object) -> None:
    shuffled = list(tokens)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert set(name_keys([" ".join(tokens)])) == set(name_keys([" ".join(shuffled)]))


@given(st.sampled_from(["É", "È", "Ê", "Ë", "Á", "Ç", "Ñ", "Ő", "Ž"]))
def test_plain_diacritics_fold_to_their_letter(letter: str) -> None:
    assert normalise_name(letter + "X") == to_latin(letter)[0] + "X"
    assert len(to_latin(letter)) == 1


def test_transliteration_variants_share_phonetic_keys() -> None:
    assert phonetic("MOHAMMED") == phonetic("MUHAMMAD") == phonetic("MOHAMED")
    assert phonetic("MUELLER") == phonetic("MULLER")
    assert phonetic("YUSUF") == phonetic("YOUSEF")


def test_particles_are_not_significant_unless_alone() -> None:
    assert significant(name_tokens("Umar al-Qatari")) == ("UMAR", "QATARI")
    assert significant(("AL",)) == ("AL",)


def test_person_keys_cover_aliases_and_birth_years() -> None:
    keys = person_index_keys(
        {
            "surname": "ERIKSSON",
            "given_names": "ANNA",
            "aliases": "Anna Eriksdottir",
            "original_script": "Анна",
            "dob": "~1974",
        }
    )
    assert b"p:" + phonetic("ERIKSDOTTIR").encode() in keys
    assert b"y:1972" in keys and b"y:1976" in keys and b"d:1974-08-12" not in keys
    assert person_index_keys({"surname": "X"})[-1] == b"y:?"
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1974-08-12", "1974-08-12"),
        ("1974-8", "1974-08"),
        ("1974", "1974"),
        ("c. 1974", "~1974"),
        ("Approximately 1974", "~1974"),
        ("1968/1970", "1968/1970"),
        ("between 1968 and 1970", "1968/1970"),
        ("1974; 1975;1974", "1974;1975"),
    ],
)
def test_birth_dates_normalise(written: str, stored: str) -> None:
    assert normalise_birth_dates(written) == stored
    assert normalise_birth_dates(stored) == stored


@pytest.mark.parametrize("bad", ["1974-02-30", "12/08/1974", "1974-13", "1970/1960", "", "abc"])
def test_bad_birth_dates_say_why(bad: str) -> None:
    with pytest.raises(FieldError):
        normalise_birth_dates(bad)


@given(st.dates())
def test_full_dates_round_trip(day: object) -> None:
    text = str(day)
    if 1850 <= int(text[:4]) <= 2100:
        assert str(parse_birth_date(text)) == text


def test_agreement_of_dates_of_birth() -> None:
    full = parse_birth_date("1974-08-12")
    assert agreement(full, (BirthDate(1974, 8, 12),)) == EXACT
    assert agreement(full, (BirthDate(1974),)) == PARTIAL
    assert agreement(full, (BirthDate(1975, approximate=True),)) == APPROXIMATE
    assert agreement(full, (BirthDate(1973, to_year=1975),)) == APPROXIMATE
    assert agreement(full, (BirthDate(1974, 12, 8),)) == APPROXIMATE  # day and month swapped
    assert agreement(full, (BirthDate(1980), BirthDate(1974, 8, 12))) == EXACT
    assert agreement(full, (BirthDate(1975),)) == DISAGREES
    assert agreement(None, (BirthDate(1975),)) == UNKNOWN
    assert agreement(full, ()) == UNKNOWN
    assert date_keys(()) == [b"y:?"]


def test_date_keys_narrow_to_what_can_agree() -> None:
    record = date_keys((BirthDate(1974, 8, 12), BirthDate(1960, approximate=True)))
    assert record == [b"d:1974-08-12", *(b"y:%d" % year for year in range(1958, 1963))]
    query = query_date_keys(BirthDate(1974, 8, 12))
    assert query == [b"d:1974-08-12", b"d:1974-12-08", b"y:1974", b"y:?"]
    assert query_date_keys(BirthDate(1974)) is None

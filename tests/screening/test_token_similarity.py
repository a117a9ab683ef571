"""Two name tokens compared (screening/token_similarity.py): the cases that decide a match
by name, and the lazy comparison against its eager definition.

Strategy: hypothesis draws tokens from an alphabet heavy in the letters transliteration
folds (KH, DJ, OU, vowels), often as a token and its one-edit variant, so every rule
(phonetic, spelling, transliteration, consonants, other syllables) is reached.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA, JaroWinkler

from loaders.names import phonetic
from screening import token_similarity as ts
from screening.token_similarity import other_syllables, token_similarity


@pytest.mark.parametrize(
    ("one", "other"),
    [("DANG", "DUONG"), ("DUNG", "DANG"), ("GAO", "GUO"), ("HOANG", "HUONG"), ("TAN", "TUN")],
)
def test_syllables_of_another_vowel_are_other_names(one: str, other: str) -> None:
    """Vietnamese and Chinese surnames that metaphone (TNK, K) or their consonants make one."""
    assert other_syllables(one, other) and other_syllables(other, one)
    assert token_similarity(one, other) == (0.0, "")


@pytest.mark.parametrize(
    ("one", "other"),
    [("JONG", "JUNG"), ("JEONG", "JUNG"), ("SU", "SOU"), ("HWAN", "HOUAN"), ("LO", "LUO"),
     ("ALI", "ALY"), ("RYONG", "ROYNG"), ("HONG", "HUONG"), ("NIDAL", "NODAL"),
     ("MUHAMMAD", "MOHAMMED")],
)  # fmt: skip
def test_romanisations_and_typos_of_one_syllable_stay_alike(one: str, other: str) -> None:
    """One vowel of the same kind, one more or fewer, or two swapped: one name; a vowel of
    the other kind in a token of several syllables is a typo (NIDAL, NODAL)."""
    assert not other_syllables(one, other)
    assert token_similarity(one, other)[0] >= 0.8


def eager_similarity(query: str, record: str) -> tuple[float, str]:
    """`token_similarity` as first written: every test made from the tokens themselves, and
    Jaro-Winkler always computed."""
    if query == record:
        return 1.0, "exact"
    if other_syllables(query, record):
        return 0.0, ""
    similarity = JaroWinkler.normalized_similarity(query, record)
    code = phonetic(query)
    if (
        code == phonetic(record)
        and len(code) >= ts.MIN_PHONETIC_CODE
        and similarity >= ts.FUZZY_FLOOR
    ):
        return max(ts.PHONETIC_SIMILARITY, similarity), "phonetic"
    allowed = 2 if min(len(query), len(record)) >= ts.LONG_TOKEN else 1
    first = query[0] == record[0] or query[:2] == record[1::-1]
    if similarity >= ts.FUZZY_FLOOR and first and OSA.distance(query, record) <= allowed:
        return max(ts.TYPO_SIMILARITY, similarity), "spelling"
    one, other = ts.consonant_key(query), ts.consonant_key(record)
    close = len(one) > ts.MIN_CONSONANT_KEY or OSA.distance(query, record) <= 2
    if one == other and len(one) >= ts.MIN_CONSONANT_KEY and close:
        return ts.TRANSLITERATION_SIMILARITY, "transliteration"
    if max(len(query), len(record)) <= ts.SHORT_TOKEN:
        starts = query.replace("DJ", "J")[0], record.replace("DJ", "J")[0]
        vowel_initial = all(letter in "AEIOUY" for letter in starts)
        same_start = starts[0] == starts[1] or vowel_initial
        if same_start and ts.skeleton(query) == ts.skeleton(record):
            return ts.SKELETON_SIMILARITY, "consonants"
    return 0.0, ""


TOKENS = st.text(alphabet="AEIOUYWKHDJSGTNMLRBCQ", min_size=1, max_size=10)


@st.composite
def _edited(draw: st.DrawFn, token: str) -> str:
    """`token` with one random edit: a letter dropped, added, replaced, or two swapped."""
    at = draw(st.integers(0, len(token) - 1))
    letter = draw(st.sampled_from("AEIOUYWKHDJSGTNMLRBCQ"))
    edits = [
        token[:at] + token[at + 1 :],
        token[:at] + letter + token[at:],
        token[:at] + letter + token[at + 1 :],
        token[:at] + token[at + 1 : at + 2] + token[at : at + 1] + token[at + 2 :],
    ]
    return draw(st.sampled_from([edit for edit in edits if edit] or [token]))


PAIRS = st.one_of(
    st.tuples(TOKENS, TOKENS),
    TOKENS.flatmap(lambda token: st.tuples(st.just(token), _edited(token))),
)


@settings(max_examples=3000, deadline=None)
@given(PAIRS)
def test_the_lazy_comparison_is_the_eager_one(pair: tuple[str, str]) -> None:
    """Jaro-Winkler is skipped when no rule needing it can hold: never a different verdict."""
    query, record = pair
    assert token_similarity(query, record) == eager_similarity(query, record)


@pytest.mark.parametrize(
    ("query", "record", "how"),
    [("MOHAMMED", "MUHAMMAD", "phonetic"), ("ERIKSON", "ERIKSSON", "phonetic"),
     ("KHALIL", "HALIL", "transliteration"), ("HO", "HU", "consonants"),
     ("SMITH", "SMIHT", "spelling"), ("ANNA", "ANNA", "exact")],
)  # fmt: skip
def test_one_name_spelled_two_ways(query: str, record: str, how: str) -> None:
    assert token_similarity(query, record)[1] == how


@pytest.mark.parametrize(
    ("query", "record"), [("THOMAS", "THOMPSON"), ("MING", "KING"), ("JOHN", "JEAN")]
)
def test_names_that_merely_look_alike_are_not_paired(query: str, record: str) -> None:
    assert token_similarity(query, record) == (0.0, "")

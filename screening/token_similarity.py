"""How alike two name tokens are, and why: the `name` matcher's smallest comparison.

Two tokens are one name when they are equal; when they share a phonetic key and are close
in spelling (MOHAMMED, MUHAMMAD); when one typo apart (ERIKSON, ERIKSSON); when two
romanisations of one name (KHALIL, HALIL); or when short syllables differ only in their
vowels (HO, HU). Names that merely look alike (THOMAS and THOMPSON, MING and KING, JOHN and
JEAN) are not paired: on a million persons they were most of the false positives; nor are
syllables of another vowel (`other_syllables`: DANG and DUONG).

Why the `Traits`: a query compares each of its tokens with every token of ~1 candidate's
names, ~9 pairs, and almost every pair is of two common tokens seen before but never
together. What belongs to one token (its phonetic key, consonants, vowels) is worked out
once per token and remembered; a pair then costs one Jaro-Winkler at most, and only when
its verdict could depend on it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import OSA, Indel, JaroWinkler

from loaders.names import phonetic

FUZZY_FLOOR = 0.8
"""Below this Jaro-Winkler similarity two tokens are not the same name at all."""
PHONETIC_SIMILARITY = 0.88
SKELETON_SIMILARITY = 0.82
TYPO_SIMILARITY = 0.85
TRANSLITERATION_SIMILARITY = 0.88
MIN_CONSONANT_KEY = 2
FOLDED = {"KH": "H", "GH": "G", "DH": "Z", "TH": "T", "PH": "F", "DJ": "J", "OU": "W",
          "SH": "S", "CH": "S", "Q": "K", "C": "K", "EE": "I", "Y": "I"}  # fmt: skip
FOLDS = re.compile("|".join(sorted(FOLDED, key=len, reverse=True)))
VOWELS_ONLY = re.compile(r"[AEIOU]")
SHORT_TOKEN = 4
"""Tokens this short (syllables) may differ in their vowels only: HO and HU, SU and SOU."""
LONG_TOKEN = 8
"""Tokens this long (both) may be two edits apart rather than one."""
VOWELS = re.compile(r"[AEIOUYW]")
DOUBLED = re.compile(r"(.)\1+")
MIN_PHONETIC_CODE = 2
"""A one-letter phonetic code (LIU and LEE are both L) says too little to pair tokens."""
VOWEL_RUNS = re.compile(r"[AEIOUYW]+")
VOWEL_KINDS = str.maketrans("AEIYOUW", "FFFFBBB")
"""Front (F) and back (B) vowels: romanisations of one sound stay within a kind (Arabic
fatha as A or E, kasra as I, E or EE; damma as O, U or OU; Korean and Chinese O and U)."""


class Traits(NamedTuple):
    """What a token brings to every comparison it is in, worked out once (`traits`)."""

    phonetic: str
    consonants: str
    """`consonant_key`"""
    nucleus: str | None
    """`nucleus`"""
    skeleton: str
    """`skeleton`"""
    first_sound: str
    """The first letter, DJ as J (`_same_consonants`)."""


@lru_cache(maxsize=1 << 18)
def traits(token: str) -> Traits:
    return Traits(
        phonetic(token),
        consonant_key(token),
        nucleus(token),
        skeleton(token),
        token.replace("DJ", "J")[:1],
    )


@lru_cache(maxsize=1 << 18)
def token_similarity(query: str, record: str) -> tuple[float, str]:
    """How alike two name tokens are (0 to 1), and why: exact, phonetic, spelling,
    transliteration, consonants; (0.0, "") for other names (see the module)."""
    if query == record:
        return 1.0, "exact"
    one, other = traits(query), traits(record)
    if _other_vowels(one.nucleus, other.nucleus):
        return 0.0, ""
    sounds_alike = one.phonetic == other.phonetic and len(one.phonetic) >= MIN_PHONETIC_CODE
    allowed = _typos_allowed(query, record)
    may_be_typo = _may_be_typo(query, record, allowed)
    if sounds_alike or may_be_typo:
        similarity = JaroWinkler.normalized_similarity(query, record)
        if sounds_alike and similarity >= FUZZY_FLOOR:
            return max(PHONETIC_SIMILARITY, similarity), "phonetic"
        if may_be_typo and similarity >= FUZZY_FLOOR and _edits_within(query, record, allowed):
            return max(TYPO_SIMILARITY, similarity), "spelling"
    if _transliterated(query, record, one.consonants, other.consonants):
        return TRANSLITERATION_SIMILARITY, "transliteration"
    if max(len(query), len(record)) <= SHORT_TOKEN and _same_consonants(one, other):
        return SKELETON_SIMILARITY, "consonants"
    return 0.0, ""


def _transliterated(query: str, record: str, one: str, other: str) -> bool:
    """Two romanisations of one name (consonant keys `one` and `other`): the same first
    sound and the same consonants once the usual alternatives are folded (KH/H, DH/Z, OU/W,
    Q/K, CH/SH, doubled letters, vowels)."""
    if one != other or len(one) < MIN_CONSONANT_KEY:
        return False
    # two consonants say little (MOREAU and MEYER are both MR): then the spellings must
    # be close too (KHAN and HAN, KHALIL and HALIL)
    return len(one) > MIN_CONSONANT_KEY or OSA.distance(query, record) <= 2


def _typos_allowed(query: str, record: str) -> int:
    """One edit, or two between long names."""
    return 2 if min(len(query), len(record)) >= LONG_TOKEN else 1


def _may_be_typo(query: str, record: str, allowed: int) -> bool:
    """What a typo needs besides `_edits_within`, cheaply: the same first letter (a
    different one only by swapping the first two), and lengths no more edits apart than
    allowed."""
    first = query[:1] == record[:1] or query[:2] == record[1::-1]
    return first and abs(len(query) - len(record)) <= allowed


def _edits_within(query: str, record: str, allowed: int) -> bool:
    """At most `allowed` edits apart: a letter dropped, doubled, swapped with its neighbour
    or replaced."""
    return OSA.distance(query, record, score_cutoff=allowed) <= allowed


def consonant_key(token: str) -> str:
    """The first letter, then the consonants, of a token with transliteration alternatives
    folded: KHALIL and HALIL, OUATBAN and WATBAN, BARDHAN and BARZAN, EEBRAIMA and IBRAIMA
    meet; MOHAMMED (MHMD) and MAHMOUD (MHMWD) do not."""
    folded = FOLDS.sub(lambda found: FOLDED[found.group(0)], token)
    rest = VOWELS_ONLY.sub("", folded[1:])
    return DOUBLED.sub(r"\1", folded[:1] + rest)


def _same_consonants(one: Traits, other: Traits) -> bool:
    vowel_initial = all(letter in "AEIOUY" for letter in one.first_sound + other.first_sound)
    same_start = one.first_sound == other.first_sound or vowel_initial
    return same_start and one.skeleton == other.skeleton


def other_syllables(query: str, record: str) -> bool:
    """Two one-syllable tokens (`nucleus`) whose vowels are not one romanisation apart: DANG
    and DUONG, DUNG and DANG, GAO and GUO are other Vietnamese and Chinese names, though
    metaphone and their consonants make them one (on a million persons they were half the
    false positives left). A romanisation trades a vowel for one of its kind (JONG and JUNG,
    SU and SOU, ALI and ALY) or adds or drops one (JEONG and JUNG, HWAN and HOUAN, LO and
    LUO), and a typo may swap two (RYONG, ROYNG): those stay alike. Vowels of the other
    kind (front A, E, I, Y for back O, U, W), or two vowels more, make another syllable.
    Tokens of more syllables are left to the other tests: there one vowel typed for another
    (NIDAL, NODAL) is a typo, not another name."""
    return _other_vowels(nucleus(query), nucleus(record))


def _other_vowels(one: str | None, other: str | None) -> bool:
    """`other_syllables` of two tokens' nuclei."""
    if one is None or other is None or Indel.distance(one, other) <= 1:
        return False
    swapped = len(one) == len(other) and sorted(one) == sorted(other)
    return not (swapped and OSA.distance(one, other) == 1)


def nucleus(token: str) -> str | None:
    """The vowels of a one-syllable token (one run of vowels, W and Y among them: DUONG,
    HWAN, NGUYEN), each as its kind (`VOWEL_KINDS`); None for a token of more syllables."""
    runs = VOWEL_RUNS.findall(token)
    return runs[0].translate(VOWEL_KINDS) if len(runs) == 1 else None


def skeleton(token: str) -> str:
    """The consonants of a token (DJ as J), doubled ones once: short syllables that
    transliterations spell with other vowels (Korean HO/HU, SU/SOU, IL/EEL, JO/DJO) meet."""
    consonants = VOWELS.sub("", token.replace("DJ", "J"))
    return DOUBLED.sub(r"\1", consonants)

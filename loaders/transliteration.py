"""Any script to the Latin capitals a passport's zone would print: ICAO Doc 9303 first.

Doc 9303 Part 3, section 6 ("Transliterations recommended for use by States") says how a
name in another script is written in the machine readable zone. Where it defines a
character, its table is used, so a name typed from a passport and a name read from its zone
meet: Latin letters with diacritics (Ä AE, Ö OE, Ü UE, ß SS, Å AA, Æ AE, Ø OE, Þ TH; the
other diacritics are dropped), Cyrillic (Ж ZH, Х KH, Ц TS, Щ SHCH, Ю IU, Я IA ...) and
Arabic. The Arabic table marks letters that share a Latin spelling with an `X` (ح XH,
ث XTH, ص XSS) so that a zone can be turned back into Arabic; matching has no use for that
and the mark would keep ح from meeting a typed H, so it is dropped here (ح H, ث TH,
ص SS). Every other script (Greek, Hebrew, CJK, Devanagari ...) goes through anyascii, a
maintained Unicode-to-ASCII table, as the generic fallback.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from anyascii import anyascii

# Doc 9303 Part 3, section 6, Latin-based characters that are not simply their base letter.
ICAO_LATIN: dict[str, str] = {
    "Ä": "AE", "Å": "AA", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS",
    "Þ": "TH", "Ð": "D", "Đ": "D", "Ħ": "H", "Ĳ": "IJ", "Ł": "L", "Ŀ": "L", "Ŋ": "N",
    "Œ": "OE", "Ŧ": "T", "ı": "I", "ĸ": "K",
}  # fmt: skip

# Doc 9303 Part 3, section 6, Cyrillic (Russian, Ukrainian, Belarusian, Serbian, Macedonian).
ICAO_CYRILLIC: dict[str, str] = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Ґ": "G", "Д": "D", "Ѓ": "G", "Ђ": "D",
    "Е": "E", "Ё": "E", "Є": "IE", "Ж": "ZH", "З": "Z", "Ѕ": "DZ", "И": "I", "І": "I",
    "Ї": "I", "Й": "I", "Ј": "J", "К": "K", "Л": "L", "Љ": "LJ", "М": "M", "Н": "N",
    "Њ": "NJ", "О": "O", "П": "P", "Р": "R", "С": "S", "Т": "T", "Ћ": "C", "Ќ": "K",
    "У": "U", "Ў": "U", "Ф": "F", "Х": "KH", "Ц": "TS", "Ч": "CH", "Џ": "DZ", "Ш": "SH",
    "Щ": "SHCH", "Ъ": "IE", "Ы": "Y", "Ь": "", "Э": "E", "Ю": "IU", "Я": "IA",
}  # fmt: skip

# Doc 9303 Part 3, section 6, Arabic, with the table's reversibility mark `X` left out.
ICAO_ARABIC: dict[str, str] = {
    "\u0621": "", "\u0622": "AA", "\u0623": "A", "\u0624": "U", "\u0625": "I",
    "\u0626": "I", "\u0627": "A", "\u0628": "B", "\u0629": "H", "\u062a": "T",
    "\u062b": "TH", "\u062c": "J", "\u062d": "H", "\u062e": "KH", "\u062f": "D",
    "\u0630": "DH", "\u0631": "R", "\u0632": "Z", "\u0633": "S", "\u0634": "SH",
    "\u0635": "S", "\u0636": "D", "\u0637": "T", "\u0638": "Z", "\u0639": "E",
    "\u063a": "G", "\u0641": "F", "\u0642": "Q", "\u0643": "K", "\u0644": "L",
    "\u0645": "M", "\u0646": "N", "\u0647": "H", "\u0648": "W", "\u0649": "A",
    "\u064a": "Y", "\u0671": "A", "\u067e": "P", "\u0686": "CH", "\u0698": "J",
    "\u06a9": "K", "\u06af": "G", "\u06cc": "Y", "\u06d0": "Y", "\u06d2": "Y",
    # vowel signs and shadda carry no letter of their own in the zone
    "\u064b": "", "\u064c": "", "\u064d": "", "\u064e": "", "\u064f": "", "\u0650": "",
    "\u0651": "", "\u0652": "", "\u0670": "", "\u0640": "",
}  # fmt: skip

ICAO_TABLES: dict[str, str] = {**ICAO_LATIN, **ICAO_CYRILLIC, **ICAO_ARABIC}


def to_latin(text: str) -> str:
    """`text` in upper-case ASCII: ICAO tables where they apply, anyascii elsewhere.

    Punctuation and spacing are kept (the caller decides what separates tokens).
    """
    if text.isascii():
        return text.upper()
    return "".join(_letter(char) for char in unicodedata.normalize("NFC", text.upper()))


@lru_cache(maxsize=4096)
def _letter(char: str) -> str:
    if char.isascii():
        return char
    mapped = ICAO_TABLES.get(char)
    if mapped is not None:
        return mapped
    base = "".join(
        part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
    )
    if base and base.isascii():
        return base.upper()
    if base and base != char:
        return "".join(_letter(part) for part in base)
    return anyascii(char).upper()

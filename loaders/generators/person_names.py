"""Names of generated persons, as varied as a real population's (NOMINAL, and the name bench).

A watchlist, and the travellers screened against it, hold names from dozens of naming
cultures, each with thousands of surnames and given names of very unequal frequency (SMITH
is one American in a hundred, most surnames one in a million), and built differently: a
middle name (American), two surnames (Spanish), a patronymic (Russian), particles (DA SILVA,
VAN DER BERG, AL-HASHIMI), a father's and grandfather's name (Arabic), a one-syllable
surname and a one- or two-syllable given name (Chinese), or a single name (Indonesian).
A population drawn from a few hundred names instead makes a million persons share names
and dates of birth far more often than real ones do, and a name matcher's false-positive
rate measured on it says little.

The name lists are Faker's (its per-locale person providers: thousands of names, with
frequencies where Faker has them), read as data: the drawing is ours, seeded, so the same
seed gives the same persons with the same Faker release. Arabic-script names would come out
of Doc 9303's table as bare consonants (MHMD), which no watchlist prints, so Arabic and
Persian names are listed here in their usual Latin spellings. Names in other scripts are
romanised as a passport would (loaders/transliteration.py).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate
from typing import NamedTuple

from loaders.transliteration import to_latin

ZIPF_EXPONENT = 0.7
"""A list without frequencies is ranked (in a seeded shuffle) and weighted 1/rank**this: a
few common names, a long tail, as surname and given-name counts are in every country."""
MIXED_SHARE = 0.05
"""Persons whose given names come from another culture than their surname (migration)."""


class Person(NamedTuple):
    surname: str
    given_names: str
    sex: str
    nationality: str
    culture: str


class Pool:
    """Names with cumulative weights, drawn in O(log n)."""

    def __init__(self, names: Sequence[str], weights: Sequence[float]) -> None:
        if not names:
            raise ValueError("a name pool needs names")
        self.names = tuple(names)
        self.cumulative = tuple(accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative)[0]

    def __len__(self) -> int:
        return len(self.names)


def _latin(name: str) -> str:
    """A name as a watchlist holds it: capitals, Latin diacritics kept (the loader folds
    them), other scripts romanised."""
    name = " ".join(name.split())
    if all(not char.isalpha() or "LATIN" in _script(char) for char in name):
        return name.upper()
    return " ".join(to_latin(name).split())


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    import unicodedata

    return unicodedata.name(char, "")


def _pool(names: object, seed: str) -> Pool:
    """A pool from a Faker list: its frequencies when it has them (an OrderedDict), else
    Zipf weights over a seeded shuffle (Faker's lists are mostly alphabetical)."""
    weighted: dict[str, float] = {}
    if isinstance(names, Mapping):
        for name, weight in names.items():
            latin = _latin(str(name))
            if latin:
                weighted[latin] = weighted.get(latin, 0.0) + float(weight)
    else:
        listed = [_latin(str(name)) for name in names]  # type: ignore[attr-defined]
        distinct = [name for name in dict.fromkeys(listed) if name]
        random.Random(seed).shuffle(distinct)
        for rank, name in enumerate(distinct):
            weighted[name] = 1 / (rank + 1) ** ZIPF_EXPONENT
    return Pool(list(weighted), list(weighted.values()))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ARABIC_MALE = _words(
    "MOHAMMED MUHAMMAD MOHAMED AHMED AHMAD ALI OMAR UMAR HASSAN HUSSEIN HUSSAIN IBRAHIM "
    "KHALID YOUSSEF YUSUF ABDULLAH ABDALLAH ABDULRAHMAN ABDELAZIZ ABDULAZIZ ABDELKADER "
    "ABDULKARIM ABDULLATIF ABDELHAMID ABDULMALIK ABDELRAHIM MAHMOUD MUSTAFA MOSTAFA TARIQ "
    "SAMIR KARIM SAID SAEED RACHID RASHID WALID NASSER JAMAL KAMAL FAISAL FAHD SULTAN "
    "SALEH SALIH SALEM SALIM HAMZA HAMAD HAMID HAMDI ADEL ADIL AMR AMIR ANAS AYMAN BASSAM "
    "BILAL FADI FARES FAROUK FOUAD GHASSAN HADI HAITHAM HAZEM HICHAM HISHAM ISSA IMAD "
    "JALAL JAWAD KHALIL LUTFI MAJID MALIK MANSOUR MARWAN MAZEN MOUNIR MUNIR NABIL NADER "
    "NAJIB NAWAF NIZAR OSAMA USAMA QASIM RAED RAMI RIAD RIYAD SAAD SAMI SHADI SHARIF "
    "SULEIMAN SULAYMAN TAHA TALAL TAMER TAWFIQ WAEL WALEED YASSER YASIR YAHYA YAZID ZIAD "
    "ZAKARIA ZAKI ZUHAIR MOUSSA MUSA IDRIS ISMAIL ISMAEL ILYAS AYOUB NOUREDDINE "
    "SALAHEDDINE BADR BAKR HAROUN MAHDI MEHDI MOUNTASSIR OTHMAN UTHMAN RAMADAN RIDA REDA"
)
ARABIC_FEMALE = _words(
    "FATIMA FATMA AISHA AICHA KHADIJA MARYAM MARIAM ZAINAB ZEINAB LAYLA LEILA NOUR NOOR "
    "AMINA AMINAH SALMA HANA HIND HUDA IMAN ASMA ASMAA RANIA RANIYA DINA DUNYA FARAH "
    "GHADA HALA HAYAT JAMILA KARIMA LAMIA LINA LUBNA MALAK MANAL MONA MUNA NADIA NADA "
    "NAJWA NAWAL RASHA REEM RIM SAMIRA SANA SARA SAWSAN SHAIMA SOUAD SUAD WAFA YASMIN "
    "YASMINE ZAHRA ZOHRA ZAYNAB ABIR AMAL BASMA BUSHRA DOUAA HAJAR HALIMA INTISAR KHAWLA "
    "LATIFA MAJIDA NAIMA RABIA RAJAA SAFIA SAMAR SIHAM WIDAD"
)
ARABIC_FAMILY = _words(
    "HASHIMI QURASHI TAMIMI OTAIBI QAHTANI GHAMDI ZAHRANI DOSARI SHAMMARI HARBI MUTAIRI "
    "ANAZI SUBAIE JUBOURI DULAIMI OBEIDI JANABI TIKRITI RAWI ANI HADITHI KUBAISI SAMARRAI "
    "BAGHDADI BASRI MASRI HALABI SHAMI HOMSI NABULSI KHALIL HADDAD KHOURY NASSAR MANSOUR "
    "HAMDAN AZIZ SALEH ABBAS ASSAD ATTAR BAKRI BARGHOUTI DARWISH FARHAT GHANEM HABIB "
    "HAMADEH HASSAN HIJAZI ISSA JABER KANAAN KARAM KHATIB MAALOUF MAKHLOUF MOUSSA NAJJAR "
    "OBEID QASSEM RIZK SABBAGH SAAB SAYEGH SHAHEEN SHARAF TAHA TAWIL YOUNES ZAHER ZIDANE "
    "BENALI BOUAZIZ BENSALAH BELKACEM BOUMEDIENE HAMIDI MANSOURI TRABELSI HAMMAMI MEJRI "
    "JEBALI GHARBI BEN AMOR BEN YOUSSEF EL AMRANI EL IDRISSI ALAOUI BENNANI CHERKAOUI "
    "FASSI TAZI BERRADA SEBTI OUAZZANI ZIANI BELHADJ CHAOUI KADDOURI MAHJOUB RAHMOUNI "
    "SHEIKH SAYED HUSSEINI JAAFARI MUSAWI HAKIM SADR NAQVI RIZVI ABDEL NASSER ABDELRAHMAN "
    "OSMAN IBRAHIM YASSIN BADAWI SHAZLY SOLIMAN ELSAYED FAWZI HEGAZY KAMEL LOTFY MORSI "
    "NAGUIB RAGAB SHALABY TANTAWI ZAKI ABDELMONEIM ABOUZEID ELNAGGAR GAMAL SHOKRY"
)
PERSIAN_MALE = _words(
    "REZA ALI MOHAMMAD HOSSEIN MEHDI AMIR HAMID SAEED MAJID MASOUD MORTEZA JAVAD DARIUSH "
    "KOUROSH BABAK ARASH FARHAD BEHNAM BEHROUZ EHSAN HAMED HADI KAVEH MANSOUR NADER NIMA "
    "OMID PEYMAN POUYA RAMIN SAMAN SHAHRAM SIAVASH SINA VAHID YOUSEF ABBAS AKBAR ASGHAR "
    "GHOLAM MAHMOUD MOHSEN MOJTABA NASSER PARVIZ RASOUL"
)
PERSIAN_FEMALE = _words(
    "FATEMEH ZAHRA MARYAM SARA NEDA PARISA MINA LEILA SHIRIN NASRIN ROYA AZADEH ELHAM "
    "FARNAZ GOLNAZ HOMA LADAN MAHSA NAZANIN NEGAR PARVANEH ROXANA SAHAR SEPIDEH SIMIN "
    "SOUDABEH TARANEH YASAMAN ZEYNAB AREZOU BAHAR DARYA FERESHTEH GOLNAR MAHNAZ MARJAN"
)
PERSIAN_FAMILY = _words(
    "AHMADI HOSSEINI MOHAMMADI REZAEI KARIMI MORADI JAFARI RAHIMI MOUSAVI HASHEMI SADEGHI "
    "GHASEMI KAZEMI AKBARI SALEHI TEHRANI SHIRAZI ESFAHANI TABRIZI KERMANI YAZDI NAJAFI "
    "ZAREI HEIDARI RASOULI BAGHERI ABBASI NOURI SOLTANI TAHERI FARAHANI JALALI KHALILI "
    "NASIRI RAHMANI SHARIFI YOUSEFI AZIZI BAHRAMI DAVOODI EBRAHIMI FAZELI GHOLAMI HABIBI "
    "JAVADI KAMALI MAHMOUDI NAZARI PORTAGHI RAFIEI SAFARI TAVAKOLI VAKILI ZAMANI "
    "AMINI ANSARI ASADI BABAEI DEHGHAN ESMAILI FARAHMAND GHAFFARI HAGHIGHI KHOSRAVI"
)


@dataclass(frozen=True)
class Culture:
    """How one naming culture builds a name, and from which lists."""

    code: str
    weight: float
    """Its share of the population (relative): roughly the world's, travel-weighted."""
    nationalities: tuple[str, ...]
    surnames: Callable[[str], Pool]
    """A pool of surnames for a sex ('M', 'F'): most cultures ignore it."""
    given: Callable[[str], Pool]
    build: str
    """How the parts go together: see `_build`."""
    middle_share: float = 0.0
    """How often a person has a second given name."""


@cache
def _faker(locale: str, attribute: str) -> Pool:
    """A Faker person provider's list, e.g. ("de_DE", "last_names"), as a pool."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    return _pool(getattr(provider, attribute), f"names:{locale}:{attribute}")


def _given(locale: str) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _faker(locale, "first_names_male" if sex == "M" else "first_names_female")

    return pool


def _given_any(locale: str) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _faker(locale, "first_names")

    return pool


def _surnames(locale: str) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _faker(locale, "last_names")

    return pool


def _gendered_surnames(locale: str) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _faker(locale, "last_names_male" if sex == "M" else "last_names_female")

    return pool


def _listed(male: tuple[str, ...], female: tuple[str, ...] | None = None) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _listed_pool(male if sex == "M" or female is None else female)

    return pool


@cache
def _listed_pool(names: tuple[str, ...]) -> Pool:
    return _pool(names, f"names:listed:{names[0]}")


def _romanised(locale: str, attribute: str) -> Callable[[str], Pool]:
    def pool(sex: str) -> Pool:
        return _faker(locale, attribute)

    return pool


CULTURES: tuple[Culture, ...] = (
    Culture("american", 9, ("USA",), _surnames("en_US"), _given("en_US"), "western", 0.45),
    Culture("british", 4, ("GBR", "IRL", "AUS", "CAN"), _surnames("en_GB"), _given("en_GB"),
            "western", 0.35),
    Culture("german", 4, ("D", "AUT", "CHE"), _surnames("de_DE"), _given("de_DE"),
            "western", 0.2),
    Culture("austrian", 1, ("AUT",), _surnames("de_AT"), _given("de_AT"), "western", 0.2),
    Culture("french", 3, ("FRA", "BEL", "CAN"), _surnames("fr_FR"), _given("fr_FR"),
            "french", 0.3),
    Culture("italian", 3, ("ITA",), _surnames("it_IT"), _given("it_IT"), "western", 0.1),
    Culture("dutch", 1.5, ("NLD", "BEL"), _surnames("nl_NL"), _given("nl_NL"), "western", 0.3),
    Culture("spanish", 3, ("ESP",), _surnames("es_ES"), _given("es_ES"), "hispanic", 0.3),
    Culture("mexican", 4, ("MEX", "USA"), _surnames("es_MX"), _given("es_MX"), "hispanic",
            0.3),
    Culture("colombian", 2, ("COL", "VEN", "PER"), _surnames("es_CO"), _given("es_CO"),
            "hispanic", 0.4),
    Culture("argentinian", 1, ("ARG", "CHL", "URY"), _surnames("es_AR"), _given_any("es_AR"),
            "hispanic", 0.3),
    Culture("brazilian", 4, ("BRA",), _surnames("pt_BR"), _given("pt_BR"), "portuguese", 0.3),
    Culture("portuguese", 1, ("PRT",), _surnames("pt_PT"), _given("pt_PT"), "portuguese",
            0.4),
    Culture("russian", 5, ("RUS", "KAZ", "BLR"), _gendered_surnames("ru_RU"), _given("ru_RU"),
            "russian"),
    Culture("ukrainian", 3, ("UKR",), _surnames("uk_UA"), _given("uk_UA"), "russian"),
    Culture("bulgarian", 1, ("BGR",), _surnames("bg_BG"), _given("bg_BG"), "western"),
    Culture("greek", 1, ("GRC", "CYP"), _surnames("el_GR"), _given("el_GR"), "western"),
    Culture("turkish", 4, ("TUR", "D"), _surnames("tr_TR"), _given("tr_TR"), "western", 0.2),
    Culture("azerbaijani", 1, ("AZE",), _surnames("az_AZ"), _given("az_AZ"), "western"),
    Culture("uzbek", 1, ("UZB",), _surnames("uz_UZ"), _given("uz_UZ"), "western"),
    Culture("georgian", 0.5, ("GEO",), _surnames("ka_GE"), _given("ka_GE"), "western"),
    Culture("armenian", 0.5, ("ARM",), _surnames("hy_AM"), _given("hy_AM"), "western"),
    Culture("arab", 8, ("EGY", "SAU", "IRQ", "SYR", "JOR", "MAR", "DZA", "TUN", "LBY",
                        "YEM", "ARE", "LBN", "SDN"),
            _listed(ARABIC_FAMILY), _listed(ARABIC_MALE, ARABIC_FEMALE), "arab"),
    Culture("persian", 2, ("IRN", "AFG"), _listed(PERSIAN_FAMILY),
            _listed(PERSIAN_MALE, PERSIAN_FEMALE), "western", 0.2),
    Culture("indian", 8, ("IND", "NPL", "GBR"), _surnames("en_IN"), _given("en_IN"),
            "western", 0.2),
    Culture("nepali", 1, ("NPL",), _surnames("ne_NP"), _given("ne_NP"), "western"),
    Culture("bengali", 1.5, ("BGD",), _surnames("bn_BD"), _given("bn_BD"), "western", 0.3),
    Culture("chinese", 8, ("CHN", "SGP", "MYS"), _surnames("zh_CN"), _given("zh_CN"),
            "chinese"),
    Culture("japanese", 1, ("JPN",), _romanised("ja_JP", "last_romanized_names"),
            _romanised("ja_JP", "first_romanized_names"), "western"),
    Culture("korean", 2, ("KOR",), _surnames("ko_KR"), _given("ko_KR"), "western"),
    Culture("vietnamese", 2, ("VNM",), _surnames("vi_VN"), _given("vi_VN"), "vietnamese"),
    Culture("thai", 1, ("THA",), _surnames("th_TH"), _given("th_TH"), "western"),
    Culture("indonesian", 3, ("IDN",), _surnames("id_ID"), _given("id_ID"), "indonesian",
            0.3),
    Culture("yoruba", 2.5, ("NGA",), _surnames("yo_NG"), _given("yo_NG"), "western", 0.4),
    Culture("nigerian", 0.7, ("NGA",), _surnames("en_NG"), _given("en_NG"), "western", 0.4),
    Culture("igbo", 0.5, ("NGA",), _surnames("ig_NG"), _given("ig_NG"), "western", 0.4),
    Culture("hausa", 1.5, ("NGA", "NER"), _surnames("ha_NG"), _given("ha_NG"), "western",
            0.4),
    Culture("ghanaian", 1, ("GHA",), _surnames("tw_GH"), _given("tw_GH"), "western", 0.3),
    Culture("swahili", 1.5, ("KEN", "TZA", "UGA"), _surnames("sw"), _given("sw"), "western",
            0.3),
    Culture("zulu", 1, ("ZAF",), _surnames("zu_ZA"), _given("zu_ZA"), "western", 0.2),
    Culture("swedish", 1, ("SWE",), _surnames("sv_SE"), _given("sv_SE"), "western", 0.4),
    Culture("finnish", 0.5, ("FIN",), _surnames("fi_FI"), _given("fi_FI"), "western", 0.5),
    Culture("danish", 0.5, ("DNK",), _surnames("da_DK"), _given("da_DK"), "western", 0.3),
    Culture("norwegian", 0.5, ("NOR",), _surnames("no_NO"), _given("no_NO"), "western", 0.3),
    Culture("romanian", 1, ("ROU", "MDA"), _surnames("ro_RO"), _given("ro_RO"), "western",
            0.3),
    Culture("czech", 1, ("CZE",), _gendered_surnames("cs_CZ"), _given("cs_CZ"), "western"),
    Culture("slovak", 0.5, ("SVK",), _surnames("sk_SK"), _given("sk_SK"), "western"),
    Culture("hungarian", 1, ("HUN",), _surnames("hu_HU"), _given("hu_HU"), "western", 0.2),
    Culture("croatian", 1, ("HRV", "BIH", "SRB"), _surnames("hr_HR"), _given("hr_HR"),
            "western"),
)  # fmt: skip
CULTURE_WEIGHTS = tuple(accumulate(culture.weight for culture in CULTURES))

DUTCH_PARTICLES = (("", 0.75), ("VAN", 0.1), ("DE", 0.06), ("VAN DER", 0.05), ("VAN DEN", 0.04))
PORTUGUESE_PARTICLES = (("", 0.55), ("DA", 0.15), ("DOS", 0.12), ("DE", 0.13), ("DAS", 0.05))
ARABIC_FAMILY_PREFIX = (("", 0.45), ("AL-", 0.4), ("EL-", 0.15))


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([value for value, _ in options], [weight for _, weight in options])[0]


def _distinct_given(rng: random.Random, pool: Pool, first: str, tries: int = 4) -> str:
    """A second given name other than the first (MARY MARY is nobody's name)."""
    for _ in range(tries):
        other = pool.draw(rng)
        if other != first:
            return other
    return ""


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _patronymic(rng: random.Random, culture: Culture, sex: str) -> str:
    """A Russian or Ukrainian middle name: the father's name, -OVICH or -OVNA."""
    attribute = "middle_names_male" if sex == "M" else "middle_names_female"
    locale = "ru_RU" if culture.code == "russian" else "uk_UA"
    return _faker(locale, attribute).draw(rng)


def _build(rng: random.Random, culture: Culture, sex: str) -> tuple[str, str]:
    """(surname, given names) the way `culture` builds them."""
    surnames, given = culture.surnames(sex), culture.given(sex)
    first = given.draw(rng)
    middle = _distinct_given(rng, given, first) if rng.random() < culture.middle_share else ""
    surname = surnames.draw(rng)
    if culture.build == "hispanic":
        if rng.random() < 0.75:
            second = surnames.draw(rng)
            surname = _join(surname, "DE" if rng.random() < 0.05 else "", second)
    elif culture.build == "portuguese":
        surname = _join(_weighted(rng, PORTUGUESE_PARTICLES), surname)
        if rng.random() < 0.5:
            surname = _join(surnames.draw(rng), surname)
    elif culture.build == "french" and middle and rng.random() < 0.5:
        return surname, f"{first}-{middle}"
    elif culture.build == "russian":
        middle = _patronymic(rng, culture, sex) if rng.random() < 0.7 else ""
    elif culture.build == "arab":
        father = _listed_pool(ARABIC_MALE).draw(rng)
        grandfather = _listed_pool(ARABIC_MALE).draw(rng) if rng.random() < 0.35 else ""
        middle = _join(father, grandfather)
        prefix = _weighted(rng, ARABIC_FAMILY_PREFIX)
        surname = f"{prefix}{surname}" if prefix else surname
        if rng.random() < 0.15:
            surname = _join("BIN" if sex == "M" else "BINT", _listed_pool(ARABIC_MALE).draw(rng))
    elif culture.build == "chinese":
        syllables = 1 if rng.random() < 0.3 else 2
        first = "".join(given.draw(rng) for _ in range(syllables))
        middle = ""
    elif culture.build == "vietnamese":
        middle = (
            _join(_weighted(rng, (("VAN", 0.6), ("DUC", 0.2), ("MINH", 0.2))))
            if sex == "M"
            else _join(_weighted(rng, (("THI", 0.8), ("NGOC", 0.1), ("THU", 0.1))))
        )
        if rng.random() < 0.5:
            middle = _join(middle, _distinct_given(rng, given, first))
        return surname, _join(middle, first)  # NGUYEN THI HUONG: the given name comes last
    elif culture.build == "indonesian" and rng.random() < 0.25:
        return "", _join(first, middle)  # a single name (the passport's surname is empty)
    elif culture.code == "dutch":
        surname = _join(_weighted(rng, DUTCH_PARTICLES), surname)
    elif culture.code == "korean":
        surname = KOREAN_PASSPORT_SURNAMES.get(surname, surname)
    return surname, _join(first, middle)


KOREAN_PASSPORT_SURNAMES = {"GIM": "KIM", "I": "LEE", "BAG": "PARK", "JEONG": "JUNG",
                            "CHOE": "CHOI", "JO": "CHO", "GANG": "KANG", "YUN": "YOON",
                            "JANG": "CHANG", "IM": "LIM", "O": "OH", "SIN": "SHIN"}  # fmt: skip
"""Korean surnames as passports print them, not as the Revised Romanization writes them."""


def draw_person(rng: random.Random) -> Person:
    """One person's name, sex, nationality and naming culture."""
    culture = rng.choices(CULTURES, cum_weights=CULTURE_WEIGHTS)[0]
    sex = "M" if rng.random() < 0.5 else "F"
    surname, given_names = _build(rng, culture, sex)
    if rng.random() < MIXED_SHARE:
        other = rng.choices(CULTURES, cum_weights=CULTURE_WEIGHTS)[0]
        given_names = other.given(sex).draw(rng)
    if not surname:
        surname, given_names = given_names, ""
    return Person(surname, given_names, sex, rng.choice(culture.nationalities), culture.code)


def pool_sizes() -> tuple[int, int]:
    """(distinct surnames, distinct given names) over every culture: how varied it is."""
    surnames: set[str] = set()
    given: set[str] = set()
    for culture in CULTURES:
        for sex in "MF":
            surnames.update(culture.surnames(sex).names)
            given.update(culture.given(sex).names)
    return len(surnames), len(given)

"""The UN Security Council Consolidated List, in the UN's own XML, as NOMINAL rows.

NCBs and INTERPOL receive the list as published (schema `sc-sanctions.xsd`), so
`screening load --db NOMINAL --format un-xml FILE` reads that file itself. The reader
streams it with expat (a list of any size, line numbers for every message) and yields one
row per INDIVIDUAL, in the upload fields of NOMINAL, with `notice_type` UNSC:

- `given_names`, `surname`: FIRST_NAME; SECOND_NAME .. FOURTH_NAME (a single name is the
  surname). The UN puts family names first for some, last for others; the name matcher
  ignores token order, so the split only decides what is displayed where.
- `aliases`: INDIVIDUAL_ALIAS of quality `Good`, `a.k.a.` or `f.k.a.` (an ALIAS_NAME listing
  several, comma-separated, gives several); `low_quality_aliases`: those of quality `Low`
  (searched, scored a little lower); `original_script`: NAME_ORIGINAL_SCRIPT (searched).
- `dob`: every INDIVIDUAL_DATE_OF_BIRTH, `;`-separated: EXACT DATE `1964-07-17`, EXACT YEAR
  `1964`, APPROXIMATELY YEAR `~1964`, BETWEEN `1968/1970`, a NOTE `Nov. 1960` as `1960-11`.
- `nationality`: the NATIONALITY values naming a state, as ICAO codes (`;`); the others
  (`Possibly Ethiopian`) in `nationality_note`. `sex`: GENDER Male/Female as M/F.
- `documents`: each INDIVIDUAL_DOCUMENT as `TYPE NUMBER (ICAO code)`, `;`-separated.
- `reference`: REFERENCE_NUMBER (`QDi.346`), the record's identity; `un_list`, `listed_on`:
  UN_LIST_TYPE and LISTED_ON, kept as extra fields.

ENTITIES (companies, groups) are not persons: they are not NOMINAL records and are counted
in `UnList.entities`, which the load's summary reports. A file that is not well-formed XML
(or declares a DTD) is refused whole with its line number: nothing of it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO
from xml.parsers import expat

from loaders.countries import ISSUING_STATES
from loaders.readers import Row, UnreadableFileError

CHUNK = 1 << 16
NOTICE_TYPE = "UNSC"
GOOD_QUALITIES = ("good", "a.k.a.", "f.k.a.", "")
NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
SCALARS = (*NAME_PARTS, "REFERENCE_NUMBER", "NAME_ORIGINAL_SCRIPT", "UN_LIST_TYPE", "LISTED_ON")
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("JAN", "JANUARY"), ("FEB", "FEBRUARY"), ("MAR", "MARCH"), ("APR", "APRIL"),
            ("MAY",), ("JUN", "JUNE"), ("JUL", "JULY"), ("AUG", "AUGUST"),
            ("SEP", "SEPT", "SEPTEMBER"), ("OCT", "OCTOBER"), ("NOV", "NOVEMBER"),
            ("DEC", "DECEMBER"),
        ),
        1,
    )
    for name in names
}  # fmt: skip

# UN names of states that differ from the names in loaders/countries.py.
UN_STATE_NAMES = {
    "DEMOCRATIC PEOPLE'S REPUBLIC OF KOREA": "PRK",
    "REPUBLIC OF KOREA": "KOR",
    "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND": "GBR",
    "IRAN (ISLAMIC REPUBLIC OF)": "IRN",
    "SYRIAN ARAB REPUBLIC": "SYR",
    "UNITED REPUBLIC OF TANZANIA": "TZA",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "COD",
    "STATE OF PALESTINE": "PSE",
    "PALESTINIAN": "PSE",
    "UNITED STATES": "USA",
    "LAO PEOPLE'S DEMOCRATIC REPUBLIC": "LAO",
    "REPUBLIC OF MOLDOVA": "MDA",
    "VIET NAM": "VNM",
    "BOLIVIA (PLURINATIONAL STATE OF)": "BOL",
    "VENEZUELA (BOLIVARIAN REPUBLIC OF)": "VEN",
    "TÜRKIYE": "TUR",
    "TURKEY": "TUR",
    "UNITED STATES OF AMERICA": "USA",
    "AFGHAN": "AFG",
    "ALGERIAN": "DZA",
    "YEMENI": "YEM",
    "SOMALI": "SOM",
    "SAUDI ARABIAN": "SAU",
    "SUDANESE BY BIRTH": "SDN",
}
STATE_BY_NAME = {name.upper(): code for code, name in ISSUING_STATES.items()} | UN_STATE_NAMES


@dataclass
class UnList:
    """What the reader saw besides the rows it yielded (for the load's summary)."""

    individuals: int = 0
    entities: int = 0
    generated: str = ""

    def summary(self) -> str:
        return (
            f"UN list of {self.generated or 'unknown date'}: {self.individuals} individuals "
            f"read; {self.entities} entities skipped (not persons)"
        )


@dataclass
class _Person:
    line: int
    scalars: dict[str, str] = field(default_factory=dict)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    births: list[dict[str, str]] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    documents: list[dict[str, str]] = field(default_factory=list)
    gender: str = ""


class _Handler:
    """expat callbacks: builds one `_Person` per INDIVIDUAL from the elements inside it."""

    def __init__(self, parser: expat.XMLParserType, seen: UnList) -> None:
        self.parser = parser
        self.seen = seen
        self.done: list[_Person] = []
        self.person: _Person | None = None
        self.path: list[str] = []
        self.text: list[str] = []
        self.group: dict[str, str] = {}

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "CONSOLIDATED_LIST":
            self.seen.generated = attributes.get("dateGenerated", "")[:10]
        elif name == "ENTITY":
            self.seen.entities += 1
        elif name == "INDIVIDUAL":
            self.person = _Person(self.parser.CurrentLineNumber)
        elif name in ("INDIVIDUAL_ALIAS", "INDIVIDUAL_DATE_OF_BIRTH", "INDIVIDUAL_DOCUMENT"):
            self.group = {}
        self.path.append(name)
        self.text = []

    def data(self, text: str) -> None:
        self.text.append(text)

    def end(self, name: str) -> None:
        self.path.pop()
        text = " ".join("".join(self.text).split())
        self.text = []
        person = self.person
        if person is None:
            return
        parent = self.path[-1] if self.path else ""
        if name == "INDIVIDUAL":
            self.seen.individuals += 1
            self.done.append(person)
            self.person = None
        elif parent == "INDIVIDUAL" and name in SCALARS:
            person.scalars[name] = text
        elif parent == "INDIVIDUAL" and name == "GENDER":
            person.gender = text
        elif parent == "NATIONALITY" and name == "VALUE" and text:
            person.nationalities.append(text)
        elif parent in ("INDIVIDUAL_ALIAS", "INDIVIDUAL_DATE_OF_BIRTH", "INDIVIDUAL_DOCUMENT"):
            if text:
                self.group[name] = text
        elif name == "INDIVIDUAL_ALIAS" and self.group.get("ALIAS_NAME"):
            person.aliases.append((self.group.get("QUALITY", ""), self.group["ALIAS_NAME"]))
        elif name == "INDIVIDUAL_DATE_OF_BIRTH" and self.group:
            person.births.append(self.group)
        elif name == "INDIVIDUAL_DOCUMENT" and self.group.get("NUMBER"):
            person.documents.append(self.group)


def read_un_rows(
    name: str, stream: IO[bytes], seen: UnList | None = None
) -> Iterator[tuple[int, Row]]:
    """(line of the INDIVIDUAL, NOMINAL row) for each listed person, streamed.

    Raises UnreadableFileError (with the line) for XML that is not well-formed, a DTD, or a
    file that is not a UN list; rows already yielded are then not stored (one publish).
    """
    seen = seen if seen is not None else UnList()
    parser = expat.ParserCreate("UTF-8")
    handler = _Handler(parser, seen)
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.buffer_text = True
    root_checked = False
    while True:
        chunk = stream.read(CHUNK)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as error:
            raise UnreadableFileError(
                name, f"not well-formed XML: {expat.errors.messages[error.code]}", error.lineno
            ) from None
        except _DoctypeError:
            raise UnreadableFileError(
                name, "a UN list declares no DTD", parser.CurrentLineNumber
            ) from None
        if not root_checked and handler.path:
            if handler.path[0] != "CONSOLIDATED_LIST":
                raise UnreadableFileError(
                    name, f"root element {handler.path[0]}, not a UN CONSOLIDATED_LIST", 1
                )
            root_checked = True
        for person in handler.done:
            yield person.line, person_row(person)
        handler.done.clear()
        if not chunk:
            break
    if not seen.individuals and not seen.entities and not seen.generated:
        raise UnreadableFileError(name, "no CONSOLIDATED_LIST: not a UN list", 1)


class _DoctypeError(Exception):
    pass


def _refuse_doctype(*_: object) -> None:
    raise _DoctypeError


def person_row(person: _Person) -> Row:
    """The NOMINAL upload row of one listed individual (see the module's table)."""
    names = [person.scalars.get(part, "") for part in NAME_PARTS]
    names = [part for part in names if part]
    given, rest = (names[0], " ".join(names[1:])) if len(names) > 1 else ("", " ".join(names))
    codes, notes = _nationalities(person.nationalities)
    row = {
        "surname": rest,
        "given_names": given,
        "aliases": _joined(_aliases(person, good=True)),
        "low_quality_aliases": _joined(_aliases(person, good=False)),
        "original_script": person.scalars.get("NAME_ORIGINAL_SCRIPT", ""),
        "dob": _joined(filter(None, map(birth_date, person.births))),
        "nationality": ";".join(dict.fromkeys(codes)),
        "nationality_note": _joined(notes),
        "sex": {"MALE": "M", "FEMALE": "F"}.get(person.gender.upper(), ""),
        "documents": _joined(map(_document, person.documents)),
        "notice_type": NOTICE_TYPE,
        "reference": person.scalars.get("REFERENCE_NUMBER", ""),
        "un_list": person.scalars.get("UN_LIST_TYPE", ""),
        "listed_on": person.scalars.get("LISTED_ON", ""),
    }
    return {key: value for key, value in row.items() if value}


def _aliases(person: _Person, good: bool) -> Iterator[str]:
    for quality, names in person.aliases:
        if _good(quality) == good:
            yield from names.split(",")


def _good(quality: str) -> bool:
    return quality.strip().lower() in GOOD_QUALITIES


def _joined(values: Iterable[str]) -> str:
    return ";".join(dict.fromkeys(value.replace(";", ",").strip() for value in values if value))


def birth_date(group: dict[str, str]) -> str:
    """One INDIVIDUAL_DATE_OF_BIRTH in the stored `dob` form, or '' when it gives no date."""
    kind = group.get("TYPE_OF_DATE", "").upper()
    note = group.get("NOTE", "")
    approximate = kind == "APPROXIMATELY" or "APPROX" in note.upper()
    if kind == "BETWEEN" and group.get("FROM_YEAR") and group.get("TO_YEAR"):
        return f"{group['FROM_YEAR']}/{group['TO_YEAR']}"
    if group.get("DATE"):
        return group["DATE"][:10]
    if group.get("YEAR"):
        return ("~" if approximate else "") + group["YEAR"]
    return _from_note(note)


def _from_note(note: str) -> str:
    """`Nov. 1960` -> `1960-11`, `Between Aug. and Sep. 1958` -> `1958`; else ''."""
    year = re.search(r"\b(1[89]\d\d|20\d\d)\b", note)
    if not year or "HIJRI" in note.upper():
        return ""
    months = {MONTHS[word] for word in re.findall(r"[A-Z]+", note.upper()) if word in MONTHS}
    if len(months) == 1:
        return f"{year.group(1)}-{months.pop():02d}"
    return year.group(1)


def _nationalities(values: list[str]) -> tuple[list[str], list[str]]:
    codes, notes = [], []
    for value in values:
        code = STATE_BY_NAME.get(value.strip().upper())
        if code is None:
            code = STATE_BY_NAME.get(re.sub(r"\s*\(.*\)$", "", value.strip()).upper())
        if code is None:
            notes.append(value)
        else:
            codes.append(code)
    return codes, notes


def _document(group: dict[str, str]) -> str:
    kind = group.get("TYPE_OF_DOCUMENT", "document")
    state = STATE_BY_NAME.get(
        group.get("COUNTRY_OF_ISSUE", group.get("ISSUING_COUNTRY", "")).upper()
    )
    text = f"{kind} {group['NUMBER']}"
    return f"{text} ({state})" if state else text


def read_un_list(name: str, stream: IO[bytes], notes: list[str]) -> Iterator[tuple[int, Row]]:
    """`read_un_rows`, then the list's summary (individuals, entities skipped) in `notes`."""
    seen = UnList()
    yield from read_un_rows(name, stream, seen)
    notes.append(seen.summary())

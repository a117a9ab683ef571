"""Machine readable zones (ICAO Doc 9303): the text of a zone in, its fields and a verdict
for every check digit out. Pure parsing: no HTTP, no screening (mrz_screen.py does that).

The five layouts, by line count, line length and first character:

| format | lines | width | first char | composite | optional data |
| --- | --- | --- | --- | --- | --- |
| TD1 (ID cards) | 3 | 30 | any | yes | two fields: line 1 (15) and line 2 (11) |
| TD2 | 2 | 36 | not V | yes | 7 |
| TD3 (passports) | 2 | 44 | not V | yes | 14 (personal number, with its own check digit) |
| MRV-A (visas) | 2 | 44 | V | no | 16 |
| MRV-B (visas) | 2 | 36 | V | no | 8 |

Check digits: weights 7, 3, 1 repeating over the field; `<` is 0, 0-9 themselves, A-Z
10 to 35; the sum modulo 10. `checks` names them `number`, `birth_date`, `expiry_date`,
`composite` (TD1, TD2, TD3) and `optional` (TD3's personal number; an empty personal number
may carry `<` or `0`). A zone whose check digits fail is still parsed: `valid` is False and
`failed` names the checks.

Reading rules, where Doc 9303 leaves a choice:

- Fillers: `<` around a field is dropped; names split on `<<` (surname, then given names)
  and `<` (spaces between words); a document number drops every `<`.
- Long document numbers (TD1 and TD2): a `<` in place of the number's check digit means
  the number goes on at the start of the optional data, followed by its check digit and a
  filler; the full number is reconstructed and its check digit verified over all of it.
- Codes: issuing state (`country`) and `nationality` are ICAO 9303 codes (`D<<` is `D`;
  XXA, XXB, XXC and XXX are accepted). An unknown code is reported as read, with a line
  in `problems`: it does not stop the parse, nor fail a check digit.
- Two-digit years: a birth date is the latest date with those digits that is not in the
  future (on 2026-11-23, `740812` is 1974-08-12 and `261124` is 1926-11-24). An expiry
  date is read in the 100 years ending 20 years from now (in 2026: `00`-`46` are
  2000-2046, `47`-`99` are 1947-1999), so documents that expired long ago, still worth
  screening, keep their century (the specimen's `120415` is 2012-04-15).
- A date that is not a real calendar date (`740231`), not digits, or all `<` (unknown)
  is null, and its check (`birth_date`, `expiry_date`) fails with the reason in `problems`.
- Sex: `F`, `M`, or unspecified, which the zone writes `<` (some states `X`): both are
  read as `X`, the letter the visual zone prints for it. Anything else is null, with a
  problem.

Tolerance: surrounding spaces and tabs on each line, blank lines before and after the
zone, and `\\n`, `\\r\\n` or `\\r` between lines; or the lines as a list. Anything else (a
wrong line count or length, a character outside A-Z, 0-9 and `<`, lower case) is an
`MrzError` whose message names the line (1-based), and the position, and what is wrong.

`compose` writes a zone from a `Document` (check digits computed): the inverse of `parse`
for every document that fits its format, which the tests hold it to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date

from loaders.normalise import FieldError, document_type, state

FILLER = "<"
WEIGHTS = (7, 3, 1)
UNSPECIFIED_SEX = "X"


class MrzError(ValueError):
    """A text that is not a machine readable zone; `line` is the 1-based line at fault."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Layout:
    name: str
    lines: int
    width: int
    visa: bool


TD1 = Layout("TD1", 3, 30, False)
TD2 = Layout("TD2", 2, 36, False)
TD3 = Layout("TD3", 2, 44, False)
MRV_A = Layout("MRV-A", 2, 44, True)
MRV_B = Layout("MRV-B", 2, 36, True)
LAYOUTS: Mapping[str, Layout] = {layout.name: layout for layout in (TD1, TD2, TD3, MRV_A, MRV_B)}

OPTIONAL_WIDTH = {"TD2": 7, "TD3": 14, "MRV-A": 16, "MRV-B": 8}
"""Width of the optional data of line 2 (TD1 has 15 on line 1 and 11 on line 2)."""


@dataclass(frozen=True)
class Document:
    """The fields of a zone, as API.md's `document`; None where the zone gives none."""

    format: str
    type: str | None
    country: str | None
    number: str | None
    surname: str
    given_names: str
    nationality: str | None
    birth_date: str | None
    sex: str | None
    expiry_date: str | None
    optional_data: str = ""
    optional_data_2: str | None = None
    """TD1's second optional field (line 2); None for the other formats."""


DOCUMENT_FIELDS = tuple(entry.name for entry in fields(Document))


@dataclass(frozen=True)
class Zone:
    document: Document
    checks: Mapping[str, bool]
    problems: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return all(self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def as_dict(self) -> dict[str, object]:
        document = self.document  # its fields are text or None: no deep copy needed
        return {
            "document": {name: getattr(document, name) for name in DOCUMENT_FIELDS},
            "checks": dict(self.checks),
            "valid": self.valid,
            "failed": self.failed,
            "problems": list(self.problems),
        }


# --- check digits -----------------------------------------------------------------------


def char_value(char: str) -> int:
    """`<` is 0, a digit itself, A-Z 10 to 35."""
    if char == FILLER:
        return 0
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise ValueError(f"{char!r} has no check digit value")


CHAR_VALUES = {char: char_value(char) for char in "<0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def check_digit(text: str) -> str:
    """The Doc 9303 check digit of `text` (weights 7, 3, 1), as its character.

    Summed a weight at a time over C-level loops: a zone has five check digits, and a
    Python step per character was half the cost of reading a passport's zone."""
    try:
        values = list(map(CHAR_VALUES.__getitem__, text))
    except KeyError:
        values = [char_value(char) for char in text]  # raises the ValueError that says why
    weight_7, weight_3, weight_1 = WEIGHTS
    total = (
        weight_7 * sum(values[0::3]) + weight_3 * sum(values[1::3]) + weight_1 * sum(values[2::3])
    )
    return str(total % 10)


# --- reading the text -------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NOT_MRZ = re.compile(r"[^A-Z0-9<]")
_AROUND_LINE = " \t\r\n"


def lines_of(mrz: object) -> list[str]:
    """The zone's lines, surrounding spaces and blank lines around the zone dropped."""
    if isinstance(mrz, str):
        lines = _LINE_BREAK.split(mrz.strip(_AROUND_LINE))
    elif isinstance(mrz, list | tuple):
        lines = list(mrz)
        for number, line in enumerate(lines, 1):
            if not isinstance(line, str):
                raise MrzError(f"line {number} is not text but {type(line).__name__}", number)
        while lines and not lines[-1].strip(_AROUND_LINE):
            lines.pop()
        while lines and not lines[0].strip(_AROUND_LINE):
            lines.pop(0)
    else:
        raise MrzError(f"a zone is text or a list of lines, not {type(mrz).__name__}")
    lines = [line.strip(_AROUND_LINE) for line in lines]
    if lines == [""] or not lines:
        raise MrzError("the zone is empty")
    if len(lines) not in (2, 3):
        raise MrzError(
            f"a zone has 2 lines (TD2, TD3, MRV-A, MRV-B) or 3 (TD1), not {len(lines):,}"
        )
    for number, line in enumerate(lines, 1):
        bad = _NOT_MRZ.search(line)
        if bad is not None:
            raise MrzError(_bad_character(number, bad.start() + 1, bad.group()), number)
    return lines


def _bad_character(line: int, position: int, char: str) -> str:
    where = f"line {line}, position {position}"
    if "a" <= char <= "z":
        return f"{where}: {char!r} is lower case; a zone has only A-Z, 0-9 and <"
    return f"{where}: {char!r} is not A-Z, 0-9 or <"


_TWO_LINES = {(layout.width, layout.visa): layout for layout in (TD2, TD3, MRV_A, MRV_B)}


def layout_of(lines: Sequence[str]) -> Layout:
    """The format of well-formed lines; MrzError naming the first line of a wrong length."""
    if len(lines) == 3:
        layout = TD1
    else:
        widths = [len(line) for line in lines if len(line) in (TD3.width, TD2.width)]
        if not widths:
            raise MrzError(
                f"line 1 is {len(lines[0])} characters; a 2-line zone has lines of"
                f" {TD3.width} (TD3, MRV-A) or {TD2.width} (TD2, MRV-B)",
                1,
            )
        layout = _TWO_LINES[widths[0], lines[0].startswith("V")]
    for number, line in enumerate(lines, 1):
        if len(line) != layout.width:
            raise MrzError(
                f"line {number} is {len(line)} characters, a {layout.name} line has {layout.width}",
                number,
            )
    return layout


def parse(mrz: object, today: date | None = None) -> Zone:
    """The fields and check-digit verdicts of a zone: text (lines separated by newlines)
    or a list of lines. Raises MrzError, and only that, for anything that is not a zone."""
    lines = lines_of(mrz)
    layout = layout_of(lines)
    reader = _Reader(today or date.today())
    if layout is TD1:
        return reader.td1(*lines)
    return reader.two_lines(layout, lines[0], lines[1])


class _Reader:
    """Reads the fields of one zone, collecting check verdicts and problems."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.checks: dict[str, bool] = {}
        self.problems: list[str] = []

    def td1(self, line1: str, line2: str, line3: str) -> Zone:
        number, optional = self._number(line1[5:14], line1[14], line1[15:30])
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        document = Document(
            format=TD1.name,
            type=self._type(line1[0:2]),
            country=self._code("country", line1[2:5]),
            number=number,
            **self._names(line3),
            nationality=self._code("nationality", line2[15:18]),
            birth_date=self._date("birth_date", line2[0:6], line2[6]),
            sex=self._sex(line2[7]),
            expiry_date=self._date("expiry_date", line2[8:14], line2[14]),
            optional_data=optional,
            optional_data_2=_strip(line2[18:29]),
        )
        self._check("composite", composite, line2[29], "the zone")
        return self._zone(document)

    def two_lines(self, layout: Layout, line1: str, line2: str) -> Zone:
        end = 28 + OPTIONAL_WIDTH[layout.name]
        optional = line2[28:end]
        long_numbers = layout is TD2
        number, rest = self._number(line2[0:9], line2[9], optional if long_numbers else None)
        optional_data = rest if long_numbers else _strip(optional)
        document = Document(
            format=layout.name,
            type=self._type(line1[0:2]),
            country=self._code("country", line1[2:5]),
            number=number,
            **self._names(line1[5:]),
            nationality=self._code("nationality", line2[10:13]),
            birth_date=self._date("birth_date", line2[13:19], line2[19]),
            sex=self._sex(line2[20]),
            expiry_date=self._date("expiry_date", line2[21:27], line2[27]),
            optional_data=optional_data,
        )
        if layout is TD3:
            self._check("optional", optional, line2[42], "the personal number", empty_ok=True)
        if not layout.visa:
            composite = line2[0:10] + line2[13:20] + line2[21:-1]
            self._check("composite", composite, line2[-1], "the zone")
        return self._zone(document)

    def _zone(self, document: Document) -> Zone:
        return Zone(document, self.checks, tuple(self.problems))

    def _check(self, name: str, text: str, digit: str, what: str, empty_ok: bool = False) -> bool:
        expected = check_digit(text)
        ok = digit == expected or (empty_ok and digit == FILLER and not text.strip(FILLER))
        if not ok:
            shown = f"check digit {digit!r} is not a digit" if not digit.isdigit() else ""
            shown = shown or f"check digit is {digit}"
            self.problems.append(f"{name}: the {shown}; {what} gives {expected}")
        self.checks[name] = ok
        return ok

    def _number(self, field: str, digit: str, optional: str | None) -> tuple[str | None, str]:
        """The document number (long numbers continue into `optional`) and what is left
        of the optional data. `optional` is None for formats without long numbers."""
        rest = optional or ""
        if optional is not None and digit == FILLER and optional[:1] not in ("", FILLER):
            extension, _, rest = optional.partition(FILLER)
            field, digit = field + extension[:-1], extension[-1]
        number = field.replace(FILLER, "") or None
        self._check("number", field, digit, "the number" if number is None else number)
        return number, _strip(rest)

    def _type(self, text: str) -> str | None:
        code = text.replace(FILLER, "")
        if not code:
            self.problems.append("type: missing (the zone starts with '<')")
            return None
        try:
            document_type(code)
        except FieldError as error:
            self.problems.append(f"type: {error}")
        return code

    def _code(self, name: str, text: str) -> str | None:
        code = text.strip(FILLER)
        if not code:
            self.problems.append(f"{name}: missing ({text!r})")
            return None
        try:
            return state(text)
        except FieldError as error:
            self.problems.append(f"{name}: {error}")
            return code

    def _names(self, text: str) -> dict[str, str]:
        surname, _, given = text.rstrip(FILLER).partition(FILLER * 2)
        return {"surname": _words(surname), "given_names": _words(given)}

    def _sex(self, char: str) -> str | None:
        if char in ("F", "M"):
            return char
        if char in (FILLER, UNSPECIFIED_SEX):
            return UNSPECIFIED_SEX
        self.problems.append(f"sex: {char!r} is not F, M, X or <")
        return None

    def _date(self, name: str, text: str, digit: str) -> str | None:
        ok = self._check(name, text, digit, text)
        if not text.isdigit():
            unknown = " (unknown)" if not text.strip(FILLER) else ""
            self.problems.append(f"{name}: {text!r} is not a date written YYMMDD{unknown}")
            self.checks[name] = False
            return None
        yy, month, day = int(text[0:2]), int(text[2:4]), int(text[4:6])
        if name == "birth_date":
            year = birth_year(yy, month, day, self.today)
        else:
            year = expiry_year(yy, self.today)
        try:
            resolved = date(year, month, day).isoformat()
        except ValueError:
            self.problems.append(f"{name}: {text!r} is not a real date")
            self.checks[name] = False
            return None
        self.checks[name] = ok
        return resolved


def birth_year(yy: int, month: int, day: int, today: date) -> int:
    """The latest year ending in `yy` that puts month/day not after `today`."""
    year = today.year - (today.year - yy) % 100
    if year == today.year and (month, day) > (today.month, today.day):
        year -= 100
    return year


EXPIRY_YEARS_AHEAD = 20
"""An expiry year is read in the 100 years ending this many years from now."""


def expiry_year(yy: int, today: date) -> int:
    last = today.year + EXPIRY_YEARS_AHEAD
    return last - (last - yy) % 100


def _strip(text: str) -> str:
    return text.strip(FILLER)


def _words(text: str) -> str:
    return " ".join(word for word in text.split(FILLER) if word)


# --- writing a zone ---------------------------------------------------------------------

_FIELD = re.compile(r"[A-Z0-9<]*")


def compose(document: Document) -> list[str]:
    """The lines of the zone of `document`, check digits computed: `parse` reads it back.

    Raises ValueError if a field does not fit its format (a name too long, a number too
    long for its format, characters outside A-Z, 0-9 and `<`). Sex X is written `<`.
    """
    layout = LAYOUTS[document.format]
    if layout.visa != (document.type or "").startswith("V"):
        raise ValueError(f"a {layout.name} document type starts with V if and only if a visa")
    head = _pad(document.type or "", 2) + _pad(document.country or "", 3)
    sex = FILLER if document.sex in (None, UNSPECIFIED_SEX) else document.sex
    birth = _yymmdd(document.birth_date)
    expiry = _yymmdd(document.expiry_date)
    nationality = _pad(document.nationality or "", 3)
    if layout is TD1:
        number_part = _number_part(document.number, document.optional_data, 15)
        line1 = head + number_part
        line2 = (
            birth + check_digit(birth) + sex + expiry + check_digit(expiry) + nationality
            + _pad(document.optional_data_2 or "", 11)
        )  # fmt: skip
        line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
        lines = [line1, line2, _name_field(document, 30)]
    else:
        width = OPTIONAL_WIDTH[layout.name]
        line1 = head + _name_field(document, layout.width - 5)
        if layout is TD2:
            number_part = _number_part(document.number, document.optional_data, width)
            core, optional = number_part[:10], number_part[10:]
        else:
            core = _number_part(document.number, "", 0)
            optional = _pad(document.optional_data, width)
        line2 = core + nationality + birth + check_digit(birth) + sex + expiry
        line2 += check_digit(expiry) + optional
        if layout is TD3:
            line2 += check_digit(optional) if optional.strip(FILLER) else FILLER
        if not layout.visa:
            line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:])
        lines = [line1, line2]
    for number, line in enumerate(lines, 1):
        if len(line) != layout.width or not _FIELD.fullmatch(line):
            raise ValueError(f"line {number} does not fit {layout.name}: {line!r}")
    return lines


def _number_part(number: str | None, optional: str, width: int) -> str:
    """The number field, its check digit and (width > 0) the optional data after it,
    a number longer than 9 characters continuing into the optional data."""
    number = number or ""
    if len(number) <= 9:
        field = _pad(number, 9)
        return field + check_digit(field) + _pad(optional, width)
    if not width:
        raise ValueError(f"a number of {len(number)} characters does not fit this format")
    extension = number[9:] + check_digit(number)
    rest = extension + (FILLER + optional if optional else "")
    return number[:9] + FILLER + _pad(rest, width)


def _name_field(document: Document, width: int) -> str:
    name = document.surname.replace(" ", FILLER)
    if document.given_names:
        name += FILLER * 2 + document.given_names.replace(" ", FILLER)
    return _pad(name, width)


def _yymmdd(iso: str | None) -> str:
    return FILLER * 6 if iso is None else iso[2:4] + iso[5:7] + iso[8:10]


def _pad(text: str, width: int) -> str:
    if len(text) > width:
        raise ValueError(f"{text!r} is longer than its field ({width})")
    return text.ljust(width, FILLER)

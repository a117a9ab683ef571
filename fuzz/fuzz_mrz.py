"""Fuzz target: the MRZ parser (screening/mrz.py) on any text, as `POST /v1/screen/mrz` gets it.

Whatever the text (or list of lines), `parse` returns a zone or raises `MrzError`, nothing
else; a zone's answer encodes to JSON; `valid` agrees with `failed`; and a zone whose
checks all pass, with no problem, survives `compose` then `parse` unchanged. Random text
seldom gets past the line checks, so the first byte of an input also picks how the rest
is read: `t` as UTF-8 text, `l` as text split into a list of lines, anything else as a
zone-shaped text (each byte one of A-Z, 0-9 and `<`, in the lines of the layout the
second byte picks) with a byte of 0xff followed by any character spliced in.

    .venv/bin/python fuzz/fuzz_mrz.py -max_total_time=30 fuzz/seeds/mrz

(`make fuzz` runs every target so.)
"""

from __future__ import annotations

import sys
from datetime import date

import atheris

with atheris.instrument_imports(include=["loaders", "screening"]):
    import orjson

    from screening.mrz import LAYOUTS, MrzError, Zone, compose, parse

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
TODAY = date(2026, 11, 23)
"""A fixed day: the same input always takes the same path."""
LAYOUT_LIST = list(LAYOUTS.values())


def zone_shaped(data: bytes) -> str:
    """Lines of a layout's count and width, from bytes; 0xff then a byte splices it raw."""
    layout = LAYOUT_LIST[data[0] % len(LAYOUT_LIST)] if data else LAYOUT_LIST[0]
    chars: list[str] = []
    rest = iter(data[1:])
    for byte in rest:
        chars.append(chr(next(rest, 0x20)) if byte == 0xFF else ALPHABET[byte % len(ALPHABET)])
    text = "".join(chars).ljust(layout.lines * layout.width, "<")
    lines = [text[i : i + layout.width] for i in range(0, len(text), layout.width)]
    return "\n".join(lines[: layout.lines] if len(lines) > layout.lines else lines)


def check_zone(zone: Zone) -> None:
    orjson.dumps(zone.as_dict())
    assert zone.valid == (not zone.failed), zone
    if zone.valid and not zone.problems:  # a problem (sex `J`) is a field compose cannot write
        again = parse(compose(zone.document), TODAY)
        assert again.document == zone.document, (zone.document, again.document)
        assert again.valid, again


def TestOneInput(data: bytes) -> None:
    mode, rest = data[:1], data[1:]
    mrz: str | list[str]
    if mode in (b"t", b"l"):
        text = rest.decode("utf-8", errors="replace")
        mrz = text.split("\n") if mode == b"l" else text
    else:
        mrz = zone_shaped(rest)
    try:
        zone = parse(mrz, TODAY)
    except MrzError as error:
        assert str(error), repr(error)
        assert error.line is None or error.line >= 1, error
        return
    check_zone(zone)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

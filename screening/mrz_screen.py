"""Screening a parsed zone: the document against SLTD and TDAWN, the holder against NOMINAL.

Every database of `MRZ_DATABASES` is either screened, through `Data.screen` with the
caller's country (so visibility rules apply exactly as for `/v1/screen`), or listed in
`not_screened` with the reason: a database this build cannot screen (its matcher is not
in the build), one with no data on this server, or a zone that gives no usable key (no
document number, an issuing state that is not an ICAO code). Never a silent miss. The
holder is screened by the name matcher (screening/name_match.py) with the zone's surname,
given names, birth date and nationality.
"""

from __future__ import annotations

from typing import Any

from loaders.catalog import DATABASES
from screening.data import Data
from screening.matchers import screenable
from screening.mrz import Document, Zone

MRZ_DATABASES = ("SLTD", "TDAWN", "NOMINAL")
"""What a zone is screened against, in the order of `results`: the document, the holder."""


def screen_zone(data: Data, zone: Zone, country: str | None) -> dict[str, Any]:
    """The answer of `POST /v1/screen/mrz`, less `took_us`: the zone as parsed, then
    `hit`, `results` (one per screened database, each with its `db`), `screened` and
    `not_screened`."""
    screened: dict[str, bool] = {}
    not_screened: list[dict[str, str]] = []
    wanted: list[tuple[str, dict[str, object]]] = []
    for code in MRZ_DATABASES:
        reason = _cannot_screen(data, code)
        if reason is None:
            wanted.append((code, _query(code, zone.document)))
        else:
            screened[code] = False
            not_screened.append({"db": code, "reason": reason})
    answers = data.screen([query for _, query in wanted], country) if wanted else []
    results: list[dict[str, Any]] = []
    for (code, _), answer in zip(wanted, answers, strict=True):
        if "error" in answer:
            screened[code] = False
            reason = answer["error"]["message"].split(".", 1)[-1]  # drop "queries[0]."
            not_screened.append({"db": code, "reason": f"the zone's {reason}"})
        else:
            screened[code] = True
            results.append({"db": code, **answer})
    return {
        **zone.as_dict(),
        "hit": any(result["hit"] for result in results),
        "results": results,
        "screened": {code: screened[code] for code in MRZ_DATABASES},
        "not_screened": sorted(not_screened, key=lambda entry: MRZ_DATABASES.index(entry["db"])),
    }


def _cannot_screen(data: Data, code: str) -> str | None:
    db = DATABASES[code]
    if not screenable(db):
        return f"screening {code} is not supported yet: its {db.matcher} matcher is not built"
    if code not in data.snapshots:
        return f"no {code} data is loaded on this server"
    return None


def _query(code: str, document: Document) -> dict[str, object]:
    if DATABASES[code].matcher == "name":
        person = {
            "surname": document.surname,
            "given_names": document.given_names,
            "dob": document.birth_date,
            "nationality": document.nationality,
            "sex": document.sex,
        }
        return {"db": code, **{name: value for name, value in person.items() if value}}
    return {"db": code, "number": document.number, "country": document.country}

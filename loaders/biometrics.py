"""Biometric values: AFIS/FACE templates (fixed-length float vectors) and DNA STR loci.

Templates are stored as float32 (what the vector column holds), so a template read back
and loaded again is the same vector bit for bit. Three spellings are accepted:
a JSON array of numbers (JSON Lines uploads and HTTP queries), and, because a CSV cell
should not need quoting, `f32:` + base64 of the little-endian float32 bytes (the compact
form `screening generate` writes) or the numbers separated by spaces or `;`.

A DNA profile is the alleles seen at each STR locus. Locus names are the CODIS / European
Standard Set spellings (`D3S1358`, `vWA`, `TH01`, `Penta D`, `AMEL`), found case- and
space-insensitively; alleles are repeat counts with an optional microvariant (`9.3`,
`22.2`), or X/Y at amelogenin. Stored as {locus: [allele text, ...]} with the alleles
sorted and distinct (a homozygote written `15,15` is `["15"]`). The CSV compact form is
`D3S1358:15/17;vWA:14/16;TH01:6/9.3`; JSON Lines and queries use a JSON object
(`{"D3S1358": [15, 17]}`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping

import numpy as np
import orjson

from loaders.normalise import FieldError

F32_PREFIX = "f32:"


class Template:
    """A template of `dimension` finite numbers; see the module docstring for spellings."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def __call__(self, value: str) -> list[float]:
        numbers = self._numbers(value.strip())
        if len(numbers) != self.dimension:
            raise FieldError(f"has {len(numbers)} numbers; a template here has {self.dimension}")
        vector = np.asarray(numbers, dtype=np.float32)
        if not np.isfinite(vector).all():
            raise FieldError("holds a number that is not finite (NaN, infinity or too large)")
        if not vector.any():
            raise FieldError("has no direction: every value is 0")
        stored: list[float] = vector.astype(np.float64).tolist()
        return stored

    def _numbers(self, text: str) -> list[float]:
        if text.startswith(F32_PREFIX):
            return self._base64(text[len(F32_PREFIX) :])
        if text.startswith("["):
            try:
                items = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                raise FieldError(f"is not a JSON array of numbers: {error}") from None
        else:
            items = [item for item in re.split(r"[\s;]+", text) if item]
        return [_number(item) for item in items]

    def _base64(self, text: str) -> list[float]:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise FieldError("the f32: form is not valid base64") from None
        if len(raw) % 4:
            raise FieldError(f"the f32: form holds {len(raw)} bytes, not a whole float32 count")
        values: list[float] = np.frombuffer(raw, dtype="<f4").astype(np.float64).tolist()
        return values

    def __repr__(self) -> str:
        return f"Template({self.dimension})"


def numbers(text: str) -> list[float]:
    """The numbers of a template in any accepted spelling, whatever their count."""
    return Template(0)._numbers(text.strip())


def _number(item: object) -> float:
    if isinstance(item, bool) or not isinstance(item, int | float | str):
        raise FieldError(f"{item!r} is not a number")
    try:
        return float(item)
    except ValueError:
        raise FieldError(f"{item!r} is not a number") from None


def template_text(values: list[float]) -> str:
    """The CSV compact form of a template: `f32:` + base64 of its float32 bytes."""
    raw = np.asarray(values, dtype="<f4").tobytes()
    return F32_PREFIX + base64.b64encode(raw).decode()


# --- DNA ---------------------------------------------------------------------------

STR_LOCI: dict[str, tuple[float, float]] = {
    # CODIS core 20 (FBI, 2017), with the allele range seen in casework
    "CSF1PO": (5, 16), "D3S1358": (9, 21), "D5S818": (6, 18), "D7S820": (5, 16),
    "D8S1179": (7, 20), "D13S317": (5, 17), "D16S539": (4, 16), "D18S51": (7, 28),
    "D21S11": (24, 39), "FGA": (15, 51), "TH01": (3, 14), "TPOX": (4, 14), "vWA": (10, 25),
    "D1S1656": (8, 21), "D2S441": (8, 17), "D2S1338": (13, 29), "D10S1248": (7, 20),
    "D12S391": (13, 28), "D19S433": (7, 19), "D22S1045": (7, 20),
    # European Standard Set and common kit extras
    "SE33": (3, 43), "Penta D": (1, 18), "Penta E": (4, 27), "D6S1043": (8, 26),
}  # fmt: skip
AMELOGENIN = "AMEL"
LOCUS_ALIASES = {"THO1": "TH01", "AMELOGENIN": AMELOGENIN, "AMEL": AMELOGENIN}
_CANONICAL = {
    **{re.sub(r"[\s_\-]", "", name).upper(): name for name in STR_LOCI},
    **LOCUS_ALIASES,
}
ALLELE = re.compile(r"(\d{1,2})(?:\.(\d))?")
MAX_ALLELES = 3  # tri-allelic patterns exist; more is a mixture, not one profile


def locus_name(value: str) -> str:
    name = _CANONICAL.get(re.sub(r"[\s_\-]", "", value).upper())
    if name is None:
        raise FieldError(f"locus {value!r} is not a CODIS or European Standard Set STR locus")
    return name


def allele(locus: str, value: object) -> str:
    """One allele as stored: `15`, `9.3` (`15.0` is `15`), or X/Y at amelogenin."""
    if isinstance(value, bool):
        raise FieldError(f"{locus}: {value!r} is not an allele")
    text = (repr(value) if isinstance(value, float) else str(value)).strip().upper()
    if locus == AMELOGENIN:
        if text not in ("X", "Y"):
            raise FieldError(f"{locus}: {value!r} is not X or Y")
        return text
    match = ALLELE.fullmatch(text)
    if match is None:
        raise FieldError(f"{locus}: {value!r} is not an allele (a repeat count like 15 or 9.3)")
    whole, variant = match.groups()
    number = float(f"{whole}.{variant or 0}")
    low, high = STR_LOCI[locus]
    if not low <= number <= high:
        raise FieldError(f"{locus}: allele {text} is outside {low:g}..{high:g}")
    return str(int(whole)) if variant in (None, "0") else f"{int(whole)}.{variant}"


def _allele_order(text: str) -> tuple[float, str]:
    return (float(text), "") if text[0].isdigit() else (math.inf, text)


def loci(value: str) -> dict[str, list[str]]:
    """A DNA profile; see the module docstring for the spellings."""
    text = value.strip()
    if text.startswith("{"):
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise FieldError(f"is not a JSON object of loci: {error}") from None
        return profile(raw)
    pairs: dict[str, object] = {}
    for part in (part.strip() for part in text.split(";")):
        if not part:
            continue
        name, colon, alleles = part.partition(":")
        if not colon:
            raise FieldError(f"{part!r} is not LOCUS:ALLELE/ALLELE (e.g. D3S1358:15/17)")
        pairs[name] = [item for item in re.split(r"[/,\s]+", alleles) if item]
    return profile(pairs)


def profile(raw: object) -> dict[str, list[str]]:
    """A profile from a mapping locus -> alleles (list, one number, or `15/17` text)."""
    if not isinstance(raw, Mapping):
        raise FieldError("is not an object mapping loci to alleles")
    result: dict[str, list[str]] = {}
    for name, alleles in raw.items():
        locus = locus_name(str(name))
        if locus in result:
            raise FieldError(f"locus {locus} is given twice")
        items = alleles if isinstance(alleles, list) else re.split(r"[/,\s]+", str(alleles))
        typed = sorted({allele(locus, item) for item in items if item != ""}, key=_allele_order)
        if not typed:
            raise FieldError(f"{locus}: no allele")
        if len(typed) > MAX_ALLELES:
            raise FieldError(f"{locus}: {len(typed)} alleles; one profile has at most 3")
        result[locus] = typed
    if not any(locus != AMELOGENIN for locus in result):
        raise FieldError("has no STR locus")
    return dict(sorted(result.items()))


def loci_text(stored: Mapping[str, list[str]]) -> str:
    """The CSV compact form of a stored profile."""
    return ";".join(f"{locus}:{'/'.join(alleles)}" for locus, alleles in stored.items())

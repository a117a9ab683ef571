"""Radionuclides of the sealed sources that go missing (IAEA ITDB categories), for GEIGER.

Written many ways on the way in (`Cs-137`, `cs137`, `137Cs`, `Cesium-137`); stored in the
IAEA's notation, element symbol, hyphen, mass number: `Cs-137`.
"""

from __future__ import annotations

import re

from loaders.normalise import FieldError

ISOTOPES: dict[str, tuple[str, tuple[float, float]]] = {
    # notation: (typical use, activity range in GBq)
    "Co-60": ("teletherapy, irradiators, industrial radiography", (10, 500_000)),
    "Cs-137": ("blood irradiators, gauges, brachytherapy", (0.1, 100_000)),
    "Ir-192": ("industrial radiography", (100, 7_000)),
    "Am-241": ("moisture-density gauges, well logging", (0.1, 800)),
    "Se-75": ("industrial radiography", (100, 3_000)),
    "Sr-90": ("radioisotope generators, eye applicators", (0.05, 40_000)),
    "Ra-226": ("old medical sources, lightning rods", (0.01, 50)),
    "Cf-252": ("well logging, neutron sources", (0.01, 50)),
    "Kr-85": ("thickness gauges", (1, 50)),
    "Pu-238": ("radioisotope generators", (1, 10_000)),
    "Pu-239": ("neutron sources", (1, 100)),
    "U-235": ("fuel, research", (0.0001, 1)),
    "Tc-99m": ("medical imaging generators", (1, 500)),
    "I-131": ("nuclear medicine", (0.1, 20)),
}
_ELEMENTS = {name.split("-")[0].upper(): name.split("-")[0] for name in ISOTOPES}
_NAMES = {
    "COBALT": "Co", "CESIUM": "Cs", "CAESIUM": "Cs", "IRIDIUM": "Ir", "AMERICIUM": "Am",
    "SELENIUM": "Se", "STRONTIUM": "Sr", "RADIUM": "Ra", "CALIFORNIUM": "Cf",
    "KRYPTON": "Kr", "PLUTONIUM": "Pu", "URANIUM": "U", "TECHNETIUM": "Tc", "IODINE": "I",
}  # fmt: skip
_FORMS = (
    re.compile(r"([A-Z]+)\s*-?\s*(\d{1,3}M?)"),  # Cs-137, CS137, Cesium 137
    re.compile(r"(\d{1,3}M?)\s*-?\s*([A-Z]+)"),  # 137Cs, 137-Cs
)


def isotope(value: str) -> str:
    """An isotope of ISOTOPES in IAEA notation (`Cs-137`)."""
    text = value.strip().upper()
    for number, form in enumerate(_FORMS):
        match = form.fullmatch(text)
        if match is None:
            continue
        element, mass = match.groups() if number == 0 else reversed(match.groups())
        symbol = _NAMES.get(element) or _ELEMENTS.get(element)
        name = f"{symbol}-{mass.lower()}" if symbol else ""
        if name in ISOTOPES:
            return name
    known = ", ".join(ISOTOPES)
    raise FieldError(f"{value!r} is not a radionuclide of a sealed source ({known})")

"""The three-letter codes an ICAO Doc 9303 machine readable zone may carry.

Doc 9303 Part 3, section 5 ("Codes for nationality, place of birth, location of
issuing State/authority and other purposes") is the authority for which codes are
valid as issuing state or nationality in an MRZ, not ISO 3166. The two mostly
agree, which is exactly why the differences bite:

* Germany is ``D`` in every German MRZ (written ``D<<``), never ``DEU``. ``DEU``
  is a valid ISO 3166-1 code but not a 9303 one, so it is rejected here: a record
  keyed ``DEU`` would never match a German passport read at a gate.
  :func:`normalise_state` rejects it with a hint that says to use ``D``.
* 9303 adds codes ISO does not have: the British nationality classes, Kosovo
  (``RKS``), the EU, the United Nations and other organisations that issue
  travel documents, the codes for persons without a nationality (``XXA``...),
  the specimen state Utopia (``UTO``), and the deprecated ``ANT`` and ``NTZ``,
  kept because documents outlive the registry.

So the list is hard-coded rather than taken from a library (pycountry, the
iso-codes package): those follow ISO, get ``D`` wrong, miss the specials, and
change under us when ISO renames something. The ISO-derived block below was
transcribed from ISO 3166-1 (iso-codes 4.15.0, 249 entries) with ``DEU`` replaced
by ``D``; the rest is 9303 Part 3 (8th edition, 2021), section 5, Parts A to F,
plus ``UTO``, the state of every 9303 specimen. 9303 is a PDF, so that block was
cross-checked against several independent open-source MRZ readers' transcriptions.

Deliberately left out:

* ``IAO`` (ICAO itself): 9303 reserves it for signing the CSCA master list; it
  never appears in an MRZ.
* ``XKX``: the user-assigned code some systems use for Kosovo; 9303 uses ``RKS``.
* Anything else not printed in 9303 Part 3 (``XXK``, ``XMI``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# ISO 3166-1 alpha-3, as 9303 Part 3 Part A reproduces it, with Germany as "D".
_ISO_BASED: dict[str, str] = {
    "ABW": "Aruba",
    "AFG": "Afghanistan",
    "AGO": "Angola",
    "AIA": "Anguilla",
    "ALA": "Åland Islands",
    "ALB": "Albania",
    "AND": "Andorra",
    "ARE": "United Arab Emirates",
    "ARG": "Argentina",
    "ARM": "Armenia",
    "ASM": "American Samoa",
    "ATA": "Antarctica",
    "ATF": "French Southern Territories",
    "ATG": "Antigua and Barbuda",
    "AUS": "Australia",
    "AUT": "Austria",
    "AZE": "Azerbaijan",
    "BDI": "Burundi",
    "BEL": "Belgium",
    "BEN": "Benin",
    "BES": "Bonaire, Sint Eustatius and Saba",
    "BFA": "Burkina Faso",
    "BGD": "Bangladesh",
    "BGR": "Bulgaria",
    "BHR": "Bahrain",
    "BHS": "Bahamas",
    "BIH": "Bosnia and Herzegovina",
    "BLM": "Saint Barthélemy",
    "BLR": "Belarus",
    "BLZ": "Belize",
    "BMU": "Bermuda",
    "BOL": "Bolivia",
    "BRA": "Brazil",
    "BRB": "Barbados",
    "BRN": "Brunei Darussalam",
    "BTN": "Bhutan",
    "BVT": "Bouvet Island",
    "BWA": "Botswana",
    "CAF": "Central African Republic",
    "CAN": "Canada",
    "CCK": "Cocos (Keeling) Islands",
    "CHE": "Switzerland",
    "CHL": "Chile",
    "CHN": "China",
    "CIV": "Côte d'Ivoire",
    "CMR": "Cameroon",
    "COD": "Congo, The Democratic Republic of the",
    "COG": "Congo",
    "COK": "Cook Islands",
    "COL": "Colombia",
    "COM": "Comoros",
    "CPV": "Cabo Verde",
    "CRI": "Costa Rica",
    "CUB": "Cuba",
    "CUW": "Curaçao",
    "CXR": "Christmas Island",
    "CYM": "Cayman Islands",
    "CYP": "Cyprus",
    "CZE": "Czechia",
    "D": "Germany",  # ISO 3166: DEU; every German MRZ says D<<
    "DJI": "Djibouti",
    "DMA": "Dominica",
    "DNK": "Denmark",
    "DOM": "Dominican Republic",
    "DZA": "Algeria",
    "ECU": "Ecuador",
    "EGY": "Egypt",
    "ERI": "Eritrea",
    "ESH": "Western Sahara",
    "ESP": "Spain",
    "EST": "Estonia",
    "ETH": "Ethiopia",
    "FIN": "Finland",
    "FJI": "Fiji",
    "FLK": "Falkland Islands (Malvinas)",
    "FRA": "France",
    "FRO": "Faroe Islands",
    "FSM": "Micronesia, Federated States of",
    "GAB": "Gabon",
    "GBR": "United Kingdom",
    "GEO": "Georgia",
    "GGY": "Guernsey",
    "GHA": "Ghana",
    "GIB": "Gibraltar",
    "GIN": "Guinea",
    "GLP": "Guadeloupe",
    "GMB": "Gambia",
    "GNB": "Guinea-Bissau",
    "GNQ": "Equatorial Guinea",
    "GRC": "Greece",
    "GRD": "Grenada",
    "GRL": "Greenland",
    "GTM": "Guatemala",
    "GUF": "French Guiana",
    "GUM": "Guam",
    "GUY": "Guyana",
    "HKG": "Hong Kong",
    "HMD": "Heard Island and McDonald Islands",
    "HND": "Honduras",
    "HRV": "Croatia",
    "HTI": "Haiti",
    "HUN": "Hungary",
    "IDN": "Indonesia",
    "IMN": "Isle of Man",
    "IND": "India",
    "IOT": "British Indian Ocean Territory",
    "IRL": "Ireland",
    "IRN": "Iran",
    "IRQ": "Iraq",
    "ISL": "Iceland",
    "ISR": "Israel",
    "ITA": "Italy",
    "JAM": "Jamaica",
    "JEY": "Jersey",
    "JOR": "Jordan",
    "JPN": "Japan",
    "KAZ": "Kazakhstan",
    "KEN": "Kenya",
    "KGZ": "Kyrgyzstan",
    "KHM": "Cambodia",
    "KIR": "Kiribati",
    "KNA": "Saint Kitts and Nevis",
    "KOR": "South Korea",
    "KWT": "Kuwait",
    "LAO": "Laos",
    "LBN": "Lebanon",
    "LBR": "Liberia",
    "LBY": "Libya",
    "LCA": "Saint Lucia",
    "LIE": "Liechtenstein",
    "LKA": "Sri Lanka",
    "LSO": "Lesotho",
    "LTU": "Lithuania",
    "LUX": "Luxembourg",
    "LVA": "Latvia",
    "MAC": "Macao",
    "MAF": "Saint Martin (French part)",
    "MAR": "Morocco",
    "MCO": "Monaco",
    "MDA": "Moldova",
    "MDG": "Madagascar",
    "MDV": "Maldives",
    "MEX": "Mexico",
    "MHL": "Marshall Islands",
    "MKD": "North Macedonia",
    "MLI": "Mali",
    "MLT": "Malta",
    "MMR": "Myanmar",
    "MNE": "Montenegro",
    "MNG": "Mongolia",
    "MNP": "Northern Mariana Islands",
    "MOZ": "Mozambique",
    "MRT": "Mauritania",
    "MSR": "Montserrat",
    "MTQ": "Martinique",
    "MUS": "Mauritius",
    "MWI": "Malawi",
    "MYS": "Malaysia",
    "MYT": "Mayotte",
    "NAM": "Namibia",
    "NCL": "New Caledonia",
    "NER": "Niger",
    "NFK": "Norfolk Island",
    "NGA": "Nigeria",
    "NIC": "Nicaragua",
    "NIU": "Niue",
    "NLD": "Netherlands",
    "NOR": "Norway",
    "NPL": "Nepal",
    "NRU": "Nauru",
    "NZL": "New Zealand",
    "OMN": "Oman",
    "PAK": "Pakistan",
    "PAN": "Panama",
    "PCN": "Pitcairn",
    "PER": "Peru",
    "PHL": "Philippines",
    "PLW": "Palau",
    "PNG": "Papua New Guinea",
    "POL": "Poland",
    "PRI": "Puerto Rico",
    "PRK": "North Korea",
    "PRT": "Portugal",
    "PRY": "Paraguay",
    "PSE": "Palestine, State of",
    "PYF": "French Polynesia",
    "QAT": "Qatar",
    "REU": "Réunion",
    "ROU": "Romania",
    "RUS": "Russian Federation",
    "RWA": "Rwanda",
    "SAU": "Saudi Arabia",
    "SDN": "Sudan",
    "SEN": "Senegal",
    "SGP": "Singapore",
    "SGS": "South Georgia and the South Sandwich Islands",
    "SHN": "Saint Helena, Ascension and Tristan da Cunha",
    "SJM": "Svalbard and Jan Mayen",
    "SLB": "Solomon Islands",
    "SLE": "Sierra Leone",
    "SLV": "El Salvador",
    "SMR": "San Marino",
    "SOM": "Somalia",
    "SPM": "Saint Pierre and Miquelon",
    "SRB": "Serbia",
    "SSD": "South Sudan",
    "STP": "Sao Tome and Principe",
    "SUR": "Suriname",
    "SVK": "Slovakia",
    "SVN": "Slovenia",
    "SWE": "Sweden",
    "SWZ": "Eswatini",
    "SXM": "Sint Maarten (Dutch part)",
    "SYC": "Seychelles",
    "SYR": "Syria",
    "TCA": "Turks and Caicos Islands",
    "TCD": "Chad",
    "TGO": "Togo",
    "THA": "Thailand",
    "TJK": "Tajikistan",
    "TKL": "Tokelau",
    "TKM": "Turkmenistan",
    "TLS": "Timor-Leste",
    "TON": "Tonga",
    "TTO": "Trinidad and Tobago",
    "TUN": "Tunisia",
    "TUR": "Türkiye",
    "TUV": "Tuvalu",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "UGA": "Uganda",
    "UKR": "Ukraine",
    "UMI": "United States Minor Outlying Islands",
    "URY": "Uruguay",
    "USA": "United States",
    "UZB": "Uzbekistan",
    "VAT": "Holy See (Vatican City State)",
    "VCT": "Saint Vincent and the Grenadines",
    "VEN": "Venezuela",
    "VGB": "Virgin Islands, British",
    "VIR": "Virgin Islands, U.S.",
    "VNM": "Vietnam",
    "VUT": "Vanuatu",
    "WLF": "Wallis and Futuna",
    "WSM": "Samoa",
    "YEM": "Yemen",
    "ZAF": "South Africa",
    "ZMB": "Zambia",
    "ZWE": "Zimbabwe",
}

# 9303 Part 3, section 5: the codes that are not (current) ISO 3166-1 alpha-3.
_ICAO_SPECIALS: dict[str, str] = {
    # Part A: British nationality classes (issuing state of their passports is GBR).
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    # Part A: Kosovo, the code Kosovo's own documents carry and some states accept.
    "RKS": "Kosovo",
    # Part B: reserved by the ISO 3166 maintenance agency.
    "EUE": "European Union",
    # Part C: United Nations travel documents.
    "UNO": "United Nations Organization or one of its officials",
    "UNA": "United Nations specialized agency or one of its officials",
    "UNK": "Resident of Kosovo with a UNMIK travel document",
    # Part D: other issuing authorities.
    "XBA": "African Development Bank (ADB)",
    "XIM": "African Export-Import Bank (AFREXIM Bank)",
    "XCC": "Caribbean Community or one of its emissaries (CARICOM)",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa (COMESA)",
    "XEC": "Economic Community of West African States (ECOWAS)",
    "XPO": "International Criminal Police Organization (INTERPOL)",
    "XES": "Organization of Eastern Caribbean States (OECS)",
    "XMP": "Parliamentary Assembly of the Mediterranean (PAM)",
    "XOM": "Sovereign Military Order of Malta or one of its emissaries",
    "XDC": "Southern African Development Community (SADC)",
    # Part E: persons without a defined nationality (nationality field only).
    "XXA": "Stateless person (1954 Convention)",
    "XXB": "Refugee (1951 Convention and 1967 Protocol)",
    "XXC": "Refugee, other than under XXB",
    "XXX": "Person of unspecified nationality",
    # Part F: deprecated in ISO 3166, kept for documents issued before withdrawal.
    "ANT": "Netherlands Antilles",
    "NTZ": "Neutral Zone",
    # The specimen state of every 9303 example (L898902C3).
    "UTO": "Utopia (specimen)",
}

ISSUING_STATES: Mapping[str, str] = MappingProxyType(
    dict(sorted({**_ISO_BASED, **_ICAO_SPECIALS}.items()))
)
"""Every code valid as issuing state or nationality in an MRZ -> its English name."""

# ISO alpha-3 codes that 9303 spells differently, for the error hint.
_SPELLED_OTHERWISE: Mapping[str, tuple[str, str]] = MappingProxyType({"DEU": ("D", "Germany")})

# What surrounds a code as read from an MRZ or typed by a clerk: "D<<", " fra ".
_FILLERS = " <\t\r\n"


def is_issuing_state(code: str) -> bool:
    """True if ``code`` (already upper-cased and stripped) is in the 9303 list."""
    return code in ISSUING_STATES


def normalise_state(code: str) -> str:
    """Return the 9303 code for ``code`` as typed or read from an MRZ.

    Strips spaces and ``<`` fillers and upper-cases, so ``"d<<"`` gives ``"D"`` and
    ``" fra "`` gives ``"FRA"``. Raises :class:`ValueError` naming the value if the
    result is not in :data:`ISSUING_STATES`; for ``DEU`` the message says to use
    ``D``, since that is the one ISO code an NCB is likely to send for a state that
    9303 spells otherwise.
    """
    stripped = code.strip(_FILLERS)
    # ASCII first: str.upper() turns the ligature "ﬁn" into "FIN", Finland.
    candidate = stripped.upper() if stripped.isascii() else stripped
    if candidate in ISSUING_STATES:
        return candidate
    raise ValueError(_rejection(code, candidate))


def _rejection(code: str, candidate: str) -> str:
    """The error message for a code that is not in the 9303 list."""
    message = f"{code!r} is not an ICAO Doc 9303 issuing state or nationality code"
    if candidate in _SPELLED_OTHERWISE:
        icao, name = _SPELLED_OTHERWISE[candidate]
        message += f": use {icao!r} for {name} ({candidate} is ISO 3166, not 9303)"
    return message

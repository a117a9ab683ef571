"""ISO 4217 currencies and the banknotes in circulation that counterfeiters favour.

COUNTERFEIT's `currency` is one of these codes; `screening generate` draws a currency and
one of its real denominations.
"""

from __future__ import annotations

from loaders.normalise import FieldError, ascii_upper

BANKNOTES: dict[str, tuple[str, ...]] = {
    "USD": ("1", "2", "5", "10", "20", "50", "100"),
    "EUR": ("5", "10", "20", "50", "100", "200", "500"),
    "GBP": ("5", "10", "20", "50"),
    "CHF": ("10", "20", "50", "100", "200", "1000"),
    "JPY": ("1000", "2000", "5000", "10000"),
    "CNY": ("1", "5", "10", "20", "50", "100"),
    "RUB": ("50", "100", "200", "500", "1000", "2000", "5000"),
    "INR": ("10", "20", "50", "100", "200", "500"),
    "BRL": ("2", "5", "10", "20", "50", "100", "200"),
    "MXN": ("20", "50", "100", "200", "500", "1000"),
    "CAD": ("5", "10", "20", "50", "100"),
    "AUD": ("5", "10", "20", "50", "100"),
    "TRY": ("5", "10", "20", "50", "100", "200"),
    "ZAR": ("10", "20", "50", "100", "200"),
    "NGN": ("50", "100", "200", "500", "1000"),
    "COP": ("2000", "5000", "10000", "20000", "50000", "100000"),
    "PLN": ("10", "20", "50", "100", "200", "500"),
    "SEK": ("20", "50", "100", "200", "500", "1000"),
    "KRW": ("1000", "5000", "10000", "50000"),
    "SAR": ("5", "10", "50", "100", "500"),
    "AED": ("5", "10", "20", "50", "100", "200", "500", "1000"),
    "EGP": ("5", "10", "20", "50", "100", "200"),
    "THB": ("20", "50", "100", "500", "1000"),
    "PHP": ("20", "50", "100", "200", "500", "1000"),
    "UAH": ("20", "50", "100", "200", "500", "1000"),
}
CURRENCIES = tuple(BANKNOTES)
ISO_4217_OTHERS = frozenset(
    [
        "ARS",
        "BDT",
        "CLP",
        "CZK",
        "DKK",
        "DZD",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "IQD",
        "IRR",
        "JOD",
        "KES",
        "KWD",
        "KZT",
        "LBP",
        "MAD",
        "MYR",
        "NOK",
        "NZD",
        "PEN",
        "PKR",
        "QAR",
        "RON",
        "RSD",
        "SGD",
        "TND",
        "TWD",
        "VND",
        "XAF",
        "XOF",
    ]
)
ALL_CODES = frozenset(CURRENCIES) | ISO_4217_OTHERS


def currency(value: str) -> str:
    """An ISO 4217 alphabetic code, any case (`usd` is `USD`)."""
    code = ascii_upper(value.strip())
    if code not in ALL_CODES:
        raise FieldError(f"{value!r} is not an ISO 4217 currency code (USD, EUR, ...)")
    return code

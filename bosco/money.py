"""Currencies Bosco can report in: the euro plus the ECB's daily reference-rate currencies."""

from __future__ import annotations

# ECB euro foreign exchange reference rates (the set published since 2023), plus EUR itself.
REPORTING_CURRENCIES: dict[str, str] = {
    "EUR": "Euro",
    "USD": "US dollar",
    "GBP": "Pound sterling",
    "JPY": "Japanese yen",
    "CHF": "Swiss franc",
    "SEK": "Swedish krona",
    "NOK": "Norwegian krone",
    "DKK": "Danish krone",
    "PLN": "Polish zloty",
    "CZK": "Czech koruna",
    "HUF": "Hungarian forint",
    "RON": "Romanian leu",
    "BGN": "Bulgarian lev",
    "ISK": "Icelandic krona",
    "TRY": "Turkish lira",
    "AUD": "Australian dollar",
    "CAD": "Canadian dollar",
    "NZD": "New Zealand dollar",
    "BRL": "Brazilian real",
    "MXN": "Mexican peso",
    "CNY": "Chinese yuan renminbi",
    "HKD": "Hong Kong dollar",
    "SGD": "Singapore dollar",
    "KRW": "South Korean won",
    "INR": "Indian rupee",
    "IDR": "Indonesian rupiah",
    "ILS": "Israeli shekel",
    "MYR": "Malaysian ringgit",
    "PHP": "Philippine peso",
    "THB": "Thai baht",
    "ZAR": "South African rand",
}

# ISO 4217 minor units where they are not 2: amounts are shown and rounded accordingly.
MINOR_UNITS: dict[str, int] = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "IDR": 2}


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)

"""Numbers the way the pages and charts show them, in the workspace's currency and number format.

Pure Python (no Django): the chart builders and template filters share it. It writes a value
in a unit (money, count, ratio, percent); which unit and label a metric has is the metric
catalogue's business (`warehouse.metrics`), so this core module knows no metric names. The currency
decides the symbol and the number of decimals (JPY has none); the workspace's number format
(`Workspace.number_format`, activated per request by `bosco.middleware`) decides the digit
grouping, the decimal mark and where the currency symbol goes: €1,234.50 (en-US),
1.234,50 € (de-DE), 1 234,50 € (fr-FR). Outside a request the format is en-US.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bosco.money import minor_units

Unit = Literal["money", "count", "ratio", "percent"]

SYMBOLS: dict[str, str] = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "CA$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "BRL": "R$",
    "MXN": "MX$",
    "ILS": "₪",
    "PHP": "₱",
    "THB": "฿",
    "TRY": "₺",
}


@dataclass(frozen=True)
class NumberFormat:
    """How a locale writes numbers and amounts (CLDR's conventions for these locales)."""

    code: str
    label: str
    group: str  # digit grouping separator
    decimal: str  # decimal mark
    symbol_after: bool  # 1.234,50 € rather than €1,234.50
    symbol_space: bool  # a (non-breaking) space between symbol and number

    @property
    def plotly_separators(self) -> str:
        """Plotly's `layout.separators`: the decimal mark, then the grouping separator."""
        return self.decimal + self.group


NBSP, NNBSP = "\u00a0", "\u202f"
NUMBER_FORMATS: dict[str, NumberFormat] = {
    f.code: f
    for f in (
        NumberFormat("en-US", "English (US): 1,234.56 · €1,234.56", ",", ".", False, False),
        NumberFormat("en-GB", "English (UK): 1,234.56 · £1,234.56", ",", ".", False, False),
        NumberFormat("de-DE", "Deutsch: 1.234,56 · 1.234,56 €", ".", ",", True, True),
        NumberFormat("fr-FR", "Français: 1 234,56 · 1 234,56 €", NNBSP, ",", True, True),
        NumberFormat("es-ES", "Español: 1.234,56 · 1.234,56 €", ".", ",", True, True),
        NumberFormat("it-IT", "Italiano: 1.234,56 · 1.234,56 €", ".", ",", True, True),
        NumberFormat("nl-NL", "Nederlands: 1.234,56 · € 1.234,56", ".", ",", False, True),
        NumberFormat("sv-SE", "Svenska: 1 234,56 · 1 234,56 kr", NBSP, ",", True, True),
        NumberFormat("ja-JP", "日本語: 1,234.56 · ¥1,235", ",", ".", False, False),
    )
}
DEFAULT_NUMBER_FORMAT = "en-US"
_active: ContextVar[NumberFormat] = ContextVar("bosco_number_format", default=NUMBER_FORMATS[DEFAULT_NUMBER_FORMAT])


def number_format() -> NumberFormat:
    """The number format in force (the workspace's during a request)."""
    return _active.get()


@contextmanager
def using_number_format(code: str | None) -> Iterator[NumberFormat]:
    """Format numbers as `code` (en-US when unknown or empty) inside the block."""
    chosen = NUMBER_FORMATS.get(code or "", NUMBER_FORMATS[DEFAULT_NUMBER_FORMAT])
    token = _active.set(chosen)
    try:
        yield chosen
    finally:
        _active.reset(token)


def group_digits(number: float, decimals: int) -> str:
    """`number` with `decimals` decimals, grouped in thousands, in the active format."""
    text = f"{number:,.{decimals}f}"
    fmt = _active.get()
    if fmt.group == "," and fmt.decimal == ".":
        return text
    return text.replace(",", "\x00").replace(".", fmt.decimal).replace("\x00", fmt.group)


def with_symbol(amount: str, currency: str, sign: str = "") -> str:
    """Put the currency symbol where the active format puts it: €12.3k, 12,3k €, € 12,3k."""
    symbol = currency_symbol(currency).strip()
    if not symbol:
        return f"{sign}{amount}"
    fmt = _active.get()
    if fmt.symbol_after:
        return f"{sign}{amount}{NBSP}{symbol}"
    space = NBSP if fmt.symbol_space or (len(symbol) == 3 and symbol.isalpha()) else ""
    return f"{sign}{symbol}{space}{amount}"


def currency_symbol(currency: str) -> str:
    """ "€" for EUR; codes without a well-known symbol print as "CHF " (code and a space)."""
    code = (currency or "").upper()
    return SYMBOLS.get(code, f"{code} " if code else "")


def _finite(value: float | int | Decimal | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def format_money(value: float | int | None, currency: str, *, decimals: int | None = None) -> str:
    """€1,234.50; amounts of 1,000 and more drop the cents (dense tables read faster)."""
    number = _finite(value)
    if number is None:
        return "—"
    if decimals is None:
        decimals = 0 if abs(number) >= 1000 else minor_units(currency)
    sign = "−" if number < 0 else ""
    return with_symbol(group_digits(abs(number), decimals), currency, sign)


def format_compact(value: float | int | None, currency: str | None = None) -> str:
    """€12.3k, 4.1M: for KPI cards and chart annotations."""
    number = _finite(value)
    if number is None:
        return "—"
    sign = "−" if number < 0 else ""
    magnitude = abs(number)

    def out(amount: str, signed: str = sign) -> str:
        return with_symbol(amount, currency, signed) if currency else f"{signed}{amount}"

    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            scaled = magnitude / threshold
            return out(group_digits(scaled, 1 if scaled < 100 else 0) + suffix)
    if currency:
        if round(magnitude, 2) == 0:
            return out("0", "")
        return out(group_digits(magnitude, 0 if magnitude >= 100 else minor_units(currency)))
    return out(group_digits(magnitude, 0 if magnitude >= 100 or magnitude.is_integer() else 1))


def format_compact_range(low: float | None, high: float | None, currency: str | None = None) -> str:
    """€1.49M – €1.51M: both ends in the larger one's unit, with the fewest decimals (up to three)
    that tell them apart; "€1.5M – €1.5M" says nothing about a band."""
    a, b = _finite(low), _finite(high)
    if a is None or b is None:
        return f"{format_compact(low, currency)} – {format_compact(high, currency)}"
    magnitude = max(abs(a), abs(b))
    threshold, suffix = next(((t, s) for t, s in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if magnitude >= t), (1.0, ""))
    if not suffix:
        return f"{format_compact(a, currency)} – {format_compact(b, currency)}"

    def text(number: float, decimals: int) -> str:
        amount = group_digits(abs(number) / threshold, decimals) + suffix
        sign = "−" if number < 0 else ""
        return with_symbol(amount, currency, sign) if currency else f"{sign}{amount}"

    first = 1 if magnitude / threshold < 100 else 0
    for decimals in range(first, 4):
        ends = text(a, decimals), text(b, decimals)
        if ends[0] != ends[1]:
            return f"{ends[0]} – {ends[1]}"
    return f"about {text(a, first)}"


def format_value(unit: Unit, value: float | int | Decimal | None, currency: str) -> str:
    """A value in its unit: money in the currency, a ratio as 3.20×, a percent as 1.25%.

    Metrics get their unit from the catalogue (`warehouse.metrics.format_metric`).
    """
    number = _finite(value)
    if number is None:
        return "—"
    if unit == "money":
        return format_money(number, currency)
    if unit == "ratio":
        return f"{group_digits(number, 2)}×"
    if unit == "percent":
        return f"{group_digits(number, 2)}%"
    if abs(number) >= 10 or float(number).is_integer():
        return group_digits(number, 0)
    return group_digits(number, 1)


def format_percent(value: float | None, *, signed: bool = False, decimals: int = 0) -> str:
    """0.123 -> "12%" (signed: "+12%")."""
    number = _finite(value)
    if number is None:
        return "—"
    text = f"{group_digits(abs(number) * 100, decimals)}%"
    if signed:
        return ("+" if number > 0 else "−" if number < 0 else "±") + text
    return ("−" if number < 0 else "") + text


def plotly_format(unit: Unit, currency: str) -> dict[str, str]:
    """Axis tick/hover formats for Plotly (d3-format), with the currency as a prefix."""
    if unit == "money":
        decimals = minor_units(currency)
        return {"tickprefix": currency_symbol(currency), "tickformat": "~s", "hoverformat": f",.{decimals}f"}
    if unit == "ratio":
        return {"ticksuffix": "×", "tickformat": ".2f", "hoverformat": ".2f"}
    if unit == "percent":
        return {"ticksuffix": "%", "tickformat": ".2f", "hoverformat": ".2f"}
    return {"tickformat": "~s", "hoverformat": ",.0f"}

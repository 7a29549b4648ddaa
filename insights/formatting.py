"""Numbers the way the insight pages and charts show them, in the workspace's currency.

Pure Python (no Django): the chart builders and template filters share it. Locale is en-US
digit grouping for now (the workspace has no locale setting yet); the currency decides the
symbol and the number of decimals (JPY has none).
"""

from __future__ import annotations

import math
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

#: Units of the metrics the insight models work on (mirrors warehouse.metrics; kept here so this
#: module stays importable without Django).
METRIC_UNITS: dict[str, Unit] = {
    "spend": "money",
    "conversion_value": "money",
    "revenue": "money",
    "cpc": "money",
    "cpm": "money",
    "cpa": "money",
    "impressions": "count",
    "clicks": "count",
    "conversions": "count",
    "ctr": "percent",
    "roas": "ratio",
}

METRIC_LABELS: dict[str, str] = {
    "spend": "Spend",
    "conversion_value": "Revenue",
    "revenue": "Revenue",
    "cpc": "CPC",
    "cpm": "CPM",
    "cpa": "CPA",
    "impressions": "Impressions",
    "clicks": "Clicks",
    "conversions": "Conversions",
    "ctr": "CTR",
    "roas": "ROAS",
}

#: Whether a rise is good news; None when it depends (spend rising is not "green").
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "spend": None,
    "conversion_value": True,
    "revenue": True,
    "cpc": False,
    "cpm": False,
    "cpa": False,
    "impressions": True,
    "clicks": True,
    "conversions": True,
    "ctr": True,
    "roas": True,
}


def currency_symbol(currency: str) -> str:
    """ "€" for EUR; codes without a well-known symbol print as "CHF " (code and a space)."""
    code = (currency or "").upper()
    return SYMBOLS.get(code, f"{code} " if code else "")


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


def metric_unit(metric: str) -> Unit:
    return METRIC_UNITS.get(metric, "count")


def _finite(value: float | int | None) -> float | None:
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
    return f"{sign}{currency_symbol(currency)}{abs(number):,.{decimals}f}"


def format_compact(value: float | int | None, currency: str | None = None) -> str:
    """€12.3k, 4.1M: for KPI cards and chart annotations."""
    number = _finite(value)
    if number is None:
        return "—"
    prefix = currency_symbol(currency) if currency else ""
    sign = "−" if number < 0 else ""
    magnitude = abs(number)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            scaled = magnitude / threshold
            return f"{sign}{prefix}{scaled:,.{1 if scaled < 100 else 0}f}{suffix}"
    if currency:
        if round(magnitude, 2) == 0:
            return f"{prefix}0"
        return f"{sign}{prefix}{magnitude:,.{0 if magnitude >= 100 else minor_units(currency)}f}"
    return f"{sign}{magnitude:,.{0 if magnitude >= 100 or magnitude.is_integer() else 1}f}"


def format_metric(metric: str, value: float | int | None, currency: str) -> str:
    """A metric value in its unit: money in the currency, ROAS as 3.20×, CTR as 1.25%."""
    number = _finite(value)
    if number is None:
        return "—"
    unit = metric_unit(metric)
    if unit == "money":
        return format_money(number, currency)
    if unit == "ratio":
        return f"{number:,.2f}×"
    if unit == "percent":
        return f"{number:,.2f}%"
    if abs(number) >= 10 or float(number).is_integer():
        return f"{number:,.0f}"
    return f"{number:,.1f}"


def format_percent(value: float | None, *, signed: bool = False, decimals: int = 0) -> str:
    """0.123 -> "12%" (signed: "+12%")."""
    number = _finite(value)
    if number is None:
        return "—"
    text = f"{abs(number) * 100:,.{decimals}f}%"
    if signed:
        return ("+" if number > 0 else "−" if number < 0 else "±") + text
    return ("−" if number < 0 else "") + text


def plotly_tickformat(metric: str, currency: str) -> dict[str, str]:
    """Axis tick/hover formats for Plotly (d3-format), with the currency as a prefix."""
    unit = metric_unit(metric)
    if unit == "money":
        decimals = minor_units(currency)
        return {"tickprefix": currency_symbol(currency), "tickformat": "~s", "hoverformat": f",.{decimals}f"}
    if unit == "ratio":
        return {"ticksuffix": "×", "tickformat": ".2f", "hoverformat": ".2f"}
    if unit == "percent":
        return {"ticksuffix": "%", "tickformat": ".2f", "hoverformat": ".2f"}
    return {"tickformat": "~s", "hoverformat": ",.0f"}

"""Template filters of the insight pages: money in the workspace currency, metric units, badges."""

from __future__ import annotations

from typing import Any

from django import template

from bosco import formatting
from bosco.platforms import platform_color, platform_label
from insights.views.links import campaign_url, incident_url
from warehouse import metrics

register = template.Library()

_SEVERITY_BADGES = {"high": "badge-bad", "medium": "badge-warn", "low": ""}


@register.filter
def money(value: Any, currency: str) -> str:
    """{{ amount|money:currency }} -> €1,234.50"""
    return formatting.format_money(value, currency)


@register.filter
def count(value: Any) -> str:
    """{{ conversions|count }} -> 2,317 (a fraction only below 10: 4.5), as counts read everywhere else."""
    return formatting.format_value("count", value, "")


@register.filter
def money_compact(value: Any, currency: str) -> str:
    """{{ amount|money_compact:currency }} -> €12.3k"""
    return formatting.format_compact(value, currency)


@register.filter
def money_range(band: Any, currency: str) -> str:
    """{{ band|money_range:currency }} with band = (low, high) -> €1.49M – €1.51M (ends told apart)."""
    low, high = band
    return formatting.format_compact_range(low, high, currency)


@register.filter
def cost_per(rate: Any, currency: str) -> str:
    """{{ conversions_per_unit|cost_per:currency }}: 0.0261 conversions per € -> €38.31 a conversion."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        return "—"
    return formatting.format_money(1 / value, currency) if value > 0 else "—"


@register.filter
def number_compact(value: Any) -> str:
    return formatting.format_compact(value)


@register.filter
def metric_label(metric: str) -> str:
    return metrics.metric_label(str(metric))


@register.filter
def pct(value: Any, decimals: int = 0) -> str:
    """0.123 -> 12%"""
    return formatting.format_percent(None if value in (None, "") else float(value), decimals=int(decimals))


@register.filter
def signed_pct(value: Any) -> str:
    return formatting.format_percent(None if value in (None, "") else float(value), signed=True)


@register.filter
def severity_badge(severity: str) -> str:
    return _SEVERITY_BADGES.get(str(severity), "")


@register.filter
def platform_name(code: str) -> str:
    return platform_label(str(code)) if code else ""


@register.filter
def platform_hex(code: str) -> str:
    return platform_color(str(code))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def campaign_link(key: str) -> str:
    return campaign_url(str(key))


@register.filter
def incident_link(incident: Any) -> str:
    """{{ incident|incident_link }} -> the Anomalies page on that incident's day and entity."""
    return incident_url(incident)


@register.filter
def money0(value: Any, currency: str) -> str:
    """{{ amount|money0:currency }} -> €1,234 (whole units: plans and allocations)."""
    return formatting.format_money(value, currency, decimals=0)

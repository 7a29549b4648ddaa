"""Template helpers of the digest e-mail: tone colours and the lists every workspace section ends with."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

TONE_COLORS = {"good": "#1b7f3b", "bad": "#b42318", "neutral": "#66788a"}


@register.filter
def tone_color(tone: str) -> str:
    return TONE_COLORS.get(tone, TONE_COLORS["neutral"])


@register.filter
def digest_lists(ws: Any) -> list[tuple[str, list[Any], str, str]]:
    """(title, items, text when empty, page link) of the anomalies, open alerts and forecast."""
    lists = [
        ("Anomalies", ws.anomalies, "No anomalies of medium or high severity in this period.", ws.links["anomalies"]),
        ("Open alerts", ws.alerts, "No open alerts.", ws.links["alerts"]),
    ]
    if ws.has_data:
        lists.append(
            ("Forecast for the coming period", ws.forecast, "No forecast yet: it appears after the nightly scoring.",
             ws.links["forecasts"])
        )  # fmt: skip
    return lists

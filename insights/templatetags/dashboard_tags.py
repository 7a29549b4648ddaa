"""Template helpers of the dashboards: metric values and names in the workspace's currency."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from django import template
from django.utils.safestring import mark_safe

from bosco.platforms import platform_label as _platform_label
from warehouse.metrics import format_metric, metric_label

register = template.Library()


@register.simple_tag
def metric_text(metric: str, value: Any, currency: str) -> str:
    """{% metric_text "spend" row.spend currency %} -> €1,234.50, ROAS as 3.20×, CTR as 1.25%."""
    number = float(value) if isinstance(value, Decimal | int | float) else None
    return format_metric(str(metric), number, str(currency))


@register.filter
def metric_name(metric: str) -> str:
    """{{ "conversion_value"|metric_name }} -> Revenue."""
    return metric_label(str(metric))


@register.filter
def platform_label(code: str) -> str:
    return _platform_label(str(code)) if code else ""


@register.filter
def metric_cells(cells: Any) -> str:
    """{{ row.cells|metric_cells }}: a table row's metric cells as HTML, built in Python.

    A page of campaigns is ~250 cells and a campaign's quarter of days ~800; as template nodes
    (or even one format_html each) they were most of a page's server time. Every value is
    escaped with the standard library's html.escape before it is joined.
    """
    parts = []
    for cell in cells:
        value = "" if cell.value is None else escape(str(cell.value))
        note = ""
        delta = cell.delta
        if delta is not None and delta.change is not None:
            note = (
                f'<br><small class="delta delta-{escape(delta.tone)}" title="{escape(delta.description)}">'
                f"{escape(delta.text)}</small>"
            )
        parts.append(
            f'<td class="num" data-metric="{escape(cell.metric)}" data-value="{value}">{escape(cell.text)}{note}</td>'
        )
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated value above is escaped

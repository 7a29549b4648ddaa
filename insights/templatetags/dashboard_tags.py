"""Template helpers of the dashboards: metric values and names in the workspace's currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from bosco.platforms import platform_label as _platform_label
from insights.formatting import format_metric, metric_label

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

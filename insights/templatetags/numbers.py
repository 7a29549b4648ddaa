"""`{{ value|num }}` / `{{ value|num:2 }}`: a number for people, in the workspace's number format.

Loaded for every template (TEMPLATES builtins). Use it for every number a person reads; keep
Django's `floatformat` (unlocalized, 'u') only for machine values such as SVG coordinates.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from bosco.formatting import group_digits

register = template.Library()


@register.filter
def num(value: Any, decimals: Any = 0) -> Any:
    """12345.678|num → 12,345 (en-US) / 12.345 (de-DE); |num:2 → 12,345.68 / 12.345,68."""
    if value is None or value == "":
        return value
    try:
        number = float(Decimal(str(value)))
        places = int(decimals)
    except (InvalidOperation, ValueError, TypeError):
        return value
    if not math.isfinite(number):
        return value
    return group_digits(number, max(0, places))

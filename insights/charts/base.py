"""What every Bosco figure shares: palette, fonts, the base layout and the workspace's number format.

Every builder in `insights.charts` returns a plain figure dict (`{"data": [...], "layout": {...}}`)
that a page embeds as it is with `json_script` (static/js/charts.js draws every `[data-plotly]`
element with the project's own plotly.js). Dicts, not `plotly.graph_objects.Figure`: building a
go.Figure validates every property on every request, which cost ~35 ms per chart — most of a
dashboard's server time. The dicts use only documented Plotly attributes, and the tests load each
one into go.Figure, so the schema is still checked — once, in CI.

No Django import: figures are tested without a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from bosco.formatting import currency_symbol, number_format
from warehouse.metrics import plotly_tickformat

Figure = dict[str, Any]

FONT_FAMILY = 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
TEXT = "#16191f"
TEXT_2 = "#4a5260"
TEXT_3 = "#6b7381"
GRID = "#eef0f3"
AXIS = "#cfd4dc"
ACCENT = "#4f46e5"


def get(item: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: figures accept model instances, dataclasses and dicts alike."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def day(value: Any) -> str:
    """An ISO date for Plotly's date axis, from a date, a datetime (pandas' too) or a string."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def day_edge(value: Any, offset_hours: int) -> str:
    """A day's midnight shifted by hours (rectangles cover whole days around daily points)."""
    midnight = date.fromisoformat(day(value))
    moment = datetime(midnight.year, midnight.month, midnight.day) + timedelta(hours=offset_hours)
    return moment.strftime("%Y-%m-%d %H:%M")


def number(value: Any) -> float | None:
    """A plain float for the figure JSON; None (a gap) for missing, NaN or infinite values,
    which JSON cannot carry."""
    if value is None:
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def rgba(hex_color: str, alpha: float) -> str:
    """ "#2563eb", 0.2 -> "rgba(37,99,235,0.2)" (band fills in the series' own colour)."""
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


def hover(metric: str, currency: str) -> tuple[str, str, str]:
    """(prefix, d3 format, suffix) of a metric's hover text."""
    fmt = plotly_tickformat(metric, currency)
    prefix = currency_symbol(currency) if fmt.get("tickprefix") else ""
    return prefix, fmt.get("hoverformat", ",.2f"), fmt.get("ticksuffix", "")


def base_layout(*, height: int = 320, legend: bool = True, hovermode: str = "x unified") -> dict[str, Any]:
    """The layout every Bosco chart starts from: calm grid, system font, compact margins."""
    return {
        "template": "none",
        # the workspace's decimal mark and digit grouping for ticks and hover labels
        "separators": number_format().plotly_separators,
        "height": height,
        "autosize": True,
        "margin": {"l": 56, "r": 16, "t": 36 if legend else 12, "b": 36},
        "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT_2},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": hovermode,
        "hoverlabel": {
            "bgcolor": "#ffffff",
            "bordercolor": AXIS,
            "font": {"family": FONT_FAMILY, "size": 12, "color": TEXT},
        },
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": 12, "color": TEXT_2},
            "bgcolor": "rgba(0,0,0,0)",
        },
        "xaxis": {
            "showgrid": False,
            "linecolor": AXIS,
            "ticks": "outside",
            "tickcolor": AXIS,
            "ticklen": 4,
            "automargin": True,
            "fixedrange": True,
        },
        "yaxis": {
            "gridcolor": GRID,
            "zeroline": False,
            "rangemode": "tozero",
            "automargin": True,
            "fixedrange": True,
        },
    }


def dated_layout(metric: str, currency: str, height: int, legend: bool = True) -> dict[str, Any]:
    """The base layout with a date x axis and the y axis in the metric's unit."""
    layout = base_layout(height=height, legend=legend)
    layout["yaxis"].update(plotly_tickformat(metric, currency))
    layout["xaxis"]["type"] = "date"
    return layout

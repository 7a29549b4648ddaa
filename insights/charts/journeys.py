"""Figures of the journeys panel on the attribution page: how long and how many touches it takes
to convert (one bar per bucket), and each paid channel's attributed revenue next to what its
platform claims."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bosco.formatting import currency_symbol
from bosco.platforms import platform_color
from insights.charts.base import ACCENT, GRID, Figure, base_layout, get, rgba

__all__ = ["claimed_vs_attributed_figure", "distribution_figure"]


def distribution_figure(
    buckets: Sequence[Sequence[Any]], *, axis_title: str, color: str = ACCENT, height: int = 240
) -> Figure:
    """Converting journeys per bucket (["same day", 12], ["1 day", 4], …), in bucket order."""
    labels = [str(b[0]) for b in buckets]
    counts = [int(b[1]) for b in buckets]
    total = sum(counts) or 1
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": counts,
            "name": "Conversions",
            "marker": {"color": color, "line": {"width": 0}},
            "customdata": [c / total for c in counts],
            "hovertemplate": "%{y:,} conversions (%{customdata:.0%})<extra>%{x}</extra>",
        }
    ]
    layout = base_layout(height=height, legend=False, hovermode="closest")
    layout.update(bargap=0.3)
    layout["xaxis"].update(type="category", title={"text": axis_title, "font": {"size": 12}})
    layout["yaxis"].update(title={"text": "Conversions", "font": {"size": 12}}, tickformat=",d")
    if max(counts, default=0) <= 6:  # whole conversions: no 0.5 ticks rounded into repeated labels
        layout["yaxis"]["dtick"] = 1
    return {"data": data, "layout": layout}


def claimed_vs_attributed_figure(rows: Iterable[Any], *, currency: str, height: int | None = None) -> Figure:
    """Per paid channel: revenue the journeys attribute to it (solid) and what the platform claims (light).

    `rows` have label, platform, attributed and claimed (None when the platform reports nothing).
    """
    items = [r for r in rows if get(r, "platform")][::-1]
    labels = [str(get(r, "label")) for r in items]
    colors = [platform_color(str(get(r, "platform"))) for r in items]
    symbol = currency_symbol(currency)
    data = [
        {
            "type": "bar",
            "y": labels,
            "x": [float(get(r, "claimed") or 0) for r in items],
            "orientation": "h",
            "name": "Platform claims",
            "marker": {"color": [rgba(c, 0.28) for c in colors], "line": {"width": 0}},
            "hovertemplate": f"Platform claims: {symbol}%{{x:,.0f}}<extra></extra>",
        },
        {
            "type": "bar",
            "y": labels,
            "x": [float(get(r, "attributed") or 0) for r in items],
            "orientation": "h",
            "name": "Attributed (journeys)",
            "marker": {"color": colors, "line": {"width": 0}},
            "hovertemplate": f"Attributed: {symbol}%{{x:,.0f}}<extra></extra>",
        },
    ]
    layout = base_layout(height=height or max(160, 70 + 56 * len(items)), hovermode="y unified")
    layout.update(barmode="group", bargap=0.3, bargroupgap=0.08)
    layout["margin"]["l"] = 8
    layout["xaxis"].update(showgrid=True, gridcolor=GRID, tickprefix=symbol, tickformat="~s", rangemode="tozero")
    layout["yaxis"].update(showgrid=False, automargin=True)
    layout["legend"]["traceorder"] = "reversed"
    return {"data": data, "layout": layout}

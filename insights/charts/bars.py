"""Bar figures: one bar per platform against the compare period, attribution credit per channel
and model, and the budget planner's allocation. Each returns a plain figure dict
(see `insights.charts.base`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bosco.formatting import currency_symbol
from bosco.platforms import colors_for, platform_color
from insights.charts.base import ACCENT, GRID, Figure, base_layout, get, hover, rgba
from warehouse.metrics import format_metric, metric_label, plotly_tickformat

#: attribution models in the order the page explains them, with short labels
MODEL_LABELS: dict[str, str] = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position (40/20/40)",
    "time_decay": "Time decay",
    "markov_1": "Markov (1st order)",
    "markov_2": "Markov (2nd order)",
    "markov_3": "Markov (3rd order)",
    "shapley": "Shapley value",
}
#: column headers where space is short
MODEL_SHORT_LABELS: dict[str, str] = {
    "first_touch": "First",
    "last_touch": "Last",
    "linear": "Linear",
    "position_based": "40/20/40",
    "time_decay": "Decay",
    "markov_1": "Markov 1",
    "markov_2": "Markov 2",
    "markov_3": "Markov 3",
    "shapley": "Shapley",
}
#: rule-based models in greys, data-driven ones in colour: the comparison the page is about
MODEL_COLORS: dict[str, str] = {
    "first_touch": "#cbd5e1",
    "last_touch": "#94a3b8",
    "linear": "#64748b",
    "position_based": "#475569",
    "time_decay": "#334155",
    "markov_1": "#a5b4fc",
    "markov_2": "#6366f1",
    "markov_3": "#3730a3",
    "shapley": "#0d9488",
}


def compare_bars_figure(
    rows: Iterable[Any],
    *,
    metric: str,
    currency: str,
    compare_name: str | None = None,
    height: int | None = None,
) -> Figure:
    """One horizontal bar per platform (its own colour), the compare period as a lighter bar.

    `rows` have platform, label, value and previous (e.g. ROAS by platform).
    """
    items = list(rows)[::-1]
    labels = [str(get(r, "label")) for r in items]
    colors = [platform_color(str(get(r, "platform"))) for r in items]
    fmt = plotly_tickformat(metric, currency)
    prefix, hover_fmt, suffix = hover(metric, currency)
    data: list[dict[str, Any]] = []
    if compare_name:
        data.append(
            {
                "type": "bar",
                "y": labels,
                "x": [float(get(r, "previous") or 0) for r in items],
                "orientation": "h",
                "name": compare_name,
                "marker": {"color": [rgba(c, 0.28) for c in colors], "line": {"width": 0}},
                "hovertemplate": f"{compare_name}: {prefix}%{{x:{hover_fmt}}}{suffix}<extra></extra>",
            }
        )
    values = [float(get(r, "value") or 0) for r in items]
    data.append(
        {
            "type": "bar",
            "y": labels,
            "x": values,
            "orientation": "h",
            "name": "This period",
            "marker": {"color": colors, "line": {"width": 0}},
            "text": [format_metric(metric, v, currency) for v in values],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": f"This period: {prefix}%{{x:{hover_fmt}}}{suffix}<extra></extra>",
        }
    )
    layout = base_layout(
        height=height or max(160, 60 + 58 * len(items)), legend=bool(compare_name), hovermode="y unified"
    )
    layout.update(barmode="group", bargap=0.32, bargroupgap=0.08)
    layout["margin"].update(l=8, r=40)
    layout["xaxis"].update(
        showgrid=True, gridcolor=GRID, rangemode="tozero", **{k: v for k, v in fmt.items() if k != "hoverformat"}
    )
    layout["yaxis"].update(showgrid=False, automargin=True)
    layout["legend"]["traceorder"] = "reversed"
    return {"data": data, "layout": layout}


def attribution_bar(
    results: Iterable[Any],
    *,
    measure: str = "conversions",
    models: Sequence[str] | None = None,
    currency: str = "EUR",
    height: int = 360,
) -> Figure:
    """Channels on the x axis, one bar per model side by side (conversions or value credited)."""
    rows = list(results)
    channels = sorted(
        {str(get(r, "channel")) for r in rows},
        key=lambda c: -sum(float(get(r, measure) or 0) for r in rows if get(r, "channel") == c),
    )
    present = [m for m in (models or MODEL_LABELS) if any(get(r, "model") == m for r in rows)]
    value_of = {(str(get(r, "channel")), str(get(r, "model"))): float(get(r, measure) or 0) for r in rows}
    money = measure == "conversion_value"
    fmt = f"{currency_symbol(currency)}%{{y:,.0f}}" if money else "%{y:,.1f}"
    data = [
        {
            "type": "bar",
            "x": channels,
            "y": [value_of.get((c, model), 0.0) for c in channels],
            "name": MODEL_LABELS.get(model, model),
            "marker": {"color": MODEL_COLORS.get(model, ACCENT), "line": {"width": 0}},
            "hovertemplate": f"{fmt}<extra>{MODEL_LABELS.get(model, model)}</extra>",
        }
        for model in present
    ]
    layout = base_layout(height=height)
    layout.update(barmode="group", bargap=0.25, bargroupgap=0.06)
    layout["yaxis"].update(plotly_tickformat("conversion_value" if money else "conversions", currency))
    credited = metric_label("conversion_value" if money else "conversions")
    layout["yaxis"]["title"] = {"text": f"{credited} credited", "font": {"size": 12}}
    return {"data": data, "layout": layout}


def channel_swatches(channels: Sequence[str]) -> dict[str, str]:
    """Colour per attribution channel: the platform's colour when the name is a platform."""
    return colors_for(list(channels))


def budget_allocation_bar(
    channels: Iterable[Any], *, currency: str, colors: Mapping[str, str] | None = None, height: int = 300
) -> Figure:
    """Per channel: current split (scaled to the same budget, light) next to the plan (solid).

    `channels` are ChannelPlan rows (channel, label, spend, current_spend). Horizontal bars so
    long campaign names stay readable on a phone.
    """
    rows = list(channels)
    labels = [str(get(r, "label") or get(r, "channel")) for r in rows][::-1]
    color_list = [(colors or {}).get(str(get(r, "channel")), platform_color(str(get(r, "channel")))) for r in rows][
        ::-1
    ]
    symbol = currency_symbol(currency)
    data = [
        {
            "type": "bar",
            "y": labels,
            "x": [float(get(r, "current_spend")) for r in rows][::-1],
            "orientation": "h",
            "name": "Current split",
            "marker": {"color": [rgba(c, 0.28) for c in color_list], "line": {"width": 0}},
            "hovertemplate": f"Current split: {symbol}%{{x:,.0f}}<extra></extra>",
        },
        {
            "type": "bar",
            "y": labels,
            "x": [float(get(r, "spend")) for r in rows][::-1],
            "orientation": "h",
            "name": "Recommended",
            "marker": {"color": color_list, "line": {"width": 0}},
            "hovertemplate": f"Recommended: {symbol}%{{x:,.0f}}<extra></extra>",
        },
    ]
    layout = base_layout(height=max(height, 70 + 56 * len(rows)), hovermode="y unified")
    layout.update(barmode="group", bargap=0.3, bargroupgap=0.08)
    layout["margin"]["l"] = 8
    layout["xaxis"].update(showgrid=True, gridcolor=GRID, tickprefix=symbol, tickformat="~s", rangemode="tozero")
    layout["yaxis"].update(showgrid=False, automargin=True)
    layout["legend"]["traceorder"] = "normal"
    return {"data": data, "layout": layout}

"""Response curves of the budget planner: outcome per period against spend per period, per
channel, with the current split and the recommendation marked (a plain figure dict, see
`insights.charts.base`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bosco.formatting import currency_symbol
from bosco.platforms import platform_color
from insights.charts.base import AXIS, GRID, Figure, base_layout, get, number, rgba
from warehouse.metrics import metric_label, plotly_tickformat


def response_curves_figure(
    curves: Iterable[Any],
    plan: Iterable[Any],
    *,
    currency: str,
    target: str = "conversion_value",
    colors: Mapping[str, str] | None = None,
    relative: bool = False,
    height: int = 320,
) -> Figure:
    """Each channel's response curve (outcome per period vs spend per period, 80% band), with the
    current split (hollow) and the recommendation (filled) marked on it.

    `relative=True` when the curves are changes against the current split (see
    `insights.ml.planning.curve_points`): the current split then sits at zero and the
    recommendation at the channel's expected gain or loss.
    """
    by_channel = {str(get(p, "channel")): p for p in plan}
    symbol = currency_symbol(currency)
    money = target != "conversions"
    y_fmt = f"{symbol}%{{y:,.0f}}" if money else "%{y:,.1f}"
    data: list[dict[str, Any]] = []
    for curve in curves:
        channel = str(get(curve, "channel"))
        label = str(get(curve, "label") or channel)
        color = (colors or {}).get(channel, platform_color(channel))
        x = [number(v) for v in get(curve, "spend")]
        band = {
            "type": "scatter",
            "x": x,
            "mode": "lines",
            "line": {"width": 0, "color": color},
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": channel,
        }
        data.append({**band, "y": [number(v) for v in get(curve, "high")]})
        data.append(
            {**band, "y": [number(v) for v in get(curve, "low")], "fill": "tonexty", "fillcolor": rgba(color, 0.12)}
        )
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": [number(v) for v in get(curve, "outcome")],
                "mode": "lines",
                "name": label,
                "line": {"color": color, "width": 2},
                "hovertemplate": f"{symbol}%{{x:,.0f}} → {y_fmt}<extra>{label}</extra>",
                "legendgroup": channel,
            }
        )
        point = by_channel.get(channel)
        if point is None:
            continue
        if relative:
            ys = [0.0, number(get(point, "outcome_change"))]
        else:
            ys = [number(get(point, "current_outcome")), number(get(point, "expected"))]
        data.append(
            {
                "type": "scatter",
                "x": [number(get(point, "current_spend")), number(get(point, "spend"))],
                "y": ys,
                "mode": "markers",
                "marker": {"color": ["#ffffff", color], "size": [10, 11], "line": {"color": color, "width": 2}},
                "customdata": ["Current split", "Recommended"],
                "hovertemplate": f"%{{customdata}}: {symbol}%{{x:,.0f}} → {y_fmt}<extra>{label}</extra>",
                "showlegend": False,
                "legendgroup": channel,
            }
        )
    layout = base_layout(height=height, hovermode="closest")
    layout["xaxis"].update(
        showgrid=True,
        gridcolor=GRID,
        tickprefix=symbol,
        tickformat="~s",
        rangemode="normal" if relative else "tozero",
        title={"text": "Spend", "font": {"size": 12}},
    )
    layout["yaxis"].update(plotly_tickformat("conversion_value" if money else "conversions", currency))
    noun = metric_label("conversion_value" if money else "conversions")
    layout["yaxis"]["title"] = {"text": f"{noun} vs current split" if relative else noun, "font": {"size": 12}}
    if relative:
        layout["yaxis"].update(rangemode="normal", zeroline=True, zerolinecolor=AXIS, zerolinewidth=1)
    return {"data": data, "layout": layout}

"""Every Plotly figure Bosco draws, built in Python as small pure functions.

One module for the whole product so every chart shares layout, fonts, colours (one per
platform, from `bosco.platforms`) and number formats (the workspace currency). Functions take
plain values — lists, dicts, dataclasses or model instances with the named attributes — and
return a `plotly.graph_objects.Figure`; `figure_json(fig)` makes the JSON a page embeds with
`json_script`, and static/js/charts.js draws every `[data-plotly]` element with plotly.js
served by the project (no CDN).

    fig = timeseries_figure([line("Revenue", days, values, color=TOTAL_COLOR)], metric="conversion_value", currency="EUR")
    add_forecast_band(fig, forecasts_for(metric="conversion_value", scope="workspace").points, color=TOTAL_COLOR)
    add_anomaly_markers(fig, anomalies_for(date_from=d1, date_to=d2, scope="workspace", metrics=["conversion_value"]),
                        metric="conversion_value", currency="EUR")
    context["chart"] = figure_json(fig)     # template: {{ chart|json_script:"revenue-chart" }}
                                            #           <div data-plotly="revenue-chart"></div>

No Django import: figures are tested without a database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from bosco.formatting import currency_symbol, number_format
from bosco.platforms import TOTAL_COLOR, colors_for, platform_color
from warehouse.metrics import format_metric, metric_label, plotly_tickformat

FONT_FAMILY = 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
TEXT = "#16191f"
TEXT_2 = "#4a5260"
TEXT_3 = "#6b7381"
GRID = "#eef0f3"
AXIS = "#cfd4dc"
ACCENT = "#4f46e5"
#: severity of an anomaly, matching the badge colours of the pages
SEVERITY_COLORS: dict[str, str] = {"high": "#c2352b", "medium": "#d97706", "low": "#8a94a6"}
SEVERITY_SIZES: dict[str, int] = {"high": 13, "medium": 11, "low": 9}
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


# --------------------------------------------------------------------------- helpers


def _get(item: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: figures accept model instances, dataclasses and dicts alike."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def rgba(hex_color: str, alpha: float) -> str:
    """ "#2563eb", 0.2 -> "rgba(37,99,235,0.2)" (band fills in the series' own colour)."""
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


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


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON data for `json_script` (plotly's encoder handles numpy and dates)."""
    return json.loads(fig.to_json())  # type: ignore[no-any-return]


def _axis_for(metric: str, currency: str) -> dict[str, Any]:
    return plotly_tickformat(metric, currency)


# --------------------------------------------------------------------------- time series


@dataclass(frozen=True)
class Line:
    name: str
    dates: Sequence[Any]
    values: Sequence[float | None]
    color: str = TOTAL_COLOR
    dash: str | None = None
    width: float = 2.0


def line(
    name: str,
    dates: Sequence[Any],
    values: Sequence[float | None],
    *,
    color: str | None = None,
    platform: str | None = None,
    dash: str | None = None,
) -> Line:
    """One series of a time-series chart; `platform` picks the platform's colour."""
    chosen = color or (platform_color(platform) if platform else TOTAL_COLOR)
    return Line(name, list(dates), list(values), chosen, dash)


def timeseries_figure(
    lines: Iterable[Line],
    *,
    metric: str,
    currency: str,
    height: int = 320,
    title: str | None = None,
    legend: bool = True,
) -> go.Figure:
    """Daily lines of one metric (e.g. revenue per platform), y axis in the metric's unit."""
    fig = go.Figure()
    hover = _axis_for(metric, currency).get("hoverformat", ",.2f")
    prefix = currency_symbol(currency) if plotly_tickformat(metric, currency).get("tickprefix") else ""
    for item in lines:
        fig.add_trace(
            go.Scatter(
                x=[_day(d) for d in item.dates],
                y=list(item.values),
                name=item.name,
                mode="lines",
                line={"color": item.color, "width": item.width, "dash": item.dash or "solid", "shape": "linear"},
                hovertemplate=f"{prefix}%{{y:{hover}}}<extra>{item.name}</extra>",
                legendgroup=item.name,
            )
        )
    layout = base_layout(height=height, legend=legend)
    layout["yaxis"].update(_axis_for(metric, currency))
    layout["xaxis"]["type"] = "date"
    if title:
        layout["title"] = {"text": title, "x": 0, "font": {"size": 13, "color": TEXT}}
    fig.update_layout(layout)
    return fig


def add_forecast_band(
    fig: go.Figure,
    points: Iterable[Any],
    *,
    name: str = "Forecast",
    color: str = TOTAL_COLOR,
    show_95: bool = True,
    metric: str | None = None,
    currency: str | None = None,
) -> go.Figure:
    """Forecast line with its 80% (darker) and 95% (lighter) prediction bands.

    `points` have date, yhat, lower_80, upper_80, lower_95, upper_95 (ForecastPoint rows, or
    dicts). Bands are drawn under the line as fills between invisible edges.
    """
    rows = sorted(points, key=lambda p: _day(_get(p, "date")))
    if not rows:
        return fig
    x = [_day(_get(p, "date")) for p in rows]
    prefix = (
        currency_symbol(currency)
        if metric and currency and plotly_tickformat(metric, currency).get("tickprefix")
        else ""
    )
    hover = plotly_tickformat(metric, currency or "").get("hoverformat", ",.2f") if metric else ",.2f"
    group = f"{name}-band"
    bands = [("95", 0.10)] if show_95 else []
    bands.append(("80", 0.20))
    for level, alpha in bands:
        upper = [float(_get(p, f"upper_{level}")) for p in rows]
        lower = [float(_get(p, f"lower_{level}")) for p in rows]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=upper,
                mode="lines",
                line={"width": 0, "color": color},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=group,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lower,
                mode="lines",
                line={"width": 0, "color": color},
                fill="tonexty",
                fillcolor=rgba(color, alpha),
                name=f"{level}% band",
                hoverinfo="skip",
                showlegend=False,
                legendgroup=group,
            )
        )
    low80 = [float(_get(p, "lower_80")) for p in rows]
    high80 = [float(_get(p, "upper_80")) for p in rows]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[float(_get(p, "yhat")) for p in rows],
            name=name,
            mode="lines",
            line={"color": color, "width": 2, "dash": "dot"},
            customdata=list(zip(low80, high80, strict=True)),
            hovertemplate=f"{prefix}%{{y:{hover}}} (80%: {prefix}%{{customdata[0]:{hover}}}–{prefix}%{{customdata[1]:{hover}}})<extra>{name}</extra>",
            legendgroup=group,
        )
    )
    return fig


def add_expected_band(
    fig: go.Figure,
    dates: Sequence[Any],
    lower: Sequence[float | None],
    upper: Sequence[float | None],
    *,
    color: str = TOTAL_COLOR,
    name: str = "Expected range",
) -> go.Figure:
    """The range a value would not have been flagged in (anomaly detail charts)."""
    x = [_day(d) for d in dates]
    fig.add_trace(
        go.Scatter(
            x=x, y=list(upper), mode="lines", line={"width": 0, "color": color}, hoverinfo="skip", showlegend=False
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=list(lower),
            mode="lines",
            line={"width": 0, "color": color},
            fill="tonexty",
            fillcolor=rgba(color, 0.12),
            name=name,
            hoverinfo="skip",
        )
    )
    # Bands go under the lines that were added before them.
    fig.data = (*fig.data[-2:], *fig.data[:-2])
    return fig


def add_anomaly_markers(
    fig: go.Figure, findings: Iterable[Any], *, metric: str | None = None, currency: str = "EUR", name: str = "Anomaly"
) -> go.Figure:
    """A dot per anomaly at its date and value, coloured by severity; hover shows the explanation.

    `findings` are AnomalyFinding rows (or dicts with date, value, severity, explanation). Pass
    only the findings of the plotted series and metric (`anomalies_for(...)` filters them).
    """
    rows = [f for f in findings if metric is None or _get(f, "metric", metric) == metric]
    for severity in ("low", "medium", "high"):
        chosen = [f for f in rows if _get(f, "severity") == severity]
        if not chosen:
            continue
        fig.add_trace(
            go.Scatter(
                x=[_day(_get(f, "date")) for f in chosen],
                y=[float(_get(f, "value")) for f in chosen],
                mode="markers",
                name=f"{name} ({severity})",
                marker={
                    "color": SEVERITY_COLORS[severity],
                    "size": SEVERITY_SIZES[severity],
                    "line": {"color": "#ffffff", "width": 1.5},
                    "symbol": "circle",
                },
                customdata=[[_get(f, "explanation", "")] for f in chosen],
                hovertemplate="<b>" + severity.capitalize() + "</b> %{customdata[0]}<extra></extra>",
                showlegend=False,
            )
        )
    return fig


# --------------------------------------------------------------------------- attribution


def attribution_bar(
    results: Iterable[Any],
    *,
    measure: str = "conversions",
    models: Sequence[str] | None = None,
    currency: str = "EUR",
    height: int = 360,
) -> go.Figure:
    """Channels on the x axis, one bar per model side by side (conversions or value credited)."""
    rows = list(results)
    channels = sorted(
        {str(_get(r, "channel")) for r in rows},
        key=lambda c: -sum(float(_get(r, measure) or 0) for r in rows if _get(r, "channel") == c),
    )
    present = [m for m in (models or MODEL_LABELS) if any(_get(r, "model") == m for r in rows)]
    value_of = {(str(_get(r, "channel")), str(_get(r, "model"))): float(_get(r, measure) or 0) for r in rows}
    fig = go.Figure()
    money = measure == "conversion_value"
    fmt = f"{currency_symbol(currency)}%{{y:,.0f}}" if money else "%{y:,.1f}"
    for model in present:
        fig.add_trace(
            go.Bar(
                x=channels,
                y=[value_of.get((c, model), 0.0) for c in channels],
                name=MODEL_LABELS.get(model, model),
                marker={"color": MODEL_COLORS.get(model, ACCENT), "line": {"width": 0}},
                hovertemplate=f"{fmt}<extra>{MODEL_LABELS.get(model, model)}</extra>",
            )
        )
    layout = base_layout(height=height)
    layout.update(barmode="group", bargap=0.25, bargroupgap=0.06)
    layout["yaxis"].update(plotly_tickformat("conversion_value" if money else "conversions", currency))
    layout["yaxis"]["title"] = {"text": "Revenue credited" if money else "Conversions credited", "font": {"size": 12}}
    fig.update_layout(layout)
    return fig


def channel_swatches(channels: Sequence[str]) -> dict[str, str]:
    """Colour per attribution channel: the platform's colour when the name is a platform."""
    return colors_for(list(channels))


# --------------------------------------------------------------------------- budget


def budget_allocation_bar(
    channels: Iterable[Any], *, currency: str, colors: Mapping[str, str] | None = None, height: int = 300
) -> go.Figure:
    """Per channel: current split (scaled to the same budget, light) next to the plan (solid).

    `channels` are ChannelPlan rows (channel, label, spend, current_spend). Horizontal bars so
    long campaign names stay readable on a phone.
    """
    rows = list(channels)
    labels = [str(_get(r, "label") or _get(r, "channel")) for r in rows][::-1]
    color_list = [(colors or {}).get(str(_get(r, "channel")), platform_color(str(_get(r, "channel")))) for r in rows][
        ::-1
    ]
    symbol = currency_symbol(currency)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[float(_get(r, "current_spend")) for r in rows][::-1],
            orientation="h",
            name="Current split",
            marker={"color": [rgba(c, 0.28) for c in color_list], "line": {"width": 0}},
            hovertemplate=f"Current split: {symbol}%{{x:,.0f}}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=[float(_get(r, "spend")) for r in rows][::-1],
            orientation="h",
            name="Recommended",
            marker={"color": color_list, "line": {"width": 0}},
            hovertemplate=f"Recommended: {symbol}%{{x:,.0f}}<extra></extra>",
        )
    )
    layout = base_layout(height=max(height, 70 + 56 * len(rows)), hovermode="y unified")
    layout.update(barmode="group", bargap=0.3, bargroupgap=0.08)
    layout["margin"]["l"] = 8
    layout["xaxis"].update(showgrid=True, gridcolor=GRID, tickprefix=symbol, tickformat="~s", rangemode="tozero")
    layout["yaxis"].update(showgrid=False, automargin=True)
    layout["legend"]["traceorder"] = "normal"
    fig.update_layout(layout)
    return fig


def response_curves_figure(
    curves: Iterable[Any],
    plan: Iterable[Any],
    *,
    currency: str,
    target: str = "conversion_value",
    colors: Mapping[str, str] | None = None,
    relative: bool = False,
    height: int = 320,
) -> go.Figure:
    """Each channel's response curve (outcome per period vs spend per period, 80% band), with the
    current split (hollow) and the recommendation (filled) marked on it.

    `relative=True` when the curves are changes against the current split (see
    `planning.curve_points`): the current split then sits at zero and the recommendation at the
    channel's expected gain or loss.
    """
    by_channel = {str(_get(p, "channel")): p for p in plan}
    symbol = currency_symbol(currency)
    money = target != "conversions"
    y_fmt = f"{symbol}%{{y:,.0f}}" if money else "%{y:,.1f}"
    fig = go.Figure()
    for curve in curves:
        channel = str(_get(curve, "channel"))
        label = str(_get(curve, "label") or channel)
        color = (colors or {}).get(channel, platform_color(channel))
        x = list(_get(curve, "spend"))
        band = {
            "mode": "lines",
            "line": {"width": 0, "color": color},
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": channel,
        }
        fig.add_trace(go.Scatter(x=x, y=list(_get(curve, "high")), **band))
        fig.add_trace(go.Scatter(x=x, y=list(_get(curve, "low")), fill="tonexty", fillcolor=rgba(color, 0.12), **band))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(_get(curve, "outcome")),
                mode="lines",
                name=label,
                line={"color": color, "width": 2},
                hovertemplate=f"{symbol}%{{x:,.0f}} → {y_fmt}<extra>{label}</extra>",
                legendgroup=channel,
            )
        )
        point = by_channel.get(channel)
        if point is not None:
            if relative:
                ys = [0.0, float(_get(point, "outcome_change"))]
            else:
                ys = [float(_get(point, "current_outcome")), float(_get(point, "expected"))]
            fig.add_trace(
                go.Scatter(
                    x=[float(_get(point, "current_spend")), float(_get(point, "spend"))],
                    y=ys,
                    mode="markers",
                    marker={"color": ["#ffffff", color], "size": [10, 11], "line": {"color": color, "width": 2}},
                    customdata=["Current split", "Recommended"],
                    hovertemplate=f"%{{customdata}}: {symbol}%{{x:,.0f}} → {y_fmt}<extra>{label}</extra>",
                    showlegend=False,
                    legendgroup=channel,
                )
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
    noun = "Revenue" if money else "Conversions"
    layout["yaxis"]["title"] = {"text": f"{noun} vs current split" if relative else noun, "font": {"size": 12}}
    if relative:
        layout["yaxis"].update(rangemode="normal", zeroline=True, zerolinecolor=AXIS, zerolinewidth=1)
    fig.update_layout(layout)
    return fig


# --------------------------------------------------------------------------- small multiples


def sparkline_figure(
    dates: Sequence[Any], values: Sequence[float | None], *, color: str = ACCENT, height: int = 48
) -> go.Figure:
    """A tiny line without axes (KPI cards)."""
    fig = go.Figure(
        go.Scatter(
            x=[_day(d) for d in dates],
            y=list(values),
            mode="lines",
            line={"color": color, "width": 1.5},
            fill="tozeroy",
            fillcolor=rgba(color, 0.08),
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        template="none",
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        xaxis={"visible": False, "fixedrange": True},
        yaxis={"visible": False, "fixedrange": True, "rangemode": "tozero"},
    )
    return fig


def metric_title(metric: str, currency: str) -> str:
    """Axis/card title with the unit, e.g. "Revenue (€)"."""
    label = metric_label(metric)
    sample = format_metric(metric, 1.0, currency)
    return f"{label} ({currency_symbol(currency).strip()})" if sample.startswith(currency_symbol(currency)) else label


# --------------------------------------------------------------------------- dashboards
# Builders of the workspace dashboards (Overview, Channels, Campaigns, a campaign, Data sources).
#
# These return plain figure dicts ({"data": [...], "layout": {...}}) instead of go.Figure:
# building a go.Figure validates every property on every request, which cost ~35 ms per chart —
# most of a dashboard's server time. The dicts use only documented Plotly attributes, and the
# tests load each one into go.Figure, so the schema is still checked — once, in CI.

SETTLING_FILL = "rgba(163,90,0,0.07)"
SETTLING_TEXT = "#a35a00"
#: spend next to revenue on one campaign's chart: a calm grey, so revenue carries the colour
SPEND_COLOR = "#94a3b8"


def _day_edge(value: Any, offset_hours: int) -> str:
    """A day's midnight shifted by hours (rectangles cover whole days around daily points)."""
    day = date.fromisoformat(_day(value))
    moment = datetime(day.year, day.month, day.day) + timedelta(hours=offset_hours)
    return moment.strftime("%Y-%m-%d %H:%M")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _hover(metric: str, currency: str) -> tuple[str, str, str]:
    """(prefix, d3 format, suffix) of a metric's hover text."""
    fmt = plotly_tickformat(metric, currency)
    prefix = currency_symbol(currency) if fmt.get("tickprefix") else ""
    return prefix, fmt.get("hoverformat", ",.2f"), fmt.get("ticksuffix", "")


def _dated_layout(metric: str, currency: str, height: int, legend: bool = True) -> dict[str, Any]:
    layout = base_layout(height=height, legend=legend)
    layout["yaxis"].update(plotly_tickformat(metric, currency))
    layout["xaxis"]["type"] = "date"
    return layout


def lines_figure(lines: Iterable[Line], *, metric: str, currency: str, height: int = 320) -> dict[str, Any]:
    """Daily lines of one metric (the dict counterpart of `timeseries_figure`)."""
    prefix, hover, suffix = _hover(metric, currency)
    data = [
        {
            "type": "scatter",
            "x": [_day(d) for d in item.dates],
            "y": [_number(v) for v in item.values],
            "name": item.name,
            "mode": "lines",
            "line": {"color": item.color, "width": item.width, "dash": item.dash or "solid"},
            "hovertemplate": f"{prefix}%{{y:{hover}}}{suffix}<extra>{item.name}</extra>",
            "legendgroup": item.name,
        }
        for item in lines
    ]
    return {"data": data, "layout": _dated_layout(metric, currency, height)}


def stacked_area_figure(
    lines: Iterable[Line],
    *,
    metric: str,
    currency: str,
    height: int = 300,
    total_name: str = "Total",
) -> dict[str, Any]:
    """Daily values stacked by series (platforms): the top edge is the total, which the hover
    also names. Forecast bands and anomaly markers of the total can be added on top."""
    items = list(lines)
    prefix, hover, suffix = _hover(metric, currency)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": [_day(d) for d in item.dates],
            "y": [_number(v) or 0.0 for v in item.values],
            "name": item.name,
            "mode": "lines",
            "stackgroup": "one",
            "line": {"color": item.color, "width": 1.2},
            "fillcolor": rgba(item.color, 0.32),
            "hovertemplate": f"{prefix}%{{y:{hover}}}{suffix}<extra>{item.name}</extra>",
        }
        for item in items
    ]
    if len(items) > 1:
        totals = [sum(float(v or 0) for v in values) for values in zip(*(i.values for i in items), strict=True)]
        data.append(
            {
                "type": "scatter",
                "x": [_day(d) for d in items[0].dates],
                "y": totals,
                "name": total_name,
                "mode": "lines",
                "line": {"color": TOTAL_COLOR, "width": 0},
                "hovertemplate": f"<b>{prefix}%{{y:{hover}}}{suffix}</b><extra>{total_name}</extra>",
                "showlegend": False,
            }
        )
    return {"data": data, "layout": _dated_layout(metric, currency, height)}


def forecast_band_traces(
    points: Iterable[Any],
    *,
    name: str = "Forecast",
    color: str = TOTAL_COLOR,
    metric: str,
    currency: str,
    show_95: bool = True,
) -> list[dict[str, Any]]:
    """The forecast line with its 80% and 95% bands (the dict counterpart of `add_forecast_band`)."""
    rows = sorted(points, key=lambda p: _day(_get(p, "date")))
    if not rows:
        return []
    x = [_day(_get(p, "date")) for p in rows]
    prefix, hover, suffix = _hover(metric, currency)
    group = f"{name}-band"
    traces: list[dict[str, Any]] = []
    levels = [("95", 0.10)] if show_95 else []
    for level, alpha in [*levels, ("80", 0.20)]:
        edge = {
            "type": "scatter",
            "x": x,
            "mode": "lines",
            "hoverinfo": "skip",
            "showlegend": False,
            "legendgroup": group,
        }
        traces.append(
            {**edge, "y": [float(_get(p, f"upper_{level}")) for p in rows], "line": {"width": 0, "color": color}}
        )
        traces.append(
            {
                **edge,
                "y": [float(_get(p, f"lower_{level}")) for p in rows],
                "line": {"width": 0, "color": color},
                "fill": "tonexty",
                "fillcolor": rgba(color, alpha),
                "name": f"{level}% band",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "x": x,
            "y": [float(_get(p, "yhat")) for p in rows],
            "name": name,
            "mode": "lines",
            "line": {"color": color, "width": 2, "dash": "dot"},
            "customdata": [[float(_get(p, "lower_80")), float(_get(p, "upper_80"))] for p in rows],
            "hovertemplate": (
                f"{prefix}%{{y:{hover}}}{suffix} (80%: {prefix}%{{customdata[0]:{hover}}}–"
                f"{prefix}%{{customdata[1]:{hover}}}{suffix})<extra>{name}</extra>"
            ),
            "legendgroup": group,
        }
    )
    return traces


def anomaly_marker_traces(findings: Iterable[Any], *, name: str = "Anomaly") -> list[dict[str, Any]]:
    """A dot per finding at its date and value, by severity (the dict counterpart of
    `add_anomaly_markers`); pass only the findings of the plotted series and metric."""
    rows = list(findings)
    traces = []
    for severity in ("low", "medium", "high"):
        chosen = [f for f in rows if _get(f, "severity") == severity]
        if not chosen:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": [_day(_get(f, "date")) for f in chosen],
                "y": [float(_get(f, "value")) for f in chosen],
                "mode": "markers",
                "name": f"{name} ({severity})",
                "marker": {
                    "color": SEVERITY_COLORS[severity],
                    "size": SEVERITY_SIZES[severity],
                    "line": {"color": "#ffffff", "width": 1.5},
                    "symbol": "circle",
                },
                "customdata": [[str(_get(f, "explanation", ""))] for f in chosen],
                "hovertemplate": "<b>" + severity.capitalize() + "</b> %{customdata[0]}<extra></extra>",
                "showlegend": False,
            }
        )
    return traces


def add_settling_shading(
    figure: dict[str, Any], start: Any, end: Any, *, label: str = "Settling — may still change"
) -> dict[str, Any]:
    """Shade the days platforms may still restate (under the data, labelled at the top)."""
    layout = figure.setdefault("layout", {})
    layout.setdefault("shapes", []).append(
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": _day_edge(start, -12),
            "x1": _day_edge(end, 12),
            "y0": 0,
            "y1": 1,
            "fillcolor": SETTLING_FILL,
            "line": {"width": 0},
            "layer": "below",
        }
    )
    layout.setdefault("annotations", []).append(
        {
            "x": _day_edge(start, -12),
            "xref": "x",
            "y": 1,
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "top",
            "text": label,
            "showarrow": False,
            "font": {"size": 11, "color": SETTLING_TEXT},
            "bgcolor": "rgba(255,255,255,0.7)",
        }
    )
    return figure


def compare_bars_figure(
    rows: Iterable[Any],
    *,
    metric: str,
    currency: str,
    compare_name: str | None = None,
    height: int | None = None,
) -> dict[str, Any]:
    """One horizontal bar per platform (its own colour), the compare period as a lighter bar.

    `rows` have platform, label, value and previous (e.g. ROAS by platform).
    """
    items = list(rows)[::-1]
    labels = [str(_get(r, "label")) for r in items]
    colors = [platform_color(str(_get(r, "platform"))) for r in items]
    fmt = plotly_tickformat(metric, currency)
    prefix, hover, suffix = _hover(metric, currency)
    data: list[dict[str, Any]] = []
    if compare_name:
        data.append(
            {
                "type": "bar",
                "y": labels,
                "x": [float(_get(r, "previous") or 0) for r in items],
                "orientation": "h",
                "name": compare_name,
                "marker": {"color": [rgba(c, 0.28) for c in colors], "line": {"width": 0}},
                "hovertemplate": f"{compare_name}: {prefix}%{{x:{hover}}}{suffix}<extra></extra>",
            }
        )
    values = [float(_get(r, "value") or 0) for r in items]
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
            "hovertemplate": f"This period: {prefix}%{{x:{hover}}}{suffix}<extra></extra>",
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


def sparkline_points(
    values: Sequence[float | None],
    *,
    width: float = 100.0,
    height: float = 28.0,
    pad: float = 3.0,
    zero_based: bool = False,
) -> str:
    """SVG polyline points ("0,26 4.2,20.1 …") of a tiny line scaled to its own range.

    Tables draw dozens of sparklines; as inline SVG they cost no JavaScript and no layout work,
    where a Plotly figure each would. A sparkline shows shape, so it spans its own minimum to
    maximum (`zero_based` starts the scale at 0 instead); a flat series is a line in the middle.
    Missing values are skipped (the line joins across them).
    """
    numbers = [None if v is None else float(v) for v in values]
    present = [v for v in numbers if v is not None]
    if len(numbers) < 2 or not present:
        return ""
    top, bottom = max(present), min(present)
    if zero_based:
        top, bottom = max(top, 0.0), min(bottom, 0.0)
    span = top - bottom
    step = width / (len(numbers) - 1)
    points = []
    for i, v in enumerate(numbers):
        if v is None:
            continue
        y = height / 2 if span == 0 else height - pad - (v - bottom) / span * (height - 2 * pad)
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)


@dataclass(frozen=True)
class DiagramNode:
    name: str
    layer: str
    x: float
    y: float
    w: float
    h: float
    status: str = ""
    title: str = ""


@dataclass(frozen=True)
class DiagramEdge:
    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    columns: list[tuple[float, str]]


def layered_diagram(
    nodes: Iterable[Any],
    edges: Iterable[tuple[str, str]],
    *,
    layers: Sequence[str | tuple[str, ...]] | None = None,
    box_w: float = 188.0,
    box_h: float = 30.0,
    gap_x: float = 56.0,
    gap_y: float = 12.0,
    margin: float = 8.0,
) -> Diagram:
    """Left-to-right layout of a DAG (the warehouse's lineage) for an inline SVG.

    Columns are each node's longest path from a source, so every edge points right — or, with
    `layers` (e.g. ("sources", "seeds"), staging, dimensions, facts, rollups), one column per
    layer or group of layers, which
    keeps the diagram as wide as the warehouse has layers; edges inside a layer then arc along
    its right side. Within a column nodes are ordered by depth and the mean position of their
    inputs, which keeps most edges short and uncrossed. `nodes` have name, layer and optionally
    status/title.
    """
    info = {str(_get(n, "name")): n for n in nodes}
    edge_list = [(str(a), str(b)) for a, b in edges]
    for a, b in edge_list:
        for name in (a, b):
            if name not in info:
                info[name] = {"name": name, "layer": "sources"}
    inputs: dict[str, list[str]] = {name: [] for name in info}
    for a, b in edge_list:
        if a != b:
            inputs[b].append(a)
    depth: dict[str, int] = {}

    def rank(name: str, trail: frozenset[str] = frozenset()) -> int:
        if name in depth:
            return depth[name]
        parents = [p for p in inputs[name] if p not in trail]
        value = 0 if not parents else 1 + max(rank(p, trail | {name}) for p in parents)
        depth[name] = value
        return value

    for name in info:
        rank(name)
    order: dict[str, int] = {}
    for i, group in enumerate(layers or ()):
        for layer_name in (group,) if isinstance(group, str) else group:
            order[layer_name] = i

    def column_of(name: str) -> int:
        if order:
            return order.get(str(_get(info[name], "layer", "")), len(order))
        return depth[name]

    by_column: dict[int, list[str]] = {}
    for name in depth:
        by_column.setdefault(column_of(name), []).append(name)
    # Columns may be empty (a layer without models): close the gaps.
    renumber = {col: i for i, col in enumerate(sorted(by_column))}
    by_column = {renumber[col]: names for col, names in by_column.items()}
    position: dict[str, float] = {}
    for col in sorted(by_column):
        names = by_column[col]
        names.sort(
            key=lambda n: (
                depth[n],
                sum(position.get(p, 0.0) for p in inputs[n]) / max(1, len(inputs[n])) if inputs[n] else 0.0,
                str(_get(info[n], "layer", "")),
                n,
            )
        )
        for i, name in enumerate(names):
            position[name] = float(i)
    tallest = max(len(v) for v in by_column.values()) if by_column else 0
    height = margin * 2 + tallest * box_h + max(0, tallest - 1) * gap_y
    placed: dict[str, DiagramNode] = {}
    columns: list[tuple[float, str]] = []
    for col in sorted(by_column):
        names = by_column[col]
        x = margin + col * (box_w + gap_x)
        column_h = len(names) * box_h + max(0, len(names) - 1) * gap_y
        top = (height - column_h) / 2
        column_layers = {str(_get(info[n], "layer", "")) for n in names}
        columns.append((x, " / ".join(sorted(column_layers))))
        for i, name in enumerate(names):
            node = info[name]
            placed[name] = DiagramNode(
                name=name,
                layer=str(_get(node, "layer", "")),
                x=x,
                y=top + i * (box_h + gap_y),
                w=box_w,
                h=box_h,
                status=str(_get(node, "status", "") or ""),
                title=str(_get(node, "title", "") or ""),
            )
    paths = []
    for a, b in edge_list:
        if a == b or a not in placed or b not in placed:
            continue
        s, t = placed[a], placed[b]
        if s.x == t.x:  # same column: an arc along its right side
            x, y1, y2 = s.x + s.w, s.y + s.h / 2, t.y + t.h / 2
            bulge = min(gap_x - 10, 14.0 + abs(y2 - y1) / 8)
            paths.append(
                DiagramEdge(
                    a, b, f"M{x:.1f},{y1:.1f} C{x + bulge:.1f},{y1:.1f} {x + bulge:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
                )
            )
            continue
        x1, y1 = s.x + s.w, s.y + s.h / 2
        x2, y2 = t.x, t.y + t.h / 2
        bend = max(24.0, (x2 - x1) / 2)
        paths.append(
            DiagramEdge(
                a, b, f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            )
        )
    width = margin * 2 + len(by_column) * box_w + max(0, len(by_column) - 1) * gap_x
    if order:  # room for the arcs of edges inside the last column
        width += gap_x / 2
    return Diagram(width=width, height=height, nodes=list(placed.values()), edges=paths, columns=columns)

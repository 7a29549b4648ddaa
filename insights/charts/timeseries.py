"""Time-series figures: daily lines and stacked areas of one metric, with the forecast bands,
expected ranges, anomaly markers and settling-day shading drawn over them.

    figure = lines_figure([line("Revenue", days, values)], metric="conversion_value", currency="EUR")
    figure["data"] += forecast_band_traces(band.points, metric="conversion_value", currency="EUR")
    figure["data"] += anomaly_marker_traces(findings)
    context["chart"] = figure       # template: {% include "insights/_chart.html" with figure=chart %}

Every builder returns a plain figure dict or a list of traces (see `insights.charts.base`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bosco.platforms import TOTAL_COLOR, platform_color
from insights.charts.base import Figure, dated_layout, day, day_edge, get, hover, number, rgba

#: severity of an anomaly, matching the badge colours of the pages
SEVERITY_COLORS: dict[str, str] = {"high": "#c2352b", "medium": "#d97706", "low": "#8a94a6"}
SEVERITY_SIZES: dict[str, int] = {"high": 13, "medium": 11, "low": 9}
SETTLING_FILL = "rgba(163,90,0,0.07)"
SETTLING_TEXT = "#a35a00"
#: spend next to revenue on one campaign's chart: a calm grey, so revenue carries the colour
SPEND_COLOR = "#94a3b8"


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


def lines_figure(
    lines: Iterable[Line], *, metric: str, currency: str, height: int = 320, legend: bool = True
) -> Figure:
    """Daily lines of one metric (e.g. revenue per platform), y axis in the metric's unit."""
    prefix, fmt, suffix = hover(metric, currency)
    data = [
        {
            "type": "scatter",
            "x": [day(d) for d in item.dates],
            "y": [number(v) for v in item.values],
            "name": item.name,
            "mode": "lines",
            "line": {"color": item.color, "width": item.width, "dash": item.dash or "solid"},
            "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>{item.name}</extra>",
            "legendgroup": item.name,
        }
        for item in lines
    ]
    return {"data": data, "layout": dated_layout(metric, currency, height, legend)}


def stacked_area_figure(
    lines: Iterable[Line],
    *,
    metric: str,
    currency: str,
    height: int = 300,
    total_name: str = "Total",
) -> Figure:
    """Daily values stacked by series (platforms): the top edge is the total, which the hover
    also names. Forecast bands and anomaly markers of the total can be added on top."""
    items = list(lines)
    prefix, fmt, suffix = hover(metric, currency)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": [day(d) for d in item.dates],
            "y": [number(v) or 0.0 for v in item.values],
            "name": item.name,
            "mode": "lines",
            "stackgroup": "one",
            "line": {"color": item.color, "width": 1.2},
            "fillcolor": rgba(item.color, 0.32),
            "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>{item.name}</extra>",
        }
        for item in items
    ]
    if len(items) > 1:
        totals = [sum(float(v or 0) for v in values) for values in zip(*(i.values for i in items), strict=True)]
        data.append(
            {
                "type": "scatter",
                "x": [day(d) for d in items[0].dates],
                "y": totals,
                "name": total_name,
                "mode": "lines",
                "line": {"color": TOTAL_COLOR, "width": 0},
                "hovertemplate": f"<b>{prefix}%{{y:{fmt}}}{suffix}</b><extra>{total_name}</extra>",
                "showlegend": False,
            }
        )
    return {"data": data, "layout": dated_layout(metric, currency, height)}


def forecast_band_traces(
    points: Iterable[Any],
    *,
    name: str = "Forecast",
    color: str = TOTAL_COLOR,
    metric: str,
    currency: str,
    show_95: bool = True,
) -> list[dict[str, Any]]:
    """The forecast line with its 80% (darker) and 95% (lighter) prediction bands.

    `points` have date, yhat, lower_80, upper_80, lower_95, upper_95 (ForecastPoint rows, or
    dicts). Bands are drawn under the line as fills between invisible edges.
    """
    rows = sorted(points, key=lambda p: day(get(p, "date")))
    if not rows:
        return []
    x = [day(get(p, "date")) for p in rows]
    prefix, fmt, suffix = hover(metric, currency)
    group = f"{name}-band"
    traces: list[dict[str, Any]] = []
    levels = [("95", 0.10)] if show_95 else []
    for level, alpha in [*levels, ("80", 0.20)]:
        edge = {"type": "scatter", "x": x, "mode": "lines", "hoverinfo": "skip", "showlegend": False}
        edge["legendgroup"] = group
        traces.append(
            {**edge, "y": [number(get(p, f"upper_{level}")) for p in rows], "line": {"width": 0, "color": color}}
        )
        traces.append(
            {
                **edge,
                "y": [number(get(p, f"lower_{level}")) for p in rows],
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
            "y": [number(get(p, "yhat")) for p in rows],
            "name": name,
            "mode": "lines",
            "line": {"color": color, "width": 2, "dash": "dot"},
            "customdata": [[number(get(p, "lower_80")), number(get(p, "upper_80"))] for p in rows],
            "hovertemplate": (
                f"{prefix}%{{y:{fmt}}}{suffix} (80%: {prefix}%{{customdata[0]:{fmt}}}–"
                f"{prefix}%{{customdata[1]:{fmt}}}{suffix})<extra>{name}</extra>"
            ),
            "legendgroup": group,
        }
    )
    return traces


def expected_band_traces(
    dates: Sequence[Any],
    lower: Sequence[float | None],
    upper: Sequence[float | None],
    *,
    color: str = TOTAL_COLOR,
    name: str = "Expected range",
) -> list[dict[str, Any]]:
    """The range a value would not have been flagged in (anomaly detail charts); put these
    traces before the lines so the band is drawn under them."""
    x = [day(d) for d in dates]
    edge = {"type": "scatter", "x": x, "mode": "lines", "line": {"width": 0, "color": color}, "hoverinfo": "skip"}
    return [
        {**edge, "y": [number(v) for v in upper], "showlegend": False},
        {**edge, "y": [number(v) for v in lower], "fill": "tonexty", "fillcolor": rgba(color, 0.12), "name": name},
    ]


def anomaly_marker_traces(findings: Iterable[Any], *, name: str = "Anomaly") -> list[dict[str, Any]]:
    """A dot per anomaly at its date and value, coloured by severity; hover shows the explanation.

    `findings` are AnomalyFinding rows (or dicts with date, value, severity, explanation). Pass
    only the findings of the plotted series and metric (`anomalies_for(...)` filters them).
    """
    rows = list(findings)
    traces = []
    for severity in ("low", "medium", "high"):
        chosen = [f for f in rows if get(f, "severity") == severity]
        if not chosen:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": [day(get(f, "date")) for f in chosen],
                "y": [number(get(f, "value")) for f in chosen],
                "mode": "markers",
                "name": f"{name} ({severity})",
                "marker": {
                    "color": SEVERITY_COLORS[severity],
                    "size": SEVERITY_SIZES[severity],
                    "line": {"color": "#ffffff", "width": 1.5},
                    "symbol": "circle",
                },
                "customdata": [[str(get(f, "explanation", ""))] for f in chosen],
                "hovertemplate": "<b>" + severity.capitalize() + "</b> %{customdata[0]}<extra></extra>",
                "showlegend": False,
            }
        )
    return traces


def add_settling_shading(figure: Figure, start: Any, end: Any, *, label: str = "Settling — may still change") -> Figure:
    """Shade the days platforms may still restate (under the data, labelled at the top)."""
    layout = figure.setdefault("layout", {})
    layout.setdefault("shapes", []).append(
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": day_edge(start, -12),
            "x1": day_edge(end, 12),
            "y0": 0,
            "y1": 1,
            "fillcolor": SETTLING_FILL,
            "line": {"width": 0},
            "layer": "below",
        }
    )
    layout.setdefault("annotations", []).append(
        {
            "x": day_edge(start, -12),
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

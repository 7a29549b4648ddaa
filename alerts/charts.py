"""The small chart of an incident on the Alerts page, as a plain Plotly figure dict (the
`insights.charts` approach: no Django, drawn by static/js/charts.js).

- threshold and change rules: the rule's metric day by day, each point the rule's window ending
  that day (so a 3-day spend rule's threshold line applies to every point), the threshold as a
  dashed line, the incident's window shaded;
- anomaly rules: the metric's daily values with the expected value of the unusual day marked;
- pacing rules: the month's cumulative spend against the budget's straight pace to the month's end.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import Any

from insights.charts.base import ACCENT, TEXT_3, Figure, dated_layout, day, day_edge, hover, number
from insights.charts.timeseries import SETTLING_FILL

THRESHOLD_COLOR = "#c2352b"
CHART_HEIGHT = 180


def _layout(metric: str, currency: str) -> dict[str, Any]:
    layout = dated_layout(metric, currency, CHART_HEIGHT, legend=False)
    layout["margin"] = {"l": 48, "r": 8, "t": 8, "b": 28}
    return layout


def _line(name: str, points: Sequence[tuple[date, float | None]], metric: str, currency: str) -> dict[str, Any]:
    prefix, fmt, suffix = hover(metric, currency)
    return {
        "type": "scatter",
        "x": [day(d) for d, _ in points],
        "y": [number(v) for _, v in points],
        "name": name,
        "mode": "lines",
        "line": {"color": ACCENT, "width": 2},
        "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>{name}</extra>",
    }


def _level(name: str, first: date, last: date, value: float, metric: str, currency: str) -> dict[str, Any]:
    prefix, fmt, suffix = hover(metric, currency)
    return {
        "type": "scatter",
        "x": [day(first), day(last)],
        "y": [value, value],
        "name": name,
        "mode": "lines",
        "line": {"color": THRESHOLD_COLOR, "width": 1.5, "dash": "dash"},
        "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>{name}</extra>",
    }


def metric_incident_figure(
    points: Sequence[tuple[date, float | None]],
    *,
    metric: str,
    currency: str,
    label: str,
    threshold: float | None = None,
    window: tuple[date | None, date | None] = (None, None),
    expected: float | None = None,
) -> Figure:
    """The metric's recent values with the threshold line, the incident's days shaded and, for an
    anomaly, the expected value of its day."""
    data = [_line(label, points, metric, currency)]
    layout = _layout(metric, currency)
    if points and threshold is not None:
        data.append(_level("Threshold", points[0][0], points[-1][0], threshold, metric, currency))
    start, end = window
    if start is not None and end is not None:
        layout["shapes"] = [
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
        ]
    if expected is not None and end is not None:
        prefix, fmt, suffix = hover(metric, currency)
        data.append(
            {
                "type": "scatter",
                "x": [day(end)],
                "y": [number(expected)],
                "name": "Expected",
                "mode": "markers",
                "marker": {"color": TEXT_3, "size": 9, "symbol": "diamond-open"},
                "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>Expected</extra>",
            }
        )
    return {"data": data, "layout": layout}


def pacing_figure(
    points: Sequence[tuple[date, float | None]], *, budget: float, currency: str, projected: float | None = None
) -> Figure:
    """Cumulative spend of the month so far against the budget spread evenly over the month; the
    projection continues the pace so far to the month's end (dotted)."""
    data = [_line("Spend so far", points, "spend", currency)]
    layout = _layout("spend", currency)
    if points:
        first = points[0][0]
        last_of_month = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        pace = _level("Budget pace", first, last_of_month, budget, "spend", currency)
        pace["y"] = [0.0, budget]  # the budget spread evenly: 0 before the 1st, all of it by the last day
        data.append(pace)
        if projected is not None and points[-1][1] is not None:
            prefix, fmt, suffix = hover("spend", currency)
            data.append(
                {
                    "type": "scatter",
                    "x": [day(points[-1][0]), day(last_of_month)],
                    "y": [number(points[-1][1]), number(projected)],
                    "name": "Projected",
                    "mode": "lines",
                    "line": {"color": ACCENT, "width": 1.5, "dash": "dot"},
                    "hovertemplate": f"{prefix}%{{y:{fmt}}}{suffix}<extra>Projected</extra>",
                }
            )
    return {"data": data, "layout": layout}

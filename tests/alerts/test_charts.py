"""The incident charts are valid Plotly figures (checked against plotly's schema once, here) and
draw what the incident says: the threshold line, the incident's days, the expected value, the
budget's pace and the projection."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go

from alerts import charts

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(10)]


def test_metric_chart_has_the_threshold_line_and_the_incident_days() -> None:
    points = [(d, 100.0 + i) for i, d in enumerate(DAYS)]
    points[3] = (DAYS[3], None)  # a gap stays a gap
    figure = charts.metric_incident_figure(
        points, metric="spend", currency="EUR", label="Spend", threshold=105.0, window=(DAYS[-2], DAYS[-1])
    )
    go.Figure(figure)  # raises on any attribute plotly does not know
    line, threshold = figure["data"]
    assert line["y"][3] is None and line["y"][-1] == 109.0
    assert threshold["x"] == ["2026-11-01", "2026-11-10"] and threshold["y"] == [105.0, 105.0]
    (shade,) = figure["layout"]["shapes"]
    assert shade["x0"].startswith("2026-11-08") and shade["x1"].startswith("2026-11-10")
    assert "€" in threshold["hovertemplate"]


def test_anomaly_chart_marks_the_expected_value() -> None:
    figure = charts.metric_incident_figure(
        [(d, 10.0) for d in DAYS], metric="cpa", currency="USD", label="CPA", window=(DAYS[-1], DAYS[-1]), expected=7.5
    )
    go.Figure(figure)
    assert [t["name"] for t in figure["data"]] == ["CPA", "Expected"]
    assert figure["data"][1]["x"] == ["2026-11-10"] and figure["data"][1]["y"] == [7.5]


def test_pacing_chart_runs_the_budget_evenly_to_the_months_end() -> None:
    spent = [(d, 1000.0 * (i + 1)) for i, d in enumerate(DAYS)]
    figure = charts.pacing_figure(spent, budget=20000.0, currency="EUR", projected=30000.0)
    go.Figure(figure)
    line, pace, projection = figure["data"]
    assert line["y"][-1] == 10000.0
    assert pace["x"] == ["2026-11-01", "2026-11-30"] and pace["y"] == [0.0, 20000.0]
    assert projection["x"] == ["2026-11-10", "2026-11-30"] and projection["y"] == [10000.0, 30000.0]

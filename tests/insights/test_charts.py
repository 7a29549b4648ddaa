"""The chart library: pure figure builders with one colour per platform and the workspace currency."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import plotly.graph_objects as go
import pytest

from bosco.formatting import format_compact, format_compact_range, format_money
from bosco.platforms import PLATFORMS, colors_for, platform_color
from insights import charts
from warehouse.metrics import format_metric

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "bosco.css"
DAYS = [date(2026, 10, 1) + timedelta(days=i) for i in range(10)]


def test_platform_colours_are_the_css_variables() -> None:
    css = CSS.read_text()
    for code, style in PLATFORMS.items():
        match = re.search(rf"--p-{code}:\s*(#[0-9a-fA-F]{{6}})", css)
        assert match, f"--p-{code} is missing from bosco.css"
        assert match.group(1).lower() == style.color.lower()


def test_channels_named_like_platforms_get_the_platform_colour_and_others_distinct_ones() -> None:
    colors = colors_for(["Facebook Ads", "Instagram", "Google Ads", "Email", "Direct"])
    assert colors["Facebook Ads"] == platform_color("meta")
    assert colors["Google Ads"] == platform_color("google_ads")
    assert colors["Instagram"] != colors["Facebook Ads"]  # two Meta channels still differ
    assert len(set(colors.values())) == 5


def test_timeseries_with_forecast_band_and_anomaly_markers() -> None:
    figure = charts.lines_figure(
        [charts.line("Spend", DAYS, [100.0 + i for i in range(10)], platform="meta")], metric="spend", currency="EUR"
    )
    points = [
        {
            "date": DAYS[-1] + timedelta(days=i),
            "yhat": 110.0,
            "lower_80": 100.0,
            "upper_80": 120.0,
            "lower_95": 90.0,
            "upper_95": 130.0,
        }
        for i in range(1, 8)
    ]
    figure["data"] += charts.forecast_band_traces(points, color=platform_color("meta"), metric="spend", currency="EUR")
    findings = [
        {
            "date": DAYS[3],
            "value": 103.0,
            "severity": "high",
            "explanation": "Spend was 3.1× the usual",
            "metric": "spend",
        },
        {"date": DAYS[5], "value": 105.0, "severity": "low", "explanation": "Spend was low", "metric": "clicks"},
    ]
    figure["data"] += charts.anomaly_marker_traces(f for f in findings if f["metric"] == "spend")
    fig = go.Figure(figure)  # the figure dict is valid Plotly
    line, *bands, forecast_line, markers = fig.data
    assert line.line.color == platform_color("meta")
    assert [b.fill for b in bands] == [None, "tonexty", None, "tonexty"]
    assert bands[1].fillcolor == "rgba(219,39,119,0.1)" and bands[3].fillcolor == "rgba(219,39,119,0.2)"
    assert forecast_line.line.dash == "dot"
    assert list(markers.x) == ["2026-10-04"]  # the high finding, at its date
    assert markers.marker.color == charts.SEVERITY_COLORS["high"]
    assert "3.1×" in markers.customdata[0][0]
    assert fig.layout.yaxis.tickprefix == "€"


def test_figures_serialise_to_plain_json_without_external_assets() -> None:
    fig = charts.attribution_bar(
        [
            {"channel": "Search", "model": "last_touch", "conversions": 10.0, "conversion_value": 100.0},
            {"channel": "Search", "model": "shapley", "conversions": 8.0, "conversion_value": 80.0},
            {"channel": "Email", "model": "last_touch", "conversions": 2.0, "conversion_value": 20.0},
            {"channel": "Email", "model": "shapley", "conversions": 4.0, "conversion_value": 40.0},
        ],
        measure="conversions",
    )
    go.Figure(fig)  # valid Plotly
    data = fig
    text = json.dumps(data)  # embedded as it is, no encoder of Plotly's needed
    assert [t["name"] for t in data["data"]] == ["Last touch", "Shapley value"]
    assert data["data"][0]["x"] == ["Search", "Email"]  # biggest channel first
    assert "cdn" not in text and "https://" not in text


def test_budget_figures_use_each_channels_colour() -> None:
    plan = [
        {
            "channel": "google_ads",
            "label": "Google Ads",
            "spend": 60.0,
            "current_spend": 50.0,
            "outcome_change": 5.0,
            "current_outcome": 0,
            "expected": 0,
        },
        {
            "channel": "meta",
            "label": "Meta Ads",
            "spend": 40.0,
            "current_spend": 50.0,
            "outcome_change": -3.0,
            "current_outcome": 0,
            "expected": 0,
        },
    ]
    bars = go.Figure(charts.budget_allocation_bar(plan, currency="USD"))
    assert list(bars.data[1].marker.color) == [platform_color("meta"), platform_color("google_ads")]
    assert bars.layout.xaxis.tickprefix == "$"
    curves = [
        {
            "channel": c["channel"],
            "label": c["label"],
            "spend": [0, 50, 100],
            "outcome": [-5, 0, 4],
            "low": [-6, 0, 3],
            "high": [-4, 0, 5],
        }
        for c in plan
    ]
    fig = go.Figure(charts.response_curves_figure(curves, plan, currency="USD", relative=True))
    markers = [t for t in fig.data if t.mode == "markers"]
    assert [list(m.y) for m in markers] == [[0.0, 5.0], [0.0, -3.0]]
    assert fig.layout.yaxis.title.text == "Revenue vs current split"


@pytest.mark.parametrize(
    ("metric", "value", "currency", "expected"),
    [
        ("spend", 1234.5, "EUR", "€1,234"),
        ("spend", 12.5, "EUR", "€12.50"),
        ("spend", 1500, "JPY", "¥1,500"),
        ("cpa", 8.1, "CHF", "CHF\u00a08.10"),
        ("roas", 3.256, "EUR", "3.26×"),
        ("clicks", 95.3, "EUR", "95"),
        ("conversions", 2.5, "EUR", "2.5"),
        ("ctr", 1.234, "EUR", "1.23%"),
        ("spend", None, "EUR", "—"),
    ],
)
def test_metric_values_are_formatted_in_their_unit(
    metric: str, value: float | None, currency: str, expected: str
) -> None:
    assert format_metric(metric, value, currency) == expected


def test_money_and_compact_numbers() -> None:
    assert format_money(-20.0, "GBP") == "−£20.00"
    assert format_compact(12_345, "EUR") == "€12.3k"
    assert format_compact(-333.4, "EUR") == "−€333"
    assert format_compact(2_500_000) == "2.5M"


def test_a_compact_band_tells_its_ends_apart() -> None:
    # "€1.5M – €1.5M" said nothing: the ends get the decimals they need, in the larger end's unit
    assert format_compact_range(1_498_512, 1_512_331, "EUR") == "€1.50M – €1.51M"
    assert format_compact_range(364_000, 371_000, "EUR") == "€364k – €371k"
    assert format_compact_range(-2_000, 150_000, "EUR") == "−€2k – €150k"
    assert format_compact_range(120, 300, "EUR") == "€120 – €300"
    assert format_compact_range(1_500_000, 1_500_000, "EUR") == "about €1.5M"


@pytest.mark.parametrize(
    ("code", "money", "compact", "ratio", "count"),
    [
        ("en-US", "€1,234", "€12.3k", "3.20×", "12,345"),
        ("de-DE", "1.234\u00a0€", "12,3k\u00a0€", "3,20×", "12.345"),
        ("fr-FR", "1\u202f234\u00a0€", "12,3k\u00a0€", "3,20×", "12\u202f345"),
        ("nl-NL", "€\u00a01.234", "€\u00a012,3k", "3,20×", "12.345"),
    ],
)
def test_numbers_follow_the_active_number_format(code: str, money: str, compact: str, ratio: str, count: str) -> None:
    from bosco.formatting import using_number_format
    from insights.charts import base_layout

    with using_number_format(code) as fmt:
        assert format_money(1234.5, "EUR") == money
        assert format_compact(12345, "EUR") == compact
        assert format_metric("roas", 3.2, "EUR") == ratio
        assert format_metric("clicks", 12345, "EUR") == count
        assert format_money(-0.5, "EUR").startswith("−")
        assert base_layout()["separators"] == fmt.decimal + fmt.group
    assert format_money(1234.5, "EUR") == "€1,234"  # back to the default outside the block


def test_the_num_template_filter_follows_the_number_format() -> None:
    from django.template import engines

    from bosco.formatting import using_number_format

    template = engines["django"].from_string("{{ rows|num }} rows · {{ share|num:1 }} · {{ missing|num }}")
    context = {"rows": 1234567, "share": 1234.56, "missing": None}
    assert template.render(context) == "1,234,567 rows · 1,234.6 · None"
    with using_number_format("de-DE"):
        assert template.render(context) == "1.234.567 rows · 1.234,6 · None"
    assert engines["django"].from_string("{{ v|num:2 }}").render({"v": "n/a"}) == "n/a"

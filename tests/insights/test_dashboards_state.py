"""The dashboards' URL state, delta colours and figure builders: pure code, no database."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import pytest

from bosco.ui.diagram import layered_diagram
from insights import charts
from insights.selectors.dashboard_state import DashboardState, preset_range
from insights.selectors.dashboards import delta_for

TODAY = date(2026, 11, 26)  # a Thursday
SORTS = ("spend", "roas", "cpa")


class Params(dict):
    """A QueryDict stand-in: {"platform": ["meta", "google_ads"], "period": ["7d"]}."""

    def get(self, key, default=None):  # type: ignore[override]
        values = super().get(key)
        return values[-1] if values else default

    def getlist(self, key):
        return list(super().get(key, []))


def parse(query: str = "", **kwargs) -> DashboardState:
    from urllib.parse import parse_qs

    return DashboardState.parse(
        Params(parse_qs(query.lstrip("?"), keep_blank_values=True)), today=TODAY, sorts=SORTS, **kwargs
    )


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        ("7d", date(2026, 11, 19), date(2026, 11, 25)),
        ("14d", date(2026, 11, 12), date(2026, 11, 25)),
        ("30d", date(2026, 10, 27), date(2026, 11, 25)),
        ("90d", date(2026, 8, 28), date(2026, 11, 25)),
        ("mtd", date(2026, 11, 1), date(2026, 11, 26)),
        ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
        ("qtd", date(2026, 10, 1), date(2026, 11, 26)),
        ("last_quarter", date(2026, 7, 1), date(2026, 9, 30)),
        ("ytd", date(2026, 1, 1), date(2026, 11, 26)),
        ("365d", date(2025, 11, 26), date(2026, 11, 25)),
    ],
)
def test_presets_cover_the_days_a_marketer_expects(preset: str, first: date, last: date) -> None:
    assert preset_range(preset, TODAY) == (first, last)
    state = parse(f"period={preset}")
    assert (state.date_from, state.date_to, state.errors) == (first, last, ())


def test_last_quarter_and_month_cross_the_year() -> None:
    assert preset_range("last_quarter", date(2026, 2, 10)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert preset_range("last_month", date(2026, 1, 5)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_defaults_are_the_last_30_days_against_the_previous_period() -> None:
    state = parse()
    assert state.preset == "30d" and state.compare == "previous_period"
    assert state.compare_range() == (date(2026, 9, 27), date(2026, 10, 26))
    assert state.url() == "" and state.errors == ()


def test_previous_year_is_52_weeks_back_so_weekdays_line_up() -> None:
    state = parse("period=7d&compare=previous_year")
    start, _ = state.compare_range() or (None, None)
    assert start is not None and start.weekday() == state.date_from.weekday()
    assert (state.date_from - start).days == 364
    assert parse("compare=none").compare is None


def test_a_link_reproduces_the_view() -> None:
    state = parse(
        "period=custom&from=2026-03-01&to=2026-03-31&compare=previous_year&platform=meta&platform=google_ads"
        "&account=meta:123&q=brand%20sale&sort=-roas&page=3",
        default_sort="-spend",
    )
    assert state.errors == ()
    again = parse(state.url(default_sort="-spend"), default_sort="-spend")
    assert again == state
    # Navigation keeps range, compare and filters but not the table's sort and page.
    shared = parse(state.shared_url())
    assert (shared.date_from, shared.compare, shared.platforms, shared.search) == (
        state.date_from,
        "previous_year",
        ("meta", "google_ads"),
        "brand sale",
    )
    assert shared.page == 1 and shared.sort == ""


def test_changing_a_filter_goes_back_to_the_first_page() -> None:
    state = parse("page=4&sort=roas", default_sort="-spend")
    assert "page=" not in state.url(default_sort="-spend", platforms=("meta",))
    assert "page=5" in state.url(default_sort="-spend", page=5)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=forever", "is not a date range"),
        ("period=custom&from=2026-13-01&to=2026-11-01", "is not a date"),
        ("period=custom&to=2026-11-01", "needs a “from” date"),
        ("compare=last_decade", "is not a comparison"),
        ("platform=Google%20Ads!", "is not a valid platform"),
        ("account=nope", "is not a valid account"),
        ("sort=password", "cannot be sorted by"),
        ("page=abc", "is not a page number"),
        ("page=0", "There is no page 0"),
        ("page=99999", "There is no page"),
    ],
)
def test_a_bad_parameter_is_a_sentence_and_a_default_never_an_error(query: str, message: str) -> None:
    state = parse(query, default_sort="-spend")
    assert any(message in e for e in state.errors), state.errors
    assert state.page >= 1 and state.date_from <= state.date_to
    assert state.sort in ("-spend", "")


def test_custom_ranges_are_repaired_and_explained() -> None:
    swapped = parse("period=custom&from=2026-03-31&to=2026-03-01")
    assert (swapped.date_from, swapped.date_to) == (date(2026, 3, 1), date(2026, 3, 31))
    assert "swapped" in swapped.errors[0]
    future = parse("period=custom&from=2026-11-01&to=2027-02-01")
    assert future.date_to == TODAY and "in the future" in future.errors[0]
    long = parse("period=custom&from=2019-01-01&to=2026-11-01")
    assert long.days == 3 * 366 and "three years" in long.errors[0]


def test_search_is_trimmed_and_bounded() -> None:
    assert parse("q=%20%20brand%20%20%20sale%20").search == "brand sale"
    cut = parse("q=" + "x" * 300)
    assert len(cut.search) == 100 and cut.errors


@pytest.mark.parametrize(
    ("metric", "change", "tone"),
    [
        ("spend", 0.2, "neutral"),  # spending more is neither good nor bad
        ("spend", -0.2, "neutral"),
        ("conversion_value", 0.1, "good"),
        ("conversion_value", -0.1, "bad"),
        ("roas", 0.05, "good"),
        ("cpa", 0.05, "bad"),  # paying more per conversion is bad news
        ("cpa", -0.05, "good"),
        ("cpc", 0.3, "bad"),
        ("ctr", -0.3, "bad"),
        ("roas", 0.001, "flat"),
        ("roas", None, "none"),
    ],
)
def test_deltas_are_coloured_by_whether_the_change_is_good(metric: str, change: float | None, tone: str) -> None:
    delta = delta_for(metric, change)
    assert delta.tone == tone
    if change is not None:
        assert delta.text.startswith("+" if change > 0 else "−")
        assert ("up" if change > 0 else "down") in delta.description


# --------------------------------------------------------------------------- figures

DAYS = [date(2026, 11, d) for d in range(1, 11)]
POINTS = [
    {"date": date(2026, 11, 11 + i), "yhat": 10.0, "lower_80": 8.0, "upper_80": 12.0, "lower_95": 6.0, "upper_95": 14.0}
    for i in range(5)
]
FINDINGS = [
    {"date": date(2026, 11, 4), "value": 40.0, "severity": "high", "explanation": "Spend 4× the usual"},
    {"date": date(2026, 11, 6), "value": 1.0, "severity": "medium", "explanation": "Spend dropped"},
]


def test_dashboard_figures_are_valid_plotly_figures() -> None:
    stacked = charts.stacked_area_figure(
        [
            charts.line("Google Ads", DAYS, [float(i) for i in range(10)], platform="google_ads"),
            charts.line("Meta Ads", DAYS, [2.0] * 10, platform="meta"),
        ],
        metric="spend",
        currency="EUR",
    )
    stacked["data"] += charts.forecast_band_traces(POINTS, metric="spend", currency="EUR")
    stacked["data"] += charts.anomaly_marker_traces(FINDINGS)
    charts.add_settling_shading(stacked, DAYS[-3], DAYS[-1])
    bars = charts.compare_bars_figure(
        [{"platform": "meta", "label": "Meta Ads", "value": 2.5, "previous": 2.0}],
        metric="roas",
        currency="EUR",
        compare_name="Previous period",
    )
    lines = charts.lines_figure([charts.line("Revenue", DAYS, [1.0] * 10)], metric="conversion_value", currency="JPY")
    for figure in (stacked, bars, lines):
        go.Figure(figure)  # raises on any attribute Plotly does not know
    # Stacked by platform in the platforms' colours, with the total named in the hover.
    assert [t.get("stackgroup") for t in stacked["data"][:2]] == ["one", "one"]
    assert stacked["data"][0]["line"]["color"] == "#2563eb" and stacked["data"][1]["line"]["color"] == "#db2777"
    assert stacked["data"][2]["name"] == "Total" and stacked["data"][2]["y"][9] == 11.0
    assert sum(1 for t in stacked["data"] if t.get("fill") == "tonexty") == 2  # 80% and 95% bands
    assert {t["name"] for t in stacked["data"] if t.get("mode") == "markers"} == {"Anomaly (high)", "Anomaly (medium)"}
    shape = stacked["layout"]["shapes"][0]
    assert (shape["x0"], shape["x1"]) == ("2026-11-07 12:00", "2026-11-10 12:00")
    assert lines["layout"]["yaxis"]["tickprefix"] == "¥"


def test_sparkline_points_span_their_own_range() -> None:
    points = charts.sparkline_points([1.0, 3.0, None, 2.0])
    xs = [float(p.split(",")[0]) for p in points.split()]
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert xs == [0.0, 33.3, 100.0]  # the missing day is skipped, the others keep their place
    assert max(ys) == 25.0 and min(ys) == 3.0  # bottom and top of the 28-high box, 3 padding
    assert charts.sparkline_points([5.0, 5.0]) == "0.0,14.0 100.0,14.0"
    assert charts.sparkline_points([]) == "" and charts.sparkline_points([None, None]) == ""


def test_the_lineage_diagram_reads_left_to_right() -> None:
    nodes = [
        {"name": "raw_record", "layer": "sources"},
        {"name": "dim_platform", "layer": "seeds"},
        {"name": "stg_a", "layer": "staging"},
        {"name": "stg_b", "layer": "staging"},
        {"name": "fct", "layer": "facts"},
        {"name": "rollup_day", "layer": "rollups"},
        {"name": "rollup_week", "layer": "rollups"},
    ]
    edges = [
        ("raw_record", "stg_a"),
        ("raw_record", "stg_b"),
        ("stg_a", "fct"),
        ("stg_b", "fct"),
        ("dim_platform", "fct"),
        ("fct", "rollup_day"),
        ("rollup_day", "rollup_week"),
    ]
    by_depth = layered_diagram(nodes, edges)
    at = {n.name: n for n in by_depth.nodes}
    assert all(at[a].x < at[b].x for a, b in edges)
    by_layer = layered_diagram(nodes, edges, layers=(("sources", "seeds"), "staging", "dimensions", "facts", "rollups"))
    at = {n.name: n for n in by_layer.nodes}
    assert at["raw_record"].x == at["dim_platform"].x < at["stg_a"].x < at["fct"].x < at["rollup_day"].x
    assert at["rollup_day"].x == at["rollup_week"].x and at["rollup_day"].y < at["rollup_week"].y
    assert len(by_layer.edges) == len(edges) and len(by_layer.columns) == 4  # no empty dimensions column
    boxes = [(n.x, n.y) for n in by_layer.nodes]
    assert len(set(boxes)) == len(boxes)
    assert max(n.x + n.w for n in by_layer.nodes) < by_layer.width

"""The dashboards over a scored workspace: numbers equal the metrics layer's, state in the URL.

The scored workspace (tests/insights/conftest.py) has 120 days of Google Ads and Meta history
through yesterday (UTC), the real warehouse transformation behind it, a Google Ads spend spike
ten days ago, and a nightly scoring run (anomalies and forecasts).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Membership
from insights.views.links import campaign_url
from tests.insights.conftest import yesterday_utc
from warehouse.queries import MetricsQuery, metrics_query

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
KPIS = ("spend", "conversion_value", "roas", "conversions", "cpa", "ctr", "cpc")


@pytest.fixture
def owner_client(in_scored, workspace_client):
    return workspace_client(Membership.objects.get(workspace=in_scored, role="owner").user, in_scored)


@pytest.fixture
def viewer_client(in_scored, make_user, workspace_client):
    viewer = make_user("viewer@dash.example")
    Membership.objects.create(user=viewer, workspace=in_scored, role="viewer")
    return workspace_client(viewer, in_scored)


def last_30() -> tuple[Any, Any]:
    end = yesterday_utc()
    return end - timedelta(days=29), end


def kpi_values(body: str) -> dict[str, str]:
    return dict(re.findall(r'class="card kpi" data-metric="(\w+)" data-value="([^"]*)"', body))


def cell_values(body: str, key: str) -> dict[str, str]:
    """The raw values of one table row (data-key) or of the totals row (key="Total")."""
    if key == "Total":
        row = body.split('<tr class="totals">', 1)[1].split("</tr>", 1)[0]
    else:
        row = body.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    return dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', row))


def same(shown: str, expected: Any) -> bool:
    if expected is None:
        return shown in ("", "None")
    if isinstance(expected, float):
        return abs(float(shown) - expected) <= 1e-9 * max(1.0, abs(expected))
    return Decimal(shown) == Decimal(str(expected))


def campaign_ids() -> list[str]:
    d1, d2 = last_30()
    rows = metrics_query(
        MetricsQuery(metrics=("spend",), dimensions=("campaign",), date_from=d1, date_to=d2, order_by=("-spend",))
    ).rows
    return [r["campaign"] for r in rows]


@pytest.mark.parametrize("path", ["/", "/channels/", "/campaigns/", "campaign"])
def test_every_member_reads_every_dashboard_page(viewer_client, path: str) -> None:
    one_campaign = path == "campaign"
    if one_campaign:
        path = campaign_url(campaign_ids()[0])
    response = viewer_client.get(path)
    body = response.content.decode()
    assert response.status_code == 200
    assert "vendor/plotly/plotly.min.js" in body and "js/dashboards.js" in body and "cdn." not in body
    assert 'id="data-as-of"' in body and "Data as of" in body
    assert 'name="period"' in body and 'name="compare"' in body
    # One campaign's page has no list filters (they are kept for the way back).
    assert ('name="platform"' in body) is not one_campaign


def test_strangers_get_no_dashboards(in_scored, make_user, workspace_client) -> None:
    stranger = make_user("stranger@dash.example")
    assert workspace_client(stranger, in_scored).get("/campaigns/").status_code == 404


def test_overview_kpis_equal_the_metrics_layer(owner_client) -> None:
    body = owner_client.get("/").content.decode()
    d1, d2 = last_30()
    expected = metrics_query(MetricsQuery(metrics=KPIS, date_from=d1, date_to=d2, compare="previous_period")).rows[0]
    shown = kpi_values(body)
    assert set(shown) == set(KPIS)
    for metric in KPIS:
        assert same(shown[metric], expected[metric]), (metric, shown[metric], expected[metric])
    assert f"{d1:%b %-d} – {d2:%b %-d, %Y}" in body


def test_overview_marks_the_spike_draws_the_forecast_and_shades_settling_days(owner_client) -> None:
    body = owner_client.get("/").content.decode()
    spend = json.loads(body.split('<script id="chart-spend" type="application/json">', 1)[1].split("</script>", 1)[0])
    names = [t.get("name") for t in spend["data"]]
    assert {"Google Ads", "Meta Ads", "Total", "Forecast"} <= set(names)
    # The chart marks the medium and high anomalies of the series it shows. Narrowed to Google
    # Ads it shows that platform's series, where a tenfold spend is always marked; the total moves
    # less on days Meta outspends Google Ads many times (the synthetic history has such days).
    narrowed = owner_client.get("/?platform=google_ads").content.decode()
    google = json.loads(
        narrowed.split('<script id="chart-spend" type="application/json">', 1)[1].split("</script>", 1)[0]
    )
    spike = (yesterday_utc() - timedelta(days=10)).isoformat()
    markers = [t for t in google["data"] if t.get("mode") == "markers"]
    assert any(spike in t["x"] for t in markers), "the Google Ads spend spike is marked on the overview"
    assert sum(1 for t in spend["data"] if t.get("fill") == "tonexty") == 2  # forecast 80% and 95% bands
    forecast = next(t for t in spend["data"] if t.get("name") == "Forecast")
    assert forecast["x"][0] > yesterday_utc().isoformat()
    assert spend["layout"]["shapes"][0]["type"] == "rect"  # settling days
    assert "Settling" in spend["layout"]["annotations"][0]["text"]
    assert 'id="chart-roas"' in body and 'id="chart-revenue"' in body


def test_movers_load_as_a_fragment_with_a_skeleton_first(owner_client) -> None:
    page = owner_client.get("/?period=14d").content.decode()
    assert 'id="movers"' in page and 'hx-trigger="load"' in page and "skeleton" in page
    fragment = owner_client.get("/?period=14d", **HTMX, HTTP_HX_TARGET="movers").content.decode()
    assert "<html" not in fragment and fragment.strip().startswith("<section")
    assert 'class="mover"' in fragment and "/campaigns/" in fragment and "period=14d" in fragment


def test_bad_parameters_show_a_plain_message_and_the_default_view(owner_client) -> None:
    response = owner_client.get("/?period=forever&compare=x&platform=Bad!&page=-2&from=2026-99-01")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="state-errors"' in body and "is not a date range" in body and "is not a comparison" in body
    d1, d2 = last_30()
    expected = metrics_query(MetricsQuery(metrics=("spend",), date_from=d1, date_to=d2)).rows[0]["spend"]
    assert same(kpi_values(body)["spend"], expected)
    assert owner_client.get("/campaigns/?sort=DROP%20TABLE&page=x").status_code == 200
    assert owner_client.get("/campaigns/%3Cscript%3E/").status_code == 404


def test_platform_filter_and_previous_year_compare(owner_client) -> None:
    body = owner_client.get("/channels/?platform=meta&period=7d&compare=previous_year").content.decode()
    end = yesterday_utc()
    expected = metrics_query(
        MetricsQuery(
            metrics=("spend", "roas"),
            date_from=end - timedelta(days=6),
            date_to=end,
            filters={"platform": ("meta",)},
            compare="previous_year",
        )
    ).rows[0]
    totals = cell_values(body, "Total")
    assert same(totals["spend"], expected["spend"]) and same(totals["roas"], expected["roas"])
    assert 'data-key="meta"' in body and 'data-key="google_ads"' not in body
    assert "Remove filter Meta Ads" in body
    # Navigation links keep the range, compare and filter.
    assert 'href="/campaigns/?period=7d&amp;compare=previous_year&amp;platform=meta"' in body


def test_campaigns_sort_by_the_metrics_layer_with_totals_and_pages(owner_client, monkeypatch) -> None:
    from insights.selectors import dashboards

    monkeypatch.setattr(dashboards, "PAGE_SIZE", 2)
    d1, d2 = last_30()
    by_roas = metrics_query(
        MetricsQuery(metrics=("roas", "spend"), dimensions=("campaign",), date_from=d1, date_to=d2, order_by=("-roas",))
    ).rows
    first = owner_client.get("/campaigns/?sort=-roas").content.decode()
    keys = re.findall(r'<tr data-key="([^"]+)"', first)
    assert keys == [r["campaign"] for r in by_roas[:2]]
    assert 'aria-sort="descending"' in first and "Next →" in first
    second = owner_client.get("/campaigns/?sort=-roas&page=2").content.decode()
    assert re.findall(r'<tr data-key="([^"]+)"', second) == [r["campaign"] for r in by_roas[2:4]]
    totals = metrics_query(MetricsQuery(metrics=("spend",), date_from=d1, date_to=d2)).rows[0]
    assert same(cell_values(second, "Total")["spend"], totals["spend"])
    row = cell_values(first, by_roas[0]["campaign"])
    assert same(row["roas"], by_roas[0]["roas"]) and same(row["spend"], by_roas[0]["spend"])


def test_campaign_search_is_an_htmx_fragment_and_says_when_nothing_matches(owner_client) -> None:
    ids = campaign_ids()
    d1, d2 = last_30()
    named = metrics_query(MetricsQuery(metrics=("spend",), dimensions=("campaign",), date_from=d1, date_to=d2)).rows
    name = next(r["campaign_name"] for r in named if r["campaign"] == ids[0])
    fragment = owner_client.get(f"/campaigns/?q={name}", **HTMX, HTTP_HX_TARGET="campaign-table").content.decode()
    assert "<html" not in fragment and 'id="campaign-table"' in fragment
    assert re.findall(r'<tr data-key="([^"]+)"', fragment) == [
        r["campaign"] for r in named if name in r["campaign_name"]
    ]
    none = owner_client.get("/campaigns/?q=no-such-campaign-zz").content.decode()
    assert "No campaign name contains “no-such-campaign-zz”" in none
    overview = owner_client.get("/?q=no-such-campaign-zz").content.decode()
    assert "No campaign name contains" in overview and same(kpi_values(overview)["spend"], 0)


def test_a_campaign_page_shows_its_numbers_chart_and_days(owner_client) -> None:
    campaign = campaign_ids()[0]
    response = owner_client.get(campaign_url(campaign) + "?period=14d")
    body = response.content.decode()
    assert response.status_code == 200
    end = yesterday_utc()
    expected = metrics_query(
        MetricsQuery(
            metrics=KPIS,
            date_from=end - timedelta(days=13),
            date_to=end,
            filters={"campaign": (campaign,)},
            compare="previous_period",
        )
    ).rows[0]
    shown = kpi_values(body)
    for metric in KPIS:
        assert same(shown[metric], expected[metric]), metric
    assert len(re.findall(r'<tr data-day="', body)) == 14
    assert 'id="chart-campaign"' in body and 'href="/campaigns/?period=14d"' in body
    assert owner_client.get("/campaigns/google_ads:0:0/").status_code == 404


def test_insight_pages_link_campaigns_to_their_page() -> None:
    assert campaign_url("google_ads:123:456") == "/campaigns/google_ads:123:456/"


def test_an_empty_workspace_is_led_to_connect_its_first_source(make_workspace, workspace_client) -> None:
    from accounts.models import User

    empty = make_workspace("dash-empty")
    owner = User.objects.get(email="owner@dash-empty.example")
    for path in ("/", "/channels/", "/campaigns/"):
        body = workspace_client(owner, empty).get(path).content.decode()
        assert "Connect your first data source" in body and 'href="/data-sources/"' in body


def test_settings_tabs_show_the_plan_and_what_a_digest_holds(owner_client) -> None:
    billing = owner_client.get("/settings/billing/").content.decode()
    assert 'id="current-plan"' in billing and "Trial" in billing and "Data sources" in billing
    digests = owner_client.get("/settings/digests/").content.decode()
    assert 'id="digest-preview"' in digests and 'id="digest-form"' in digests  # the digests app's tab
    for page in (billing, digests):
        assert 'href="/settings/digests/"' in page and 'href="/settings/billing/"' in page


def test_changing_the_reporting_currency_queues_the_warehouse_recompute(owner_client, in_scored, monkeypatch) -> None:
    from warehouse import tasks

    queued: list[Any] = []
    monkeypatch.setattr(tasks.recompute_reporting_currency, "delay_on_commit", lambda *a, **k: queued.append(a))
    form = {"name": in_scored.name, "time_zone": in_scored.time_zone}
    response = owner_client.post("/settings/", {**form, "reporting_currency": in_scored.reporting_currency})
    assert response.status_code == 302 and queued == []
    response = owner_client.post("/settings/", {**form, "reporting_currency": "USD"}, follow=True)
    assert queued == [(in_scored.schema_name,)]
    assert "converted to USD" in response.content.decode()
    # Until the recompute runs, the dashboards show the stored currency and say why.
    body = owner_client.get("/").content.decode()
    assert 'id="currency-pending"' in body and "converted to USD" in body and "€" in body


def test_a_compare_period_before_the_first_synced_day_is_called_out(owner_client) -> None:
    # 120 days of history: the 30 days before the last 30 are there, the 90 before the last 90 are not.
    assert 'id="compare-uncovered"' not in owner_client.get("/").content.decode()
    body = owner_client.get("/?period=90d").content.decode()
    assert 'id="compare-uncovered"' in body and "look bigger than they are" in body


def test_a_campaign_without_delivery_in_the_range_says_so_and_links_to_its_last_days(owner_client) -> None:
    from datetime import date

    campaign = campaign_ids()[0]
    body = owner_client.get(campaign_url(campaign) + "?period=custom&from=2024-01-01&to=2024-01-31").content.decode()
    assert 'id="no-delivery"' in body and "delivered nothing in Jan 1 – Jan 31, 2024" in body
    link = re.search(r'href="([^"]*period=custom[^"]*)">Show its last 30 days', body)
    assert link is not None
    last_days = owner_client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert 'id="no-delivery"' not in last_days and 'id="chart-campaign"' in last_days
    assert date.fromisoformat(re.search(r"to=(\d{4}-\d\d-\d\d)", link.group(1)).group(1)) <= yesterday_utc()


def test_the_workspace_number_format_shapes_every_number_and_chart(owner_client, in_scored) -> None:
    from bosco.formatting import format_money, using_number_format
    from insights.selectors.dashboards import tile_text

    d1, d2 = last_30()
    spend = metrics_query(MetricsQuery(metrics=("spend",), date_from=d1, date_to=d2)).rows[0]["spend"]
    form = {"name": in_scored.name, "time_zone": in_scored.time_zone, "reporting_currency": "EUR"}
    assert owner_client.post("/settings/", {**form, "number_format": "de-DE"}).status_code == 302
    assert owner_client.post("/settings/", {**form, "number_format": "xx-XX"}).status_code == 400

    body = owner_client.get("/").content.decode()

    with using_number_format("de-DE"):
        german = tile_text("spend", float(spend), "EUR"), format_money(float(spend), "EUR")
    with using_number_format("en-US"):
        american = tile_text("spend", float(spend), "EUR"), format_money(float(spend), "EUR")
    assert german[0].endswith("\u00a0€") and "." in german[1] and german[1].endswith("\u00a0€")
    for text in german:
        assert text in body
    for text in american:
        assert text not in body
    assert '"separators":",."' in body.replace(" ", "")
    # the format is the workspace's, not a process-wide switch: outside the request it is en-US
    assert format_money(1234.5, "EUR") == "€1,234"


def test_a_campaign_page_lists_its_medium_and_high_incidents_linked_to_the_anomalies_page(owner_client) -> None:
    from insights.models import Incident, ModelVersion

    campaign = campaign_ids()[0]
    end = yesterday_utc()
    version = ModelVersion.objects.filter(kind=ModelVersion.Kind.ANOMALY).first()
    Incident.objects.filter(scope="campaign", key=campaign).delete()  # the scored ones: only ours below

    def incident(day_offset: int, severity: str, summary: str, key: str = campaign) -> Incident:
        return Incident.objects.create(
            version=version,
            scope="campaign",
            key=key,
            label="This campaign",
            platform=key.split(":", 1)[0],
            date=end - timedelta(days=day_offset),
            severity=severity,
            score=7.0,
            cause="delivery_drop",
            summary=summary,
            metrics=[
                {
                    "metric": m,
                    "direction": "down",
                    "z": 7.0,
                    "value": 1,
                    "expected": 9,
                    "severity": severity,
                    "explanation": f"{m} fell.",
                }
                for m in ("spend", "clicks")
            ],
        )

    shown = incident(2, "medium", "Delivery dropped (campaign page test).")
    low = incident(3, "low", "A low move of this campaign.")
    outside = incident(40, "high", "Before the range.")
    other = incident(2, "high", "Another campaign's incident.", key="meta:9:9")
    body = owner_client.get(campaign_url(campaign) + "?period=14d").content.decode()
    listed = body.split('id="campaign-incidents"', 1)[1].split("</ul>", 1)[0]
    assert shown.summary in listed and "▼ Spend · ▼ Clicks" in listed
    assert all(i.summary not in listed for i in (low, outside, other))
    assert all(severity != "low" for severity in re.findall(r'data-severity="(\w+)"', listed))
    link = re.search(rf'href="([^"]+#incident-{shown.pk})"', listed).group(1).replace("&amp;", "&")
    anomalies = owner_client.get(link.split("#", 1)[0]).content.decode()
    assert re.findall(r'<li class="incident" id="incident-(\d+)"', anomalies) == [str(shown.pk)]

"""The insight pages over a scored workspace, and what they say when there is nothing to show yet."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from accounts.models import Membership
from insights.ml.forecasting import MODEL_VERSION as FORECAST_ALGORITHM
from insights.models import AnomalyFinding, Incident, ModelVersion, Scope
from tests.insights.conftest import in_schema, yesterday_utc

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGES = [
    "/insights/",
    "/insights/anomalies/",
    "/insights/forecasts/",
    "/insights/attribution/",
    "/insights/budget/",
    "/insights/models/",
]


@pytest.fixture
def viewer_client(in_scored, make_user, workspace_client):
    viewer = make_user("viewer@ins-pages.example")
    Membership.objects.create(user=viewer, workspace=in_scored, role="viewer")
    return workspace_client(viewer, in_scored)


@pytest.fixture
def owner_client(in_scored, workspace_client):
    return workspace_client(Membership.objects.get(workspace=in_scored, role="owner").user, in_scored)


@pytest.mark.parametrize("path", PAGES)
def test_every_member_can_read_every_insight_page(viewer_client, path: str) -> None:
    response = viewer_client.get(path)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="page"' in body and "Insights" in body
    assert "vendor/plotly/plotly.min.js" in body and "js/charts.js" in body
    assert "cdn." not in body


def test_strangers_get_no_insights(in_scored, make_user, workspace_client) -> None:
    stranger = make_user("stranger@ins-pages.example")
    assert workspace_client(stranger, in_scored).get("/insights/").status_code == 404


def test_the_overview_marks_anomalies_and_draws_the_forecast(owner_client) -> None:
    body = owner_client.get("/insights/").content.decode()
    assert 'data-plotly="overview-revenue"' in body
    assert '"fill": "tonexty"' in body  # the forecast band
    assert "Anomalies, last 7 days" in body and "Budget reallocation" in body
    assert 'id="run-now"' in body


def _budget_card(body: str) -> str:
    return body.split('id="kpi-budget">', 1)[1].split("</a>", 1)[0]


def test_the_overview_budget_card_says_keep_the_split_when_the_plan_moves_nothing(owner_client) -> None:
    from insights.selectors import budget_curves_latest

    budget = budget_curves_latest(scope=Scope.PLATFORM)
    assert budget is not None
    budget.metrics = {**budget.metrics, "uplift_at_current_budget": 0.0, "uplift_band": [0.0, 0.0]}
    budget.save(update_fields=["metrics"])
    held = _budget_card(owner_client.get("/insights/").content.decode())
    assert "Keep the split" in held and "€0" not in held

    budget.metrics = {**budget.metrics, "uplift_at_current_budget": 100.0, "uplift_band": [40.0, 160.0]}
    budget.save(update_fields=["metrics"])
    gain = _budget_card(owner_client.get("/insights/").content.decode())
    assert "Keep the split" not in gain and "+" in gain and "80%:" in gain


def test_a_newer_fit_for_conversions_leaves_the_overview_budget_card_on_revenue(owner_client) -> None:
    from insights.selectors import budget_curves_latest

    revenue = budget_curves_latest(scope=Scope.PLATFORM)
    assert revenue is not None and revenue.params["target"] == "conversion_value"
    revenue.metrics = {**revenue.metrics, "uplift_at_current_budget": 1500.0, "uplift_band": [400.0, 2600.0]}
    revenue.save(update_fields=["metrics"])
    # someone planned for conversions today: a newer version of the other target
    conversions = ModelVersion.objects.get(pk=revenue.pk)
    conversions.pk = None
    conversions.params = {**revenue.params, "target": "conversions"}
    conversions.fingerprint = f"conversions-{revenue.fingerprint}"[:64]
    conversions.training_end = revenue.training_end + timedelta(days=1)
    conversions.metrics = {**revenue.metrics, "uplift_at_current_budget": 7.0, "uplift_band": [2.0, 12.0]}
    conversions.save()

    assert budget_curves_latest(scope=Scope.PLATFORM) == revenue
    assert budget_curves_latest(scope=Scope.PLATFORM, target="conversions") == conversions
    card = _budget_card(owner_client.get("/insights/").content.decode())
    assert "+€" in card and "revenue a month" in card and "conv." not in card


def _recent_rows(body: str) -> list[tuple[str, str]]:
    """(severity, incident link) of each row of the overview's "Recent anomalies"."""
    table = body.split('id="recent-anomalies"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-severity="(\w+)".*?<a href="([^"]+)" class="incident-summary-link"', table, re.S)


def test_the_overview_lists_the_medium_and_high_incidents_with_cause_and_link(owner_client) -> None:
    as_of = yesterday_utc()
    version = ModelVersion.objects.filter(kind=ModelVersion.Kind.ANOMALY).first()

    def incident(key: str, severity: str, score: float, summary: str, days_ago: int = 1) -> Incident:
        return Incident.objects.create(
            version=version,
            scope=Scope.CAMPAIGN,
            key=f"meta:1:{key}",
            label=f"Overview campaign {key}",
            platform="meta",
            date=as_of - timedelta(days=days_ago),
            severity=severity,
            score=score,
            cause="tracking" if severity == "high" else "",
            summary=summary,
            metrics=[
                {
                    "metric": m,
                    "direction": "down",
                    "z": score,
                    "value": 0,
                    "expected": 9,
                    "severity": severity,
                    "explanation": f"{m} fell.",
                }
                for m in ("conversions", "conversion_value")
            ],
        )

    # a low incident with the largest deviation of all is not listed; a high one with a smaller
    # deviation is, before any medium one
    low = incident("low", "low", 40.0, "A low move with a large deviation.")
    high = incident("high", "high", 9.0, "Conversion tracking looks broken (overview test).", days_ago=2)
    old = incident("old", "high", 12.0, "Too old for the overview.", days_ago=20)
    # the workspace total's incidents are marked on the revenue chart, medium and above only
    for days_ago, severity in ((4, "medium"), (5, "low")):
        day = as_of - timedelta(days=days_ago)
        Incident.objects.filter(scope=Scope.WORKSPACE, date=day).delete()
        Incident.objects.create(
            version=version,
            scope=Scope.WORKSPACE,
            key="",
            label="All channels",
            date=day,
            severity=severity,
            score=6.0,
            summary=f"A {severity} move of the total (overview test).",
            metrics=[],
        )

    body = owner_client.get("/insights/").content.decode()
    rows = _recent_rows(body)
    expected = list(
        Incident.objects.filter(date__gte=as_of - timedelta(days=13), date__lte=as_of, severity__in=["medium", "high"])
    )
    rank = {"medium": 1, "high": 2}
    top = sorted(expected, key=lambda i: (rank[i.severity], i.score), reverse=True)[:6]
    shown = [int(link.rsplit("#incident-", 1)[1]) for _, link in rows]
    assert sorted(shown) == sorted(i.pk for i in top) and high.pk in shown
    assert [i.pk for i in sorted(top, key=lambda i: (i.date, rank[i.severity], i.score), reverse=True)] == shown
    assert {severity for severity, _ in rows} <= {"medium", "high"}
    assert high.summary in body
    assert low.summary not in body and old.summary not in body
    # the incident's metrics that moved together are named under it
    # (each arrow is kept with its metric: "▼&nbsp;Conversions" in a span that does not wrap)
    assert "▼ Conversions · ▼ Revenue" in re.sub(r"<[^>]+>", "", body).replace("&nbsp;", " ")
    # every row links to its incident on the Anomalies page, which lists it
    links = [link.replace("&amp;", "&") for _, link in rows]
    high_link = next(link for link in links if link.endswith(f"#incident-{high.pk}"))
    page = owner_client.get(high_link.split("#", 1)[0]).content.decode()
    assert re.findall(r'<li class="incident" id="incident-(\d+)"', page) == [str(high.pk)]
    for link in links:
        pk = link.rsplit("#incident-", 1)[1]
        listed = owner_client.get(link.split("#", 1)[0]).content.decode()
        assert f'id="incident-{pk}"' in listed
    # the 7-day count is of medium and high incidents, what the Anomalies page it links to lists
    week = Incident.objects.filter(date__gte=as_of - timedelta(days=6), date__lte=as_of)
    card = body.split('id="kpi-anomalies">', 1)[1].split("</a>", 1)[0]
    assert re.search(r'<span class="kpi-value">(\d+)</span>', card).group(1) == str(
        week.filter(severity__in=["medium", "high"]).count()
    )
    assert f"and {week.filter(severity='low').count()} low" in card
    # the revenue chart marks the workspace's medium and high incidents, with their cause
    figure = json.loads(
        re.search(r'<script id="overview-revenue" type="application/json">(.*?)</script>', body, re.S).group(1)
    )
    hovers = {c[0] for trace in figure["data"] for c in trace.get("customdata") or [] if isinstance(c, list)}
    marked = Incident.objects.filter(
        scope=Scope.WORKSPACE, severity__in=["medium", "high"], date__gte=as_of - timedelta(days=89)
    )
    assert "A medium move of the total (overview test)." in hovers and {i.summary for i in marked} <= hovers
    assert not {i.summary for i in Incident.objects.filter(scope=Scope.WORKSPACE, severity="low")} & hovers


def test_the_overview_says_when_only_low_incidents_happened(owner_client) -> None:
    Incident.objects.filter(severity__in=["medium", "high"]).update(severity="low")
    lows = Incident.objects.filter(date__gte=yesterday_utc() - timedelta(days=13)).count()
    assert lows >= 1  # the spike ten days ago
    body = owner_client.get("/insights/").content.decode()
    assert 'id="recent-anomalies"' not in body
    note = body.split('id="no-recent-anomalies">', 1)[1].split("</p>", 1)[0]
    assert "No medium- or high-severity incident in the last two weeks" in note
    assert f"{lows} small move" in note and "severity=any" in note


def _shown(body: str, attribute: str) -> list[str]:
    return re.findall(rf'<li class="incident" [^>]*{attribute}="([^"]*)"', body)


def test_anomalies_lists_incidents_filtered_by_severity_platform_metric_and_dates(owner_client) -> None:
    spike_day = yesterday_utc() - timedelta(days=10)
    page = owner_client.get("/insights/anomalies/").content.decode()
    assert 'id="incident-list"' in page and "Spend was " in page

    fragment = owner_client.get(
        "/insights/anomalies/?severity=medium&metric=spend&platform=google_ads&scope=platform", **HTMX
    ).content.decode()

    assert fragment.lstrip().startswith('<div id="anomaly-results">')
    assert _shown(fragment, "data-severity") and "low" not in _shown(fragment, "data-severity")
    assert all("spend" in metrics.split() for metrics in _shown(fragment, "data-metrics"))
    assert spike_day.strftime("%b %-d") in fragment and "Google Ads" in fragment and "Meta" not in fragment
    one_day = owner_client.get(
        f"/insights/anomalies/?from={spike_day}&to={spike_day}&platform=google_ads&scope=platform", **HTMX
    ).content.decode()
    incident = Incident.objects.get(scope=Scope.PLATFORM, key="google_ads", date=spike_day)
    assert re.findall(r'<li class="incident" id="incident-(\d+)"', one_day) == [str(incident.pk)]
    # the incident's metric lines open the findings behind it
    finding = AnomalyFinding.objects.get(scope=Scope.PLATFORM, key="google_ads", metric="spend", date=spike_day)
    assert f'href="/insights/anomalies/{finding.pk}/"' in one_day
    detail = owner_client.get(f"/insights/anomalies/{finding.pk}/").content.decode()
    assert finding.explanation in detail and 'data-plotly="anomaly-chart"' in detail
    assert "Usual range" in detail and f"#{finding.version_id}" in detail


def test_anomalies_are_paginated_and_bad_filters_fall_back_to_defaults(owner_client) -> None:
    version = ModelVersion.objects.filter(kind=ModelVersion.Kind.ANOMALY).first()
    day = yesterday_utc() - timedelta(days=2)
    Incident.objects.bulk_create(
        Incident(
            version=version,
            scope=Scope.CAMPAIGN,
            key=f"meta:1:{n}",
            label=f"Paged campaign {n}",
            platform="meta",
            date=day,
            severity="low",
            score=3.0 + n / 100,
            summary="Clicks were unusual.",
            metrics=[
                {
                    "metric": "clicks",
                    "direction": "up",
                    "z": 3.0,
                    "value": 90,
                    "expected": 40,
                    "severity": "low",
                    "explanation": "Clicks were 90.",
                }
            ],
        )
        for n in range(45)
    )
    # the page opens on medium and above: these 45 low incidents are not listed, and it says so
    default = owner_client.get("/insights/anomalies/?q=Paged+campaign").content.decode()
    assert _shown(default, "data-severity") == [] and 'id="severity-hint"' in default
    assert '<option value="medium" selected>Medium and high</option>' in default
    assert 'href="?period=30&amp;severity=any&amp;q=Paged+campaign" id="show-any-severity"' in default
    pages = [
        owner_client.get(f"/insights/anomalies/?severity=any&q=Paged+campaign&page={n}").content.decode()
        for n in (1, 2, 3)
    ]
    assert [len(_shown(p, "data-severity")) for p in pages] == [20, 20, 5]
    assert "1–20 of 45" in pages[0] and "page 3 of 3" in pages[2] and 'rel="next"' not in pages[2]
    assert 'rel="next" href="?period=30&amp;severity=any&amp;q=Paged+campaign&amp;page=2"' in pages[0]
    assert '<option value="any" selected>Any severity</option>' in pages[0] and 'id="severity-hint"' not in pages[0]
    # strongest first inside a day
    assert "Paged campaign 44" in pages[0] and "Paged campaign 0<" not in pages[0]
    # a page number that is not one, or past the end, shows the first or the last page; a date that
    # is not one is ignored
    assert (
        len(
            _shown(
                owner_client.get("/insights/anomalies/?severity=any&q=Paged&page=abc").content.decode(),
                "data-severity",
            )
        )
        == 20
    )
    last = owner_client.get("/insights/anomalies/?severity=any&q=Paged&page=999&from=2024-13-45&metric=bogus")
    assert last.status_code == 200 and len(_shown(last.content.decode(), "data-severity")) == 5
    # a severity that is not one falls back to the default (medium and above), not to "any"
    unknown = owner_client.get("/insights/anomalies/?q=Paged&severity=nope").content.decode()
    assert _shown(unknown, "data-severity") == [] and '<option value="medium" selected>' in unknown


def test_editors_mark_an_incident_and_viewers_cannot(owner_client, viewer_client) -> None:
    incident = Incident.objects.filter(scope=Scope.PLATFORM).first()
    url = f"/insights/anomalies/incidents/{incident.pk}/feedback/"

    assert viewer_client.post(url, {"feedback": "expected"}).status_code == 403
    assert owner_client.post(url, {"feedback": "great"}).status_code == 400
    incident.refresh_from_db()
    assert incident.feedback == ""

    response = owner_client.post(url, {"feedback": "not_useful", "next": "/insights/anomalies/?severity=medium"})
    assert response.status_code == 302 and response["Location"] == "/insights/anomalies/?severity=medium"
    incident.refresh_from_db()
    assert incident.feedback == "not_useful" and incident.feedback_at is not None
    page = owner_client.get(
        f"/insights/anomalies/?severity=any&from={incident.date}&to={incident.date}"
    ).content.decode()
    assert 'data-feedback="not_useful"' in page
    # a redirect target elsewhere is not followed
    assert (
        owner_client.post(url, {"feedback": "", "next": "https://evil.example/"})["Location"] == "/insights/anomalies/"
    )


def test_campaign_incidents_link_to_the_campaign(owner_client) -> None:
    finding = AnomalyFinding.objects.filter(scope=Scope.CAMPAIGN).first() or AnomalyFinding.objects.first()
    campaign = Incident.objects.create(
        version=finding.version,
        scope=Scope.CAMPAIGN,
        key="google_ads:1:99",
        label="Linked campaign",
        platform="google_ads",
        date=yesterday_utc(),
        severity="medium",
        score=6.0,
        summary="Spend rose.",
        metrics=[],
    )
    body = owner_client.get("/insights/anomalies/?period=90&scope=campaign").content.decode()
    assert "/campaigns/" in body and campaign.label in body


def test_forecasts_page_switches_series_with_htmx(owner_client) -> None:
    page = owner_client.get("/insights/forecasts/?metric=spend").content.decode()
    assert 'data-plotly="forecast-chart"' in page and 'data-plotly="forecast-platform-meta"' in page
    fragment = owner_client.get("/insights/forecasts/?metric=conversions&series=platform:meta", **HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="forecast"') and "Meta Ads · Conversions" in fragment
    assert "forecast-platform-" not in fragment  # small multiples only for all channels


def test_the_registry_lists_versions_and_what_uses_them(owner_client) -> None:
    body = owner_client.get("/insights/models/").content.decode()
    assert "Nightly scoring" in body and FORECAST_ALGORITHM in body and "budget-adstock-hill/1" in body
    assert "14 forecast days" in body and "+src." in body
    only = owner_client.get("/insights/models/?kind=budget").content.decode()
    assert FORECAST_ALGORITHM not in only


def test_only_editors_can_start_a_run(viewer_client, owner_client, monkeypatch) -> None:
    from insights import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks.score_workspace, "delay_on_commit", lambda schema: queued.append(schema))
    assert viewer_client.post("/insights/run/").status_code == 403
    assert owner_client.post("/insights/run/").status_code == 302
    assert queued == ["ws_ins_read"]


def test_a_workspace_without_data_explains_what_comes(make_workspace, workspace_client) -> None:
    workspace = make_workspace("ins-nodata")
    client = workspace_client(workspace.memberships.get().user, workspace)
    assert "Insights start with your data" in client.get("/insights/").content.decode()
    assert "No scoring run yet" in client.get("/insights/anomalies/").content.decode()
    assert "No forecasts yet" in client.get("/insights/forecasts/").content.decode()
    assert (
        "There is no spend to plan with yet"
        in client.get("/insights/budget/?fragment=planner", **HTMX).content.decode()
    )
    assert "No model versions yet" in client.get("/insights/models/").content.decode()


def test_too_little_history_says_how_much_is_needed(data_workspace, workspace_client) -> None:
    from insights.services import score_workspace_nightly

    workspace = data_workspace("ins-young", days=12)
    with in_schema(workspace):
        score_workspace_nightly(campaigns=0)
    client = workspace_client(workspace.memberships.get().user, workspace)
    anomalies = client.get("/insights/anomalies/").content.decode()
    assert "Not enough history yet" in anomalies and "at least 21 days" in anomalies and "12 days so far" in anomalies
    planner = client.get("/insights/budget/?fragment=planner", **HTMX).content.decode()
    assert "needs 42 days of spend history" in planner

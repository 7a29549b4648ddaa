"""The insight pages in chromium: charts drawn by plotly.js served by Bosco, htmx filters and the
live budget planner, with screenshots of every page at desktop and phone width."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.test import override_settings

from accounts.models import User
from insights.services import score_workspace_nightly
from insights.services.paths_csv import SAMPLE_CSV
from tests.conftest import SCREENSHOT_DIR
from tests.insights.conftest import in_schema, yesterday_utc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _owner(slug: str) -> User:
    return User.objects.get(email=f"owner@{slug}.example")


def _drawn(page, chart_id: str) -> None:
    page.wait_for_selector(f'[data-plotly="{chart_id}"][data-drawn="true"] .main-svg', timeout=15_000)


def _htmx_response(path: str):
    return lambda r: path in r.url and r.request.headers.get("hx-request") == "true"


def test_insight_pages_in_the_browser(web, data_workspace, tmp_path) -> None:
    spike_day = yesterday_utc() - timedelta(days=5)
    workspace = data_workspace("ins-web", spike_day=spike_day, days=75)
    with in_schema(workspace), override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
        score_workspace_nightly(campaigns=4, forecast_campaigns=1)
    page = web.page
    web.login(_owner("ins-web"), workspace)

    web.goto("/insights/", workspace)
    _drawn(page, "overview-revenue")
    assert page.locator(".tabs a[aria-current=page]").inner_text() == "Overview"
    assert page.locator("#recent-anomalies tr").count() >= 1
    # The forecast band and the anomaly markers are drawn into the same chart.
    assert page.locator('[data-plotly="overview-revenue"] .scatterlayer .trace').count() >= 5
    web.screenshot("insights-overview")

    web.goto("/insights/anomalies/", workspace)
    page.wait_for_selector("#incident-list li.incident")
    web.screenshot("anomalies")
    # it opens on medium and above: the low ones are a choice away
    assert page.locator("#f-severity").input_value() == "medium"
    assert page.locator('#incident-list li.incident[data-severity="low"]').count() == 0
    shown = page.locator("#incident-list li.incident").count()
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.select_option("#f-severity", "any")
    page.wait_for_url(re.compile(r".*severity=any.*"))  # the filter is in the address, shareable
    assert page.locator("#incident-list li.incident").count() >= shown
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.select_option("#f-severity", "medium")
    page.wait_for_url(re.compile(r".*severity=medium.*"))
    assert page.locator('#incident-list li.incident[data-severity="low"]').count() == 0
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.select_option("#f-scope", "platform")
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.fill("#f-from", spike_day.isoformat())
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.fill("#f-to", spike_day.isoformat())
    page.wait_for_url(re.compile(rf".*to={spike_day.isoformat()}.*"))
    incidents = page.locator("#incident-list li.incident")
    assert incidents.count() >= 1
    incident = incidents.filter(has_text="Google Ads").first
    assert spike_day.strftime("%b %-d") in incident.inner_text()
    assert "spend" in (incident.get_attribute("data-metrics") or "").split()
    web.screenshot("anomalies-filtered")

    # An editor marks it "not useful": the page comes back with the same filters and the mark.
    incident.locator('button[value="not_useful"]').click()
    page.wait_for_url(re.compile(rf".*to={spike_day.isoformat()}.*"))
    marked = page.locator("#incident-list li.incident", has_text="Google Ads").first
    assert marked.locator('[data-feedback="not_useful"]').is_visible()
    assert page.is_visible("text=similar moves are held to a higher bar")
    web.screenshot("anomalies-marked")

    marked.locator('li[data-metric="spend"] a').click()
    page.wait_for_load_state("networkidle")
    _drawn(page, "anomaly-chart")
    assert page.is_visible("text=Usual range")
    web.screenshot("insights-anomaly-detail")

    web.goto("/insights/forecasts/?metric=spend", workspace)
    _drawn(page, "forecast-chart")
    _drawn(page, "forecast-platform-meta")
    web.screenshot("insights-forecasts")
    with page.expect_response(_htmx_response("/insights/forecasts/")):
        page.select_option("#fc-series", "platform:meta")
    page.wait_for_selector("#forecast h2:has-text('Meta Ads · Spend')")
    _drawn(page, "forecast-chart")
    page.locator("#forecast details summary").click()
    assert page.locator("#forecast-table tbody tr").count() == 14
    # the first card names its seven days (the forecast starts after the newest complete day, which
    # is not "the next 7 days" once that day is over in the workspace's zone)
    label = page.inner_text("#forecast-next7-label")
    found = re.fullmatch(r"Spend, ([A-Z][a-z]{2} \d{1,2}) – ([A-Z][a-z]{2} \d{1,2})", label.strip())
    assert found, label
    first, last = (datetime.strptime(f"{d} 2000", "%b %d %Y") for d in found.groups())
    assert (last - first).days % 366 == 6

    web.goto("/insights/attribution/", workspace)
    web.screenshot("insights-attribution-empty")
    bad = tmp_path / "bad.csv"
    bad.write_text("journey,conversions\nA,1\n")
    page.set_input_files("#path-file", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Missing columns path, total_conversions, total_null" in page.inner_text("#upload-error")
    good = tmp_path / "paths.csv"
    good.write_text(SAMPLE_CSV)
    page.set_input_files("#path-file", str(good))
    page.fill("#import-name", "October journeys")
    page.click("#upload-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert re.search(r"/insights/attribution/\d+/$", page.url)
    _drawn(page, "attribution-chart")
    assert page.inner_text("#import-title") == "October journeys"
    assert page.locator("#attribution-table thead th").count() == 9  # channel + 8 models
    web.screenshot("insights-attribution")

    web.goto("/insights/models/", workspace)
    assert page.locator("#registry-table tbody tr").count() >= 10
    web.screenshot("insights-models")


def test_budget_planner_reallocates_live_as_bounds_change(web, data_workspace) -> None:
    workspace = data_workspace("ins-plan", days=75)
    page = web.page
    web.login(_owner("ins-plan"), workspace)

    # No curves fitted yet today: the page answers at once and loads the planner into itself.
    with override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
        web.goto("/insights/budget/?period=day", workspace)
        page.wait_for_selector("#planner-form", timeout=60_000)
    _drawn(page, "allocation-chart")
    _drawn(page, "curves-chart")
    web.screenshot("insights-budget")

    def spend(channel: str) -> float:
        return float(page.get_attribute(f'#plan-table tr[data-channel="{channel}"]', "data-spend"))

    budget = float(page.input_value("#budget"))
    meta = spend("meta")
    # half of Meta's planned spend, but no less than Google Ads' maximum leaves for Meta (the plan
    # may keep the current split, and Google Ads cannot take more than its largest past spend)
    google_max = float(page.input_value('#planner-form input[name="hi.google_ads"]'))
    cap = round(max(meta * 0.5, budget - google_max + 0.02 * budget))
    assert cap < meta
    meta_max = page.locator('#planner-form input[name="hi.meta"]')
    with page.expect_response(_htmx_response("/insights/budget/")):
        meta_max.fill(str(cap))
    page.wait_for_function(
        f"() => Math.abs(parseFloat(document.querySelector('#plan-table tr[data-channel=\"meta\"]').dataset.spend) - {cap}) < 1"
    )
    assert spend("google_ads") == pytest.approx(budget - cap, abs=1.5)
    assert page.locator('#plan-table tr[data-channel="meta"] .chip').inner_text() == "max"
    _drawn(page, "allocation-chart")  # the swapped fragment's charts are drawn again
    web.screenshot("insights-budget-bounded")

    with page.expect_response(_htmx_response("/insights/budget/")):
        page.fill("#budget", str(int(budget * 50)))
    page.wait_for_selector("#plan-error")
    assert "maximums add up to" in page.inner_text("#plan-error")

    with page.expect_response(_htmx_response("/insights/budget/")):
        page.fill("#budget", str(int(budget)))
    page.wait_for_selector("#plan-table")
    page.fill("#scenario-name", "Half on Meta")
    page.click("#save-scenario button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.is_visible("#scenarios >> text=Half on Meta")
    assert page.input_value('#planner-form input[name="hi.meta"]') == str(cap)  # the saved inputs come back

    # A monthly plan on a 1280 px screen: the table fits its card, no amount wraps after its sign,
    # and the limits note says what the monthly maximums are.
    page.set_viewport_size({"width": 1280, "height": 900})
    web.goto("/insights/budget/?period=month", workspace)
    page.wait_for_selector("#plan-table", timeout=60_000)
    layout = page.evaluate(
        """() => {
        const table = document.querySelector('#plan-table'), wrap = table.closest('.table-wrap');
        const lines = td => { const r = document.createRange(); r.selectNodeContents(td.firstChild || td);
          return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
        return {table: table.getBoundingClientRect().right, card: table.closest('.card').getBoundingClientRect().right,
                scroll: wrap.scrollWidth - wrap.clientWidth, page: document.documentElement.scrollWidth - innerWidth,
                changeLines: [...document.querySelectorAll('#plan-table tbody td:nth-child(4)')].map(lines)};
    }"""
    )
    assert layout["table"] <= layout["card"] + 0.5 and layout["scroll"] <= 0 and layout["page"] <= 0, layout
    assert layout["changeLines"] and set(layout["changeLines"]) == {1}, layout
    note = page.inner_text("#limits-note")
    assert "per month" in note and "every day of the month" in note and "in a day" not in note
    page.screenshot(path=str(SCREENSHOT_DIR / "insights-budget-month-1280.png"), full_page=True)


def test_insights_before_any_data_in_the_browser(web, make_workspace) -> None:
    workspace = make_workspace("ins-new")
    web.login(_owner("ins-new"), workspace)
    web.goto("/insights/", workspace)
    assert web.page.is_visible("text=Insights start with your data")
    web.screenshot("insights-empty")
    web.goto("/insights/budget/", workspace)
    web.page.wait_for_selector("#planner-unavailable")
    web.screenshot("insights-budget-unavailable")

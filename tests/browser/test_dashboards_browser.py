"""The dashboards end to end in chromium, the way a new customer meets them.

Sign up → create a workspace → connect Google Ads on the emulator's consent page → the real
worker backfills and the warehouse transforms → the overview's numbers equal the warehouse's
(and the platform's own, for the euro account) → date range, compare and filters → campaigns
and one campaign → Data sources with the lineage and a restatement → settings tabs. A
screenshot of every page at desktop and phone width goes to artifacts/screenshots/dashboard-*.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from accounts.models import Workspace
from tests.browser.conftest import connect_google_ads_and_wait_for_the_warehouse
from tests.conftest import PASSWORD
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SLUG = "north-trail"
KPIS = ("spend", "conversion_value", "roas", "conversions", "cpa", "ctr", "cpc")


def kpis_on(page: Any) -> dict[str, str]:
    tiles = page.locator("#kpis .kpi")
    return {
        tiles.nth(i).get_attribute("data-metric"): tiles.nth(i).get_attribute("data-value")
        for i in range(tiles.count())
    }


def same(shown: str | None, expected: Any) -> bool:
    if expected is None:
        return shown in ("", None)
    if isinstance(expected, float):
        return abs(float(shown or "nan") - expected) <= 1e-9 * max(1.0, abs(expected))
    return Decimal(shown or "NaN") == Decimal(str(expected))


def warehouse_answer(workspace: Workspace, **query: Any) -> dict[str, Any]:
    from warehouse.queries import MetricsQuery, metrics_query

    with schema_context(workspace.schema_name):
        return metrics_query(MetricsQuery(**query)).rows[0]


def sign_up_and_create_workspace(web: Any) -> Workspace:
    page = web.page
    web.goto("/accounts/signup/")
    page.fill("input[name=email]", "marketer@north-trail.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://localhost/", web.url("/")).replace("http://testserver/", web.url("/")))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=name]", "North Trail")
    page.wait_for_timeout(600)  # the address is suggested from the name as one types
    page.select_option("select[name=reporting_currency]", "EUR")
    page.select_option("select[name=time_zone]", "Europe/Berlin")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    workspace = Workspace.objects.get(slug=SLUG)
    assert page.url.startswith(web.url("/", workspace))
    return workspace


def test_a_new_customer_connects_google_ads_and_reads_true_numbers(web, celery_worker, dashboard_emulator) -> None:
    from playwright.sync_api import expect

    from connectors.models import Connection, SyncRun
    from insights.selectors.series import workspace_today
    from warehouse.models import TransformRun
    from warehouse.services import fx

    page = web.page
    page.set_default_timeout(20_000)
    # The emulator's consent page has no favicon; chromium's automatic request would 404 there.
    page.route(f"{dashboard_emulator.base_url}/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    workspace = sign_up_and_create_workspace(web)
    try:
        expect(page.locator("#dashboard-empty")).to_contain_text("Connect your first data source")
        web.screenshot("dashboard-overview-empty")
        with schema_context(workspace.schema_name):
            # The ECB rates the USD account's amounts are converted with (the repository's sample).
            fx.fx_rates_load(
                rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=workspace_today("UTC") - timedelta(days=120)
            )

        # Connect Google Ads on the platform's (emulated) consent page and choose both accounts.
        page.click("#dashboard-empty a.btn-primary")
        run = connect_google_ads_and_wait_for_the_warehouse(page, workspace)
        with schema_context(workspace.schema_name):
            from insights.services import score_workspace_nightly

            score_workspace_nightly()  # what the nightly run does: anomalies and forecasts to draw

        # The overview: every KPI equals the warehouse's answer for the last 30 days.
        web.goto("/", workspace)
        today = workspace_today("Europe/Berlin")
        d2 = today - timedelta(days=1)
        d1 = d2 - timedelta(days=29)
        expected = warehouse_answer(workspace, metrics=KPIS, date_from=d1, date_to=d2, compare="previous_period")
        shown = kpis_on(page)
        for metric in KPIS:
            assert same(shown[metric], expected[metric]), (metric, shown[metric], expected[metric])
        expect(page.locator("[data-plotly='chart-spend'] .main-svg").first).to_be_visible()
        expect(page.locator("#movers .mover").first).to_be_visible()  # loaded after the page, as a fragment
        web.screenshot("dashboard-overview")

        # Date range and compare: the select submits, the URL carries the state.
        page.select_option("#dc-period", "7d")
        page.wait_for_url(re.compile(r".*\?period=7d$"))
        page.select_option("#dc-compare", "previous_year")
        page.wait_for_url(re.compile(r".*\?period=7d&compare=previous_year$"))
        expect(page.locator(".dash-period")).to_contain_text("Last 7 days")
        week = warehouse_answer(
            workspace, metrics=("spend",), date_from=d2 - timedelta(days=6), date_to=d2, compare="previous_year"
        )
        assert same(kpis_on(page)["spend"], week["spend"])
        # A custom range: the date fields appear, Apply submits.
        page.select_option("#dc-period", "custom")
        page.fill("#dc-from", (d2 - timedelta(days=44)).isoformat())
        page.fill("#dc-to", (d2 - timedelta(days=15)).isoformat())
        page.click(".control-range button[type=submit]")
        page.wait_for_url(re.compile(r".*period=custom&from=.*&to=.*"))
        custom = warehouse_answer(
            workspace,
            metrics=("spend",),
            date_from=d2 - timedelta(days=44),
            date_to=d2 - timedelta(days=15),
            compare="previous_year",
        )
        assert same(kpis_on(page)["spend"], custom["spend"])

        # Filters: the euro account alone — the warehouse's number is the platform's own.
        web.goto("/?compare=none", workspace)
        page.focus("#filters-toggle")
        page.keyboard.press("Enter")  # the filter popover opens from the keyboard
        expect(page.locator(".popover-panel")).to_be_visible()
        page.check(f"input[name=account][value='google_ads:{GOOGLE_EUR}']")
        web.screenshot("dashboard-filters-open")
        page.click("#filters-apply")
        page.wait_for_url(re.compile(rf".*account=google_ads%3A{GOOGLE_EUR}.*"))
        assert "compare=none" in page.url
        truth = dashboard_emulator.state.truth("google_ads", GOOGLE_EUR, "campaign", d1, d2)
        platform_spend = sum(Decimal(r["cost_micros"]) for r in truth["rows"]) / Decimal(1_000_000)
        shown_spend = Decimal(kpis_on(page)["spend"] or "NaN")
        assert shown_spend == platform_spend, (shown_spend, platform_spend)
        expect(page.locator(".chip-remove")).to_contain_text("Bosco Demo DE")
        web.screenshot("dashboard-overview-filtered")

        # Channels: platform and account tables with totals; navigation keeps the filter.
        page.click("nav.nav >> text=Channels")
        page.wait_for_url(re.compile(r".*/channels/\?compare=none&account=.*"))
        expect(page.locator("#platform-table tr.totals")).to_be_visible()
        web.goto("/channels/", workspace)
        expect(page.locator(f"#account-table tr[data-key='google_ads:{GOOGLE_USD}']")).to_be_visible()
        web.screenshot("dashboard-channels")

        # A mistyped link: a plain note above a working page, never an error page.
        web.goto("/?period=someday&compare=x&platform=Google!", workspace)
        expect(page.locator("#state-errors")).to_contain_text("is not a date range")
        expect(page.locator("#kpis .kpi")).to_have_count(len(KPIS))
        web.screenshot("dashboard-bad-link")

        # Campaigns: sort by ROAS (an htmx fragment, the URL follows), search, then one campaign.
        web.goto("/campaigns/", workspace)
        expect(page.locator("#campaign-table tbody tr").first).to_be_visible()
        page.click("#campaign-table th >> text=ROAS")
        page.wait_for_url(re.compile(r".*/campaigns/\?sort=-roas$"))
        expect(page.locator("#campaign-table th[aria-sort=descending]")).to_contain_text("ROAS")
        web.screenshot("dashboard-campaigns")
        first = page.locator("#campaign-table tbody tr").first
        name = first.locator("a.name").inner_text()
        page.fill("#campaign-search", name)
        page.wait_for_url(re.compile(r".*q=.*"))
        expect(page.locator("#campaign-table tbody tr").first.locator("a.name")).to_have_text(name)
        web.screenshot("dashboard-campaigns-search")
        campaign_id = page.locator("#campaign-table tbody tr").first.get_attribute("data-key")
        page.locator("#campaign-table a.name").first.click()
        page.wait_for_url(re.compile(r".*/campaigns/google_ads:.*"))
        expect(page.locator(".campaign-name")).to_contain_text(name)
        one = warehouse_answer(workspace, metrics=KPIS, date_from=d1, date_to=d2, filters={"campaign": (campaign_id,)})
        for metric, value in kpis_on(page).items():
            assert same(value, one[metric]), metric
        expect(page.locator("#campaign-days tbody tr")).to_have_count(30)
        web.screenshot("dashboard-campaign")

        # Data sources: freshness, lineage, and a restatement the platform makes after a sync.
        dashboard_emulator.state.restate("google_ads", 3)
        web.goto("/data-sources/", workspace)
        expect(page.locator("#lineage svg")).to_be_visible()
        expect(page.locator("#lineage g[data-model='fct_ad_performance_daily']")).to_have_attribute(
            "data-status", "success"
        )
        with schema_context(workspace.schema_name):
            connection = Connection.objects.get()
        page.click(f"#connection-{connection.pk} >> text=Sync now")
        page.wait_for_load_state("networkidle")
        with schema_context(workspace.schema_name):
            second = SyncRun.objects.exclude(pk=run.pk).get()
            for _ in range(180):
                if TransformRun.objects.filter(status="success", sync_run_id=second.pk).exists():
                    break
                page.wait_for_timeout(500)
        web.goto("/data-sources/", workspace)
        expect(page.locator("#wh-restatements-title")).to_be_visible()
        expect(page.locator("section[aria-labelledby=wh-restatements-title] tbody tr").first).to_be_visible()
        expect(page.locator("#freshness")).to_contain_text("Google Ads settling")
        web.screenshot("dashboard-data-sources")

        # Settings: workspace, team, API keys, and the digest and plan tabs.
        for path, shot in (
            ("/settings/", "dashboard-settings-workspace"),
            ("/settings/team/", "dashboard-settings-team"),
            ("/settings/api-keys/", "dashboard-settings-api-keys"),
            ("/settings/digests/", "dashboard-settings-digests"),
            ("/settings/billing/", "dashboard-settings-billing"),
        ):
            web.goto(path, workspace)
            expect(page.locator("nav.tabs [aria-current=page]")).to_be_visible()
            web.screenshot(shot)
        expect(page.locator("#current-plan")).to_have_text("Trial")
    finally:
        workspace.delete(force_drop=True)

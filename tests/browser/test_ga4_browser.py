"""GA4 end to end in a browser: connect Google Ads, then GA4 on the Data sources page (Google's
emulated consent with the analytics.readonly scope → choose the property), the worker syncs and
the warehouse transforms, and the Channels page shows sessions and conversion rate per channel
group and UTM campaign beside the ad spend — equal to what the warehouse holds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Workspace
from tests.browser.conftest import connect_google_ads_and_wait_for_the_warehouse
from tests.conftest import PASSWORD

PROPERTY = "412345678"  # Bosco Demo Shop (US), USD


def sign_up_and_create_workspace(web: Any) -> Workspace:
    """A new customer signs up and creates "Harbor Goods" (its own slug: schemas outlive a test)."""
    from django.core import mail

    page = web.page
    web.goto("/accounts/signup/")
    page.fill("input[name=email]", "analyst@harbor-goods.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://localhost/", web.url("/")).replace("http://testserver/", web.url("/")))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=name]", "Harbor Goods")
    page.wait_for_timeout(600)  # the address is suggested from the name as one types
    page.select_option("select[name=reporting_currency]", "EUR")
    page.select_option("select[name=time_zone]", "Europe/Berlin")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    workspace = Workspace.objects.get(slug="harbor-goods")
    assert page.url.startswith(web.url("/", workspace))
    return workspace


@pytest.mark.browser
@pytest.mark.celery_worker
def test_connect_ga4_and_read_sessions_beside_spend_on_channels(web, celery_worker, dashboard_emulator) -> None:
    from playwright.sync_api import expect

    from connectors.models import Connection, SyncRun
    from insights.selectors.series import workspace_today
    from warehouse.models import TransformRun
    from warehouse.selectors import sessions
    from warehouse.services import fx

    page = web.page
    page.set_default_timeout(20_000)
    page.route(f"{dashboard_emulator.base_url}/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    workspace = sign_up_and_create_workspace(web)
    with schema_context(workspace.schema_name):
        fx.fx_rates_load(
            rates=fx.fx_rates_read(source=str(fx.SAMPLE_FILE)), since=workspace_today("UTC") - timedelta(days=120)
        )
    web.goto("/data-sources/", workspace)
    connect_google_ads_and_wait_for_the_warehouse(page, workspace)

    # Without GA4 the Channels page is what it always was.
    web.goto("/channels/", workspace)
    expect(page.locator("#platform-table")).to_be_visible()
    assert page.locator("#sessions-table").count() == 0

    # GA4 is its own connection, with its own Google consent (analytics.readonly).
    web.goto("/data-sources/", workspace)
    page.click("#connect-ga4")
    page.wait_for_url(re.compile(r".*/google/o/oauth2/v2/auth\?.*"))
    expect(page.locator("#scopes")).to_contain_text("analytics.readonly")
    page.click("#allow")
    page.wait_for_url(re.compile(r".*/data-sources/\d+/accounts/"))
    expect(page.get_by_text("Choose the Google Analytics 4 properties to sync")).to_be_visible()
    expect(page.locator(f"label[for=account-{PROPERTY}]")).to_have_text("Bosco Demo Shop (US)")
    page.check(f"#account-{PROPERTY}")
    page.click("#save-accounts")
    page.wait_for_url(re.compile(r".*/data-sources/$"))
    with schema_context(workspace.schema_name):
        connection = Connection.objects.get(platform="ga4")
        run = SyncRun.objects.get(connection=connection)
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=90_000)
    with schema_context(workspace.schema_name):
        for _ in range(120):
            if TransformRun.objects.filter(status="success", sync_run_id=run.pk).exists():
                break
            page.wait_for_timeout(500)
        else:
            pytest.fail("the warehouse did not transform the GA4 backfill")
    web.screenshot("data-sources-ga4")

    # Channels: sessions per channel group, equal to the warehouse, and UTM campaigns with spend.
    web.goto("/channels/", workspace)
    expect(page.locator("#sessions-channels")).to_be_visible()
    shown: dict[str, Any] = {}
    rows = page.locator("#sessions-channels tbody tr")
    for i in range(rows.count()):
        row = rows.nth(i)
        shown[row.get_attribute("data-channel")] = int(
            row.locator("td[data-metric=sessions]").get_attribute("data-value")
        )
    today = workspace_today("Europe/Berlin")
    with schema_context(workspace.schema_name):
        expected = {
            r.label: r.sessions
            for r in sessions.sessions_by_channel(
                date_from=today - timedelta(days=30), date_to=today - timedelta(days=1)
            )
        }
    assert shown == expected
    assert {"Paid Search", "Organic Search", "Direct"} <= set(shown)
    campaigns = page.locator("#sessions-campaigns tbody tr")
    assert campaigns.count() > 0
    # Google Ads campaigns auto-tag their visits: their spend stands next to their sessions.
    expect(page.locator("#sessions-campaigns tbody").get_by_text("google / cpc").first).to_be_visible()
    web.screenshot("channels-ga4")

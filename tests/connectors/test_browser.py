"""The whole connect flow in chromium: Data sources → Google consent page → choose accounts → live progress."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from connectors.models import Connection, SyncRun
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD, TIKTOK_USD


@pytest.mark.browser
@pytest.mark.celery_worker
def test_connect_google_ads_in_a_browser_and_watch_the_backfill(web, celery_worker, tenant, emulator) -> None:
    from playwright.sync_api import expect

    emulator.state.update_config(latency_seconds=0.2)  # slow enough to see the progress bar move
    owner = User.objects.get(email="owner@conn.example")
    web.login(owner, tenant)
    page = web.page

    web.goto("/data-sources/", tenant)
    expect(page.get_by_role("heading", name="Connect your first ad platform")).to_be_visible()
    web.screenshot("data-sources-empty")

    page.click("#connect-google_ads")
    page.wait_for_url(re.compile(r".*/google/o/oauth2/v2/auth\?.*"))
    expect(page.get_by_role("heading", name="Bosco wants to access your account")).to_be_visible()
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url) if request.is_navigation_request() else None)
    page.click("#allow")

    page.wait_for_url(re.compile(r".*/data-sources/\d+/accounts/"))
    # Google's answer went to the one shared callback on the public site, which sent it on to the
    # workspace's own callback (where the workspace's session cookie came along).
    hops = [url.split("?", 1)[0] for url in visited]
    shared, own = web.url("/oauth/callback/"), web.url("/data-sources/oauth/callback/", tenant)
    assert shared in hops and own in hops and hops.index(shared) < hops.index(own), hops
    expect(page.get_by_text("Choose the Google Ads accounts to sync")).to_be_visible()
    page.check(f"#account-{GOOGLE_EUR}")
    page.check(f"#account-{GOOGLE_USD}")
    web.screenshot("data-sources-choose-accounts")
    page.click("#save-accounts")

    page.wait_for_url(re.compile(r".*/data-sources/$"))
    connection = Connection.objects.get()
    row = page.locator(f"#connection-{connection.pk}")
    expect(row).to_contain_text("Google Ads")
    expect(row).to_contain_text("2 of 2")
    run = SyncRun.objects.get(connection=connection)
    # Progress updates in place (htmx polling) while the worker backfills.
    page.wait_for_function(
        "() => { const p = document.querySelector('progress'); return p !== null && p.value > 0; }", timeout=60_000
    )
    web.screenshot("data-sources-syncing")
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=90_000)
    expect(row).to_have_attribute("data-status", "active")
    expect(page.locator("progress")).to_have_count(0)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.rows > 0 and run.handed_off_at is not None
    # The real hand-off: the worker runs the warehouse's transformation of the landed window.
    page.wait_for_timeout(3_000)
    web.goto("/data-sources/", tenant)
    expect(page.get_by_role("heading", name="Recent transformation runs")).to_be_visible()
    web.screenshot("data-sources")


@pytest.mark.browser
@pytest.mark.celery_worker
def test_connect_tiktok_in_a_browser_and_its_rows_reach_the_warehouse(web, celery_worker, tenant, emulator) -> None:
    from playwright.sync_api import expect

    owner = User.objects.get(email="owner@conn.example")
    web.login(owner, tenant)
    page = web.page

    web.goto("/data-sources/", tenant)
    page.click("#connect-tiktok")
    page.wait_for_url(re.compile(r".*/tiktok/portal/auth\?.*"))
    expect(page.get_by_text("TikTok for Business (emulator)")).to_be_visible()
    page.click("#allow")

    page.wait_for_url(re.compile(r".*/data-sources/\d+/accounts/"))
    expect(page.get_by_text("Choose the TikTok Ads accounts to sync")).to_be_visible()
    page.check(f"#account-{TIKTOK_USD}")
    page.click("#save-accounts")

    page.wait_for_url(re.compile(r".*/data-sources/$"))
    connection = Connection.objects.get()
    assert connection.platform == "tiktok"
    run = SyncRun.objects.get(connection=connection)
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=90_000)
    run.refresh_from_db()
    assert run.rows > 0 and run.handed_off_at is not None
    # The worker's hand-off transforms the window: TikTok rows reach the warehouse's staging and
    # dimensions (the facts also need the day's exchange rates, which this test does not load).
    from django.db import connection as db

    staged = 0
    for _ in range(60):
        with db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM stg_tiktok__adgroup_daily WHERE spend_micros > 0")
            staged = cursor.fetchone()[0]
        if staged:
            break
        page.wait_for_timeout(500)
    assert staged > 0
    with db.cursor() as cursor:
        cursor.execute("SELECT currency, time_zone FROM dim_ad_account WHERE platform = 'tiktok'")
        assert cursor.fetchall() == [("USD", "America/New_York")]
    web.goto("/data-sources/", tenant)
    expect(page.get_by_role("heading", name="Recent transformation runs")).to_be_visible()
    web.screenshot("data-sources-tiktok")

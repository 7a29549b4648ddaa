"""Connecting a Shopify store in chromium: the shop form on Data sources → the emulated install page
→ the signed callback through the public site → the backfill → the Store page."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from connectors.models import Connection, SyncRun

SHOP = "bosco-demo.myshopify.com"


@pytest.mark.browser
@pytest.mark.celery_worker
def test_connect_a_shopify_store_in_a_browser_and_see_its_store_page(
    web, celery_worker, tenant, emulator, settings
) -> None:
    from playwright.sync_api import expect

    from warehouse.services import fx

    settings.SHOPIFY_API_KEY = emulator.state.config.shopify_api_key
    settings.SHOPIFY_API_SECRET = emulator.state.config.shopify_api_secret
    settings.SHOPIFY_BULK_POLL_INTERVAL = 0.01
    settings.SHOPIFY_API_URL = ""
    # The workspace reports in EUR; the shop sells in USD: the sample rates convert it.
    fx.fx_rates_load(rates=[r for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE)) if r.currency == "USD"])
    owner = User.objects.get(email="owner@conn.example")
    web.login(owner, tenant)
    page = web.page

    web.goto("/data-sources/", tenant)
    page.fill("#shop-domain-empty", "not a shop")
    page.evaluate("document.querySelector('#shop-domain-empty').removeAttribute('pattern')")
    page.locator("#connect-shopify-form-empty button").click()
    page.wait_for_url(re.compile(r".*/data-sources/$"))
    expect(page.get_by_text("Enter your store's Shopify address")).to_be_visible()
    assert not Connection.objects.exists()

    page.fill("#shop-domain-empty", SHOP)
    page.locator("#connect-shopify-form-empty button").click()
    page.wait_for_url(re.compile(rf".*/shopify/{re.escape(SHOP)}/admin/oauth/authorize\?.*"))
    expect(page.get_by_text("Shopify (emulator)")).to_be_visible()
    web.screenshot("shopify-install")
    page.click("#allow")

    page.wait_for_url(re.compile(r".*/data-sources/$"))
    connection = Connection.objects.get()
    assert connection.platform == "shopify" and connection.label == SHOP
    expect(page.get_by_text(f"{SHOP} connected")).to_be_visible()
    run = SyncRun.objects.get(connection=connection)
    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    run.refresh_from_db()
    assert run.rows > 0 and run.handed_off_at is not None

    from django.db import connection as db

    orders = 0
    for _ in range(120):
        with db.cursor() as cursor:
            cursor.execute("SELECT coalesce(sum(orders), 0) FROM fct_orders_daily")
            orders = cursor.fetchone()[0]
        if orders:
            break
        page.wait_for_timeout(500)
    assert orders > 0
    web.screenshot("data-sources-shopify")

    web.goto("/store/?period=custom&from=2026-10-22&to=2026-11-20", tenant)  # the emulator's last 30 days
    expect(page.get_by_role("heading", name="Top products")).to_be_visible()
    expect(page.locator("#top-products tbody tr")).not_to_have_count(0)
    expect(page.locator('#kpis [data-metric="orders"] .kpi-value')).not_to_have_text("—")
    web.screenshot("store")

"""The overview of a workspace with a store, in chromium: it leads with the store's revenue, MER and
blended CAC (then platform over-reporting and the platforms' own ROAS, labelled as such), before the
ad platforms' tiles, with the numbers the warehouse holds.

The data is built the way the Store page's browser test builds it: Google Ads synced from the
emulator and transformed by the real worker, the Shopify store connected through the install flow in
the browser and backfilled by the worker — through a bulk operation, as every backfill is. (The
earlier in-process version of this test "hung": it read 70 days of orders by calling `fetch_page`
without `start_chunk`, i.e. through the paged GraphQL path, 250 orders a page at 752 cost points
against the emulator's 2,000-point bucket refilling at 100 points/s; the client honours that
throttle, so ~100 pages waited ~7.5 s each — a quarter of an hour that looked like a hang.) Every page load waits for the DOM and then for named
elements, never for "network idle": a page that keeps an htmx request open (a poll, a fragment that
loads itself again) would otherwise hold the test until the suite's own limit, and every wait has a
timeout so a stuck worker fails the test with a message instead of hanging it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from accounts.models import User
from connectors.models import Connection, SyncRun
from tests.connectors.conftest import GOOGLE_USD

SHOP = "bosco-demo.myshopify.com"
RANGE = (date(2026, 10, 22), date(2026, 11, 20))  # the emulators' last 30 days (their today is pinned)
LEAD = ["store_revenue", "mer", "blended_cac", "platform_over_reporting", "roas"]


def _wait_for_transform(page: Any, sync_run_id: int, what: str) -> None:
    from warehouse.models import TransformRun

    for _ in range(240):
        if TransformRun.objects.filter(status="success", sync_run_id=sync_run_id).exists():
            return
        page.wait_for_timeout(500)
    pytest.fail(f"the worker did not transform the {what} backfill within two minutes")


def _wait_until_everything_is_transformed(page: Any) -> None:
    """Every sync run finished (a backfill may queue follow-up runs) and each one that handed off a
    window has its warehouse run done, twice in a row: the numbers stop moving."""
    from warehouse.models import TransformRun

    calm = 0
    for _ in range(240):
        runs = list(SyncRun.objects.all())
        finished = all(r.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED) for r in runs)
        handed = [r.pk for r in runs if r.handed_off_at is not None]
        done = set(TransformRun.objects.filter(status="success").values_list("sync_run_id", flat=True))
        running = TransformRun.objects.filter(status="running").exists()
        calm = calm + 1 if finished and set(handed) <= done and not running else 0
        if calm >= 3:
            return
        page.wait_for_timeout(500)
    pytest.fail("the worker did not finish the syncs and their warehouse runs within two minutes")


def _goto(web: Any, path: str, tenant: Any) -> None:
    web.page.goto(web.url(path, tenant), wait_until="domcontentloaded")


@pytest.mark.browser
@pytest.mark.celery_worker
def test_the_overview_leads_with_store_revenue_mer_and_blended_cac(
    web, celery_worker, tenant, emulator, connect, new_run, settings
) -> None:
    from django.db import transaction
    from playwright.sync_api import expect

    from connectors.sync.runs import enqueue_run
    from warehouse.queries import MetricsQuery, metrics_query
    from warehouse.services import fx

    settings.SHOPIFY_API_KEY = emulator.state.config.shopify_api_key
    settings.SHOPIFY_API_SECRET = emulator.state.config.shopify_api_secret
    settings.SHOPIFY_BULK_POLL_INTERVAL = 0.01
    settings.SHOPIFY_API_URL = ""
    fx.fx_rates_load(rates=[r for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE)) if r.currency == "USD"])
    page = web.page
    page.set_default_timeout(30_000)

    # Ad spend: a Google Ads account (USD) synced and transformed by the worker.
    ads = connect("google_ads", accounts=[GOOGLE_USD])
    ads_run = new_run(ads)
    with transaction.atomic():
        enqueue_run(ads_run)  # the worker syncs it, as "Sync now" would
    owner = User.objects.get(email="owner@conn.example")
    web.login(owner, tenant)
    for _ in range(240):
        ads_run.refresh_from_db()
        if ads_run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED):
            break
        page.wait_for_timeout(500)
    assert ads_run.status == SyncRun.Status.SUCCEEDED, ads_run.error_message
    _wait_for_transform(page, ads_run.pk, "Google Ads")

    # Without a store the overview has no store lead.
    query = f"?period=custom&from={RANGE[0].isoformat()}&to={RANGE[1].isoformat()}"
    _goto(web, f"/{query}", tenant)
    expect(page.locator("#kpis")).to_be_visible()
    assert page.locator("#store-kpis").count() == 0

    # The store: connected through Shopify's install flow in the browser, backfilled by the worker.
    _goto(web, "/data-sources/", tenant)
    page.fill("#shop-domain", SHOP)  # a source is connected already: the form in the page header
    page.locator("form:has(#shop-domain) button").click()
    page.wait_for_url(re.compile(rf".*/shopify/{re.escape(SHOP)}/admin/oauth/authorize\?.*"), wait_until="commit")
    page.click("#allow")
    page.wait_for_url(re.compile(r".*/data-sources/$"), wait_until="domcontentloaded")
    store = Connection.objects.get(platform="shopify")
    store_run = SyncRun.objects.get(connection=store)
    expect(page.locator(f"#run-{store_run.pk}")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    _wait_for_transform(page, store_run.pk, "Shopify")
    _wait_until_everything_is_transformed(page)

    _goto(web, f"/{query}", tenant)
    lead = page.locator("#store-kpis .card.kpi")
    expect(lead).to_have_count(len(LEAD))
    assert [lead.nth(i).get_attribute("data-metric") for i in range(lead.count())] == LEAD
    expect(page.locator("#store-lead-title")).to_contain_text("Your store")
    expect(lead.nth(4)).to_contain_text("platform-reported")
    # the store comes first, the platforms' own numbers after it
    assert page.evaluate(
        "document.querySelector('#store-kpis').compareDocumentPosition(document.querySelector('#kpis'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )

    def answer(*metrics: str) -> dict[str, Any]:
        return metrics_query(MetricsQuery(metrics=metrics, date_from=RANGE[0], date_to=RANGE[1])).rows[0]

    expected = answer(*LEAD[:4]) | answer("roas")
    assert expected["store_revenue"] > 0 and expected["mer"] > 0 and expected["blended_cac"] > 0
    for i, metric in enumerate(LEAD):
        shown = float(lead.nth(i).get_attribute("data-value") or "nan")
        assert shown == pytest.approx(float(expected[metric]), rel=1e-9), metric
        expect(lead.nth(i).locator(".kpi-value")).not_to_have_text("—")
    web.screenshot("overview-store")

"""The store on the dashboards: the overview leads with store revenue, MER and blended CAC once a
store is connected, the Store page lists its orders, refunds and products, a campaign shows the
orders tagged with it. Orders come from the Shopify emulator through Bosco's client and the real
warehouse models, into the scored workspace (inside the test's transaction)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from accounts.models import Membership
from connectors.oauth import StaticTokens
from connectors.platforms.shopify import ORDERS, SHOP, ShopifyClient
from devtools.emulators import EmulatorConfig, shopify_api, start_emulator_server
from insights.views.links import campaign_url
from tests.insights.conftest import yesterday_utc
from tests.insights.test_dashboards import campaign_ids, kpi_values, last_30, same
from warehouse.queries import MetricsQuery, metrics_query
from warehouse.services.fx import SAMPLE_FILE, fx_rates_load, fx_rates_read
from warehouse.services.landing import raw_records_land
from warehouse.services.transform import run_window

pytestmark = pytest.mark.django_db

SHOP_DOMAIN = "bosco-demo.myshopify.com"


@pytest.fixture(scope="module")
def store_emulator() -> Iterator[Any]:
    srv = start_emulator_server(host="127.0.0.1", port=0, config=EmulatorConfig(today=yesterday_utc(), seed=3))
    yield srv
    srv.shutdown()


@pytest.fixture
def with_store(in_scored: Any, store_emulator: Any, settings: Any) -> Any:
    settings.BOSCO_EMULATOR_URL = store_emulator.base_url
    settings.SHOPIFY_API_URL = ""
    settings.SHOPIFY_PAGE_SIZE = 250
    store_emulator.state.update_config(shopify_currency="EUR")
    end = yesterday_utc()
    start = end - timedelta(days=70)
    fx_rates_load(rates=[r for r in fx_rates_read(source=str(SAMPLE_FILE)) if r.date >= start - timedelta(days=15)])
    token = shopify_api.issue_token(store_emulator.state, SHOP_DOMAIN)
    client = ShopifyClient(tokens=StaticTokens(token, "shopify", SHOP_DOMAIN))
    days = []
    try:
        page = client.fetch_page(
            stream=SHOP, account_id=SHOP_DOMAIN, date_from=None, date_to=None, page_token="", job_id=""
        )
        raw_records_land(stream="shopify.shop", connection_id=99, sync_run_id=1, rows=page.rows)
        cursor = ""
        while True:
            page = client.fetch_page(
                stream=ORDERS, account_id=SHOP_DOMAIN, date_from=start, date_to=end, page_token=cursor, job_id=""
            )
            raw_records_land(stream="shopify.order", connection_id=99, sync_run_id=1, rows=page.rows)
            days += [r.date for r in page.rows]
            if page.next_token is None:
                break
            cursor = page.next_token
    finally:
        client.close()
    run_window(
        connection_id=99,
        platform="shopify",
        account_ids=[SHOP_DOMAIN],
        date_from=min(days),
        date_to=end,
        sync_run_id=1,
    )
    return in_scored


@pytest.fixture
def owner_client(in_scored: Any, workspace_client: Any) -> Any:
    return workspace_client(Membership.objects.get(workspace=in_scored, role="owner").user, in_scored)


def test_without_a_store_the_overview_has_no_store_lead(owner_client: Any) -> None:
    body = owner_client.get("/").content.decode()
    assert 'id="store-kpis"' not in body
    assert "Connect Shopify" in owner_client.get("/store/").content.decode()


def test_the_overview_leads_with_store_revenue_mer_and_blended_cac(with_store: Any, owner_client: Any) -> None:
    d1, d2 = last_30()
    body = owner_client.get("/").content.decode()

    lead = body.split('id="store-kpis"', 1)[1].split("</section>", 1)[0]
    shown = kpi_values('class="card kpi"' + lead.split('class="card kpi"', 1)[1])
    assert list(shown) == ["store_revenue", "mer", "blended_cac", "platform_over_reporting", "roas"]
    expected = metrics_query(
        MetricsQuery(
            metrics=("store_revenue", "mer", "blended_cac", "platform_over_reporting", "roas"), date_from=d1, date_to=d2
        )
    ).rows[0]
    for metric, value in shown.items():
        assert same(value, expected[metric]), metric
    assert "ROAS · platform-reported" in lead
    assert expected["mer"] > 0 and expected["blended_cac"] > 0
    # the store comes first, the platforms' own numbers after it
    assert body.index('id="store-kpis"') < body.index('id="kpis"')
    # narrowed to a campaign search, there is no store counterpart: no lead
    assert 'id="store-kpis"' not in owner_client.get("/?q=zzz-no-campaign").content.decode()


def test_the_store_page_lists_orders_refunds_and_products(with_store: Any, owner_client: Any) -> None:
    d1, d2 = last_30()
    response = owner_client.get("/store/")

    assert response.status_code == 200
    body = response.content.decode()
    shown = kpi_values(body)
    expected = metrics_query(
        MetricsQuery(metrics=("orders", "store_revenue", "refunds"), date_from=d1, date_to=d2)
    ).rows[0]
    assert int(shown["orders"]) == expected["orders"] > 0
    assert same(shown["store_revenue"], expected["store_revenue"])
    assert (
        len(re.findall(r"<tr><th scope=\"row\">", body.split('id="top-products"', 1)[1].split("</table>", 1)[0])) == 8
    )
    assert 'id="recent-refunds"' in body


def test_a_campaign_page_shows_the_store_orders_tagged_with_it(with_store: Any, owner_client: Any) -> None:
    body = owner_client.get(campaign_url(campaign_ids()[0])).content.decode()
    section = body.split('id="utm-orders"', 1)[1].split("</section>", 1)[0]
    # the scored workspace's campaigns are synthetic: no emulator order names them
    assert "No store order in" in section and "utm_campaign=" in section

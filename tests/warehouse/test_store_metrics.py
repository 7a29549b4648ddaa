"""Shopify orders → fct_orders_daily → the metrics layer, against the emulators' truth.

Ads and orders are landed from the emulators over real HTTP (ads by the warehouse's stand-in
reader, orders by Bosco's own Shopify client), transformed by the real models, and asked through
`metrics_query`. MER and blended CAC must equal a hand computation from the emulators' truth in
the reporting currency, for shops that sell in several currencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection

from connectors.oauth import StaticTokens
from connectors.platforms.shopify import ORDERS, SHOP, ShopifyClient
from devtools.emulators import shopify_api
from warehouse.models import QuarantinedRow, Restatement
from warehouse.queries import MetricsQuery, QueryError, metrics_query
from warehouse.selectors.store import orders_by_utm_campaign
from warehouse.services.fx import FxRateRow
from warehouse.services.landing import raw_records_land
from warehouse.services.transform import run_window

from .test_emulator_to_facts import CONFIG, SINCE, TODAY, _rate_finder, _sync, _truth

emulators = pytest.importorskip("devtools.emulators")
pytestmark = pytest.mark.django_db

SHOP_DOMAIN = "bosco-demo.myshopify.com"
MICROS = Decimal(1_000_000)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    srv = emulators.start_emulator_server(host="127.0.0.1", port=0, config=CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def srv(emulator: Any, settings: Any) -> Any:
    emulator.state.reset()
    settings.BOSCO_EMULATOR_URL = emulator.base_url
    settings.SHOPIFY_API_URL = ""
    settings.SHOPIFY_PAGE_SIZE = 250
    return emulator


def land_shop(srv: Any, *, since: date, until: date, sync_run_id: int) -> tuple[date, date]:
    """Orders updated in [since, until] through Bosco's client, landed; returns their order days."""
    client = ShopifyClient(tokens=StaticTokens(shopify_api.issue_token(srv.state, SHOP_DOMAIN), "shopify", SHOP_DOMAIN))
    days: list[date] = []
    try:
        page = client.fetch_page(
            stream=SHOP, account_id=SHOP_DOMAIN, date_from=None, date_to=None, page_token="", job_id=""
        )
        raw_records_land(stream="shopify.shop", connection_id=9, sync_run_id=sync_run_id, rows=page.rows)
        token = ""
        while True:
            page = client.fetch_page(
                stream=ORDERS, account_id=SHOP_DOMAIN, date_from=since, date_to=until, page_token=token, job_id=""
            )
            raw_records_land(stream="shopify.order", connection_id=9, sync_run_id=sync_run_id, rows=page.rows)
            days += [r.date for r in page.rows if r.date is not None]
            if page.next_token is None:
                break
            token = page.next_token
    finally:
        client.close()
    return min(days), max(days)


def transform_shop(first: date, last: date, sync_run_id: int) -> dict[str, Any]:
    return run_window(
        connection_id=9,
        platform="shopify",
        account_ids=[SHOP_DOMAIN],
        date_from=first,
        date_to=max(last, TODAY),
        sync_run_id=sync_run_id,
    )


def _hand(srv: Any, rates: list[FxRateRow], currency: str) -> dict[str, Decimal]:
    """Store and ad totals over [SINCE, TODAY] in EUR, computed here from the emulators' truth."""
    per_euro = _rate_finder(rates)
    truth = shopify_api.shop_data(srv.state, SHOP_DOMAIN).truth(SINCE, TODAY)
    assert truth["currency"] == currency
    out = {"net": Decimal(0), "new_customers": Decimal(0), "orders": Decimal(0), "refunds": Decimal(0)}
    for day, values in truth["days"].items():
        d = date.fromisoformat(day)
        rate = Decimal(1) if currency == "EUR" else (Decimal(1) / per_euro(currency, d)).quantize(Decimal("1e-14"))
        net = (Decimal(values["gross"]) - Decimal(values["discounts"]) - Decimal(values["refunds"])) * MICROS
        out["net"] += (net * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        out["refunds"] += Decimal(values["refunds"])
        out["new_customers"] += values["new_customers"]
        out["orders"] += values["orders"]
    out["spend"] = sum((t["spend_eur_micros"] for t in _truth(srv, rates).values()), Decimal(0))
    out["claimed"] = sum((t["value_eur_micros"] for t in _truth(srv, rates).values()), Decimal(0))
    return out


@pytest.mark.parametrize("currency", ["EUR", "USD", "JPY"])
def test_mer_and_blended_cac_equal_a_hand_computation_from_the_emulators(
    srv: Any, with_rates: Any, sample_rates: list[FxRateRow], currency: str
) -> None:
    srv.state.update_config(shopify_currency=currency)
    _sync(srv, sync_run_id=1)
    transform_shop(*land_shop(srv, since=SINCE, until=TODAY, sync_run_id=1), sync_run_id=1)

    result = metrics_query(
        MetricsQuery(
            metrics=(
                "store_revenue",
                "spend",
                "mer",
                "blended_cac",
                "orders",
                "new_customers",
                "aov",
                "platform_over_reporting",
                "conversion_value",
                "new_customer_roas",
            ),
            date_from=SINCE,
            date_to=TODAY,
        )
    )

    hand = _hand(srv, sample_rates, currency)
    row = result.rows[0]
    assert result.source == "rollup_day_platform+fct_orders_daily" and result.currency == "EUR"
    assert row["store_revenue"] == (hand["net"] / MICROS).quantize(Decimal("0.000001"))
    assert row["spend"] == (hand["spend"] / MICROS).quantize(Decimal("0.000001"))
    assert row["orders"] == hand["orders"] and row["new_customers"] == hand["new_customers"]
    assert row["mer"] == pytest.approx(float(hand["net"]) / float(hand["spend"]), rel=1e-12)
    assert row["blended_cac"] == pytest.approx(float(hand["spend"]) / 1e6 / float(hand["new_customers"]), rel=1e-12)
    assert row["aov"] == pytest.approx(float(hand["net"]) / 1e6 / float(hand["orders"]), rel=1e-12)
    # The platforms together claim more than the store took, by the emulator's factor (1.2–1.6 of gross).
    assert 1.15 < row["platform_over_reporting"] < 2.0
    assert row["platform_over_reporting"] == pytest.approx(float(hand["claimed"]) / float(hand["net"]), rel=1e-12)
    assert 0 < row["new_customer_roas"] < row["mer"]


def test_daily_series_join_both_facts_by_day_and_compare_with_the_previous_period(srv: Any, with_rates: Any) -> None:
    _sync(srv, sync_run_id=1)
    transform_shop(*land_shop(srv, since=SINCE - timedelta(days=20), until=TODAY, sync_run_id=1), sync_run_id=1)
    week_from = TODAY - timedelta(days=6)

    series = metrics_query(
        MetricsQuery(
            metrics=("mer", "store_revenue", "spend"),
            dimensions=("day",),
            date_from=week_from,
            date_to=TODAY,
            compare="previous_period",
        )
    ).rows

    assert [r["day"] for r in series] == [week_from + timedelta(days=i) for i in range(7)]
    for r in series:
        one = metrics_query(
            MetricsQuery(metrics=("store_revenue", "spend"), date_from=r["day"], date_to=r["day"])
        ).rows[0]
        assert (r["store_revenue"], r["spend"]) == (one["store_revenue"], one["spend"])
        assert r["mer"] == pytest.approx(float(one["store_revenue"]) / float(one["spend"]))
        assert r["mer_previous"] is not None
    with pytest.raises(QueryError, match="store metrics"):
        MetricsQuery(metrics=("mer",), dimensions=("campaign",), date_from=week_from, date_to=TODAY)


def test_a_refund_arriving_later_restates_both_of_its_days(srv: Any, with_rates: Any, settings: Any) -> None:
    transform_shop(*land_shop(srv, since=SINCE, until=TODAY, sync_run_id=1), sync_run_id=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT date_day, refunds_by_order_date_micros, refunds_micros FROM fct_orders_daily")
        before = {r[0]: (r[1], r[2]) for r in cursor.fetchall()}
    later = TODAY + timedelta(days=6)
    srv.state.update_config(today=later)

    first, last = land_shop(srv, since=TODAY - timedelta(days=3), until=later, sync_run_id=2)
    transform_shop(first, last, sync_run_id=2)

    truth = shopify_api.shop_data(srv.state, SHOP_DOMAIN).truth(first, later)["days"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_day, refunds_by_order_date_micros, refunds_micros, orders FROM fct_orders_daily"
            " WHERE date_day BETWEEN %s AND %s",
            [SINCE, later],
        )
        after = {r[0]: r[1:] for r in cursor.fetchall()}
    changed = [d for d in before if d in after and after[d][0] != before[d][0]]
    assert changed and all(after[d][0] > before[d][0] for d in changed), "refunds of earlier orders arrived"
    for d, (_, refunds, orders) in after.items():
        if d.isoformat() in truth and d >= first:
            assert Decimal(refunds) / MICROS == Decimal(truth[d.isoformat()]["refunds"]), d
            assert orders == truth[d.isoformat()]["orders"], d
    logged = Restatement.objects.filter(platform="shopify", metric="refunds_by_order_date")
    assert {r.date_day for r in logged} >= set(changed)
    assert all(r.new_value > r.old_value for r in logged)


def test_a_currency_without_rates_is_quarantined_with_a_reason_not_summed(srv: Any, with_rates: Any) -> None:
    srv.state.update_config(shopify_currency="XAU")
    transform_shop(*land_shop(srv, since=TODAY - timedelta(days=5), until=TODAY, sync_run_id=1), sync_run_id=1)

    held = QuarantinedRow.objects.filter(model="fct_orders_daily", test__startswith="fx_rate_available")
    assert held.exists() and "no ECB reference rate to convert XAU to EUR" in held.first().reason
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM fct_orders_daily")
        assert cursor.fetchone()[0] == 0


def test_orders_carrying_a_campaigns_utm_tag_are_found_by_its_name(srv: Any, with_rates: Any) -> None:
    transform_shop(*land_shop(srv, since=SINCE, until=TODAY, sync_run_id=1), sync_run_id=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT utm_campaign, count(*) FROM stg_shopify__order WHERE utm_campaign IS NOT NULL"
            " AND date BETWEEN %s AND %s GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            [SINCE, TODAY],
        )
        name, count = cursor.fetchone()

    found = orders_by_utm_campaign(campaign_name=name.upper(), date_from=SINCE, date_to=TODAY)

    assert found.orders == count and len(found.recent) == min(count, 10)
    assert all(o.utm_campaign == name for o in found.recent)
    assert found.revenue and all(v > 0 for v in found.revenue.values())

"""Hand-made journeys landed into a workspace: the pure test's visits (tests/insights/ml/test_journeys.py)
as `tracking_event` rows, shifted to the last week, with two store orders in the warehouse.

The expected numbers are the ones worked out by hand in that test: paths
M > G > E (100), M (50), E > G (80), E (40) converted, G twice without a conversion, and one
store order (30) that no tracked visit reaches.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from tests.insights.ml.test_journeys import HAND_EVENTS, HAND_ORDERS
from tracking.models import Event
from warehouse.models import OrdersDaily, StgShopifyOrder

HAND_ORIGIN = datetime(2026, 11, 1, tzinfo=UTC)
SHOP = "hand-store.myshopify.com"


def shift(moment: datetime, first_day: date) -> datetime:
    """The hand journeys' November 1st becomes `first_day` (UTC midnight)."""
    return datetime.combine(first_day, datetime.min.time(), tzinfo=UTC) + (moment - HAND_ORIGIN)


def google_campaign_name() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM dim_campaign WHERE platform = 'google_ads' AND name IS NOT NULL LIMIT 1")
        return str(cursor.fetchone()[0])


def land_hand_journeys(first_day: date) -> None:
    """The hand journeys as events (current schema), the G touch of P1 tagged with a real campaign."""
    campaign = google_campaign_name()
    now = timezone.now()
    rows = []
    for e in HAND_EVENTS:
        utm_campaign = campaign if e.utm_campaign == "Brand Search" else e.utm_campaign
        rows.append(
            Event(
                event_id=uuid.uuid4(),
                received_at=now,
                occurred_at=shift(e.occurred_at, first_day),
                kind=e.kind,
                anonymous_id=e.visitor,
                session_hint="",
                customer_id=e.customer_id,
                email_sha256=e.email_sha256,
                order_id=e.order_id,
                revenue=Decimal(str(e.revenue)) if e.kind == "order" else None,
                currency="EUR" if e.kind == "order" else "",
                url=f"https://{e.host}/",
                path="/",
                referrer=f"https://{e.referrer_host}/" if e.referrer_host else "",
                referrer_host=e.referrer_host,
                utm_source=e.utm_source,
                utm_medium=e.utm_medium,
                utm_campaign=utm_campaign,
                click_id_type=e.click_id_type,
                click_id=e.click_id,
            )
        )
    Event.objects.bulk_create(rows)
    for order in HAND_ORDERS:
        store_order_create(
            order_id=order.order_id,
            created=shift(order.created_at, first_day),
            value=order.value,
            customer_id=order.customer_id,
        )


def store_order_create(
    *,
    order_id: str,
    created: datetime,
    value: float,
    customer_id: str,
    utm_source: str = "",
    utm_campaign: str = "",
    returning: bool = False,
) -> None:
    """One staged Shopify order in EUR, and its day in the orders fact (rate 1) if not there yet."""
    now = timezone.now()
    micros = int(value * 1_000_000)
    StgShopifyOrder.objects.create(
        record_key=f"{SHOP}:{order_id}",
        connection_id=1,
        sync_run_id=1,
        fetched_at=now,
        run_id=1,
        account_id=SHOP,
        order_id=order_id,
        name=f"#{order_id}",
        date=created.date(),
        created_at=created,
        updated_at=created,
        currency="EUR",
        gross_micros=micros,
        discounts_micros=0,
        shipping_micros=0,
        tax_micros=0,
        total_micros=micros,
        refunded_micros=0,
        items=1,
        customer_id=customer_id,
        customer_order_index=2 if returning else 1,
        is_new_customer=not returning,
        source_name="web",
        utm_source=utm_source or None,
        utm_campaign=utm_campaign or None,
        is_test=False,
        is_cancelled=False,
    )
    OrdersDaily.objects.get_or_create(
        account_id=SHOP,
        date_day=created.date(),
        defaults={
            "orders": 1,
            "new_customers": 1,
            "returning_customers": 0,
            "items": 1,
            "gross_sales_micros": 0,
            "discounts_micros": 0,
            "refunds_micros": 0,
            "refunds_by_order_date_micros": 0,
            "net_revenue_micros": 0,
            "new_customer_revenue_micros": 0,
            "currency": "EUR",
            "time_zone": "UTC",
            "reporting_currency": "EUR",
            "gross_sales_reporting_micros": 0,
            "discounts_reporting_micros": 0,
            "refunds_reporting_micros": 0,
            "refunds_by_order_date_reporting_micros": 0,
            "net_revenue_reporting_micros": 0,
            "new_customer_revenue_reporting_micros": 0,
            "fx_rate": Decimal(1),
            "fx_rate_date": created.date(),
            "fx_fallback": False,
            "fx_source": "none",
            "is_settling": False,
            "run_id": 1,
        },
    )


def hand_period(as_of: date) -> date:
    """The first day of the hand journeys' week, for a build whose last day is `as_of`."""
    return as_of - timedelta(days=6)

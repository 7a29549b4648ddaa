"""The demo's visitors: simulated journeys to the demo store's orders, the recent ones POSTed over
real HTTP to a running server's collect endpoint, older ones through the same parser and landing,
then attributed — and a second run adds nothing."""

from __future__ import annotations

import random
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from devtools.demo_journeys import HTTP_WINDOW, ensure_demo_journeys, simulate_visits
from insights.models import AttributionImport, AttributionResult
from tests.insights.conftest import land_history, yesterday_utc
from tests.insights.journey_data import store_order_create
from tracking.collect import buffer
from tracking.models import Event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _campaign(platform: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM dim_campaign WHERE platform = %s AND name IS NOT NULL LIMIT 1", [platform])
        return str(cursor.fetchone()[0])


def test_demo_visits_reach_the_collect_endpoint_and_feed_attribution(live_server, make_workspace) -> None:
    workspace = make_workspace("demo-jr", reporting_currency="EUR", time_zone="UTC")
    now = timezone.now()
    rng = random.Random(5)
    with schema_context(workspace.schema_name):
        land_history(as_of=yesterday_utc(), days=12)
        google, meta = _campaign("google_ads"), _campaign("meta")
        for i in range(40):
            utm = rng.choice([("google", google), ("facebook", meta), ("", "")])
            store_order_create(
                order_id=f"50{i:04d}",
                created=now - timedelta(hours=rng.uniform(1, 10 * 24)),
                value=rng.uniform(30, 200),
                customer_id=f"61{i % 30:04d}",
                utm_source=utm[0],
                utm_campaign=utm[1],
                returning=i >= 30,
            )
    port = urlsplit(live_server.url).port
    accepted_before = int(buffer.counts(workspace.schema_name).get("accepted", 0))

    first = ensure_demo_journeys(
        workspace=workspace, collect_base=live_server.url, host=f"{settings.BOSCO_DOMAIN}:{port}", days=12
    )

    assert first["sent"] > 0 and first["history"] > 0  # both ways were used
    counts = buffer.counts(workspace.schema_name)
    assert int(counts["accepted"]) - accepted_before == first["sent"]  # counted by the real endpoint
    with schema_context(workspace.schema_name):
        stored = Event.objects.count()
        # every simulated event stored once (the endpoint's landing task may land some first)
        assert stored == first["simulated"] == first["history"] + first["sent"]
        recent = Event.objects.filter(occurred_at__gte=now - HTTP_WINDOW)
        assert recent.filter(browser="Chrome", ip_truncated="127.0.0.0").exists()  # reduced by the endpoint
        assert Event.objects.filter(kind="order").count() >= 25  # about 8 in 10 orders are tracked
        assert set(Event.objects.filter(kind="order").values_list("order_id", flat=True)) <= {
            f"50{i:04d}" for i in range(40)
        }
        record = AttributionImport.objects.get(source="journeys")
        channels = set(AttributionResult.objects.filter(attribution_import=record).values_list("channel", flat=True))
        assert {"Google Ads", "Meta Ads"} <= channels
        assert record.details["platform_claims"]["Google Ads"]["conversion_value"] > 0
        # the build covers the days given visits, not the nightly 90 (whose older orders have none)
        assert (record.period_end - record.period_start).days + 1 == 12

    second = ensure_demo_journeys(
        workspace=workspace, collect_base=live_server.url, host=f"{settings.BOSCO_DOMAIN}:{port}", days=12
    )
    assert second["history"] == 0 and second["landed"] == 0  # same event ids: nothing twice
    assert second["status"] == "unchanged"
    with schema_context(workspace.schema_name):
        assert Event.objects.count() == stored


def test_simulated_journeys_end_in_the_store_orders_through_the_demo_campaigns() -> None:
    from devtools.demo_journeys import DemoOrder

    now = timezone.now()
    orders = [
        DemoOrder(f"o{i}", f"c{i}", now - timedelta(days=i % 9, hours=1), 50.0, "USD", "google", "Brand", i % 4 == 0)
        for i in range(60)
    ]
    events = simulate_visits(orders=orders, campaigns={"google_ads": ["Brand"], "meta": ["Prospecting"]}, now=now)

    placed = [e for e in events if e["kind"] == "order"]
    assert 40 <= len(placed) <= 58
    assert all(e["occurred_at"] <= now for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    # the order's own UTM tag names the last session's campaign
    for order_event in placed[:10]:
        visitor = order_event["anonymous_id"]
        before = [
            e for e in events if e["anonymous_id"] == visitor and e["kind"] == "page_view" and "utm_campaign" in e
        ]
        assert before and before[-1]["utm_campaign"] == "Brand"
    again = simulate_visits(orders=orders, campaigns={"google_ads": ["Brand"], "meta": ["Prospecting"]}, now=now)
    assert [e["event_id"] for e in again] == [e["event_id"] for e in events]


def test_browsing_visitors_also_come_through_paid_channels_only_orders_name() -> None:
    """TikTok is not in the browsing mix, yet orders carry its tags: without browsers of its own,
    every journey through it would convert."""
    from devtools.demo_journeys import DemoOrder

    now = timezone.now()
    orders = [
        DemoOrder(f"t{i}", f"c{i}", now - timedelta(days=1 + i % 5, hours=3), 40.0, "EUR", source, name, False)
        for i in range(80)
        for source, name in [("tiktok", "Spring clips") if i % 4 == 0 else ("google", "Brand")]
    ]
    events = simulate_visits(orders=orders, campaigns={"google_ads": ["Brand"], "meta": ["Prospecting"]}, now=now)
    buyers = {e["anonymous_id"] for e in events if e["kind"] == "order"}
    tiktok_browsers = {
        e["anonymous_id"]
        for e in events
        if e["kind"] == "page_view" and e.get("utm_source") == "tiktok" and e["anonymous_id"] not in buyers
    }
    assert tiktok_browsers  # non-buyers who came from TikTok
    browsing = [e for e in events if e["anonymous_id"] in tiktok_browsers and e.get("utm_source") == "tiktok"]
    assert {e["utm_campaign"] for e in browsing} == {"Spring clips"}  # the campaign the orders name

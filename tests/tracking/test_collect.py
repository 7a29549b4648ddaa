"""The collect endpoint: what it accepts and stores, and every kind of bad beacon refused and counted
(per workspace, never touching another's), with the landed rows read back from PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from tests.tracking.conftest import SHOP, beacon, event, fresh_ip, post_beacon
from tracking.collect import buffer
from tracking.models import Event
from tracking.services.landing import land_pending
from tracking.services.settings import tracking_key_rotate, tracking_settings_update

pytestmark = pytest.mark.django_db

Tracked = Callable[..., Any]


def _land(schema: str) -> list[Event]:
    with schema_context(schema):
        land_pending(schema=schema)
        return list(Event.objects.order_by("occurred_at", "id"))


def test_accepted_beacon_is_stored_reduced_for_privacy(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    ip = "203.0.113.77"
    body = beacon(
        event(
            url=SHOP + "/shoes?utm_source=google&utm_medium=cpc&utm_campaign=winter&gclid=Cj0abc",
            ref="https://www.google.com/search?q=shoes",
            aid="visitor-1",
            sid="tab-1",
        ),
        event("identify", aid="visitor-1", data={"customer_id": "c-9", "email": " Ana@Example.com "}),
        event(
            "order", aid="visitor-1", data={"order_id": "1001", "revenue": 59.9, "currency": "eur", "cart_token": "ct"}
        ),
    )
    response = post_beacon(client, tracking.public_key, body, ip=ip)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP

    rows = _land(workspace.schema_name)
    assert [row.kind for row in rows] == ["page_view", "identify", "order"]
    view, identify, order = rows
    assert (view.utm_source, view.utm_medium, view.utm_campaign) == ("google", "cpc", "winter")
    assert (view.click_id_type, view.click_id) == ("gclid", "Cj0abc")
    assert (view.path, view.referrer_host, view.session_hint) == ("/shoes", "www.google.com", "tab-1")
    assert view.ip_truncated == "203.0.113.0"
    assert (view.browser, view.os, view.device) == ("Chrome", "Windows", "desktop")
    assert identify.customer_id == "c-9"
    assert identify.email_sha256 == hashlib.sha256(b"ana@example.com").hexdigest()
    assert "ana@" not in str(identify.properties).lower()
    assert (order.order_id, str(order.revenue), order.currency, order.cart_token) == ("1001", "59.9000", "EUR", "ct")
    counts = buffer.counts(workspace.schema_name)
    assert counts["accepted"] == 3 and counts["landed"] == 3


def test_ipv6_is_truncated_to_48_bits(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    assert post_beacon(client, tracking.public_key, beacon(event()), ip="2001:db8:abcd:12:1:2:3:4").status_code == 204
    assert _land(workspace.schema_name)[0].ip_truncated == "2001:db8:abcd::"


def test_preflight_answers_allowed_origins_only(client: Client, tracked_workspace: Tracked) -> None:
    _workspace, tracking = tracked_workspace()
    url = f"/collect/v1/{tracking.public_key}"
    ok = client.options(url, HTTP_HOST="localhost", HTTP_ORIGIN=SHOP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in ok["Access-Control-Allow-Methods"]
    forged = client.options(url, HTTP_HOST="localhost", HTTP_ORIGIN="https://evil.example")
    assert forged.status_code == 403
    assert "Access-Control-Allow-Origin" not in forged


def test_forged_or_missing_origin_is_refused_and_counted(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    assert post_beacon(client, tracking.public_key, beacon(event()), origin="https://evil.example").status_code == 403
    assert post_beacon(client, tracking.public_key, beacon(event()), origin="").status_code == 403
    # a look-alike of an allowed origin is another origin
    assert post_beacon(client, tracking.public_key, beacon(event()), origin=SHOP + ".evil.example").status_code == 403
    assert buffer.counts(workspace.schema_name)["rejected:forged_origin"] == 3
    assert _land(workspace.schema_name) == []


def test_unknown_and_rotated_keys_are_refused(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    before = int(buffer.counts(buffer.UNKNOWN).get("rejected:unknown_key", 0))
    assert post_beacon(client, "pk_doesnotexist123456", beacon(event())).status_code == 404
    assert int(buffer.counts(buffer.UNKNOWN)["rejected:unknown_key"]) >= before + 1

    old_key = tracking.public_key
    assert post_beacon(client, old_key, beacon(event())).status_code == 204
    rotated = tracking_key_rotate(workspace=workspace)
    refused = post_beacon(client, old_key, beacon(event()))
    assert refused.status_code == 410
    assert "replaced" in refused.json()["message"]
    assert post_beacon(client, rotated.public_key, beacon(event())).status_code == 204
    assert buffer.counts(workspace.schema_name)["rejected:rotated_key"] == 1
    assert len(_land(workspace.schema_name)) == 2


def test_oversized_malformed_and_bot_beacons_are_refused(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    key = tracking.public_key
    huge = beacon(event(data={"blob": "x" * 40_000}))
    assert post_beacon(client, key, huge).status_code == 413
    assert post_beacon(client, key, beacon(*[event() for _ in range(51)])).status_code == 413
    assert post_beacon(client, key, b"{not json").status_code == 400
    assert post_beacon(client, key, b'{"events": []}').status_code == 400
    assert post_beacon(client, key, beacon({"id": "not-a-uuid", "type": "page_view", "t": 1})).status_code == 400
    assert (
        post_beacon(client, key, beacon(event("order", data={"order_id": "1", "currency": "EUROS"}))).status_code == 400
    )
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert post_beacon(client, key, beacon(event()), user_agent=googlebot).status_code == 403
    assert post_beacon(client, key, beacon(event()), user_agent="").status_code == 403
    # one bad event in a batch is dropped and counted; the good ones are kept
    mixed = beacon(event(), {"id": "bad", "type": "page_view", "t": 1}, event("event", name="signup"))
    assert post_beacon(client, key, mixed).status_code == 204
    counts = buffer.counts(workspace.schema_name)
    assert counts["rejected:oversized"] == 2
    assert counts["rejected:malformed"] == 2
    assert counts["rejected:invalid_event"] == 3
    assert counts["rejected:bot"] == 2
    assert [row.kind for row in _land(workspace.schema_name)] == ["page_view", "event"]


def test_clock_skew_is_corrected_or_refused(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    key = tracking.public_key
    now_ms = time.time() * 1000
    day_ms = 86_400_000
    # a device whose clock runs a day ahead: its events are shifted back by the same offset
    ahead = beacon(event(t_ms=now_ms + day_ms - 5000), sent_at_ms=now_ms + day_ms)
    assert post_beacon(client, key, ahead).status_code == 204
    # an event queued three days before it was sent (the clock itself is right): too old, dropped
    stale = beacon(event(t_ms=now_ms - 3 * day_ms), event(t_ms=now_ms - 1000))
    assert post_beacon(client, key, stale).status_code == 204
    # a clock years off
    assert post_beacon(client, key, beacon(event(t_ms=0), sent_at_ms=1000)).status_code == 400
    # no send time: an event in the far future is refused
    future = b'{"events": [{"id": "6f1c0ed3-5b55-4d5e-8f41-1b0a3e0e4c2a", "type": "page_view", "t": %d}]}' % int(
        now_ms + 2 * day_ms
    )
    assert post_beacon(client, key, future).status_code == 400
    rows = _land(workspace.schema_name)
    assert len(rows) == 2
    for row in rows:
        assert abs((row.received_at - row.occurred_at).total_seconds()) < 60
    counts = buffer.counts(workspace.schema_name)
    assert counts["clock_corrected"] == 1
    assert counts["rejected:clock_skew"] == 3


def test_replayed_beacon_is_stored_once(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    body = beacon(event(), event("event", name="add_to_cart"))
    for _ in range(3):
        assert post_beacon(client, tracking.public_key, body).status_code == 204
    assert len(_land(workspace.schema_name)) == 2
    # a replay after landing is dropped as well
    assert post_beacon(client, tracking.public_key, body).status_code == 204
    assert len(_land(workspace.schema_name)) == 2
    assert buffer.counts(workspace.schema_name)["rejected:duplicate"] == 6


def test_flood_from_one_address_is_limited_without_touching_another_workspace(
    client: Client, tracked_workspace: Tracked, settings: Any
) -> None:
    settings.TRACKING_RATE_PER_IP_MINUTE = 5
    flooded, flooded_tracking = tracked_workspace("flooded")
    other, other_tracking = tracked_workspace("other")
    attacker = fresh_ip()
    statuses = [
        post_beacon(client, flooded_tracking.public_key, beacon(event()), ip=attacker).status_code for _ in range(8)
    ]
    assert statuses[:5] == [204] * 5
    assert set(statuses[5:]) == {429}
    # the same /24 is one sender
    neighbour = attacker.rsplit(".", 1)[0] + ".99"
    assert post_beacon(client, flooded_tracking.public_key, beacon(event()), ip=neighbour).status_code == 429
    # another visitor of the flooded shop, and the other workspace, carry on
    assert post_beacon(client, flooded_tracking.public_key, beacon(event()), ip=fresh_ip()).status_code == 204
    assert post_beacon(client, other_tracking.public_key, beacon(event()), ip=fresh_ip()).status_code == 204
    assert buffer.counts(flooded.schema_name)["rejected:rate_limited_ip"] == 4
    assert "rejected:rate_limited_ip" not in buffer.counts(other.schema_name)
    assert len(_land(flooded.schema_name)) == 6
    assert len(_land(other.schema_name)) == 1


def test_workspace_rate_limit(client: Client, tracked_workspace: Tracked, settings: Any) -> None:
    settings.TRACKING_RATE_PER_KEY_MINUTE = 3
    workspace, tracking = tracked_workspace()
    statuses = [post_beacon(client, tracking.public_key, beacon(event()), ip=fresh_ip()).status_code for _ in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert buffer.counts(workspace.schema_name)["rejected:rate_limited_key"] == 2


def test_switched_off_workspace_refuses_and_keeps_what_it_had(client: Client, tracked_workspace: Tracked) -> None:
    workspace, tracking = tracked_workspace()
    assert post_beacon(client, tracking.public_key, beacon(event())).status_code == 204
    tracking_settings_update(
        workspace=workspace,
        allowed_origins=[SHOP],
        consent_mode=False,
        retention_months=13,
        lookback_days=30,
        enabled=False,
    )
    assert post_beacon(client, tracking.public_key, beacon(event())).status_code == 403
    assert buffer.counts(workspace.schema_name)["rejected:disabled"] == 1
    assert len(_land(workspace.schema_name)) == 1


def test_only_post_and_options(client: Client, tracked_workspace: Tracked) -> None:
    _workspace, tracking = tracked_workspace()
    assert client.get(f"/collect/v1/{tracking.public_key}", HTTP_HOST="localhost").status_code == 405

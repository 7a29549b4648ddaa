"""The demo store's visitors: simulated visits sent through Bosco's real collect endpoint.

The demo shop's orders come from the Shopify emulator (they follow the ads' claimed value); this
module gives most of them a journey that led there — a few sessions over the days before the
order, through the demo's Google Ads and Meta campaigns (click ids and UTM tags naming the real demo
campaigns), organic search, social, e-mail or direct — ending in the order the snippet reports
with the store's own order id and customer id. Visitors who never buy browse too (the Markov
model needs them), and returning customers come back on a second device and identify.

Events are what the snippet would send (field names of the collect payload); `send_visits` POSTs
them in batches to the running server's collect path, as the browser would. Event ids are derived
from the order and the step (uuid5), so sending the demo again is deduplicated by the endpoint.

    events = simulate_visits(orders=orders, campaigns=campaigns, days=28)
    send_visits(events, base_url="http://localhost:8000", public_key=key, origin="https://bosco-demo.myshopify.com")
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_ORIGIN_HOST = "bosco-demo.myshopify.com"
NAMESPACE = uuid.UUID("6f1d3a52-0a7e-4c3b-9d55-5b0c2f9e7a10")
#: orders the snippet saw (the rest: ad blockers, other devices never identified, the POS)
TRACKED_ORDER_SHARE = 0.8
#: browsing visitors who never buy, per tracked order
NON_BUYERS_PER_ORDER = 2.5
PAGES = ("/", "/collections/all", "/products/merino-crew-sweater", "/products/linen-shirt", "/products/canvas-tote",
         "/products/trail-sneakers", "/products/rain-jacket", "/cart")  # fmt: skip
#: (channel, weight) of a session that is not the one the order's own UTM tag names
CHANNELS = (
    ("google_ads", 0.26),
    ("meta", 0.24),
    ("organic_search", 0.16),
    ("organic_social", 0.08),
    ("email", 0.10),
    ("referral", 0.04),
    ("direct", 0.12),
)
_UTM_CHANNEL = {"google": "google_ads", "facebook": "meta", "instagram": "meta", "tiktok": "tiktok"}


@dataclass(frozen=True)
class DemoOrder:
    order_id: str
    customer_id: str
    created_at: datetime  # UTC
    value: float  # gross − discounts, shop currency
    currency: str
    utm_source: str
    utm_campaign: str
    returning: bool


def _event_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def _landing(channel: str, rng: random.Random, campaigns: dict[str, list[str]], campaign: str = "") -> dict[str, str]:
    """The URL parameters and referrer of a session's first page for a channel."""
    if channel in ("google_ads", "meta", "tiktok"):
        name = campaign or (rng.choice(campaigns[channel]) if campaigns.get(channel) else "")
        click = {"google_ads": "gclid", "meta": "fbclid", "tiktok": "ttclid"}[channel]
        source, medium = {"google_ads": ("google", "cpc"), "meta": ("facebook", "paid_social"),
                          "tiktok": ("tiktok", "paid_social")}[channel]  # fmt: skip
        referrer = {"google_ads": "www.google.com", "meta": "l.facebook.com", "tiktok": "www.tiktok.com"}[channel]
        return {
            "click_id_type": click,
            "click_id": f"{click[:2].upper()}{rng.getrandbits(48):012x}",
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": name,
            "referrer_host": referrer,
        }
    if channel == "organic_search":
        return {"referrer_host": rng.choice(("www.google.com", "www.google.com", "www.bing.com", "duckduckgo.com"))}
    if channel == "organic_social":
        return {"referrer_host": rng.choice(("l.instagram.com", "www.pinterest.com", "www.reddit.com"))}
    if channel == "email":
        return {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "weekly-edit"}
    if channel == "referral":
        return {"referrer_host": rng.choice(("www.gearblog.example", "forum.outdoors.example"))}
    return {}


def _session(
    visitor: str,
    start: datetime,
    landing: dict[str, str],
    rng: random.Random,
    key: str,
    pages: int | None = None,
) -> list[dict[str, Any]]:
    """A session's page views: the landing page with its tags, then internal pages minutes apart."""
    out = []
    moment = start
    count = pages if pages is not None else rng.choice((1, 1, 2, 3, 4))
    for i in range(count):
        path = rng.choice(PAGES) if i else rng.choice(PAGES[:5])
        query = ""
        if i == 0:
            params = [f"{k}={v}" for k, v in landing.items() if k.startswith("utm_") and v]
            if landing.get("click_id_type"):
                params.append(f"{landing['click_id_type']}={landing['click_id']}")
            query = ("?" + "&".join(params)) if params else ""
        referrer = f"https://{landing['referrer_host']}/" if i == 0 and landing.get("referrer_host") else ""
        if i:
            referrer = f"https://{DEMO_ORIGIN_HOST}/"
        out.append(
            {
                "event_id": _event_id(key, visitor, i, start.isoformat()),
                "kind": "page_view",
                "occurred_at": moment,
                "anonymous_id": visitor,
                "url": f"https://{DEMO_ORIGIN_HOST}{path}{query}",
                "referrer": referrer,
                **({k: v for k, v in landing.items() if k != "referrer_host"} if i == 0 else {}),
            }
        )
        moment += timedelta(seconds=rng.randint(20, 240))
    return out


def simulate_visits(
    *, orders: Sequence[DemoOrder], campaigns: dict[str, list[str]], seed: int = 7, now: datetime
) -> list[dict[str, Any]]:
    """Journeys of the tracked orders and of browsing non-buyers, oldest first, none after `now`."""
    names, weights = zip(*CHANNELS, strict=True)
    events: list[dict[str, Any]] = []
    # one generator per order (and per browsing visitor below): the same order always gets the same
    # journey and event ids, whichever window of orders a run looks at
    tracked = [o for o in orders if random.Random(f"{seed}:tracked:{o.order_id}").random() < TRACKED_ORDER_SHARE]
    for order in tracked:
        rng = random.Random(f"{seed}:order:{order.order_id}")
        key = f"order:{order.order_id}"
        visitor = _event_id(key, "visitor")[:18]
        sessions = rng.choices((1, 2, 3, 4, 5), (0.36, 0.30, 0.18, 0.10, 0.06))[0]
        span = timedelta(hours=rng.choice((0.5, 6, 20, 48, 96, 200, 400)))
        starts = sorted(order.created_at - span * rng.random() for _ in range(sessions - 1))
        starts.append(order.created_at - timedelta(minutes=rng.randint(3, 12)))
        order_channel = _UTM_CHANNEL.get(order.utm_source.lower(), "")
        phone = _event_id(key, "phone")[:18] if order.returning and sessions > 1 and rng.random() < 0.5 else ""
        for i, start in enumerate(starts):
            last = i == len(starts) - 1
            channel = order_channel if last and order_channel else rng.choices(names, weights)[0]
            landing = _landing(channel, rng, campaigns, order.utm_campaign if last and order_channel else "")
            who = phone if phone and last else visitor
            events += _session(who, start, landing, rng, key)
        who = phone or visitor
        finish = order.created_at
        if phone:  # the customer signs in on the second device: the two devices become one person
            events.append(
                {
                    "event_id": _event_id(key, "identify"),
                    "kind": "identify",
                    "occurred_at": finish - timedelta(minutes=2),
                    "anonymous_id": who,
                    "customer_id": order.customer_id,
                    "url": f"https://{DEMO_ORIGIN_HOST}/account",
                }
            )
        events.append(
            {
                "event_id": _event_id(key, "order"),
                "kind": "order",
                "occurred_at": finish,
                "anonymous_id": who,
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "revenue": round(order.value, 2),
                "currency": order.currency,
                "url": f"https://{DEMO_ORIGIN_HOST}/checkouts/thank-you",
            }
        )
    # Browsers come through the mix above and also through the paid channels only orders name
    # (TikTok: the demo has no TikTok account, some orders still carry its tags), in the share of
    # the orders they bring; otherwise every journey through such a channel would convert.
    tagged: dict[str, list[DemoOrder]] = {}
    for order in tracked:
        channel = _UTM_CHANNEL.get(order.utm_source.lower(), "")
        if channel and channel not in names:
            tagged.setdefault(channel, []).append(order)
    browse_names = [*names, *tagged]
    browse_weights = [*weights, *(len(o) / len(tracked) for o in tagged.values())]
    browse_campaigns = {
        **campaigns,
        **{c: sorted({o.utm_campaign for o in found if o.utm_campaign}) for c, found in tagged.items()},
    }
    per_day: dict[str, int] = {}
    for order in tracked:
        day = order.created_at.date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    for day, count in sorted(per_day.items()):
        day_start = datetime.fromisoformat(day).replace(tzinfo=now.tzinfo)
        for n in range(int(count * NON_BUYERS_PER_ORDER)):
            rng = random.Random(f"{seed}:browser:{day}:{n}")
            key = f"browser:{day}:{n}"
            visitor = _event_id(key, "visitor")[:18]
            start = day_start + timedelta(seconds=rng.randrange(86_400))
            for _ in range(rng.choices((1, 2, 3), (0.6, 0.28, 0.12))[0]):
                if start >= now:
                    break
                landing = _landing(rng.choices(browse_names, browse_weights)[0], rng, browse_campaigns)
                events += _session(visitor, start, landing, rng, key)
                start += timedelta(hours=rng.choice((2, 20, 50, 120)))
    events = [e for e in events if e["occurred_at"] <= now]
    events.sort(key=lambda e: e["occurred_at"])
    return events


def beacon_body(events: Sequence[dict[str, Any]], *, sent_at: datetime) -> bytes:
    """The snippet's beacon for these events (the collect endpoint's JSON shape)."""
    out = []
    for e in events:
        data = {k: e[k] for k in ("customer_id", "order_id", "revenue", "currency") if e.get(k) not in (None, "")}
        item: dict[str, Any] = {
            "id": e["event_id"],
            "type": e["kind"],
            "t": int(e["occurred_at"].timestamp() * 1000),
            "url": e.get("url", ""),
            "ref": e.get("referrer", ""),
            "aid": e["anonymous_id"],
            "sid": e["anonymous_id"][:8],
        }
        if data:
            item["data"] = data
        out.append(item)
    return json.dumps({"sent_at": int(sent_at.timestamp() * 1000), "events": out}).encode()


BROWSER_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)


def send_visits(
    events: Sequence[dict[str, Any]],
    *,
    collect_url: str,
    origin: str,
    host: str = "",
    batch_size: int = 40,
    timeout: float = 30.0,
    out: Callable[[str], Any] = print,
) -> int:
    """POST the events to the collect endpoint as browsers would; returns the events accepted.

    A 429 (the endpoint's per-address limit) waits for the next minute's window, as a real
    visitor's next beacon would come later; any other refusal stops with its message.
    """
    import httpx

    accepted = 0
    headers = {"Origin": origin, "User-Agent": BROWSER_UA, "Content-Type": "text/plain;charset=UTF-8"}
    if host:
        headers["Host"] = host
    with httpx.Client(timeout=timeout) as client:
        for batch in _beacons(events, batch_size):
            while True:
                response = client.post(
                    collect_url, content=beacon_body(batch, sent_at=datetime.now(tz=UTC)), headers=headers
                )
                if response.status_code != 429:
                    break
                out("demo: collect endpoint rate limit reached; waiting for the next minute")
                time.sleep(61 - datetime.now(tz=UTC).second)
            if response.status_code != 204:
                raise RuntimeError(f"collect refused a demo beacon: {response.status_code} {response.text[:200]}")
            accepted += len(batch)
    return accepted


# --------------------------------------------------------------------------- the demo workspace

#: the collect endpoint refuses event times more than two days old; the rest of the history is
#: landed the way the endpoint would have landed it when it happened (same parser, same COPY)
HTTP_WINDOW = timedelta(hours=40)
DEMO_DAYS = 28
HISTORY_IP = "203.0.113.7"


def _demo_orders(since: datetime) -> list[DemoOrder]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT order_id, coalesce(customer_id, ''), created_at, (gross_micros - discounts_micros) / 1e6,
                      coalesce(currency, 'USD'), coalesce(utm_source, ''), coalesce(utm_campaign, ''),
                      coalesce(customer_order_index, 1) > 1
                 FROM stg_shopify__order
                WHERE created_at >= %s AND NOT is_test AND NOT is_cancelled
                  AND coalesce(source_name, 'web') = 'web'
                ORDER BY created_at""",
            [since],
        )
        return [
            DemoOrder(str(a), str(b), c, float(d), e, f, g, bool(h)) for a, b, c, d, e, f, g, h in cursor.fetchall()
        ]


def _demo_campaigns() -> dict[str, list[str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT platform, name FROM dim_campaign WHERE name IS NOT NULL ORDER BY platform, name")
        out: dict[str, list[str]] = {}
        for platform, name in cursor.fetchall():
            out.setdefault(platform, []).append(name)
        return out


def _land_history(events: Sequence[dict[str, Any]]) -> int:
    """Older visits through the endpoint's parser and the landing's COPY, received when they happened."""
    from django.db import transaction

    from tracking.collect.parsing import encode_rows, parse_beacon
    from tracking.services.landing import _copy_rows

    inserted = 0
    with transaction.atomic():
        for batch in _beacons(events):
            received = batch[-1]["occurred_at"] + timedelta(seconds=20)
            beacon = parse_beacon(
                beacon_body(batch, sent_at=received), received_at=received, client_ip=HISTORY_IP, user_agent=BROWSER_UA
            )
            if beacon.dropped:  # the simulation made an event the endpoint would refuse: a bug here
                raise RuntimeError(f"demo events refused by the collect parser: {beacon.dropped}")
            inserted += _copy_rows(json.loads(encode_rows(beacon.rows)))
    return inserted


def _beacons(events: Sequence[dict[str, Any]], size: int = 40) -> Iterable[list[dict[str, Any]]]:
    """Events (oldest first) in beacons as a browser sends them: at most `size`, within an hour."""
    batch: list[dict[str, Any]] = []
    for event in events:
        if batch and (len(batch) >= size or event["occurred_at"] - batch[0]["occurred_at"] > timedelta(hours=1)):
            yield batch
            batch = []
        batch.append(event)
    if batch:
        yield batch


def ensure_demo_journeys(
    *, workspace: Any, collect_base: str, host: str, days: int = DEMO_DAYS, out: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Send the demo store's visits of the last `days` days and attribute them.

    `collect_base` is where the server listens (http://127.0.0.1:8000) and `host` the public host
    the collect path lives on (the request's Host header). Idempotent: event ids are stable, so a
    second run lands nothing twice.
    """
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from insights.services.journeys import journeys_attribute
    from tracking.services.landing import land_pending
    from tracking.services.settings import tracking_settings_update

    origin = f"https://{DEMO_ORIGIN_HOST}"
    tracking = tracking_settings_update(
        workspace=workspace,
        allowed_origins=[origin],
        consent_mode=False,
        retention_months=13,
        lookback_days=30,
        enabled=True,
    )
    now = timezone.now()
    with schema_context(workspace.schema_name):
        orders = _demo_orders(now - timedelta(days=days))
        campaigns = _demo_campaigns()
    if not orders:
        out("demo: the demo store has no orders yet; no visits sent")
        return {"simulated": 0}
    events = simulate_visits(orders=orders, campaigns=campaigns, now=now)
    recent = [e for e in events if e["occurred_at"] >= now - HTTP_WINDOW]
    older = [e for e in events if e["occurred_at"] < now - HTTP_WINDOW]
    with schema_context(workspace.schema_name):
        history = _land_history(older)
    out(f"demo: {history:,} new events of the visits before the last {HTTP_WINDOW.total_seconds() / 3600:.0f} h landed")
    sent = send_visits(
        recent, collect_url=f"{collect_base}/collect/v1/{tracking.public_key}", origin=origin, host=host, out=out
    )
    out(f"demo: {sent:,} events of the last {HTTP_WINDOW.total_seconds() / 3600:.0f} h sent to the collect endpoint")
    with schema_context(workspace.schema_name):
        landed = land_pending(schema=workspace.schema_name, time_budget=120.0)
        # the build covers the days the demo gave visits to: over the nightly 90 days, the orders
        # before them would read as "reached no tracked visit" and inflate the platforms' claim ratio
        report = journeys_attribute(period_days=days)
    out(
        f"demo: journeys attributed ({report.status}): {report.journeys:,} journeys, "
        f"{report.conversions:,} conversions from {report.events:,} events"
    )
    return {
        **report.as_dict(),
        "simulated": len(events),
        "history": history,
        "sent": sent,
        "landed": landed.inserted,
    }

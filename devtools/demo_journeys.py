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

import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    rng = random.Random(f"demo-journeys:{seed}")
    names, weights = zip(*CHANNELS, strict=True)
    events: list[dict[str, Any]] = []
    tracked = [o for o in orders if rng.random() < TRACKED_ORDER_SHARE]
    for order in tracked:
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
    if orders:
        first = min(o.created_at for o in orders)
        period = max(timedelta(hours=1), now - first)
        for n in range(int(len(tracked) * NON_BUYERS_PER_ORDER)):
            key = f"browser:{n}"
            visitor = _event_id(key, "visitor")[:18]
            start = first + period * rng.random()
            for _ in range(rng.choices((1, 2, 3), (0.6, 0.28, 0.12))[0]):
                if start >= now:
                    break
                events += _session(visitor, start, _landing(rng.choices(names, weights)[0], rng, campaigns), rng, key)
                start += timedelta(hours=rng.choice((2, 20, 50, 120)))
    events = [e for e in events if e["occurred_at"] <= now]
    events.sort(key=lambda e: e["occurred_at"])
    return events


def batches(events: Iterable[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


Sender = Callable[[list[dict[str, Any]]], int]

"""First-party journeys: from tracked events and store orders to conversion paths.

Pure Python (no Django): the nightly service reads the workspace's `tracking_event` rows, its
store orders and its campaigns, and hands them here as plain values.

Steps, in order:

* **Touches.** Every event is classified into a channel: a paid click by its click id
  (gclid / gbraid / wbraid → Google Ads, fbclid → Meta Ads, ttclid → TikTok Ads, msclkid →
  Microsoft Ads); else by its UTM tags (a `utm_campaign` that names or ids a campaign in the
  warehouse → that campaign's platform; a known paid source with a paid medium → that platform;
  `utm_medium` email / social / referral / affiliate / other paid); else by the referrer's host
  (search engines → Organic Search, social networks → Organic Social, webmail → Email, any other
  outside site → Referral); else Direct. A referrer on the page's own host is no touch at all.
* **Sessions.** Per visitor, events in time order; a session ends after 30 minutes without an
  event, and an event that carries a different campaign (utm_source / utm_campaign / click id)
  than the running session starts a new one. A session's channel is its first event's.
* **Identity.** Union-find over identity keys: a visitor (anonymous id, or the per-page-load hint
  when the visitor was counted without a cookie), a customer id, an e-mail hash, an order id, a
  checkout or cart token. Every event joins its visitor to the keys it carries, so two devices on
  which the same customer identified (or ordered) become one person. Store orders join their order
  id to their customer id, so an order the snippet never saw still reaches the visits of the
  customer who placed it.
* **Paths.** Per person, each order's path is the sessions after the previous order and within
  the lookback window before it; the sessions after a person's last order make a journey that did
  not convert (the Markov chain needs those). An order of the period that reaches no session is
  counted as unmatched, not invented into a path.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import pandas as pd

SESSION_TIMEOUT = timedelta(minutes=30)
PATH_SEPARATOR = " > "

GOOGLE_ADS, META_ADS, TIKTOK_ADS, MICROSOFT_ADS = "Google Ads", "Meta Ads", "TikTok Ads", "Microsoft Ads"
ORGANIC_SEARCH, ORGANIC_SOCIAL, EMAIL, REFERRAL, DIRECT = (
    "Organic Search",
    "Organic Social",
    "Email",
    "Referral",
    "Direct",
)
PAID_SEARCH_OTHER, PAID_SOCIAL_OTHER, PAID_OTHER, AFFILIATE = "Paid Search", "Paid Social", "Other Paid", "Affiliate"

#: the warehouse's platform code of each paid channel, for "what the platform claims"
PLATFORM_OF_CHANNEL = {GOOGLE_ADS: "google_ads", META_ADS: "meta", TIKTOK_ADS: "tiktok", MICROSOFT_ADS: "bing"}
CHANNEL_OF_PLATFORM = {code: channel for channel, code in PLATFORM_OF_CHANNEL.items()}

CLICK_ID_CHANNEL = {
    "gclid": GOOGLE_ADS,
    "gbraid": GOOGLE_ADS,
    "wbraid": GOOGLE_ADS,
    "fbclid": META_ADS,
    "ttclid": TIKTOK_ADS,
    "msclkid": MICROSOFT_ADS,
}
_SOURCE_CHANNEL = {
    "google": GOOGLE_ADS,
    "adwords": GOOGLE_ADS,
    "youtube": GOOGLE_ADS,
    "facebook": META_ADS,
    "fb": META_ADS,
    "instagram": META_ADS,
    "ig": META_ADS,
    "meta": META_ADS,
    "tiktok": TIKTOK_ADS,
    "bing": MICROSOFT_ADS,
    "microsoft": MICROSOFT_ADS,
}
_PAID_SEARCH_MEDIA = {"cpc", "ppc", "paid_search", "paidsearch", "sem"}
_PAID_SOCIAL_MEDIA = {"paid_social", "paidsocial", "social_paid", "paid-social"}
_PAID_MEDIA = _PAID_SEARCH_MEDIA | _PAID_SOCIAL_MEDIA | {"cpm", "display", "paid", "video", "cpv", "banner"}
_EMAIL_MEDIA = {"email", "e-mail", "e_mail", "newsletter", "mail"}
_SOCIAL_MEDIA = {"social", "organic_social", "social-network", "social_network", "sm"}
_SEARCH_HOSTS = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.", "yandex.", "qwant.", "startpage.")
_SOCIAL_HOSTS = (
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "linkedin.",
    "lnkd.in",
    "tiktok.",
    "pinterest.",
    "reddit.",
    "youtube.",
    "threads.net",
)
_MAIL_HOSTS = ("mail.google.", "outlook.", "mail.yahoo.", "webmail.")


class EventRow(NamedTuple):
    """One tracked event, as the service reads it from `tracking_event`."""

    occurred_at: datetime
    kind: str  # page_view | event | identify | order
    visitor: str  # anonymous id, or "hint:<session_hint>" when counted without a cookie
    host: str = ""  # the page's own host (a referrer on it is internal navigation)
    referrer_host: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    click_id_type: str = ""
    click_id: str = ""
    customer_id: str = ""
    email_sha256: str = ""
    order_id: str = ""
    checkout_token: str = ""
    cart_token: str = ""
    revenue: float = 0.0  # order events, in the workspace's reporting currency
    currency: str = ""  # the revenue's currency as reported (the service converts it)


class StoreOrder(NamedTuple):
    """An order as the store reported it (Shopify), in the reporting currency."""

    order_id: str
    created_at: datetime
    value: float
    customer_id: str = ""


@dataclass(frozen=True)
class CampaignRef:
    platform: str  # warehouse platform code
    key: str  # "platform:account:campaign"
    name: str


@dataclass(frozen=True)
class Touch:
    at: datetime
    channel: str
    campaign: str = ""  # the warehouse campaign key when the UTM tag named one


@dataclass(frozen=True)
class Journey:
    """A person's touches before one order (converted) or after their last one (not)."""

    touches: tuple[Touch, ...]
    converted: bool
    value: float = 0.0
    converted_at: datetime | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(t.channel for t in self.touches)


@dataclass
class JourneyBuild:
    journeys: list[Journey]
    events: int = 0
    visitors: int = 0
    people: int = 0
    sessions: int = 0
    orders: int = 0
    matched_orders: int = 0
    unmatched_orders: int = 0
    unmatched_value: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- classification


def _clean(value: str | None) -> str:
    return (value or "").strip()


def campaign_index(
    campaigns: Iterable[CampaignRef], ids: Mapping[str, CampaignRef] | None = None
) -> dict[str, CampaignRef]:
    """utm_campaign (lower-cased) → campaign, by name and by platform campaign id.

    A name shared by campaigns of two platforms maps to neither (a UTM tag cannot tell them apart).
    """
    index: dict[str, CampaignRef] = {}
    ambiguous: set[str] = set()
    for campaign in campaigns:
        for key in {campaign.name.strip().lower(), campaign.key.rsplit(":", 1)[-1].lower()}:
            if not key:
                continue
            if key in index and index[key].platform != campaign.platform:
                ambiguous.add(key)
            index.setdefault(key, campaign)
    for key in ambiguous:
        index.pop(key, None)
    if ids:
        index.update({k.lower(): v for k, v in ids.items()})
    return index


def _host_matches(host: str, prefixes: Sequence[str]) -> bool:
    host = host.lower().removeprefix("www.").removeprefix("m.").removeprefix("l.").removeprefix("lm.")
    return any(host == p or host.startswith(p) or f".{p}" in f".{host}" for p in prefixes)


def classify(event: EventRow, campaigns: Mapping[str, CampaignRef]) -> Touch | None:
    """The channel an event arrived through, or None for internal navigation / no arrival info."""
    click = _clean(event.click_id_type).lower()
    campaign = campaigns.get(_clean(event.utm_campaign).lower()) if event.utm_campaign else None
    if click in CLICK_ID_CHANNEL:
        channel = CLICK_ID_CHANNEL[click]
        key = campaign.key if campaign and CHANNEL_OF_PLATFORM.get(campaign.platform) == channel else ""
        return Touch(event.occurred_at, channel, key)
    source, medium = _clean(event.utm_source).lower(), _clean(event.utm_medium).lower()
    if campaign is not None and campaign.platform in CHANNEL_OF_PLATFORM and medium not in _EMAIL_MEDIA:
        return Touch(event.occurred_at, CHANNEL_OF_PLATFORM[campaign.platform], campaign.key)
    if source or medium:
        if medium in _PAID_MEDIA:
            if source in _SOURCE_CHANNEL:
                return Touch(event.occurred_at, _SOURCE_CHANNEL[source])
            if medium in _PAID_SEARCH_MEDIA:
                return Touch(event.occurred_at, PAID_SEARCH_OTHER)
            if medium in _PAID_SOCIAL_MEDIA:
                return Touch(event.occurred_at, PAID_SOCIAL_OTHER)
            return Touch(event.occurred_at, PAID_OTHER)
        if medium in _EMAIL_MEDIA or source in _EMAIL_MEDIA:
            return Touch(event.occurred_at, EMAIL)
        if medium in _SOCIAL_MEDIA:
            return Touch(event.occurred_at, ORGANIC_SOCIAL)
        if medium == "organic":
            return Touch(event.occurred_at, ORGANIC_SEARCH)
        if medium == "affiliate":
            return Touch(event.occurred_at, AFFILIATE)
        if medium == "referral":
            return Touch(event.occurred_at, REFERRAL)
    referrer = _clean(event.referrer_host).lower()
    if referrer and referrer != _clean(event.host).lower():
        if _host_matches(referrer, _MAIL_HOSTS):
            return Touch(event.occurred_at, EMAIL)
        if _host_matches(referrer, _SEARCH_HOSTS):
            return Touch(event.occurred_at, ORGANIC_SEARCH)
        if _host_matches(referrer, _SOCIAL_HOSTS):
            return Touch(event.occurred_at, ORGANIC_SOCIAL)
        return Touch(event.occurred_at, REFERRAL)
    if source or medium:
        return Touch(event.occurred_at, REFERRAL if source else DIRECT)
    return None


def _campaign_marker(event: EventRow) -> tuple[str, str, str] | None:
    if not (event.utm_source or event.utm_campaign or event.click_id):
        return None
    marker = (_clean(event.utm_source).lower(), _clean(event.utm_campaign).lower(), _clean(event.click_id))
    return marker if any(marker) else None


# --------------------------------------------------------------------------- sessions


def sessionise(events: Sequence[EventRow], campaigns: Mapping[str, CampaignRef]) -> list[Touch]:
    """One touch per session of one visitor's events (sorted by time)."""
    touches: list[Touch] = []
    last_at: datetime | None = None
    marker: tuple[str, str, str] | None = None
    for event in events:
        event_marker = _campaign_marker(event)
        new_session = (
            last_at is None
            or (event_marker is not None and event_marker != marker)
            or event.occurred_at - last_at > SESSION_TIMEOUT
        )
        if new_session:
            touch = classify(event, campaigns)
            touches.append(touch if touch is not None else Touch(event.occurred_at, DIRECT))
            marker = event_marker
        last_at = event.occurred_at
    return touches


# --------------------------------------------------------------------------- identity


class UnionFind:
    """Disjoint sets of identity keys, with path halving and union by size."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.size: dict[str, int] = {}

    def find(self, key: str) -> str:
        parent = self.parent
        if key not in parent:
            parent[key] = key
            self.size[key] = 1
            return key
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def normalise_customer_id(value: str) -> str:
    """Shopify's "gid://shopify/Customer/123" and "123" are the same customer."""
    value = _clean(value)
    return value.rsplit("/", 1)[-1] if value.startswith("gid://") else value


def _identity_keys(event: EventRow) -> list[str]:
    keys = []
    if event.customer_id:
        keys.append("customer:" + normalise_customer_id(event.customer_id))
    if event.email_sha256:
        keys.append("email:" + event.email_sha256.strip().lower())
    if event.order_id:
        keys.append("order:" + normalise_customer_id(event.order_id))
    if event.checkout_token:
        keys.append("checkout:" + event.checkout_token.strip())
    if event.cart_token:
        keys.append("cart:" + event.cart_token.strip())
    return keys


def stitch(events: Iterable[EventRow], orders: Iterable[StoreOrder] = ()) -> UnionFind:
    """Join visitors that share an identity (directly or through a chain of them)."""
    people = UnionFind()
    for event in events:
        visitor = "visitor:" + event.visitor
        if visitor not in people.parent:
            people.find(visitor)
        if event.customer_id or event.email_sha256 or event.order_id or event.checkout_token or event.cart_token:
            for key in _identity_keys(event):
                people.union(visitor, key)
    for order in orders:
        if order.customer_id:
            people.union(
                "order:" + normalise_customer_id(order.order_id), "customer:" + normalise_customer_id(order.customer_id)
            )
    return people


# --------------------------------------------------------------------------- paths


@dataclass
class _Conversion:
    at: datetime
    value: float
    order_id: str


def build_journeys(
    events: Iterable[EventRow],
    *,
    campaigns: Mapping[str, CampaignRef],
    store_orders: Sequence[StoreOrder] = (),
    lookback_days: int = 30,
    since: datetime,
    until: datetime,
) -> JourneyBuild:
    """Conversion paths of orders placed in [since, until) and journeys without one.

    `events` may be in any order and may start before `since` (the lookback needs them).
    """
    by_visitor: dict[str, list[EventRow]] = defaultdict(list)
    count = 0
    for event in events:
        by_visitor[event.visitor].append(event)
        count += 1
    people = stitch((e for rows in by_visitor.values() for e in rows), store_orders)
    lookback = timedelta(days=lookback_days)

    touches_of: dict[str, list[Touch]] = defaultdict(list)
    conversions_of: dict[str, dict[str, _Conversion]] = defaultdict(dict)
    sessions = 0
    for visitor, rows in by_visitor.items():
        rows.sort(key=lambda e: e.occurred_at)
        person = people.find("visitor:" + visitor)
        visitor_touches = sessionise(rows, campaigns)
        sessions += len(visitor_touches)
        touches_of[person].extend(visitor_touches)
        for event in rows:
            if event.kind == "order":
                order_key = normalise_customer_id(event.order_id) or f"event:{visitor}:{event.occurred_at.isoformat()}"
                known = conversions_of[person].get(order_key)
                if known is None or event.occurred_at < known.at:
                    conversions_of[person][order_key] = _Conversion(
                        event.occurred_at, float(event.revenue or 0), order_key
                    )

    matched = unmatched = unmatched_store = 0
    unmatched_value = 0.0
    for order in store_orders:
        order_key = normalise_customer_id(order.order_id)
        root = people.find("order:" + order_key)
        # A root that is only the order (and maybe its customer) reached no visitor.
        if root not in touches_of:
            if since <= order.created_at < until:
                unmatched_store += 1
                unmatched_value += order.value
            continue
        known = conversions_of[root].get(order_key)
        at = known.at if known is not None else order.created_at
        conversions_of[root][order_key] = _Conversion(at, float(order.value), order_key)

    journeys: list[Journey] = []
    orders_in_period = 0
    for person, touches in touches_of.items():
        touches.sort(key=lambda t: t.at)
        orders = sorted(conversions_of.get(person, {}).values(), key=lambda c: c.at)
        start = 0
        previous: datetime | None = None
        for conversion in orders:
            end = start
            while end < len(touches) and touches[end].at <= conversion.at:
                end += 1
            window = [
                t
                for t in touches[start:end]
                if t.at >= conversion.at - lookback and (previous is None or t.at > previous)
            ]
            if since <= conversion.at < until:
                orders_in_period += 1
                if window:
                    matched += 1
                    journeys.append(Journey(tuple(window), True, conversion.value, conversion.at))
                else:
                    unmatched += 1
                    unmatched_value += conversion.value
            start, previous = end, conversion.at
        tail = touches[start:]
        if tail and since <= tail[-1].at < until:
            last = tail[-1].at
            tail = [t for t in tail if t.at >= last - lookback]
            journeys.append(Journey(tuple(tail), False))
    return JourneyBuild(
        journeys=journeys,
        events=count,
        visitors=len(by_visitor),
        people=len(touches_of),
        sessions=sessions,
        orders=orders_in_period + unmatched_store,
        matched_orders=matched,
        unmatched_orders=unmatched + unmatched_store,
        unmatched_value=unmatched_value,
    )


# --------------------------------------------------------------------------- outputs


def paths_frame(journeys: Iterable[Journey]) -> pd.DataFrame:
    """The attribution models' input: one row per path and (whole) days before conversion.

    Columns as in a CSV import: path, total_conversions, total_conversion_value, total_null,
    touch_days_before_conversion (whole days, so the time-decay model can run).
    """
    rows: dict[tuple[str, str], list[float]] = {}
    for journey in journeys:
        path = PATH_SEPARATOR.join(journey.channels)
        if journey.converted and journey.converted_at is not None:
            days = PATH_SEPARATOR.join(
                str(math.floor((journey.converted_at - t.at).total_seconds() / 86400)) for t in journey.touches
            )
        else:
            days = ""
        slot = rows.setdefault((path, days), [0.0, 0.0, 0.0])
        if journey.converted:
            slot[0] += 1
            slot[1] += journey.value
        else:
            slot[2] += 1
    # Journeys without a conversion carry no days (the models read days only on converting rows).
    frame = pd.DataFrame(
        [
            {
                "path": path,
                "total_conversions": c,
                "total_conversion_value": round(v, 4),
                "total_null": n,
                "touch_days_before_conversion": days,
            }
            for (path, days), (c, v, n) in sorted(rows.items())
        ],
        columns=["path", "total_conversions", "total_conversion_value", "total_null", "touch_days_before_conversion"],
    )
    return frame


TIME_TO_CONVERT_BUCKETS = (
    ("same day", 0, 1),
    ("1 day", 1, 2),
    ("2–3 days", 2, 4),
    ("4–7 days", 4, 8),
    ("8–14 days", 8, 15),
    ("15–30 days", 15, 31),
    ("31+ days", 31, math.inf),
)
TOUCHES_BUCKETS = ("1", "2", "3", "4", "5", "6+")


def summarise(journeys: Sequence[Journey], *, top: int = 10) -> dict[str, object]:
    """Top paths, time-to-convert and touches-to-convert distributions (converting journeys)."""
    paths: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    time_buckets: Counter[str] = Counter()
    touch_buckets: Counter[str] = Counter()
    days_total = 0.0
    touches_total = 0
    converted = 0
    for journey in journeys:
        slot = paths[PATH_SEPARATOR.join(journey.channels)]
        if not journey.converted or journey.converted_at is None:
            slot[2] += 1
            continue
        converted += 1
        slot[0] += 1
        slot[1] += journey.value
        days = (journey.converted_at - journey.touches[0].at).total_seconds() / 86400
        days_total += days
        for label, low, high in TIME_TO_CONVERT_BUCKETS:
            if low <= days < high:
                time_buckets[label] += 1
                break
        n = len(journey.touches)
        touches_total += n
        touch_buckets[str(n) if n < 6 else "6+"] += 1
    ranked = sorted(((p, c, v, n) for p, (c, v, n) in paths.items() if c > 0), key=lambda r: (-r[1], -r[2], r[0]))
    return {
        "top_paths": [
            {"path": p, "conversions": int(c), "value": round(v, 2), "nulls": int(n)} for p, c, v, n in ranked[:top]
        ],
        "distinct_paths": len(paths),
        "time_to_convert": [[label, time_buckets[label]] for label, _, _ in TIME_TO_CONVERT_BUCKETS],
        "touches_to_convert": [[label, touch_buckets[label]] for label in TOUCHES_BUCKETS],
        "mean_days_to_convert": round(days_total / converted, 2) if converted else None,
        "mean_touches_to_convert": round(touches_total / converted, 2) if converted else None,
    }

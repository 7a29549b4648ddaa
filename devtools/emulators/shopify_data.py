"""A store's orders that follow the emulated ad platforms: deterministic, computed on demand.

Each day's revenue is what the ad accounts claimed that day divided by a claim factor between
`shopify_claim_factor_low` and `_high` (platforms each take credit for the same sale, so their
sum exceeds the store's real revenue), plus an optional organic share. Orders of a day are a pure
function of (seed, shop, day) and the ad accounts' claimed value, so the same config serves the
same orders in every process. Refunds happen 2–12 days after their order and are only visible
once their time has passed on the emulator's clock; an order's `updatedAt` is its latest visible
event, which is what `updated_at:>=` queries read.

Customers: about six orders in ten are a customer's first (`customerOrderIndex` 1,
`numberOfOrders` 1 at order time); the others are returning customers from a fixed pool. A
returning customer's earlier orders are not all in the data (the emulator keeps no history per
customer) — the index is what Bosco uses, and it is consistent per order.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from devtools.emulators.config import CURRENCY_SCALE, GOOGLE_ADS, META, TIKTOK, currency_decimals
from devtools.emulators.datagen import ACCOUNT, DayWindow, from_ordinal, selected_ad_groups, to_ordinal

if TYPE_CHECKING:
    from devtools.emulators.state import EmulatorState

#: the platforms whose claimed conversions and campaigns the store's orders follow (not GA4)
AD_PLATFORMS = (GOOGLE_ADS, META, TIKTOK)

#: products of the demo store: (id, title, sku, USD price)
PRODUCTS: tuple[tuple[int, str, str, float], ...] = (
    (8101000000001, "Merino Crew Sweater", "MCS-01", 89.0),
    (8101000000002, "Linen Shirt", "LSH-02", 59.0),
    (8101000000003, "Canvas Tote", "CTO-03", 29.0),
    (8101000000004, "Trail Sneakers", "TSN-04", 119.0),
    (8101000000005, "Wool Beanie", "WBE-05", 25.0),
    (8101000000006, "Rain Jacket", "RJA-06", 149.0),
    (8101000000007, "Organic Tee", "OTE-07", 32.0),
    (8101000000008, "Leather Belt", "LBE-08", 45.0),
)
PRODUCT_WEIGHTS = (0.12, 0.16, 0.12, 0.1, 0.14, 0.06, 0.22, 0.08)
NEW_CUSTOMER_SHARE = 0.62
UTM_SHARE = 0.35
REFUND_SHARE = 0.07
MAX_REFUND_LAG_DAYS = 12
MAX_ORDERS_PER_DAY = 999
_UTM = {GOOGLE_ADS: ("google", "cpc"), META: ("facebook", "paid_social"), TIKTOK: ("tiktok", "paid_social")}
_CHANNELS = (("web", 0.86), ("shopify_draft_order", 0.04), ("pos", 0.06), ("iphone", 0.04))


@dataclass(frozen=True)
class Refund:
    id: int
    at: datetime  # UTC
    amount: Decimal  # shop currency, line subtotal share (no shipping, no tax)


@dataclass(frozen=True)
class Order:
    id: int
    number: int
    created_at: datetime  # UTC
    day: date  # in the shop's time zone
    lines: tuple[tuple[int, int, Decimal], ...]  # (product index, quantity, unit price)
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    customer_id: int
    customer_order_index: int
    channel: str
    utm: tuple[str, str, str] | None  # source, medium, campaign
    refunds: tuple[Refund, ...]

    @property
    def subtotal(self) -> Decimal:
        return sum((q * p for _, q, p in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping + self.tax

    def visible_refunds(self, now: datetime) -> tuple[Refund, ...]:
        return tuple(r for r in self.refunds if r.at <= now)

    def updated_at(self, now: datetime) -> datetime:
        return max([self.created_at, *(r.at for r in self.visible_refunds(now))])


def _money(value: float | Decimal, decimals: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ShopData:
    """Orders of one emulated shop, memoised per day."""

    def __init__(self, state: EmulatorState, shop: str) -> None:
        self.state = state
        self.shop = shop
        config = state.config
        self.currency = config.shopify_currency.upper()
        self.zone = ZoneInfo(config.shopify_time_zone)
        self.decimals = currency_decimals(self.currency)
        self.scale = CURRENCY_SCALE.get(self.currency, 1.0)
        self.seed = config.seed
        self._claims: dict[int, float] | None = None
        self._campaigns: list[tuple[str, str]] | None = None
        self._days: dict[int, tuple[Order, ...]] = {}

    # ------------------------------------------------------------------ the ads side
    def claims_usd(self) -> dict[int, float]:
        """Claimed conversion value per day (ordinal), summed over every ad account, in US dollars."""
        if self._claims is None:
            totals: dict[int, float] = {}
            for platform in AD_PLATFORMS:  # GA4 is in PLATFORMS too, and claims nothing
                current = self.state.window(platform)
                # Settled values (a window far in the future, restatement version 0): a day's orders
                # never change when the emulator's today moves on or the platforms restate.
                window = DayWindow(
                    today=current.today + 10_000,
                    history_start=current.history_start,
                    version=0,
                    restatement_days=current.restatement_days,
                    today_fraction=1.0,
                )
                for spec in self.state.config.accounts(platform):
                    model = self.state.model(platform, spec.account_id)
                    ags = selected_ad_groups(model, None, None)
                    frame = self.state.frame(
                        platform, spec.account_id, ACCOUNT, current.history_start, current.today, ags, window
                    )
                    scale = CURRENCY_SCALE.get(spec.currency.upper(), 1.0)
                    values = frame.cols["value_micros"] / 1e6 / scale
                    for day, value in zip(frame.day_start.tolist(), values.tolist(), strict=True):
                        totals[int(day)] = totals.get(int(day), 0.0) + float(value)
            self._claims = totals
        return self._claims

    def campaigns(self) -> list[tuple[str, str]]:
        """(platform, campaign name) of every demo campaign: what UTM tags name."""
        if self._campaigns is None:
            found: list[tuple[str, str]] = []
            for platform in AD_PLATFORMS:
                for spec in self.state.config.accounts(platform):
                    model = self.state.model(platform, spec.account_id)
                    found += [(platform, name) for name in model.campaign_names]
            self._campaigns = found
        return self._campaigns

    def claim_factor(self, ordinal: int) -> float:
        config = self.state.config
        u = random.Random(f"claim:{self.seed}:{ordinal}").random()
        return (
            config.shopify_claim_factor_low + (config.shopify_claim_factor_high - config.shopify_claim_factor_low) * u
        )

    def revenue_target(self, ordinal: int) -> float:
        """The day's gross sales target in the shop's currency (what the orders add up to, roughly)."""
        claimed = self.claims_usd().get(ordinal, 0.0)
        ads = claimed / self.claim_factor(ordinal)
        return (ads * (1 + self.state.config.shopify_organic_share)) * self.scale

    # ------------------------------------------------------------------ orders
    def day_orders(self, ordinal: int) -> tuple[Order, ...]:
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        orders = self._generate(ordinal)
        self._days[ordinal] = orders
        return orders

    def _generate(self, ordinal: int) -> tuple[Order, ...]:
        rng = random.Random(f"orders:{self.seed}:{self.shop}:{ordinal}")
        target = self.revenue_target(ordinal)
        day = from_ordinal(ordinal)
        start = datetime.combine(day, time(0), tzinfo=self.zone)
        campaigns = self.campaigns()
        orders: list[Order] = []
        spent = 0.0
        seconds = sorted(rng.randrange(86_400) for _ in range(MAX_ORDERS_PER_DAY))
        for i in range(MAX_ORDERS_PER_DAY):
            if spent >= target:
                break
            lines: list[tuple[int, int, Decimal]] = []
            for product in sorted(set(rng.choices(range(len(PRODUCTS)), PRODUCT_WEIGHTS, k=rng.choice((1, 1, 2, 3))))):
                price = _money(PRODUCTS[product][3] * self.scale, self.decimals)
                lines.append((product, rng.choice((1, 1, 1, 2)), price))
            subtotal = sum((q * p for _, q, p in lines), Decimal(0))
            discount = (
                _money(subtotal * Decimal("0.1"), self.decimals) if rng.random() < 0.25 else _money(0, self.decimals)
            )
            shipping = (
                _money(4.99 * self.scale, self.decimals)
                if subtotal < Decimal(str(50 * self.scale))
                else _money(0, self.decimals)
            )
            tax = _money((subtotal - discount) * Decimal("0.08"), self.decimals)
            spent += float(subtotal)
            created = (start + timedelta(seconds=seconds[i])).astimezone(UTC)
            new = rng.random() < NEW_CUSTOMER_SHARE
            customer = 6_200_000_000_000 + ordinal * 1000 + i if new else 6_100_000_000_000 + rng.randrange(5_000)
            index = 1 if new else rng.randint(2, 7)
            utm = None
            if campaigns and rng.random() < UTM_SHARE:
                platform, name = rng.choice(campaigns)
                utm = (*_UTM[platform], name)
            refunds: tuple[Refund, ...] = ()
            if rng.random() < REFUND_SHARE:
                lag = timedelta(days=rng.randint(2, MAX_REFUND_LAG_DAYS), seconds=rng.randrange(86_400))
                product, qty, price = lines[0]
                refunds = (Refund(id=9_300_000_000 + ordinal * 1000 + i, at=created + lag, amount=qty * price),)
            channel = rng.choices([c for c, _ in _CHANNELS], [w for _, w in _CHANNELS])[0]
            orders.append(
                Order(
                    id=5_000_000_000_000 + ordinal * 1000 + i,
                    number=1000 + (ordinal - 700_000) * 1000 + i,
                    created_at=created,
                    day=day,
                    lines=tuple(lines),
                    discount=discount,
                    shipping=shipping,
                    tax=tax,
                    customer_id=customer,
                    customer_order_index=index,
                    channel=channel,
                    utm=utm,
                    refunds=refunds,
                )
            )
        return tuple(orders)

    def now(self) -> datetime:
        """The emulator's "now" in the shop: `today` at `today_fraction` of the day."""
        today = self.state.today()
        fraction = self.state.config.today_fraction
        start = datetime.combine(today, time(0), tzinfo=self.zone)
        return (start + timedelta(seconds=int(86_400 * fraction))).astimezone(UTC)

    def history_start(self) -> int:
        return to_ordinal(self.state.history_start(GOOGLE_ADS))

    def orders_between(self, field: str, since: datetime | None, until: datetime | None) -> list[Order]:
        """Visible orders whose `created_at` / `updated_at` is in [since, until), by that field then id."""
        now = self.now()
        today = to_ordinal(now.astimezone(self.zone).date())
        first = self.history_start()
        lo = first if since is None else max(first, to_ordinal(since.astimezone(self.zone).date()) - 1)
        if field == "updated_at":
            lo = max(first, lo - MAX_REFUND_LAG_DAYS - 1)
        hi = today if until is None else min(today, to_ordinal(until.astimezone(self.zone).date()) + 1)
        found: list[tuple[datetime, int, Order]] = []
        for ordinal in range(lo, hi + 1):
            for order in self.day_orders(ordinal):
                if order.created_at > now:
                    continue
                moment = order.updated_at(now) if field == "updated_at" else order.created_at
                if (since is None or moment >= since) and (until is None or moment < until):
                    found.append((moment, order.id, order))
        found.sort(key=lambda t: (t[0], t[1]))
        return [o for _, _, o in found]

    # ------------------------------------------------------------------ truth for tests
    def truth(self, since: date, until: date) -> dict[str, Any]:
        """Per order day: gross, discounts, orders, new customers; refunds by refund day (all
        visible now), in the shop currency as exact decimal strings."""
        now = self.now()
        days: dict[str, dict[str, Any]] = {}

        def slot(d: date) -> dict[str, Any]:
            return days.setdefault(
                d.isoformat(),
                {"gross": Decimal(0), "discounts": Decimal(0), "refunds": Decimal(0), "orders": 0, "new_customers": 0},
            )

        for order in self.orders_between("created_at", None, None):
            for refund in order.visible_refunds(now):
                refund_day = refund.at.astimezone(self.zone).date()
                if since <= refund_day <= until:
                    slot(refund_day)["refunds"] += refund.amount
            if not since <= order.day <= until:
                continue
            s = slot(order.day)
            s["gross"] += order.subtotal
            s["discounts"] += order.discount
            s["orders"] += 1
            s["new_customers"] += 1 if order.customer_order_index == 1 else 0
        out = {
            d: {k: (str(v) if isinstance(v, Decimal) else v) for k, v in sorted(values.items())}
            for d, values in sorted(days.items())
        }
        claims = self.claims_usd()
        return {
            "shop": self.shop,
            "currency": self.currency,
            "time_zone": str(self.zone),
            "days": out,
            "claimed_value_usd": {
                from_ordinal(o).isoformat(): round(v, 6)
                for o, v in sorted(claims.items())
                if since <= from_ordinal(o) <= until
            },
        }


# ---------------------------------------------------------------------------- wire format


def _money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def order_node(order: Order, shop: ShopData, now: datetime, *, nested_lines: bool) -> dict[str, Any]:
    """The order as the GraphQL Admin API sends it for Bosco's query (every field Bosco asks for)."""
    cur = shop.currency
    utm = order.utm
    visit: dict[str, Any] | None = None
    if utm is not None:
        visit = {
            "landingPage": f"https://{shop.shop.removesuffix('.myshopify.com')}.example/?utm_source={utm[0]}",
            "referrerUrl": "https://www.google.com/" if utm[0] == "google" else f"https://{utm[0]}.com/",
            "utmParameters": {"source": utm[0], "medium": utm[1], "campaign": utm[2], "content": None, "term": None},
        }
    node: dict[str, Any] = {
        "id": f"gid://shopify/Order/{order.id}",
        "name": f"#{order.number}",
        "createdAt": iso(order.created_at),
        "processedAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at(now)),
        "cancelledAt": None,
        "test": False,
        "currencyCode": cur,
        "presentmentCurrencyCode": cur,
        "sourceName": order.channel,
        "subtotalPriceSet": _money_bag(order.subtotal - order.discount, cur),
        "totalDiscountsSet": _money_bag(order.discount, cur),
        "totalShippingPriceSet": _money_bag(order.shipping, cur),
        "totalTaxSet": _money_bag(order.tax, cur),
        "totalPriceSet": _money_bag(order.total, cur),
        "customer": {
            "id": f"gid://shopify/Customer/{order.customer_id}",
            "numberOfOrders": str(order.customer_order_index),
        },
        "customerJourneySummary": {
            "customerOrderIndex": order.customer_order_index,
            "firstVisit": visit,
        },
        "refunds": [
            {
                "id": f"gid://shopify/Refund/{r.id}",
                "createdAt": iso(r.at),
                "totalRefundedSet": _money_bag(r.amount, cur),
            }
            for r in order.visible_refunds(now)
        ],
    }
    if nested_lines:
        node["lineItems"] = {"edges": [{"node": line} for line in line_nodes(order, cur)]}
    return node


def line_nodes(order: Order, currency: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"gid://shopify/LineItem/{order.id * 10 + n}",
            "title": PRODUCTS[product][1],
            "sku": PRODUCTS[product][2],
            "quantity": qty,
            "product": {"id": f"gid://shopify/Product/{PRODUCTS[product][0]}"},
            "originalUnitPriceSet": _money_bag(price, currency),
        }
        for n, (product, qty, price) in enumerate(order.lines)
    ]


def encode_cursor(order: Order, value: datetime) -> str:
    raw = json.dumps({"last_id": order.id, "last_value": value.strftime("%Y-%m-%d %H:%M:%S.000000")})
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, datetime] | None:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        moment = datetime.strptime(data["last_value"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        return int(data["last_id"]), moment
    except (ValueError, KeyError, TypeError):
        return None

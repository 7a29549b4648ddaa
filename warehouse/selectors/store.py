"""Reads of the store side (Shopify): is a store connected, the Store page's tables, and the
orders that carry a campaign's UTM tag.

Totals and series of store metrics go through the metrics layer (`metrics_query`, metrics
`store_revenue`, `orders`, `mer`, …); these selectors answer what is not a metric: lists of
orders and products, and counts by customer type, in the reporting currency where money is added
across shops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection

MICROS = Decimal(1_000_000)


def store_connected() -> bool:
    """True once any shop's orders reached the orders fact (the overview then leads with them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM fct_orders_daily)")
        return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class OrderLine:
    name: str
    date: date
    shop: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    total: Decimal  # the order's gross − discounts, in its shop's currency
    currency: str
    is_new_customer: bool
    refunded: Decimal


@dataclass(frozen=True)
class UtmOrders:
    orders: int
    #: gross − discounts of those orders, per shop currency (shops may sell in different ones)
    revenue: dict[str, Decimal] = field(default_factory=dict)
    new_customers: int = 0
    recent: list[OrderLine] = field(default_factory=list)


def _line(row: tuple) -> OrderLine:  # type: ignore[type-arg]
    name, day, shop, source, medium, campaign, total, currency, new, refunded = row
    return OrderLine(
        name=name or "",
        date=day,
        shop=shop,
        utm_source=source or "",
        utm_medium=medium or "",
        utm_campaign=campaign or "",
        total=Decimal(total) / MICROS,
        currency=currency or "",
        is_new_customer=bool(new),
        refunded=Decimal(refunded) / MICROS,
    )


_ORDER_COLUMNS = (
    "o.name, o.date, o.account_id, o.utm_source, o.utm_medium, o.utm_campaign,"
    " o.gross_micros - o.discounts_micros, o.currency, o.is_new_customer, o.refunded_micros"
)


def orders_by_utm_campaign(*, campaign_name: str, date_from: date, date_to: date, limit: int = 10) -> UtmOrders:
    """Orders placed in [date_from, date_to] whose first visit's utm_campaign is this campaign's name
    (case-insensitive, as people type UTM tags by hand)."""
    params: dict[str, str | date | int] = {"name": campaign_name.strip().lower(), "d1": date_from, "d2": date_to}
    where = (
        "lower(o.utm_campaign) = %(name)s AND o.date BETWEEN %(d1)s AND %(d2)s AND NOT o.is_test AND NOT o.is_cancelled"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.currency, count(*), sum(o.gross_micros - o.discounts_micros), count(*) FILTER (WHERE o.is_new_customer)"  # nosec B608 # constant SQL, bound values
            f" FROM stg_shopify__order o WHERE {where} GROUP BY 1 ORDER BY 1",
            params,
        )
        groups = cursor.fetchall()
        cursor.execute(
            f"SELECT {_ORDER_COLUMNS} FROM stg_shopify__order o WHERE {where}"  # nosec B608 # constant SQL, bound values
            " ORDER BY o.created_at DESC, o.record_key LIMIT %(limit)s",
            {**params, "limit": limit},
        )
        recent = [_line(row) for row in cursor.fetchall()]
    return UtmOrders(
        orders=sum(int(g[1]) for g in groups),
        revenue={g[0] or "": Decimal(g[2]) / MICROS for g in groups},
        new_customers=sum(int(g[3]) for g in groups),
        recent=recent,
    )


@dataclass(frozen=True)
class ProductLine:
    title: str
    sku: str
    quantity: int
    revenue: Decimal  # reporting currency, at each order day's rate
    orders: int


@dataclass(frozen=True)
class StoreTables:
    reporting_currency: str
    shops: list[tuple[str, str, str]]  # (domain, currency, time zone)
    top_products: list[ProductLine]
    recent_refunds: list[tuple[date, str, str, Decimal, str]]  # (refund day, shop, order id, amount, currency)


def store_tables(*, date_from: date, date_to: date, limit: int = 10) -> StoreTables:
    """The Store page's tables: shops, top products by revenue, the latest refunds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT f.account_id, f.currency, f.time_zone, f.reporting_currency FROM fct_orders_daily f"
            " ORDER BY 1"
        )
        shops = cursor.fetchall()
        # Line revenue converted with the order day's rate from the fact (same rate as its totals).
        cursor.execute(
            """
            SELECT coalesce(l.title, l.sku, l.product_id, '?'), coalesce(max(l.sku), ''), sum(l.quantity),
                   round(sum(l.amount_micros * f.fx_rate))::bigint, count(DISTINCT (l.account_id, l.order_id))
              FROM stg_shopify__line_item l
              JOIN fct_orders_daily f ON f.account_id = l.account_id AND f.date_day = l.order_date
             WHERE l.order_date BETWEEN %(d1)s AND %(d2)s
             GROUP BY 1 ORDER BY 4 DESC, 1 LIMIT %(limit)s
            """,
            {"d1": date_from, "d2": date_to, "limit": limit},
        )
        products = [
            ProductLine(title=t, sku=s, quantity=int(q), revenue=Decimal(r) / MICROS, orders=int(n))
            for t, s, q, r, n in cursor.fetchall()
        ]
        cursor.execute(
            """
            SELECT r.refund_date, r.account_id, r.order_id, r.amount_micros, r.currency
              FROM stg_shopify__refund r
             WHERE r.refund_date BETWEEN %(d1)s AND %(d2)s
             ORDER BY r.refund_date DESC, r.refund_key LIMIT %(limit)s
            """,
            {"d1": date_from, "d2": date_to, "limit": limit},
        )
        refunds = [(d, s, o, Decimal(a) / MICROS, c or "") for d, s, o, a, c in cursor.fetchall()]
    return StoreTables(
        reporting_currency=shops[0][3] if shops else "",
        shops=[(s[0], s[1], s[2]) for s in shops],
        top_products=products,
        recent_refunds=refunds,
    )

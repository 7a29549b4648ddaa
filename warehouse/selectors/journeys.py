"""What first-party journeys read of the warehouse: campaign names (to map UTM tags to platforms),
the store's orders (the conversions), and what each ad platform claims for the same period.

Money comes back in the workspace's reporting currency (the orders fact's rate of the order's
day; the ad fact's own reporting column), as floats: it feeds the attribution models, which
work in floats anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection


@dataclass(frozen=True)
class CampaignName:
    platform: str
    account_id: str
    campaign_id: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.account_id}:{self.campaign_id}"


@dataclass(frozen=True)
class StoreOrderRow:
    order_id: str
    customer_id: str
    created_at: datetime
    value: float  # gross − discounts in the reporting currency


@dataclass(frozen=True)
class PlatformClaim:
    platform: str
    conversions: float
    conversion_value: float  # reporting currency
    spend: float  # reporting currency


def campaign_names() -> list[CampaignName]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT platform, account_id, campaign_id, coalesce(name, '') FROM dim_campaign"
            " WHERE NOT is_inferred OR name IS NOT NULL"
        )
        return [CampaignName(*row) for row in cursor.fetchall()]


def store_orders_between(*, since: datetime, until: datetime) -> list[StoreOrderRow]:
    """Orders created in [since, until), neither test nor cancelled, valued at their day's rate in
    the orders fact (an order whose day the fact has not reached yet comes in the next night)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.order_id, coalesce(o.customer_id, ''), o.created_at,
                   (o.gross_micros - o.discounts_micros) * f.fx_rate / 1e6
            FROM stg_shopify__order o
            JOIN fct_orders_daily f ON f.account_id = o.account_id AND f.date_day = o.date
            WHERE o.created_at >= %(since)s AND o.created_at < %(until)s
              AND NOT o.is_test AND NOT o.is_cancelled
            """,
            {"since": since, "until": until},
        )
        return [StoreOrderRow(str(a), str(b), c, float(d)) for a, b, c, d in cursor.fetchall()]


def platform_claims(*, date_from: date, date_to: date) -> list[PlatformClaim]:
    """Per ad platform, the conversions and conversion value it reported for [date_from, date_to]."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT platform, sum(conversions_micros) / 1e6, sum(conversions_value_reporting_micros) / 1e6,
                   sum(spend_reporting_micros) / 1e6
            FROM fct_ad_performance_daily
            WHERE date_day BETWEEN %(d1)s AND %(d2)s
            GROUP BY platform ORDER BY platform
            """,
            {"d1": date_from, "d2": date_to},
        )
        return [PlatformClaim(p, float(c or 0), float(v or 0), float(s or 0)) for p, c, v, s in cursor.fetchall()]


def rates_to_reporting(*, pairs: set[tuple[str, date]], reporting_currency: str) -> dict[tuple[str, date], float]:
    """Multiplier from (currency, day) to the reporting currency: the ECB rates (units per euro) of
    that day or the latest within 7 days before it; pairs without a rate are left out."""
    out: dict[tuple[str, date], float] = {}
    wanted = []
    for currency, day in pairs:
        if currency == reporting_currency:
            out[(currency, day)] = 1.0
        else:
            wanted.append((currency, day))
    if not wanted:
        return out
    sql = """
        SELECT %(currency)s = 'EUR', (SELECT rate FROM wh_fx_rate WHERE currency = %(currency)s
                 AND date <= %(day)s AND date >= %(day)s - 7 ORDER BY date DESC LIMIT 1),
               %(reporting)s = 'EUR', (SELECT rate FROM wh_fx_rate WHERE currency = %(reporting)s
                 AND date <= %(day)s AND date >= %(day)s - 7 ORDER BY date DESC LIMIT 1)
    """
    with connection.cursor() as cursor:
        for currency, day in wanted:
            cursor.execute(sql, {"currency": currency, "day": day, "reporting": reporting_currency})
            src_eur, src, dst_eur, dst = cursor.fetchone()
            src_rate = 1.0 if src_eur else (float(src) if src else None)
            dst_rate = 1.0 if dst_eur else (float(dst) if dst else None)
            if src_rate and dst_rate:
                out[(currency, day)] = dst_rate / src_rate
    return out

"""Privacy requests on landed store data (Shopify's mandatory GDPR webhooks).

Orders are the business's records of its sales, so a customer's redaction keeps the amounts and
removes what identifies the person: the customer id, their first visit (landing page, referrer,
UTM tags) and the order's name. A shop's redaction (48 hours after it uninstalled the app)
deletes everything landed for the shop. Both change raw records in place and return the order
days affected, so the caller can hand that window to the warehouse like a sync would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

ORDER_STREAM = "shopify.order"


@dataclass(frozen=True)
class Redacted:
    rows: int
    date_from: date | None
    date_to: date | None


@transaction.atomic
def shop_customer_redact(*, shop: str, customer_gid: str, order_gids: list[str] | None = None) -> Redacted:
    """Anonymise the orders of one customer of `shop` (by customer id, and the listed orders)."""
    keys = [f"{shop}|{gid.rsplit('/', 1)[-1]}" for gid in order_gids or [] if gid]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE raw_record
               SET payload = (payload - 'customer' - 'customerJourneySummary' - 'name')
                             || jsonb_build_object('customer', NULL, 'customerJourneySummary', NULL, 'redacted', true)
             WHERE stream = %(stream)s AND account_id = %(shop)s
               AND (payload -> 'customer' ->> 'id' = %(customer)s OR record_key = ANY(%(keys)s))
               AND NOT coalesce((payload ->> 'redacted')::boolean, false)
            RETURNING date
            """,
            {"stream": ORDER_STREAM, "shop": shop, "customer": customer_gid, "keys": keys},
        )
        days = [row[0] for row in cursor.fetchall() if row[0] is not None]
    return Redacted(len(days), min(days, default=None), max(days, default=None))


@transaction.atomic
def shop_data_delete(*, shop: str) -> Redacted:
    """Delete every landed record of `shop` (its orders and the shop itself)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM raw_record WHERE stream LIKE 'shopify.%%' AND account_id = %s RETURNING date", [shop]
        )
        rows = cursor.fetchall()
    days = [row[0] for row in rows if row[0] is not None]
    return Redacted(len(rows), min(days, default=None), max(days, default=None))


def shop_customer_orders(*, shop: str, customer_gid: str) -> list[str]:
    """The order ids Bosco holds for one customer (what a data request is answered with)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payload ->> 'id' FROM raw_record WHERE stream = %s AND account_id = %s"
            " AND payload -> 'customer' ->> 'id' = %s ORDER BY record_key",
            [ORDER_STREAM, shop, customer_gid],
        )
        return [row[0] for row in cursor.fetchall()]

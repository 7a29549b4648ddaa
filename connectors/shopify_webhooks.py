"""What a verified Shopify webhook does in one workspace (the public view checked its signature).

- `orders/updated`, `orders/create`, `refunds/create`: the store changed an order → a sync of the
  connection is queued now (an incremental read by `updated_at` brings the order and its refunds
  back, and the warehouse rebuilds the days they touch) instead of waiting for the schedule.
- `app/uninstalled`: the token is dead → the connection is disconnected; synced data is kept.
- `customers/data_request`: logged with the order ids Bosco holds for that customer (the merchant
  answers the customer; Bosco stores nothing else about them).
- `customers/redact`: the customer's orders keep their amounts and lose what identifies them.
- `shop/redact`: every record landed for the shop is deleted.
Redactions hand the affected days to the warehouse, which rebuilds them from the changed raw rows.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.errors import ConnectorError
from connectors.models import Connection, Platform, SyncRun
from connectors.services import connection_disconnect, sync_request
from warehouse.services import pipeline, privacy

logger = logging.getLogger("connectors.shopify")

RESYNC_TOPICS = frozenset({"orders/updated", "orders/create", "orders/paid", "orders/cancelled", "refunds/create"})
GDPR_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
TOPICS = RESYNC_TOPICS | GDPR_TOPICS | {"app/uninstalled"}


def shop_connection_ids(shop: str) -> list[int]:
    """Connections of this workspace that ever synced `shop` (disconnected ones too: GDPR still applies)."""
    return list(
        Connection.objects.filter(platform=Platform.SHOPIFY, accounts__external_id=shop)
        .values_list("pk", flat=True)
        .distinct()
    )


def shop_connections(shop: str) -> list[Connection]:
    return list(
        Connection.objects.filter(platform=Platform.SHOPIFY, accounts__external_id=shop)
        .exclude(status=Connection.Status.DISCONNECTED)
        .distinct()
    )


def webhook_apply(*, topic: str, shop: str, payload: dict[str, Any]) -> str:
    """Apply one webhook to this workspace's connections of `shop`; returns what was done."""
    if topic in GDPR_TOPICS:
        return _gdpr(topic=topic, shop=shop, payload=payload)
    connections = shop_connections(shop)
    if not connections:
        return "no connection"
    if topic == "app/uninstalled":
        for connection in connections:
            connection_disconnect(connection=connection)
            Connection.objects.filter(pk=connection.pk).update(
                status_message=f"The Bosco app was uninstalled from {shop}. Synced data is kept; connect again to resume."
            )
        logger.info("Shopify app uninstalled from %s: %d connection(s) disconnected", shop, len(connections))
        return "disconnected"
    if topic in RESYNC_TOPICS:
        started = 0
        for connection in connections:
            if not connection.is_live:
                continue
            try:
                _, new = sync_request(connection=connection, kind=SyncRun.Kind.MANUAL)
            except ConnectorError as exc:
                logger.info("Shopify %s for %s: no resync (%s)", topic, shop, exc.message)
                continue
            started += int(new)
        return f"resync queued ({started})"
    return "ignored"


def _gdpr(*, topic: str, shop: str, payload: dict[str, Any]) -> str:
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    customer_gid = f"gid://shopify/Customer/{customer.get('id')}" if customer and customer.get("id") else ""
    if topic == "customers/data_request":
        orders = privacy.shop_customer_orders(shop=shop, customer_gid=customer_gid) if customer_gid else []
        logger.info(
            "Shopify customers/data_request for %s, request %s: Bosco holds %d order(s) of that customer: %s",
            shop,
            (payload.get("data_request") or {}).get("id"),
            len(orders),
            ", ".join(orders[:50]),
        )
        return f"logged ({len(orders)} orders)"
    connections = list(Connection.objects.filter(platform=Platform.SHOPIFY, accounts__external_id=shop).distinct())
    with transaction.atomic():
        if topic == "customers/redact":
            order_gids = [f"gid://shopify/Order/{i}" for i in payload.get("orders_to_redact") or []]
            done = privacy.shop_customer_redact(shop=shop, customer_gid=customer_gid, order_gids=order_gids)
        else:
            done = privacy.shop_data_delete(shop=shop)
        for connection in connections:
            _rebuild(connection, shop, done.date_from, done.date_to)
    logger.info("Shopify %s for %s: %d record(s) changed", topic, shop, done.rows)
    return f"{topic}: {done.rows} records"


def _rebuild(connection: Connection, shop: str, date_from: date | None, date_to: date | None) -> None:
    if date_from is None or date_to is None:
        return
    last_run = connection.runs.order_by("-pk").values_list("pk", flat=True).first() or 0
    pipeline.enqueue_window_transform(
        connection_id=connection.pk,
        platform=Platform.SHOPIFY,
        account_ids=[shop],
        date_from=date_from,
        date_to=max(date_to, timezone.now().date()),
        sync_run_id=last_run,
    )

"""Celery entry points of the connectors: ids in, the workspace schema first, one service call each."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django_tenants.utils import schema_context

from accounts.selectors import active_workspaces
from bosco.tasks import public_task, tenant_task
from connectors.airbyte import services as airbyte
from connectors.services import syncs_schedule_due
from connectors.shopify_webhooks import shop_connection_ids, webhook_apply
from connectors.sync import run_execute
from connectors.sync.runs import fan_out_order

#: the beat entry's period (bosco/beat.py: every 15 minutes); the fan-out's rotation advances by one per tick
TICK_SECONDS = 15 * 60


@tenant_task()
def sync_connection(run_id: int) -> str:
    """Execute or resume one sync run. A second copy for the same connection returns "busy"."""
    return run_execute(run_id=run_id)


@tenant_task()
def schedule_workspace_syncs() -> dict[str, int]:
    """Start the syncs that are due in this workspace and rescue runs whose worker died."""
    return syncs_schedule_due()


@public_task()
def schedule_syncs() -> int:
    """Beat fan-out: one scheduling task per active workspace, starting at a different one each tick."""
    schemas = list(active_workspaces().order_by("schema_name").values_list("schema_name", flat=True))
    if settings.CONNECTORS_SCHEDULE_FAIR:
        schemas = fan_out_order(schemas, tick=int(time.time() // TICK_SECONDS))
    for schema in schemas:
        schedule_workspace_syncs.delay(schema)
    return len(schemas)


@tenant_task()
def airbyte_prepare(source_key: str) -> bool:
    """Build an Airbyte source's virtualenv (first use) and cache its spec for the form."""
    airbyte.source_prepare(source_key=source_key)
    return True


@tenant_task()
def airbyte_check_discover(connection_id: int) -> bool | None:
    """Run `check` and `discover` for a newly added (or re-checked) Airbyte connection."""
    return airbyte.check_and_discover(connection_id=connection_id).check_ok


@tenant_task()
def shopify_webhook_apply(topic: str, shop: str, payload: dict[str, Any]) -> str:
    """One verified Shopify webhook, in one workspace that holds the shop."""
    return webhook_apply(topic=topic, shop=shop, payload=payload)


@public_task()
def shopify_webhook_route(topic: str, shop: str, payload: dict[str, Any]) -> int:
    """A verified webhook names a shop, not a workspace: apply it in every workspace that connected it."""
    routed = 0
    for schema in active_workspaces().values_list("schema_name", flat=True):
        with schema_context(schema):
            held = bool(shop_connection_ids(shop))
        if held:
            shopify_webhook_apply.delay(schema, topic, shop, payload)
            routed += 1
    return routed

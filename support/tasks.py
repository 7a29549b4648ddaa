"""Support's Celery entry points (thin: one service call each)."""

from __future__ import annotations

from accounts.selectors import customer_workspaces
from bosco.tasks import public_task, tenant_task
from support import services


@tenant_task()
def refresh_health() -> None:
    services.health_refresh()


@public_task()
def refresh_health_all() -> int:
    """Beat fan-out: every workspace's health summary (suspended ones too: support looks at them)."""
    schemas = list(customer_workspaces().values_list("schema_name", flat=True))
    for schema in schemas:
        refresh_health.delay(schema)
    return len(schemas)


@public_task()
def build_export(export_id: int) -> None:
    services.export_build(export_id=export_id)


@public_task()
def purge_workspace(workspace_id: int, export_id: int) -> None:
    services.workspace_purge(workspace_id=workspace_id, export_id=export_id)


@public_task()
def expire_exports() -> int:
    return services.exports_expire()

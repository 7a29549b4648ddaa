"""Celery entry points of the alerts: evaluation per workspace (after warehouse runs, hourly) and sends."""

from __future__ import annotations

from accounts.selectors import active_workspaces
from alerts import services
from bosco.db import connection
from bosco.tasks import public_task, tenant_task


@tenant_task()
def evaluate_workspace() -> dict[str, int]:
    """Evaluate every enabled rule of this workspace (idempotent: dedup keys keep one incident)."""
    return services.workspace_evaluate(workspace=connection.tenant).as_dict()


@public_task()
def evaluate_all() -> int:
    """Hourly beat fan-out: data-health rules fire even when no warehouse run happens."""
    schemas = list(active_workspaces().values_list("schema_name", flat=True))
    for schema in schemas:
        evaluate_workspace.delay(schema)
    return len(schemas)


@tenant_task(max_retries=services.MAX_ATTEMPTS)
def send_delivery(delivery_id: int) -> str:
    return services.delivery_send(delivery_id=delivery_id, workspace=connection.tenant)

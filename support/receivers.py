"""What support records when the apps below it announce something (connected in `SupportConfig.ready`)."""

from __future__ import annotations

from typing import Any

from bosco.db import connection
from bosco.tasks import enqueue
from support.models import WorkspaceHealth
from support.services import audit_record


def record_billing_change(
    sender: Any, *, workspace: Any, actor: Any, action: str, reason: str, before: Any, after: Any, **_: Any
) -> None:
    """Billing's support actions (extend a trial, grant a plan) join the one audit log."""
    audit_record(
        workspace=workspace, actor=actor, action=action, reason=reason, detail={"before": before, "after": after}
    )


def refresh_after_warehouse_run(sender: Any, *, run_id: int, status: str, **_: Any) -> None:
    """New data or a failed run: the workspace's health summary is refreshed by a worker, on commit."""
    enqueue("support.tasks.refresh_health", connection.schema_name, on_commit=True)


def health_row_for_new_workspace(sender: Any, *, workspace: Any, **_: Any) -> None:
    """A new workspace is on the console's list at once (all zero), before its first refresh."""
    WorkspaceHealth.objects.get_or_create(workspace=workspace)

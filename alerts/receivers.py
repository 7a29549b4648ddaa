"""What the alerts do when the warehouse announces a finished run (connected in `AlertsConfig.ready`)."""

from __future__ import annotations

from typing import Any

from bosco.db import connection
from bosco.tasks import enqueue


def evaluate_after_warehouse_run(sender: Any, *, run_id: int, status: str, **_: Any) -> None:
    """New numbers: the workspace's rules are evaluated by a worker once the run is committed."""
    enqueue("alerts.tasks.evaluate_workspace", connection.schema_name, on_commit=True)

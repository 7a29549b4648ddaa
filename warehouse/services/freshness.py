"""Publishes the workspace's newest complete day to its public row, for fan-outs that must not
open every schema.

`warehouse.selectors.freshness` answers "which day is whole?" inside a schema. The nightly-scoring
fan-out asks it for thousands of workspaces every hour, so the warehouse keeps the answer on the
workspace's public row (`Workspace.complete_through`) whenever it can change: after a successful
transform or a recorded sync read (a new sync moment), and in the nightly checks (an account that
stopped syncing stops holding the others back after `ACTIVE_SYNC_DAYS`, with no run to notice).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import DatabaseError
from django_tenants.utils import schema_context

from accounts.services import workspace_complete_through_refresh
from bosco.db import connection
from warehouse.selectors.freshness import account_whole_days

logger = logging.getLogger(__name__)


def complete_through_publish(*, now: datetime | None = None) -> date | None:
    """Store the current workspace's newest complete day, not capped at its yesterday (readers cap
    it with the workspace's zone at their own moment); None when no synced account holds it back."""

    def newest(time_zone: str) -> date | None:
        accounts = account_whole_days(time_zone=time_zone, now=now)
        return min(a.last_whole_day for a in accounts) if accounts else None

    return workspace_complete_through_refresh(schema_name=connection.schema_name, newest=newest)


def complete_through_publish_after(*, schema_name: str) -> None:
    """What a run or a sync calls once its moment is recorded: publish, in `schema_name` (an
    on-commit callback may run elsewhere), never failing the caller's work. A publish that failed
    is repaired by the next run or the nightly checks."""
    try:
        with schema_context(schema_name):
            complete_through_publish()
    except DatabaseError:
        logger.exception("newest complete day not published", extra={"schema_name": schema_name})

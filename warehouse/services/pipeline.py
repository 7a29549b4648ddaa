"""The hand-off from connectors to the warehouse: "this window of this connection has new raw data".

Connectors call `enqueue_window_transform` inside the transaction that finishes a sync run; the
transformation task is enqueued only if that transaction commits, and runs in the same workspace
schema, rebuilding staging → facts → rollups for just that date window.
"""

from __future__ import annotations

from datetime import date, datetime

from bosco.db import connection
from bosco.tasks import enqueue

#: the warehouse task that rebuilds one window (warehouse/tasks.py), queued by name
TRANSFORM_WINDOW_TASK = "warehouse.tasks.transform_window"


def enqueue_window_transform(
    *,
    connection_id: int,
    platform: str,
    account_ids: list[str],
    date_from: date,
    date_to: date,
    sync_run_id: int,
    synced_from: datetime | None = None,
) -> None:
    enqueue(
        TRANSFORM_WINDOW_TASK,
        connection.schema_name,
        connection_id=connection_id,
        platform=platform,
        account_ids=list(account_ids),
        date_from=date_from.isoformat(),
        date_to=date_to.isoformat(),
        sync_run_id=sync_run_id,
        synced_from=synced_from.isoformat() if synced_from else None,
        on_commit=True,
    )


def enqueue_upload_transform(*, platforms: list[str], account_ids: list[str], date_from: date, date_to: date) -> None:
    """An uploaded file landed (or replaced) rows of these platforms, accounts and days: rebuild
    them from the upload staging on, once the landing transaction commits."""
    enqueue(
        "warehouse.tasks.transform_upload_window",
        connection.schema_name,
        platforms=sorted(set(platforms)),
        account_ids=sorted(set(account_ids)),
        date_from=date_from.isoformat(),
        date_to=date_to.isoformat(),
        on_commit=True,
    )

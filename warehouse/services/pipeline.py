"""The hand-off from connectors to the warehouse: "this window of this connection has new raw data".

Connectors call `enqueue_window_transform` inside the transaction that finishes a sync run; the
transformation task is enqueued only if that transaction commits, and runs in the same workspace
schema, rebuilding staging → facts → rollups for just that date window.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from bosco.db import connection
from bosco.tasks import enqueue
from warehouse.models import PendingWindow, TransformRun
from warehouse.services.freshness import complete_through_publish_after
from warehouse.services.transform import normalize_account_id

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


def sync_read_record(
    *,
    connection_id: int,
    platform: str,
    account_ids: list[str],
    date_from: date,
    date_to: date,
    sync_run_id: int,
    synced_from: datetime,
) -> TransformRun | None:
    """A sync read these accounts completely and changed nothing: the facts are as current as that
    read, so record when it began (what `warehouse.selectors.freshness` needs), without a transform.

    Not recorded while any model still has a pending window (an earlier transform failed): the
    facts may then lag the raw data, and the next successful window run tells the truth instead.
    """
    if PendingWindow.objects.exists():
        return None
    now = timezone.now()
    run = TransformRun.objects.create(
        kind=TransformRun.Kind.READ,
        status=TransformRun.Status.SUCCESS,
        connection_id=connection_id,
        sync_run_id=sync_run_id,
        synced_from=synced_from,
        platforms=[platform],
        account_ids=sorted({normalize_account_id(platform, a) for a in account_ids}),
        date_from=date_from,
        date_to=date_to,
        started_at=now,
        finished_at=now,
        summary={"changed_records": 0},
    )
    # the newest complete day may move with this moment: published once the read is committed
    schema = connection.schema_name
    transaction.on_commit(lambda: complete_through_publish_after(schema_name=schema))
    return run

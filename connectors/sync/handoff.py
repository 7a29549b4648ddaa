"""The one hand-off from connectors to the warehouse: "this window of these accounts changed"."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from connectors.models import Connection, Platform, SyncRun
from warehouse.services import pipeline
from warehouse.services.landing import raw_dates_of_run


def hand_off(run: SyncRun, connection: Connection, account_ids: list[str], now: datetime) -> None:
    """Tell the warehouse which window of which accounts changed (enqueued only if we commit)."""
    date_from = run.landed_from or run.window_start
    date_to = run.landed_to or run.window_end
    if date_from is None or date_to is None:
        today = timezone.now().date()
        date_from = date_to = today
    if connection.platform == Platform.SHOPIFY:
        # Shopify chunks are days of `updated_at`; the warehouse needs the days the changed orders
        # were placed (an order refunded today may be months old) up to the newest change.
        placed = raw_dates_of_run(stream="shopify.order", sync_run_id=run.pk)
        if placed is not None:
            date_from = min(date_from, placed[0])
            date_to = max(date_to, placed[1])
    pipeline.enqueue_window_transform(
        connection_id=connection.pk,
        platform=connection.platform,
        account_ids=sorted(account_ids),
        date_from=date_from,
        date_to=date_to,
        sync_run_id=run.pk,
        # the run's first start: every day over in an account's zone by then was read whole —
        # if the run read everything; a failed or cancelled one may have stopped before an account
        synced_from=run.started_at if run.status == SyncRun.Status.SUCCEEDED else None,
    )
    run.handed_off_at = now
    run.save(update_fields=["handed_off_at"])


def hand_off_unchanged(run: SyncRun, connection: Connection, account_ids: list[str]) -> None:
    """A succeeded run that changed nothing still tells the warehouse when it read the accounts,
    or an account without delivery would look stale (docs/warehouse.md "Newest complete day")."""
    if run.status != SyncRun.Status.SUCCEEDED or run.started_at is None:
        return
    date_to = run.window_end or timezone.now().date()
    pipeline.sync_read_record(
        connection_id=connection.pk,
        platform=connection.platform,
        account_ids=sorted(account_ids),
        date_from=run.window_start or date_to,
        date_to=date_to,
        sync_run_id=run.pk,
        synced_from=run.started_at,
    )

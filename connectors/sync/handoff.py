"""The one hand-off from connectors to the warehouse: "this window of these accounts changed"."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from connectors.models import Connection, SyncRun
from warehouse.services import pipeline


def hand_off(run: SyncRun, connection: Connection, account_ids: list[str], now: datetime) -> None:
    """Tell the warehouse which window of which accounts changed (enqueued only if we commit)."""
    date_from = run.landed_from or run.window_start
    date_to = run.landed_to or run.window_end
    if date_from is None or date_to is None:
        today = timezone.now().date()
        date_from = date_to = today
    pipeline.enqueue_window_transform(
        connection_id=connection.pk,
        platform=connection.platform,
        account_ids=sorted(account_ids),
        date_from=date_from,
        date_to=date_to,
        sync_run_id=run.pk,
    )
    run.handed_off_at = now
    run.save(update_fields=["handed_off_at"])

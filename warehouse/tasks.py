"""Celery entry points of the warehouse: one service call each."""

from __future__ import annotations

from datetime import date

from bosco.tasks import tenant_task


@tenant_task()
def transform_window(
    *, connection_id: int, platform: str, account_ids: list[str], date_from: str, date_to: str, sync_run_id: int
) -> dict:
    from warehouse.services.transform import run_window

    return run_window(
        connection_id=connection_id,
        platform=platform,
        account_ids=account_ids,
        date_from=date.fromisoformat(date_from),
        date_to=date.fromisoformat(date_to),
        sync_run_id=sync_run_id,
    )

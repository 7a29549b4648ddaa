"""Celery entry points of the warehouse: one service call each."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from accounts.selectors import active_workspaces
from bosco.metrics import WAREHOUSE_RUN
from bosco.tasks import public_task, tenant_task
from warehouse.services.checks import fx_rates_refresh_all, scheduled_checks_run
from warehouse.services.fx import fx_rates_apply, reporting_currency_recompute
from warehouse.services.transform import run_full, run_upload_window, run_window


@tenant_task()
def transform_window(
    *,
    connection_id: int,
    platform: str,
    account_ids: list[str],
    date_from: str,
    date_to: str,
    sync_run_id: int,
    synced_from: str | None = None,
) -> dict:
    # `synced_from` is optional: messages queued before it existed still run
    with WAREHOUSE_RUN.labels("window").time():
        return run_window(
            connection_id=connection_id,
            platform=platform,
            account_ids=account_ids,
            date_from=date.fromisoformat(date_from),
            date_to=date.fromisoformat(date_to),
            sync_run_id=sync_run_id,
            synced_from=datetime.fromisoformat(synced_from) if synced_from else None,
        )


@tenant_task()
def transform_upload_window(*, platforms: list[str], account_ids: list[str], date_from: str, date_to: str) -> dict:
    with WAREHOUSE_RUN.labels("window").time():
        return run_upload_window(
            platforms=platforms,
            account_ids=account_ids,
            date_from=date.fromisoformat(date_from),
            date_to=date.fromisoformat(date_to),
        )


@tenant_task()
def transform_full(*, platforms: list[str] | None = None) -> dict:
    with WAREHOUSE_RUN.labels("full").time():
        return run_full(platforms=platforms)


@tenant_task()
def recompute_reporting_currency() -> dict:
    return reporting_currency_recompute()


@tenant_task()
def apply_fx_rates(*, date_from: str, date_to: str) -> dict | None:
    return fx_rates_apply(date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to))


@tenant_task()
def nightly_checks() -> dict:
    return scheduled_checks_run()


@public_task()
def nightly_checks_all() -> int:
    """Fan out the nightly checks (freshness, data lag, settling days) to every workspace."""
    schemas = list(active_workspaces().values_list("schema_name", flat=True))
    for schema in schemas:
        nightly_checks.delay(schema)
    return len(schemas)


@public_task()
def refresh_fx_rates_all(*, source: str | None = None) -> dict[str, Any]:
    return fx_rates_refresh_all(source=source)

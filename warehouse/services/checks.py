"""Scheduled warehouse work: nightly checks per workspace and the daily ECB rate refresh.

Freshness matters most when nothing arrives, so it cannot only run after syncs: the nightly
checks record it (with the data lag per account) as a run of kind "checks", let settled days
drop their "settling" flag, and prune the restatement log past its retention.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.selectors import active_workspaces
from bosco.db import connection
from bosco.tasks import enqueue
from warehouse.models import Restatement, TransformRun
from warehouse.services import fx, quality
from warehouse.services.config import setting
from warehouse.services.freshness import complete_through_publish_after
from warehouse.services.graph import platforms_with_models
from warehouse.services.transform import settling_refresh

logger = logging.getLogger(__name__)


def scheduled_checks_run() -> dict[str, Any]:
    """Run the workspace-wide checks now; returns a summary (also stored as a run)."""
    today = timezone.now().date()
    run = TransformRun.objects.create(
        kind=TransformRun.Kind.CHECKS,
        platforms=platforms_with_models(),
        account_ids=None,
        date_from=today,
        date_to=today,
        started_at=timezone.now(),
    )
    settled = settling_refresh()
    # an account that stopped syncing stops holding the newest complete day back after a while,
    # with no run of its own to say so
    complete_through_publish_after(schema_name=connection.schema_name)
    outcomes = quality.run_checks(run=run)
    cutoff = timezone.now() - timedelta(days=int(setting("restatements.retention_days")))
    pruned, _ = Restatement.objects.filter(detected_at__lt=cutoff).delete()
    summary = {"settled_rows": settled, "warnings": sum(1 for o in outcomes if o.failing_rows), "pruned": pruned}
    run.status = TransformRun.Status.SUCCESS
    run.finished_at = timezone.now()
    run.summary = summary
    run.save(update_fields=["status", "finished_at", "summary"])
    return {"run_id": run.pk, **summary}


def fx_rates_refresh_all(*, source: str | None = None) -> dict[str, Any]:
    """Fetch the ECB rates once and load them into the template and every workspace.

    Workspaces whose rates changed recompute the affected days in a worker each.
    """
    url = str(source or getattr(settings, "BOSCO_FX_RATES_URL", fx.ECB_90D_URL))
    rates = fx.fx_rates_read(source=url)
    results: dict[str, Any] = {}
    schemas = [settings.TENANT_BASE_SCHEMA, *active_workspaces().values_list("schema_name", flat=True)]
    for schema in schemas:
        with schema_context(schema):
            loaded = fx.fx_rates_load(rates=rates, source=fx.fx_source_label(url))
            results[schema] = {"inserted": loaded.inserted, "updated": loaded.updated}
            if schema != settings.TENANT_BASE_SCHEMA and loaded.changed_from and loaded.changed_to:
                enqueue(
                    "warehouse.tasks.apply_fx_rates",
                    connection.schema_name,
                    date_from=loaded.changed_from.isoformat(),
                    date_to=loaded.changed_to.isoformat(),
                )
    logger.info("ECB rates refreshed from %s for %d schemas", url, len(schemas))
    return results

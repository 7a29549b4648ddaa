"""A real sync against the emulator moves the sync-lag and rows-landed series on /metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bosco.db import connection as tenant_db
from connectors.sync import run_execute
from tests.ops.scrape import TOKEN, scrape, value


@pytest.fixture(autouse=True)
def _metrics_token(settings) -> None:
    settings.BOSCO_METRICS_TOKEN = TOKEN


@pytest.mark.django_db(transaction=True)  # the figures are recorded when the sync's writes commit
def test_sync_records_rows_landed_and_lag_per_platform(tenant, emulator, connect, new_run, handoffs) -> None:
    connection = connect("google_ads", backfill_days=3)
    connection.last_success_at = timezone.now() - timedelta(hours=7)
    connection.save(update_fields=["last_success_at"])
    run = new_run(connection, "backfill")
    tenant_db.set_schema_to_public()
    before = scrape()
    tenant_db.set_tenant(tenant)

    assert run_execute(run_id=run.pk) == "succeeded"

    run.refresh_from_db()
    tenant_db.set_schema_to_public()
    after = scrape()
    landed = value(after, "bosco_rows_landed_total", platform="google_ads") - value(
        before, "bosco_rows_landed_total", platform="google_ads"
    )
    assert landed > 0 and landed >= run.rows_inserted
    assert value(after, "bosco_rows_landed_total", platform="meta") == value(
        before, "bosco_rows_landed_total", platform="meta"
    )
    lag_count = "bosco_sync_lag_seconds_count"
    assert value(after, lag_count, platform="google_ads") == value(before, lag_count, platform="google_ads") + 1
    lag = value(after, "bosco_sync_lag_seconds_sum", platform="google_ads") - value(
        before, "bosco_sync_lag_seconds_sum", platform="google_ads"
    )
    assert 7 * 3600 <= lag < 8 * 3600

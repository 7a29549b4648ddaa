"""A plan change while a sync runs (issue 14, "Bad input"): a real Celery worker syncs from the
slowed ad-platform emulator while the trial ends, or while Stripe's webhooks (the Stripe emulator
over HTTP, delivered to the live server) move the workspace to a smaller plan.

The running sync finishes or stops cleanly with its reason recorded on the run, nothing landed is
lost or landed twice, and the next scheduled sync obeys the new entitlements.
"""

# The connectors' fixtures are imported below, so the tests' parameters of the same names "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.utils import timezone

from billing import entitlements
from billing.models import BillingAccount, StripeEvent
from billing.tasks import process_stripe_event
from connectors import services as connectors_services
from connectors.models import Connection, SyncRun
from tests.billing.test_webhooks import WEBHOOK, subscribe, wait_until
from tests.connectors.conftest import (  # noqa: F401 - fixtures used by the tests below
    GOOGLE_EUR,
    TODAY,
    connect,
    emulator,
    emulator_server,
    handoffs,
    raw_daily,
    tenant,
    tenant_committed,
    truth_daily,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SINCE = TODAY - timedelta(days=59)


def _run(pk: int) -> SyncRun:
    return SyncRun.objects.get(pk=pk)


def _started_landing(pk: int) -> bool:
    run = _run(pk)
    return run.status == SyncRun.Status.RUNNING and run.pages > 0


def _no_duplicate_keys() -> None:
    from warehouse.models import RawRecord

    keys = list(RawRecord.objects.values_list("stream", "record_key"))
    assert keys and len(keys) == len(set(keys)), "every record landed once"


def test_the_trial_ending_mid_sync_stops_it_cleanly_and_paying_resumes_without_loss(
    celery_worker: Any, tenant: Any, emulator: Any, connect: Any, handoffs: list
) -> None:
    emulator.state.update_config(latency_seconds=0.25)  # a run of many pages, long enough to interrupt
    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    run, _ = connectors_services.sync_request(connection=connection, kind=SyncRun.Kind.MANUAL)
    wait_until(lambda: _started_landing(run.pk), 60, "the sync to land its first pages")

    # Time passes: the trial is over (the state changes by itself; the cache knows its end).
    BillingAccount.objects.filter(workspace=tenant).update(trial_end=timezone.now() - timedelta(seconds=1))
    entitlements._redis().delete(entitlements._cache_key(tenant.schema_name))

    wait_until(lambda: not _run(run.pk).is_active, 60, "the running sync to stop")
    stopped = _run(run.pk)
    assert stopped.status == SyncRun.Status.CANCELLED
    assert (
        stopped.note.startswith("Stopped: The free trial ended") and "Everything synced so far is kept" in stopped.note
    )
    assert stopped.error_code == "" and stopped.rows > 0
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE, "the connection itself is fine"
    landed = raw_daily("google_ads.ad_group_daily", GOOGLE_EUR, SINCE, TODAY)
    truth = truth_daily(emulator, "google_ads", GOOGLE_EUR, SINCE, TODAY)
    assert len(landed) < len(truth), "stopped part-way"
    assert all(truth[key] == value for key, value in landed.items()), "what landed is right"
    assert handoffs and handoffs[-1]["sync_run_id"] == run.pk, "what landed goes to the warehouse"
    _no_duplicate_keys()

    # Read-only: the scheduler starts nothing, a sync request is refused with the reason.
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now() - timedelta(minutes=1))
    assert connectors_services.syncs_schedule_due() == {"started": 0, "rescued": 0}

    # Paying brings it back: the next sync carries on from the committed cursors to the truth.
    BillingAccount.objects.filter(workspace=tenant).update(status="active", plan="growth")
    entitlements._redis().delete(entitlements._cache_key(tenant.schema_name))
    emulator.state.update_config(latency_seconds=0.0)
    assert connectors_services.syncs_schedule_due()["started"] == 1
    resumed = wait_until(
        lambda: (
            SyncRun.objects.filter(connection=connection).exclude(pk=run.pk).filter(finished_at__isnull=False).first()
        ),
        90,
        "the next sync",
    )
    assert resumed.status == SyncRun.Status.SUCCEEDED, resumed.error_message
    assert raw_daily("google_ads.ad_group_daily", GOOGLE_EUR, SINCE, TODAY) == truth_daily(
        emulator, "google_ads", GOOGLE_EUR, SINCE, TODAY
    )
    _no_duplicate_keys()


@pytest.fixture
def live_stripe(stripe_emulator: Any, live_server: Any) -> Any:
    stripe_emulator.state.set_webhook_endpoint(f"{live_server.url}{WEBHOOK}")
    yield stripe_emulator
    stripe_emulator.state.set_webhook_endpoint(None)


def test_a_webhook_downgrade_mid_sync_lets_it_finish_and_the_next_schedule_obeys_the_smaller_plan(
    celery_worker: Any, tenant: Any, emulator: Any, connect: Any, handoffs: list, live_stripe: Any
) -> None:
    # Six data sources on the trial (Growth: 25); the one syncing is the oldest, and slow enough
    # (a second per platform request) to still be running when Stripe's events have been applied.
    emulator.state.update_config(latency_seconds=1.0)
    syncing = connect("google_ads", accounts=[GOOGLE_EUR])
    others = [connect("meta", accounts=[]) for _ in range(5)]
    run, _ = connectors_services.sync_request(connection=syncing, kind=SyncRun.Kind.MANUAL)
    wait_until(lambda: _started_landing(run.pk), 60, "the sync to land its first pages")

    # The owner subscribes to Starter (5 data sources, 6-hour syncs, 24 months of history):
    # Stripe's signed events reach the live server and the worker applies them.
    # The test's in-process worker has one thread, busy with the sync; in production the billing
    # queue has workers of its own. So this thread plays the billing worker: it runs the same task
    # on each stored event, and the queued copies the sync's worker picks up later find them done.
    schema = db.schema_name
    db.set_schema_to_public()
    try:
        subscribe(live_stripe, tenant, plan="starter")
        live_stripe.state.wait_for_webhooks()
        for event_id in StripeEvent.objects.order_by("created", "received_at").values_list("id", flat=True):
            process_stripe_event.apply(args=[event_id]).get()
        assert BillingAccount.objects.filter(workspace=tenant, status="active", plan="starter").exists()
    finally:
        db.set_schema_to_public()
        db.set_tenant(tenant)
    assert db.schema_name == schema
    plan = entitlements.for_workspace(schema)
    assert (plan.plan, plan.max_connections, plan.min_sync_interval_hours, plan.read_only) == ("starter", 5, 6, False)
    assert _run(run.pk).status == SyncRun.Status.RUNNING, "the plan changed while the sync was running"

    # A smaller plan is not a reason to stop: the run finishes with everything, once.
    emulator.state.update_config(latency_seconds=0.0)
    wait_until(lambda: not _run(run.pk).is_active, 90, "the running sync to finish")
    finished = _run(run.pk)
    assert finished.status == SyncRun.Status.SUCCEEDED, finished.error_message
    assert raw_daily("google_ads.ad_group_daily", GOOGLE_EUR, SINCE, TODAY) == truth_daily(
        emulator, "google_ads", GOOGLE_EUR, SINCE, TODAY
    )
    _no_duplicate_keys()
    wait_until(
        lambda: not StripeEvent.objects.filter(processed_at__isnull=True).exists(), 30, "the queued event copies"
    )
    assert BillingAccount.objects.get(workspace=tenant).plan == "starter", "each event applied once, same state"

    # The next scheduled round obeys Starter: the newest data source over 5 pauses (kept, with
    # the reason), and the one just synced waits for Starter's 6 hours although it was due.
    Connection.objects.update(next_sync_at=timezone.now() - timedelta(minutes=1))
    started = connectors_services.syncs_schedule_due()
    assert started == {"started": 0, "rescued": 0}
    newest = Connection.objects.get(pk=others[-1].pk)
    assert newest.status == Connection.Status.PAUSED
    assert "your plan includes 5 data sources" in newest.status_message
    assert Connection.objects.filter(status=Connection.Status.PAUSED).count() == 1
    assert not SyncRun.objects.filter(connection=syncing).exclude(pk=run.pk).exists()
    # ... and once 6 hours have passed it syncs again, within Starter's history depth.
    Connection.objects.filter(pk=syncing.pk).update(last_sync_at=timezone.now() - timedelta(hours=6, minutes=1))
    assert connectors_services.syncs_schedule_due()["started"] == 1
    later = wait_until(
        lambda: SyncRun.objects.filter(connection=syncing).exclude(pk=run.pk).filter(finished_at__isnull=False).first(),
        60,
        "the next scheduled sync",
    )
    assert later.status == SyncRun.Status.SUCCEEDED, later.error_message
    assert later.window_start >= TODAY - timedelta(days=plan.history_days), "no deeper than the plan keeps"
    time.sleep(0.2)
    _no_duplicate_keys()

"""The connectors → warehouse hand-off and the warehouse tasks, run by a real Celery worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from devtools.synthetic import SyntheticSpec, synthetic_raw_land
from warehouse.models import TransformRun
from warehouse.services import fx
from warehouse.services.pipeline import enqueue_window_transform
from warehouse.tasks import nightly_checks, transform_full

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SPEC = SyntheticSpec(platforms=("google_ads",), accounts_per_platform=1, campaigns_per_account=2, seed=6)
D1, D2 = date(2026, 11, 1), date(2026, 11, 7)
SYNCED_FROM = datetime(2026, 11, 8, 5, 30, tzinfo=ZoneInfo("America/New_York"))


def _wait_for(schema: str, predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with schema_context(schema):
            if predicate():
                return
        time.sleep(0.2)
    raise AssertionError("the worker did not finish in time")


def test_a_committed_sync_hands_its_window_to_a_worker(
    celery_worker: Any, make_workspace: Callable[..., Any], sample_rates: list[Any]
) -> None:
    workspace = make_workspace("wh-tasks")
    account = SPEC.accounts()[0]["account_id"]
    with schema_context(workspace.schema_name):
        fx.fx_rates_load(rates=sample_rates)
        synthetic_raw_land(spec=SPEC, date_from=D1, date_to=D2)
        with transaction.atomic():
            enqueue_window_transform(
                connection_id=11,
                platform="google_ads",
                account_ids=[account],
                date_from=D1,
                date_to=D2,
                sync_run_id=5,
                synced_from=SYNCED_FROM,
            )
            time.sleep(0.5)
            assert not TransformRun.objects.exists(), "nothing runs before the sync commits"
    _wait_for(workspace.schema_name, lambda: TransformRun.objects.filter(status="success").exists())
    with schema_context(workspace.schema_name):
        run = TransformRun.objects.get()
        assert (run.connection_id, run.sync_run_id, run.date_from, run.date_to) == (11, 5, D1, D2)
        assert run.synced_from == SYNCED_FROM  # through the queue's JSON and back, zone kept
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM fct_ad_performance_daily")
            assert cursor.fetchone()[0] == 2 * 7
    transform_full.delay(workspace.schema_name, platforms=["google_ads"])
    nightly_checks.delay(workspace.schema_name)
    _wait_for(
        workspace.schema_name,
        lambda: (
            TransformRun.objects.filter(kind="full", status="success").exists()
            and TransformRun.objects.filter(kind="checks", status="success").exists()
        ),
    )


def test_a_reporting_currency_saved_on_the_settings_page_is_recomputed_by_a_worker(
    celery_worker: Any, make_workspace: Callable[..., Any], workspace_client: Callable[..., Any]
) -> None:
    """accounts announces the change (a signal); the warehouse, subscribed in its AppConfig, queues
    the recompute for after the commit; a worker converts the facts in the workspace's schema."""
    workspace = make_workspace("wh-currency")
    owner = workspace.memberships.get().user
    data = {"name": "Acme", "reporting_currency": "USD", "time_zone": "Europe/Berlin"}

    response = workspace_client(owner, workspace).post("/settings/", data)

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.reporting_currency == "USD"
    _wait_for(workspace.schema_name, lambda: TransformRun.objects.filter(kind="fx", status="success").exists())

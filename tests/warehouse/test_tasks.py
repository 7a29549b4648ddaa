"""The connectors → warehouse hand-off and the warehouse tasks, run by a real Celery worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from warehouse.models import TransformRun
from warehouse.services import fx
from warehouse.services.pipeline import enqueue_window_transform
from warehouse.services.synthetic import SyntheticSpec, synthetic_raw_land
from warehouse.tasks import nightly_checks, transform_full

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SPEC = SyntheticSpec(platforms=("google_ads",), accounts_per_platform=1, campaigns_per_account=2, seed=6)
D1, D2 = date(2026, 11, 1), date(2026, 11, 7)


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
                connection_id=11, platform="google_ads", account_ids=[account], date_from=D1, date_to=D2, sync_run_id=5
            )
            time.sleep(0.5)
            assert not TransformRun.objects.exists(), "nothing runs before the sync commits"
    _wait_for(workspace.schema_name, lambda: TransformRun.objects.filter(status="success").exists())
    with schema_context(workspace.schema_name):
        run = TransformRun.objects.get()
        assert (run.connection_id, run.sync_run_id, run.date_from, run.date_to) == (11, 5, D1, D2)
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

"""The nightly scoring through beat's fan-out on a real Celery worker and real PostgreSQL.

Two workspaces with their own synthetic history; only one has a runaway Google Ads day. The
fan-out enqueues one tenant task per workspace, each runs in its own schema, findings land in
the right schema only, and a second night on the same data leaves every row as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import schema_context

from bosco.beat import BEAT_SCHEDULE
from insights.models import AnomalyFinding, ForecastPoint, ModelVersion
from insights.tasks import score_due_workspaces
from tests.insights.conftest import yesterday_utc

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow]


def _rows(schema: str) -> tuple[list[tuple], list[tuple], int]:
    with schema_context(schema):
        findings = sorted(
            AnomalyFinding.objects.values_list(
                "pk", "metric", "scope", "key", "date", "value", "severity", "version_id"
            )
        )
        points = sorted(ForecastPoint.objects.values_list("pk", "metric", "scope", "key", "date", "yhat", "version_id"))
        return findings, points, ModelVersion.objects.count()


def _run_all(timeout: float = 240) -> list[dict]:
    ids = score_due_workspaces.delay(all_workspaces=True).get(timeout=60)
    from celery.result import AsyncResult

    return [AsyncResult(task_id).get(timeout=timeout) for task_id in ids]


def test_nightly_scoring_runs_in_each_workspace_schema_and_is_idempotent(
    celery_worker, data_workspace, settings
) -> None:
    settings.INSIGHTS_CAMPAIGN_LIMIT = 2
    settings.INSIGHTS_FORECAST_CAMPAIGNS = 0
    spike_day = yesterday_utc() - timedelta(days=6)
    spiky = data_workspace("ins-w-a", spike_day=spike_day, days=70)
    calm = data_workspace("ins-w-b", days=70)

    reports = {r["schema_name"]: r for r in _run_all()}
    assert reports[spiky.schema_name]["status"] == "ok" and reports[calm.schema_name]["status"] == "ok"
    assert reports[spiky.schema_name]["as_of"] == yesterday_utc().isoformat()  # the workspace's own yesterday

    with schema_context(spiky.schema_name):
        spike = AnomalyFinding.objects.get(scope="platform", key="google_ads", metric="spend", date=spike_day)
        assert spike.severity in ("medium", "high") and spike.direction == "up"
        assert ForecastPoint.objects.filter(scope="workspace").exists()
    with schema_context(calm.schema_name):
        assert not AnomalyFinding.objects.filter(
            scope="platform", key="google_ads", metric="spend", date=spike_day
        ).exists()
        assert ForecastPoint.objects.filter(scope="workspace").exists()

    first = {ws.schema_name: _rows(ws.schema_name) for ws in (spiky, calm)}
    assert first[spiky.schema_name][0] and first[spiky.schema_name][1]

    again = {r["schema_name"]: r for r in _run_all()}
    assert again[spiky.schema_name]["findings_removed"] == 0
    for ws in (spiky, calm):
        assert _rows(ws.schema_name) == first[ws.schema_name]


def test_beat_schedules_the_hourly_fan_out() -> None:
    entry = BEAT_SCHEDULE["insights.score-nightly"]
    assert entry["task"] == score_due_workspaces.name == "insights.tasks.score_due_workspaces"
    assert entry["options"]["expires"] <= 3600

"""The nightly scoring through beat's fan-out on a real Celery worker and real PostgreSQL.

Two workspaces with their own synthetic history; only one has a runaway Google Ads day. The
fan-out enqueues one tenant task per workspace, each runs in its own schema, findings land in
the right schema only, and a second night on the same data leaves every row as it was.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.result import AsyncResult
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Workspace
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


BERLIN, LOS_ANGELES = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")


def _zoned(workspace: Workspace, *, google_ads: str, meta: str) -> None:
    """The workspace in Berlin, its two ad accounts in the given zones, yesterday already scored."""
    Workspace.objects.filter(pk=workspace.pk).update(
        time_zone="Europe/Berlin", scored_through=yesterday_utc() - timedelta(days=1)
    )
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute("UPDATE dim_ad_account SET time_zone = %s WHERE platform = 'google_ads'", [google_ads])
        cursor.execute("UPDATE dim_ad_account SET time_zone = %s WHERE platform = 'meta'", [meta])


def _synced(workspace: Workspace, platform: str, *, at: datetime) -> None:
    """A sync of the platform's accounts began reading at `at` and changed nothing; the warehouse
    publishes the newest complete day as it would a little after (the real hook uses the clock)."""
    from warehouse.models import AdAccount
    from warehouse.services.freshness import complete_through_publish
    from warehouse.services.pipeline import sync_read_record

    with schema_context(workspace.schema_name):
        day = yesterday_utc()
        sync_read_record(
            connection_id=1,
            platform=platform,
            account_ids=list(AdAccount.objects.filter(platform=platform).values_list("account_id", flat=True)),
            date_from=day - timedelta(days=2),
            date_to=day,
            sync_run_id=1,
            synced_from=at,
        )
        complete_through_publish(now=at + timedelta(minutes=10))


def _fan_out(now: datetime) -> list[dict]:
    ids = score_due_workspaces.delay(now=now.isoformat()).get(timeout=60)
    return [AsyncResult(task_id).get(timeout=300) for task_id in ids]


def _scored_through(workspace: Workspace) -> date | None:
    return Workspace.objects.get(pk=workspace.pk).scored_through


def test_yesterday_is_scored_once_it_is_complete_in_every_account_zone_and_only_once(
    celery_worker, data_workspace, settings
) -> None:
    settings.INSIGHTS_CAMPAIGN_LIMIT = 2
    settings.INSIGHTS_FORECAST_CAMPAIGNS = 0
    day = yesterday_utc()  # the synthetic history ends here: "yesterday" of the night below
    morning = day + timedelta(days=1)
    mixed = data_workspace("ins-w-mixed", days=70)
    _zoned(mixed, google_ads="Europe/Berlin", meta="America/Los_Angeles")
    single = data_workspace("ins-w-single", days=70)
    _zoned(single, google_ads="Europe/Berlin", meta="Europe/Berlin")

    # 03:00 in Berlin both workspaces' syncs read their accounts: over in Berlin, 18:00 in LA
    evening = datetime.combine(morning, time(3, 0), BERLIN)
    for workspace in (mixed, single):
        for platform in ("google_ads", "meta"):
            _synced(workspace, platform, at=evening)

    assert _fan_out(datetime.combine(morning, time(3, 25), BERLIN)) == []  # before the scoring hour
    # 04:25 in Berlin: the single-zone workspace is scored as ever; LA has not finished the day
    reports = _fan_out(datetime.combine(morning, time(4, 25), BERLIN))
    assert [(r["schema_name"], r["status"], r["as_of"]) for r in reports] == [
        (single.schema_name, "ok", day.isoformat())
    ]
    assert _scored_through(single) == day and _scored_through(mixed) == day - timedelta(days=1)

    # LA's midnight has passed, but no sync has read its day since
    la_midnight = datetime.combine(morning, time(0, 0), LOS_ANGELES)
    assert _fan_out(la_midnight + timedelta(minutes=25)) == []

    # the first run after a sync that began after LA's midnight scores yesterday, once
    _synced(mixed, "meta", at=la_midnight + timedelta(minutes=30))
    reports = _fan_out(la_midnight + timedelta(hours=1, minutes=25))
    assert [(r["schema_name"], r["status"], r["as_of"]) for r in reports] == [
        (mixed.schema_name, "ok", day.isoformat())
    ]
    with schema_context(mixed.schema_name):
        assert ForecastPoint.objects.filter(scope="workspace", date=morning).exists()  # forecast from the day after
    assert _scored_through(mixed) == day

    assert _fan_out(la_midnight + timedelta(hours=1, minutes=25)) == []
    assert _fan_out(la_midnight + timedelta(hours=2, minutes=25)) == []
    assert _fan_out(datetime.combine(morning, time(23, 25), BERLIN)) == []
    assert _scored_through(mixed) == _scored_through(single) == day

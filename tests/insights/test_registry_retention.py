"""Registry retention: nightly scoring deletes the versions nothing refers to any more.

A version goes only when it is older than the retention period, superseded by a newer version
of the same kind and name, and referenced by no stored row. Versions are created directly with
chosen ages, so each rule is checked on its own; the nightly wiring runs the real scoring.
"""

from __future__ import annotations

import itertools
import logging
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context

from insights.models import (
    AnomalyFinding,
    AttributionImport,
    AttributionResult,
    BudgetScenario,
    ForecastPoint,
    ModelVersion,
    Scope,
)
from insights.services import prune_model_versions, score_workspace_nightly
from tests.insights.conftest import in_schema, yesterday_utc

FORECAST = ModelVersion.Kind.FORECAST
_fingerprints = itertools.count()


def _version(name: str, *, age_days: float, now: datetime, kind: str = FORECAST) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind,
        name=name,
        algorithm="test/1",
        code_version="0.1.0+src.test",
        fingerprint=f"retention-{next(_fingerprints)}",
        created_at=now - timedelta(days=age_days),
    )


def _forecast_point(version: ModelVersion, key: str = "meta") -> ForecastPoint:
    return ForecastPoint.objects.create(
        version=version,
        metric="spend",
        scope=Scope.PLATFORM,
        key=key,
        date=date(2026, 1, 1),
        yhat=1.0,
        lower_80=0.5,
        upper_80=1.5,
        lower_95=0.2,
        upper_95=1.8,
    )


def _finding(version: ModelVersion) -> AnomalyFinding:
    return AnomalyFinding.objects.create(
        version=version,
        metric="spend",
        scope=Scope.WORKSPACE,
        date=date(2026, 1, 1),
        value=10.0,
        expected=1.0,
        lower=0.5,
        upper=1.5,
        score=9.0,
        z=9.0,
        severity=AnomalyFinding.Severity.HIGH,
        direction=AnomalyFinding.Direction.UP,
        explanation="Spend was 10× the usual.",
    )


def _pks() -> set[int]:
    return set(ModelVersion.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_only_old_unreferenced_superseded_versions_are_deleted(make_workspace) -> None:
    with in_schema(make_workspace("ins-prune")):
        now = timezone.now()
        spend = "Spend · Meta Ads"
        gone = [_version(spend, age_days=60, now=now), _version(spend, age_days=45, now=now)]
        shown_forecast = _version(spend, age_days=50, now=now)
        _forecast_point(shown_forecast)
        recent = _version(spend, age_days=10, now=now)  # superseded and unreferenced, but recent
        newest = _version(spend, age_days=2, now=now)

        # A series whose newest version is old and unreferenced keeps that one.
        revenue = "Revenue · Google Ads"
        gone.append(_version(revenue, age_days=90, now=now))
        newest_old = _version(revenue, age_days=40, now=now)

        # Anomaly runs: the one whose findings are history stays.
        run = ModelVersion.Kind.ANOMALY
        with_findings = _version("Nightly scoring", kind=run, age_days=70, now=now)
        _finding(with_findings)
        gone.append(_version("Nightly scoring", kind=run, age_days=60, now=now))
        last_run = _version("Nightly scoring", kind=run, age_days=40, now=now)

        # "Newest" is per kind and name: a budget fit named like a forecast series is not
        # superseded by the forecast versions of that name.
        budget_same_name = _version(spend, kind=ModelVersion.Kind.BUDGET, age_days=90, now=now)

        # The same created_at (same `now`, same age): the higher id counts as the newer.
        tied = [_version("Tied", age_days=50, now=now), _version("Tied", age_days=50, now=now)]
        gone.append(tied[0])

        # Attribution: an import names one version and its results may name another.
        attribution = ModelVersion.Kind.ATTRIBUTION
        of_import = _version("Attribution", kind=attribution, age_days=80, now=now)
        of_result = _version("Attribution", kind=attribution, age_days=70, now=now)
        _version("Attribution", kind=attribution, age_days=60, now=now)
        paths = AttributionImport.objects.create(
            name="Q1",
            filename="q1.csv",
            content="path,total_conversions,total_null\nSearch,1,0\n",
            content_sha256="0" * 64,
            version=of_import,
            paths=1,
            conversions=1.0,
            conversion_value=0.0,
            null_paths=0.0,
        )
        AttributionResult.objects.create(
            attribution_import=paths,
            version=of_result,
            channel="Search",
            model="last_touch",
            conversions=1.0,
            conversion_value=0.0,
        )

        # Budget: the curves a saved scenario was planned on stay.
        curves = "Platforms · Revenue"
        budget = ModelVersion.Kind.BUDGET
        planned_on = _version(curves, kind=budget, age_days=80, now=now)
        BudgetScenario.objects.create(
            name="Q1 push",
            version=planned_on,
            scope=Scope.PLATFORM,
            target="conversion_value",
            period="month",
            budget=1.0,
        )
        gone.append(_version(curves, kind=budget, age_days=70, now=now))
        _version(curves, kind=budget, age_days=60, now=now)

        before = _pks()
        deleted = prune_model_versions(now=now)

        assert deleted == len(gone) == 6
        assert _pks() == before - {v.pk for v in gone}
        for kept in (shown_forecast, recent, newest, newest_old, with_findings, last_run, budget_same_name):
            assert kept.pk in _pks()
        assert {of_import.pk, of_result.pk, planned_on.pk, tied[1].pk} <= _pks()
        assert prune_model_versions(now=now) == 0  # nothing left to delete


@pytest.mark.django_db
def test_the_retention_period_comes_from_the_argument_or_the_setting(make_workspace, settings) -> None:
    with in_schema(make_workspace("ins-prune-days")):
        now = timezone.now()
        ten_days = _version("Spend · Meta Ads", age_days=10, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
        assert prune_model_versions(now=now) == 0  # default: 30 days
        assert prune_model_versions(keep_days=11, now=now) == 0
        settings.INSIGHTS_MODEL_VERSION_RETENTION_DAYS = 7
        assert prune_model_versions(now=now) == 1
        assert not ModelVersion.objects.filter(pk=ten_days.pk).exists()
        with pytest.raises(ValueError, match="keep_days"):
            prune_model_versions(keep_days=-1)


@pytest.mark.django_db
def test_pruning_stays_in_the_active_workspace_schema(make_workspace) -> None:
    first, second = make_workspace("ins-prune-a"), make_workspace("ins-prune-b")
    now = timezone.now()
    with in_schema(second):
        other = _version("Spend · Meta Ads", age_days=60, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
    with in_schema(first):
        _version("Spend · Meta Ads", age_days=60, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
        assert prune_model_versions(now=now) == 1
    with in_schema(second):
        assert ModelVersion.objects.filter(pk=other.pk, fingerprint=other.fingerprint).exists()
        assert prune_model_versions(now=now) == 1  # it was prunable: only the schema protected it


@pytest.mark.django_db
def test_a_version_referenced_after_it_was_selected_is_kept(make_workspace) -> None:
    """A prediction that names a candidate between the lock and the delete keeps it (no error)."""
    with in_schema(make_workspace("ins-prune-race")):
        now = timezone.now()
        late = _version("Spend · Meta Ads", age_days=60, now=now)
        _version("Spend · Meta Ads", age_days=50, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
        seen: list[str] = []

        def reference_before_delete(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            if sql.startswith('DELETE FROM "ins_model_version"') and not seen:
                seen.append(sql)
                _forecast_point(late)  # the selection already locked `late` as unreferenced
            return execute(sql, params, many, context)

        with connection.execute_wrapper(reference_before_delete):
            deleted = prune_model_versions(now=now)
        assert seen, "the delete statement was not seen"
        assert deleted == 1
        assert ModelVersion.objects.filter(pk=late.pk).exists()
        # in_schema's exit fires the deferred foreign-key checks: a deleted `late` would fail there


@pytest.mark.django_db(transaction=True)
def test_a_version_another_session_holds_is_skipped_without_waiting(make_workspace) -> None:
    """A committing transaction that refers to a version holds a key-share lock on it; pruning
    skips that version (next night's run takes it) instead of waiting or failing."""
    workspace = make_workspace("ins-prune-lock")
    now = timezone.now()
    with schema_context(workspace.schema_name):
        held = _version("Spend · Meta Ads", age_days=60, now=now)
        free = _version("Spend · Meta Ads", age_days=50, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                f'SELECT 1 FROM "{workspace.schema_name}".ins_model_version WHERE id = %s FOR KEY SHARE', [held.pk]
            )
        with schema_context(workspace.schema_name):
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")  # a wait would fail the test, not hang it
            assert prune_model_versions(now=now) == 1
            assert set(ModelVersion.objects.filter(pk__in=[held.pk, free.pk]).values_list("pk", flat=True)) == {held.pk}
        other.rollback()
        with schema_context(workspace.schema_name):
            assert prune_model_versions(now=now) == 1
            assert not ModelVersion.objects.filter(pk=held.pk).exists()
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


@pytest.mark.django_db
def test_nightly_scoring_prunes_after_a_successful_run_and_reports_the_count(in_scored, caplog) -> None:
    now = timezone.now()
    superseded = _version("Spend · Paused campaign", age_days=45, now=now)
    latest = _version("Spend · Paused campaign", age_days=40, now=now)
    scored = _pks() - {superseded.pk, latest.pk}

    with caplog.at_level(logging.INFO, logger="insights.services"):
        report = score_workspace_nightly(as_of=yesterday_utc(), campaigns=10, forecast_campaigns=2)

    assert report.status == "ok"
    assert report.versions_pruned == 1 and report.as_dict()["versions_pruned"] == 1
    assert _pks() == scored | {latest.pk}  # tonight's versions are recent and stay
    assert any("1 versions pruned" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_run_without_data_prunes_nothing(make_workspace) -> None:
    with in_schema(make_workspace("ins-prune-empty")):
        now = timezone.now()
        superseded = _version("Spend · Meta Ads", age_days=60, now=now)
        _version("Spend · Meta Ads", age_days=1, now=now)
        report = score_workspace_nightly()
        assert report.status == "no_data" and report.versions_pruned == 0
        assert ModelVersion.objects.filter(pk=superseded.pk).exists()

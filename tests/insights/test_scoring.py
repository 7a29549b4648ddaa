"""Nightly scoring in one workspace: what it finds, what it records, and that reruns change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from insights import selectors
from insights.ml.forecasting import MODEL_VERSION as FORECAST_ALGORITHM
from insights.models import AnomalyFinding, ForecastPoint, ModelVersion, Scope
from insights.services import FORECAST_HORIZON, score_workspace_nightly
from tests.insights.conftest import in_schema, inject_spend_spike, yesterday_utc

pytestmark = pytest.mark.django_db


def _findings() -> list[tuple]:
    return sorted(
        AnomalyFinding.objects.values_list(
            "pk", "metric", "scope", "key", "date", "value", "severity", "explanation", "version_id"
        )
    )


def _forecasts() -> list[tuple]:
    return sorted(
        ForecastPoint.objects.values_list("pk", "metric", "scope", "key", "date", "yhat", "lower_80", "version_id")
    )


def test_injected_spend_spike_is_found_with_severity_and_explanation(in_scored) -> None:
    spike_day = yesterday_utc() - timedelta(days=10)
    found = selectors.anomalies_for(
        date_from=spike_day, date_to=spike_day, scope=Scope.PLATFORM, keys=["google_ads"], metrics=["spend"]
    )
    assert len(found) == 1
    finding = found[0]
    assert finding.direction == "up"
    assert finding.severity in ("medium", "high")
    assert finding.value > finding.upper > finding.expected
    assert finding.explanation.startswith("Spend was ") and "× the usual for a" in finding.explanation
    assert "€" in finding.explanation  # the workspace's currency
    # The same day shows up in the workspace total, and Meta (not spiked) stays quiet.
    assert selectors.anomalies_for(
        date_from=spike_day, date_to=spike_day, scope=Scope.WORKSPACE, metrics=["spend"]
    ).exists()
    assert not selectors.anomalies_for(
        date_from=spike_day,
        date_to=spike_day,
        scope=Scope.PLATFORM,
        keys=["meta"],
        metrics=["spend"],
        min_severity="medium",
    ).exists()


def test_every_stored_prediction_names_the_version_that_produced_it(in_scored) -> None:
    anomaly_kinds = set(AnomalyFinding.objects.values_list("version__kind", flat=True))
    forecast_kinds = set(ForecastPoint.objects.values_list("version__kind", flat=True))
    assert anomaly_kinds == {ModelVersion.Kind.ANOMALY}
    assert forecast_kinds == {ModelVersion.Kind.FORECAST}
    # One forecast version per series and metric, trained up to yesterday, with its parameters.
    for version in ModelVersion.objects.filter(kind=ModelVersion.Kind.FORECAST):
        assert version.training_end == yesterday_utc()
        assert version.training_start < version.training_end
        assert {"alpha", "beta", "gamma", "phi", "period", "series"} <= set(version.params)
        assert version.algorithm == FORECAST_ALGORITHM
        assert version.code_version.startswith("0.1.0+src.") and len(version.code_version) == len("0.1.0+src.") + 12
        assert version.forecast_points.count() == FORECAST_HORIZON
    budget = ModelVersion.objects.get(kind=ModelVersion.Kind.BUDGET)
    assert budget.params["scope"] == "platform" and set(budget.params["channels"]) == {"google_ads", "meta"}
    assert budget.metrics["r_squared"] is not None and budget.training_end == yesterday_utc()


def test_forecasts_cover_the_workspace_platforms_and_top_campaigns(in_scored) -> None:
    as_of = yesterday_utc()
    total = selectors.forecasts_for(metric="revenue", scope=Scope.WORKSPACE)
    assert total is not None
    assert [p.date for p in total.points] == [as_of + timedelta(days=i) for i in range(1, FORECAST_HORIZON + 1)]
    for p in total.points:
        assert p.lower_95 <= p.lower_80 <= p.yhat <= p.upper_80 <= p.upper_95
    platforms = selectors.forecasts_for_many(metric="spend", scope=Scope.PLATFORM)
    assert sorted(s.key for s in platforms) == ["google_ads", "meta"]
    campaigns = {(e.scope, e.platform) for e in selectors.forecast_entities() if e.scope == Scope.CAMPAIGN}
    assert (
        len([e for e in selectors.forecast_entities() if e.scope == Scope.CAMPAIGN]) == 2
    )  # INSIGHTS_FORECAST_CAMPAIGNS
    assert campaigns


def test_rerun_on_the_same_data_keeps_the_same_rows_and_versions(in_scored) -> None:
    findings, forecasts = _findings(), _forecasts()
    versions = sorted(ModelVersion.objects.values_list("pk", "kind", "fingerprint"))
    report = score_workspace_nightly(as_of=yesterday_utc(), campaigns=10, forecast_campaigns=2)
    assert report.status == "ok" and report.findings_removed == 0
    assert _findings() == findings
    assert _forecasts() == forecasts
    assert sorted(ModelVersion.objects.values_list("pk", "kind", "fingerprint")) == versions


def test_a_corrected_day_loses_its_finding_on_the_next_run(in_scored) -> None:
    spike_day = yesterday_utc() - timedelta(days=10)
    inject_spend_spike(day=spike_day, factor=0.1)  # the platform restated the day back to normal
    report = score_workspace_nightly(as_of=yesterday_utc(), campaigns=10, forecast_campaigns=2)
    assert report.findings_removed >= 1
    assert not selectors.anomalies_for(
        date_from=spike_day, date_to=spike_day, scope=Scope.PLATFORM, keys=["google_ads"], metrics=["spend"]
    ).exists()
    # A new anomaly version recorded the changed data; the old one is kept in the registry.
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.ANOMALY).count() == 2


def test_a_workspace_without_data_reports_no_data_and_stores_nothing(make_workspace) -> None:
    with in_schema(make_workspace("ins-empty")):
        report = score_workspace_nightly()
        assert report.status == "no_data"
        assert not AnomalyFinding.objects.exists() and not ModelVersion.objects.exists()


def test_short_history_is_skipped_with_a_reason(data_workspace) -> None:
    with in_schema(data_workspace("ins-short", days=12)):
        report = score_workspace_nightly(campaigns=0)
        assert report.status == "ok"
        assert not AnomalyFinding.objects.exists()
        assert not ForecastPoint.objects.exists()
        assert any("needs 21" in reason for reason in report.skipped.values())
        assert any("observed periods of history" in reason for reason in report.skipped.values())
        assert "budget platform" in report.skipped
        assert selectors.scoring_latest().metrics["history_days"] == 12


def test_a_second_run_while_one_is_in_progress_returns_busy_and_writes_nothing(in_scored) -> None:
    from django.db import connections

    before = _findings()
    # The lock is per database session: a second connection stands in for a second worker.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [0x494E5347, connection.schema_name])
        report = score_workspace_nightly(as_of=yesterday_utc())
        assert report.status == "busy"
        assert _findings() == before
    finally:
        other.close()


def test_a_runaway_day_does_not_come_back_in_the_forecast(in_scored) -> None:
    band = selectors.forecasts_for(metric="spend", scope=Scope.PLATFORM, key="google_ads")
    assert band is not None and band.version.params["outlier_days_replaced"] >= 1
    spike = selectors.anomalies_for(scope=Scope.PLATFORM, keys=["google_ads"], metrics=["spend"]).order_by("-score")[0]
    # The forecast stays near the usual level instead of repeating the spike every week.
    assert max(p.yhat for p in band.points) < spike.value / 3
    assert max(p.yhat for p in band.points) < spike.upper * 1.5


def test_a_finding_from_a_usual_of_next_to_nothing_is_stored_low_but_still_cleans_the_forecast(in_scored) -> None:
    import numpy as np
    import pandas as pd

    from insights.selectors.series import Entity, EntitySeries, with_ratios
    from insights.services.scoring import _anomaly_rows

    # a campaign with the demo's pattern: revenue of about €0.10 a day, then one day of €56.10
    as_of = yesterday_utc()
    days = pd.date_range(end=pd.Timestamp(as_of), periods=90, freq="D")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "spend": rng.normal(300, 15, len(days)),
            "impressions": rng.normal(30000, 900, len(days)),
            "clicks": rng.normal(600, 20, len(days)),
            "conversions": np.zeros(len(days)),
            "conversion_value": rng.uniform(0.05, 0.15, len(days)),
        },
        index=days,
    )
    frame.loc[days[-3], "conversion_value"] = 56.10
    series = EntitySeries(Entity(scope=Scope.CAMPAIGN, key="tiny", label="Tiny", platform="meta"), with_ratios(frame))

    rows, _, _ = _anomaly_rows(
        [series], report_from=as_of - timedelta(days=13), as_of=as_of, currency="EUR", skipped={}
    )

    revenue = [r for r in rows if r["metric"] == "conversion_value" and r["date"] == days[-3].date()]
    assert len(revenue) == 1
    assert revenue[0]["z"] >= 8  # the detector's deviation is large …
    assert revenue[0]["severity"] == "low"  # … but a jump from next to nothing is not "high"
    assert "far above the usual" in revenue[0]["explanation"]

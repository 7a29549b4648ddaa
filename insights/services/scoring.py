"""Nightly scoring of one workspace: anomalies and forecasts for the workspace, its platforms and
its top campaigns, plus the day's budget response curves.

Idempotent: findings and forecast points upsert on (metric, scope, key, date), the version of an
unchanged training is found again by its fingerprint, and the result is written in one
transaction, so a rerun — or a task redelivered after a worker died — leaves the same rows.
Findings inside the re-scored window that no longer hold (a platform restated its numbers) are
removed; older findings are history and stay. Every day of the report window is re-checked each
night, so a finding raised on a day that was still settling disappears once it is corrected.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from bosco.formatting import currency_symbol
from bosco.platforms import platform_label
from insights.ml.anomaly import MODEL_VERSION as ANOMALY_ALGORITHM
from insights.ml.anomaly import SEVERITY_Z, detect_anomalies
from insights.ml.calendar import Event
from insights.ml.errors import InputError
from insights.ml.forecasting import MODEL_VERSION as FORECAST_ALGORITHM
from insights.ml.forecasting import forecast
from insights.models import AnomalyFinding, ForecastPoint, ModelVersion, Scope
from insights.results_version import results_changed
from insights.selectors.events import forecast_events, holiday_country
from insights.selectors.series import (
    Entity,
    EntitySeries,
    campaign_series,
    platform_series,
    top_campaigns,
)
from insights.services import anomaly_rules, incidents, versioning
from insights.services.budget import budget_curves_fit
from insights.services.common import (
    InsightsError,
    WorkspaceContext,
    current_schema,
    current_workspace,
    jsonable,
    model_version_record,
    prune_model_versions,
    series_hash,
    setting,
)
from warehouse.metrics import metric_label, metric_unit
from warehouse.selectors.freshness import newest_complete_day

logger = logging.getLogger("insights.services")

#: metrics scored for anomalies, per workspace, platform and campaign
ANOMALY_METRICS: tuple[str, ...] = (
    "spend",
    "clicks",
    "conversions",
    "conversion_value",
    "cpc",
    "cpa",
    "roas",
    "ctr",
    "cvr",
)
#: metrics forecast (sums only: a ratio of two forecasts has no honest band)
FORECAST_METRICS: tuple[str, ...] = ("spend", "conversions", "conversion_value")
FORECAST_HORIZON = 14
#: names the anomaly model explains a metric by, where the warehouse name reads badly
#: findings are (re)computed for this many most recent days each night
ANOMALY_REPORT_DAYS = 90
#: history read before the report window: the detector's 8-week spread window plus slack
ANOMALY_WARMUP_DAYS = 63
#: a series needs this much history before it is scored at all (two weekly cycles and a week)
ANOMALY_MIN_DAYS = 21
#: a campaign is forecast only while it is spending: data within this many days of as_of
FORECAST_ACTIVE_DAYS = 7

_LOCK_CLASS = 0x494E5347  # "INSG": the advisory-lock namespace of insight scoring


@contextmanager
def _scoring_lock() -> Iterator[bool]:
    """One scoring run per workspace at a time; yields False when another run holds it."""
    key: list[int | str] = [_LOCK_CLASS, current_schema()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key)
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)


# --------------------------------------------------------------------------- nightly scoring


@dataclass
class ScoringReport:
    schema_name: str
    as_of: date | None
    status: str = "ok"  # ok | no_data | busy
    series: int = 0
    findings: int = 0
    findings_removed: int = 0
    incidents: int = 0
    incidents_removed: int = 0
    forecasts: int = 0
    forecast_points: int = 0
    budget_version_id: int | None = None
    anomaly_version_id: int | None = None
    #: registry versions deleted by the retention policy after the run (`prune_model_versions`)
    versions_pruned: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)  # type: ignore[no-any-return]


def _anomaly_rows(
    series: Sequence[EntitySeries], *, report_from: date, as_of: date, currency: str, skipped: dict[str, str]
) -> tuple[list[dict[str, Any]], set[tuple[str, str, str]], str]:
    """Findings of every series and metric in [report_from, as_of], the scored series, a data hash.

    Ratios are judged only on days with enough volume in both components, sums only where the
    day or its usual amount has enough volume, and series people gave feedback on only beyond
    the move they marked (`anomaly_rules`, `incidents`).
    """
    history_from = pd.Timestamp(report_from - timedelta(days=ANOMALY_WARMUP_DAYS))
    rows: list[dict[str, Any]] = []
    scored: set[tuple[str, str, str]] = set()
    hashes = []
    volumes = anomaly_rules.min_volumes()
    tuned = incidents.tuned_thresholds()
    symbol = currency_symbol(currency)
    for item in series:
        entity = item.entity
        for metric in ANOMALY_METRICS:
            values = anomaly_rules.scorable_values(item.frame, metric, volumes)
            values = values[(values.index >= history_from) & (values.index <= pd.Timestamp(as_of))]
            if len(values) < ANOMALY_MIN_DAYS:
                skipped[f"anomaly {metric} / {entity.slug}"] = (
                    f"{len(values)} days of history, needs {ANOMALY_MIN_DAYS}"
                )
                continue
            hashes.append(series_hash(values))
            try:
                # the model's own sentence is replaced below by the product's (anomaly_rules.explain)
                found = detect_anomalies(
                    values, metric, currency=symbol, label=metric_label(metric), unit=metric_unit(metric)
                )
            except InputError as exc:
                skipped[f"anomaly {metric} / {entity.slug}"] = str(exc)
                continue
            scored.add((metric, entity.scope, entity.key))
            first_day = anomaly_rules.judged_from(values, ANOMALY_MIN_DAYS)
            usual = anomaly_rules.usual_levels(values)  # the volume gate reads the median day too
            for row in found.itertuples(index=False):
                day = pd.Timestamp(row.timestamp).date()
                if first_day is None or pd.Timestamp(day) < first_day:
                    continue  # too little history before the day to judge it
                if day < report_from or not anomaly_rules.has_volume(
                    metric,
                    value=float(row.value),
                    expected=float(row.expected),
                    volumes=volumes,
                    usual=float(usual.get(pd.Timestamp(day), np.nan)),
                ):
                    continue
                finding = {
                    "metric": metric,
                    "scope": entity.scope,
                    "key": entity.key,
                    "label": entity.label[:300],
                    "platform": entity.platform,
                    "date": day,
                    "value": float(row.value),
                    "expected": float(row.expected),
                    "lower": float(row.lower),
                    "upper": float(row.upper),
                    "score": float(row.score),
                    "z": float(row.z),
                    "severity": anomaly_rules.capped_severity(
                        row.severity,
                        anomaly_rules.severity_ceiling(metric, expected=float(row.expected), volumes=volumes),
                    ),
                    "direction": str(row.direction),
                    "explanation": anomaly_rules.explain(
                        metric,
                        value=float(row.value),
                        expected=float(row.expected),
                        lower=float(row.lower),
                        upper=float(row.upper),
                        day=day,
                        currency=currency,
                    ),
                }
                if incidents.passes_tuning(finding, tuned):
                    rows.append(finding)
    return rows, scored, versioning.data_hash(hashes)


@dataclass
class _Forecast:
    entity: Entity
    metric: str
    version_kwargs: dict[str, Any]
    points: pd.DataFrame


def _forecast_series(
    series: Sequence[EntitySeries],
    *,
    as_of: date,
    skipped: dict[str, str],
    outliers: dict[tuple[str, str, str], dict[date, float]] | None = None,
    country: str | None = None,
    events: Sequence[Event] = (),
) -> list[_Forecast]:
    """Forecast each active series; `outliers` maps (metric, scope, key) to {day: expected value}.

    Days found anomalous at medium severity or worse are replaced by their expected value before
    fitting: the model has no outlier handling, and one runaway day would otherwise return in
    the weekly profile of every forecast after it. The number of replaced days is recorded.
    `country` and `events` give the model its calendar (public holidays, the workspace's sales).
    """
    out = []
    for item in series:
        entity = item.entity
        if item.last_day < as_of - timedelta(days=FORECAST_ACTIVE_DAYS):
            continue  # stopped spending: nothing to forecast
        # Days between its last row and as_of had no delivery: zero, not unknown.
        frame = item.frame.reindex(pd.date_range(item.frame.index[0], pd.Timestamp(as_of), freq="D"), fill_value=0.0)
        for metric in FORECAST_METRICS:
            values = frame[metric].astype(float).copy()
            replaced = (outliers or {}).get((metric, entity.scope, entity.key), {})
            for day, expected in replaced.items():
                if pd.Timestamp(day) in values.index:
                    values[pd.Timestamp(day)] = expected
            name = f"{metric_label(metric)} · {entity.label}" + (
                f" ({platform_label(entity.platform)})" if entity.scope == Scope.CAMPAIGN else ""
            )
            try:
                result = forecast(values, FORECAST_HORIZON, country=country, events=events)
            except InputError as exc:
                skipped[f"forecast {metric} / {entity.slug}"] = str(exc)
                continue
            attrs = result.attrs
            params = {
                **attrs.get("params", {}),
                "log_scale": bool(attrs.get("log_scale")),
                "horizon": FORECAST_HORIZON,
                "series": {"metric": metric, "scope": entity.scope, "key": entity.key},
                "outlier_days_replaced": len(replaced),
            }
            out.append(
                _Forecast(
                    entity=entity,
                    metric=metric,
                    version_kwargs={
                        "kind": ModelVersion.Kind.FORECAST,
                        "name": name,
                        "algorithm": str(attrs.get("model_version", FORECAST_ALGORITHM)),
                        "params": params,
                        "training_start": pd.Timestamp(attrs["training_start"]).date(),
                        "training_end": pd.Timestamp(attrs["training_end"]).date(),
                        "data_hash": series_hash(values),
                        "metrics": {
                            "history_days": len(values),
                            "mean_daily": float(values.tail(28).mean()),
                        },
                    },
                    points=result,
                )
            )
    return out


def _realised_accuracy(previous: Sequence[ForecastPoint], actual: pd.Series) -> dict[str, Any] | None:
    """How the previous forecast of a series did on the days that have since been observed."""
    pairs = [(p, float(actual[pd.Timestamp(p.date)])) for p in previous if pd.Timestamp(p.date) in actual.index]
    if not pairs:
        return None
    errors = np.array([abs(p.yhat - y) for p, y in pairs])
    total = float(sum(abs(y) for _, y in pairs))
    return {
        "days": len(pairs),
        "wape": float(errors.sum() / total) if total > 0 else None,
        "coverage_80": float(np.mean([p.lower_80 <= y <= p.upper_80 for p, y in pairs])),
        "coverage_95": float(np.mean([p.lower_95 <= y <= p.upper_95 for p, y in pairs])),
    }


def score_workspace_nightly(
    *,
    as_of: date | None = None,
    campaigns: int | None = None,
    forecast_campaigns: int | None = None,
    fit_budget: bool = True,
    now: datetime | None = None,
) -> ScoringReport:
    """Score anomalies and forecasts for the workspace, its platforms and top campaigns.

    `as_of` is the last day scored (default: the newest day whole for every ad account,
    `warehouse.selectors.freshness.newest_complete_day` at `now`, default the present). Reads
    through the metrics layer, computes everything, then writes it in one transaction. A run
    that finds another run of the same workspace in progress returns status "busy". After a run
    with status "ok" the registry's retention policy deletes the versions nothing refers to any
    more (`prune_model_versions`; the count is `versions_pruned`).
    """
    started = time.monotonic()
    workspace = current_workspace()
    as_of = as_of or newest_complete_day(time_zone=workspace.time_zone, now=now)
    report = ScoringReport(schema_name=workspace.schema_name, as_of=as_of)
    with _scoring_lock() as acquired:
        if not acquired:
            report.status = "busy"
            return report
        _score(report, workspace=workspace, as_of=as_of, campaigns=campaigns, forecast_campaigns=forecast_campaigns)
        if fit_budget and report.status == "ok":
            try:
                version = budget_curves_fit(scope=Scope.PLATFORM, target=None, as_of=as_of)
                report.budget_version_id = version.pk
            except InsightsError as exc:
                report.skipped["budget platform"] = str(exc)
        if report.status == "ok":
            # Tonight's versions replaced yesterday's forecasts; the registry sheds what nothing
            # refers to any more (still under the lock, so no run of this workspace races it).
            report.versions_pruned = prune_model_versions()
    report.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "insights scored: %s series, %s findings (%s removed), %s forecasts, %s versions pruned in %.1fs",
        report.series,
        report.findings,
        report.findings_removed,
        report.forecasts,
        report.versions_pruned,
        report.seconds,
        extra={"schema_name": workspace.schema_name},
    )
    return report


def _score(
    report: ScoringReport,
    *,
    workspace: WorkspaceContext,
    as_of: date,
    campaigns: int | None,
    forecast_campaigns: int | None,
) -> None:
    campaign_limit = campaigns if campaigns is not None else setting("INSIGHTS_CAMPAIGN_LIMIT", 50)
    forecast_limit = (
        forecast_campaigns if forecast_campaigns is not None else setting("INSIGHTS_FORECAST_CAMPAIGNS", 20)
    )
    history_days = ANOMALY_REPORT_DAYS + ANOMALY_WARMUP_DAYS
    platforms = platform_series(as_of=as_of)
    if not platforms:
        report.status = "no_data"
        return
    chosen = top_campaigns(as_of=as_of, limit=campaign_limit) if campaign_limit else []
    per_campaign = campaign_series(campaigns=chosen, as_of=as_of, days=max(history_days, 400))
    everything = [*platforms, *per_campaign]
    report.series = len(everything)

    report_from = as_of - timedelta(days=ANOMALY_REPORT_DAYS - 1)
    finding_rows, scored, data_hash = _anomaly_rows(
        everything, report_from=report_from, as_of=as_of, currency=workspace.currency, skipped=report.skipped
    )
    incident_rows = incidents.group_findings(finding_rows)
    outliers: dict[tuple[str, str, str], dict[date, float]] = {}
    for row in finding_rows:
        # the detector's own level, not the display cap: a runaway day from next to nothing
        # would still return in the weekly profile of every forecast after it
        if row["z"] >= SEVERITY_Z["medium"]:
            outliers.setdefault((row["metric"], row["scope"], row["key"]), {})[row["date"]] = row["expected"]
    forecasts = _forecast_series(
        [*platforms, *per_campaign[:forecast_limit]],
        as_of=as_of,
        skipped=report.skipped,
        outliers=outliers,
        country=holiday_country(),
        events=forecast_events(),
    )
    history_days_seen = len(platforms[0].frame)

    with transaction.atomic():
        results_changed()  # the API's cached answers go stale when this commits
        anomaly_version = model_version_record(
            kind=ModelVersion.Kind.ANOMALY,
            name="Nightly scoring",
            algorithm=ANOMALY_ALGORITHM,
            params={
                "metrics": list(ANOMALY_METRICS),
                "weeks": 4,
                "min_severity": "low",
                "report_days": ANOMALY_REPORT_DAYS,
                "warmup_days": ANOMALY_WARMUP_DAYS,
                "currency": workspace.currency,
            },
            training_start=max(report_from - timedelta(days=ANOMALY_WARMUP_DAYS), min(s.first_day for s in everything)),
            training_end=as_of,
            metrics={
                "series": len(everything),
                "metric_series": len(scored),
                "findings": len(finding_rows),
                "by_severity": {s: sum(r["severity"] == s for r in finding_rows) for s in ("low", "medium", "high")},
                "incidents_by_severity": {
                    s: sum(r["severity"] == s for r in incident_rows) for s in ("low", "medium", "high")
                },
                "min_volume": anomaly_rules.min_volumes(),
                "history_days": history_days_seen,
            },
            data_hash=data_hash,
        )
        report.anomaly_version_id = anomaly_version.pk
        report.findings, report.findings_removed = _write_findings(
            finding_rows, scored, version=anomaly_version, report_from=report_from, as_of=as_of
        )
        report.incidents, report.incidents_removed = incidents.write_incidents(
            incident_rows,
            version=anomaly_version,
            scored_keys={(scope, key) for _, scope, key in scored},
            report_from=report_from,
        )
        report.forecasts, report.forecast_points = _write_forecasts(forecasts, everything)


def _write_findings(
    rows: list[dict[str, Any]],
    scored: set[tuple[str, str, str]],
    *,
    version: ModelVersion,
    report_from: date,
    as_of: date,
) -> tuple[int, int]:
    now = timezone.now()
    new_keys = {(r["metric"], r["scope"], r["key"], r["date"]) for r in rows}
    existing = AnomalyFinding.objects.filter(date__gte=report_from, date__lte=as_of).values_list(
        "pk", "metric", "scope", "key", "date"
    )
    stale = [
        pk
        for pk, metric, scope, key, day in existing
        if (metric, scope, key) in scored and (metric, scope, key, day) not in new_keys
    ]
    if stale:
        AnomalyFinding.objects.filter(pk__in=stale).delete()
    objects = [AnomalyFinding(version=version, created_at=now, updated_at=now, **r) for r in rows]
    AnomalyFinding.objects.bulk_create(
        objects,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["metric", "scope", "key", "date"],
        update_fields=[
            "version",
            "label",
            "platform",
            "value",
            "expected",
            "lower",
            "upper",
            "score",
            "z",
            "severity",
            "direction",
            "explanation",
            "updated_at",
        ],
    )
    return len(objects), len(stale)


def _write_forecasts(forecasts: list[_Forecast], series: Sequence[EntitySeries]) -> tuple[int, int]:
    """Replace each series' forecast; forecasts of series no longer forecast are removed."""
    now = timezone.now()
    actual = {(s.entity.scope, s.entity.key): s for s in series}
    previous: dict[tuple[str, str, str], list[ForecastPoint]] = {}
    for point in ForecastPoint.objects.all():
        previous.setdefault((point.metric, point.scope, point.key), []).append(point)
    keep: set[tuple[str, str, str, date]] = set()
    objects = []
    for item in forecasts:
        entity, metric = item.entity, item.metric
        metrics = dict(item.version_kwargs["metrics"])
        history = actual.get((entity.scope, entity.key))
        earlier = previous.get((metric, entity.scope, entity.key), [])
        if history is not None and earlier:
            realised = _realised_accuracy(earlier, history.frame[metric])
            if realised:
                metrics["previous_forecast"] = realised
        version = model_version_record(**{**item.version_kwargs, "metrics": metrics})
        for row in item.points.itertuples(index=False):
            day = pd.Timestamp(row.ds).date()
            keep.add((metric, entity.scope, entity.key, day))
            objects.append(
                ForecastPoint(
                    version=version,
                    metric=metric,
                    scope=entity.scope,
                    key=entity.key,
                    label=entity.label[:300],
                    platform=entity.platform,
                    date=day,
                    yhat=float(row.yhat),
                    lower_80=float(row.yhat_lower_80),
                    upper_80=float(row.yhat_upper_80),
                    lower_95=float(row.yhat_lower_95),
                    upper_95=float(row.yhat_upper_95),
                    created_at=now,
                )
            )
    stale = [p.pk for points in previous.values() for p in points if (p.metric, p.scope, p.key, p.date) not in keep]
    if stale:
        ForecastPoint.objects.filter(pk__in=stale).delete()
    ForecastPoint.objects.bulk_create(
        objects,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["metric", "scope", "key", "date"],
        update_fields=[
            "version",
            "label",
            "platform",
            "yhat",
            "lower_80",
            "upper_80",
            "lower_95",
            "upper_95",
            "created_at",
        ],
    )
    return len(forecasts), len(objects)

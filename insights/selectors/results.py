"""Reads of the insights app, for its own pages and for the dashboards.

The dashboards mark anomalies and draw forecast bands on the overview and campaign charts
with two calls and two chart helpers:

    from insights import charts, selectors

    findings = selectors.anomalies_for(date_from=d1, date_to=d2, scope="campaign", keys=[campaign_id],
                                       metrics=["spend"])
    band = selectors.forecasts_for(metric="spend", scope="campaign", key=campaign_id)
    figure["data"] += charts.anomaly_marker_traces(findings)
    if band:
        figure["data"] += charts.forecast_band_traces(band.points, color=..., metric="spend", currency=...)

Scopes: "workspace" (key ""), "platform" (key = platform code) and "campaign" (key = the
metrics layer's public campaign id, "google_ads:123:456"). Metrics use the warehouse names
(spend, clicks, conversions, conversion_value, cpc, cpa, roas); "revenue" is accepted for
conversion_value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from insights.models import (
    AnomalyFinding,
    AttributionImport,
    AttributionResult,
    BudgetScenario,
    ForecastPoint,
    Incident,
    ModelVersion,
    Scope,
)
from warehouse.metrics import ALIASES, format_metric, metric_label

SEVERITY_ORDER = ("low", "medium", "high")


def _metric(name: str) -> str:
    """The stored name of a metric ("revenue" is stored as conversion_value), by the catalogue's aliases."""
    return ALIASES.get(name, name)


def severities_at_least(minimum: str) -> list[str]:
    """["medium", "high"] for "medium"; unknown values mean every severity."""
    if minimum not in SEVERITY_ORDER:
        return list(SEVERITY_ORDER)
    return list(SEVERITY_ORDER[SEVERITY_ORDER.index(minimum) :])


def anomalies_for(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    scope: str | None = None,
    keys: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    min_severity: str = "low",
    platforms: Sequence[str] | None = None,
    direction: str | None = None,
) -> QuerySet[AnomalyFinding]:
    """Findings in a date range (inclusive), newest first, each with its model version.

    `scope`/`keys` restrict to series ("platform", ["meta"]); `platforms` to findings of those
    platforms at any scope (a campaign of Meta counts as Meta).
    """
    qs = AnomalyFinding.objects.select_related("version").filter(severity__in=severities_at_least(min_severity))
    if date_from is not None:
        qs = qs.filter(date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(date__lte=date_to)
    if scope:
        qs = qs.filter(scope=scope)
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    if metrics:
        qs = qs.filter(metric__in=[_metric(m) for m in metrics])
    if platforms:
        qs = qs.filter(platform__in=list(platforms))
    if direction in ("up", "down"):
        qs = qs.filter(direction=direction)
    return qs.order_by("-date", "-score", "pk")


def anomaly_get(*, pk: int) -> AnomalyFinding:
    return get_object_or_404(AnomalyFinding.objects.select_related("version"), pk=pk)


def anomaly_counts(*, date_from: date, date_to: date) -> dict[str, int]:
    """Findings per severity in the range ({"low": 3, "medium": 1, "high": 0})."""
    rows = (
        AnomalyFinding.objects.filter(date__gte=date_from, date__lte=date_to).values("severity").annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for row in rows:
        counts[row["severity"]] = row["n"]
    return counts


def anomaly_metrics_present() -> list[str]:
    return sorted(AnomalyFinding.objects.values_list("metric", flat=True).distinct())


def incident_counts(*, date_from: date, date_to: date) -> dict[str, int]:
    """Incidents per severity in the range ({"low": 3, "medium": 1, "high": 0})."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    rows = Incident.objects.filter(date__gte=date_from, date__lte=date_to).values("severity").annotate(n=Count("pk"))
    for row in rows:
        counts[row["severity"]] = row["n"]
    return counts


def incidents_top(
    *,
    date_from: date,
    date_to: date,
    min_severity: str = "medium",
    scope: str | None = None,
    keys: Sequence[str] | None = None,
    limit: int = 6,
) -> list[Incident]:
    """The `limit` most severe incidents of a range, shown newest first (for the overview and a campaign).

    Chosen by severity, then by deviation: the deviation alone is not the severity (a lone
    metric, a paused campaign and a restart are capped), so the largest z is not always the
    incident that matters most.
    """
    rank = Case(
        *(When(severity=level, then=Value(n)) for n, level in enumerate(SEVERITY_ORDER)),
        default=Value(-1),
        output_field=IntegerField(),
    )
    qs = Incident.objects.filter(date__gte=date_from, date__lte=date_to, severity__in=severities_at_least(min_severity))
    if scope:
        qs = qs.filter(scope=scope)
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    chosen = list(qs.annotate(rank=rank).order_by("-rank", "-score", "-date", "pk")[:limit])
    return sorted(chosen, key=lambda i: (i.date, SEVERITY_ORDER.index(i.severity), i.score), reverse=True)


def incident_lines(incidents: list[Any], *, currency: str) -> list[Any]:
    """Attach each incident's metric lines (label, value, change, link to the finding) in one query."""
    if not incidents:
        return incidents
    keys = Q()
    for item in incidents:
        keys |= Q(scope=item.scope, key=item.key, date=item.date)
    finding_ids = {
        (scope, key, day, metric): pk
        for pk, scope, key, day, metric in AnomalyFinding.objects.filter(keys).values_list(
            "pk", "scope", "key", "date", "metric"
        )
    }
    for item in incidents:
        item.lines = [
            {
                "metric": m["metric"],
                "label": metric_label(m["metric"]),
                "direction": m["direction"],
                "value": format_metric(m["metric"], m["value"], currency),
                "expected": format_metric(m["metric"], m["expected"], currency),
                "explanation": m["explanation"],
                "finding_id": finding_ids.get((item.scope, item.key, item.date, m["metric"])),
            }
            for m in item.metrics
        ]
    return incidents


@dataclass(frozen=True)
class ForecastSeries:
    """One series' stored forecast: its points and the version that produced them."""

    metric: str
    scope: str
    key: str
    label: str
    platform: str
    points: list[ForecastPoint]
    version: ModelVersion

    @property
    def first_day(self) -> date:
        return self.points[0].date

    @property
    def last_day(self) -> date:
        return self.points[-1].date

    def total(self, days: int | None = None) -> float:
        return float(sum(p.yhat for p in self.points[: days or len(self.points)]))

    def days(self, days: int) -> tuple[date, date]:
        """The first and last day that `total(days)` sums (cards name them: the forecast starts after
        the newest complete day, which may already be over in the workspace's zone)."""
        return self.first_day, self.points[: days or len(self.points)][-1].date


def forecasts_for(
    *,
    metric: str,
    scope: str = Scope.WORKSPACE,
    key: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> ForecastSeries | None:
    """The stored forecast of one series (None when there is none), optionally clipped to dates."""
    qs = ForecastPoint.objects.select_related("version").filter(metric=_metric(metric), scope=scope, key=key)
    if date_from is not None:
        qs = qs.filter(date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(date__lte=date_to)
    points = list(qs.order_by("date"))
    if not points:
        return None
    last = points[-1]
    return ForecastSeries(
        metric=last.metric,
        scope=last.scope,
        key=last.key,
        label=last.label,
        platform=last.platform,
        points=points,
        version=last.version,
    )


def forecasts_for_many(*, metric: str, scope: str, keys: Iterable[str] | None = None) -> list[ForecastSeries]:
    """Every stored forecast of `metric` at `scope` (one query), e.g. all platforms for one chart."""
    qs = ForecastPoint.objects.select_related("version").filter(metric=_metric(metric), scope=scope)
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    grouped: dict[str, list[ForecastPoint]] = {}
    for point in qs.order_by("key", "date"):
        grouped.setdefault(point.key, []).append(point)
    return [
        ForecastSeries(
            metric=points[-1].metric,
            scope=scope,
            key=key,
            label=points[-1].label,
            platform=points[-1].platform,
            points=points,
            version=points[-1].version,
        )
        for key, points in grouped.items()
    ]


@dataclass(frozen=True)
class ForecastEntity:
    scope: str
    key: str
    label: str
    platform: str


def forecast_entities() -> list[ForecastEntity]:
    """Series that have a forecast: the workspace, then platforms, then campaigns by name."""
    rows = ForecastPoint.objects.values("scope", "key", "label", "platform").distinct()
    order: dict[str, int] = {Scope.WORKSPACE.value: 0, Scope.PLATFORM.value: 1, Scope.CAMPAIGN.value: 2}
    entities = {(r["scope"], r["key"]): ForecastEntity(r["scope"], r["key"], r["label"], r["platform"]) for r in rows}
    return sorted(entities.values(), key=lambda e: (order.get(e.scope, 9), e.label.lower()))


# --------------------------------------------------------------------------- registry


def model_versions(*, kind: str | None = None, limit: int = 200) -> QuerySet[ModelVersion]:
    """Newest versions first, each with how many stored predictions name it."""
    qs = ModelVersion.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    return qs.annotate(
        n_anomalies=Count("anomalies", distinct=True),
        n_forecast_points=Count("forecast_points", distinct=True),
        n_attribution=Count("attribution_results", distinct=True),
        n_scenarios=Count("budget_scenarios", distinct=True),
    ).order_by("-created_at", "-pk")[:limit]


def model_version_get(*, pk: int) -> ModelVersion:
    return get_object_or_404(ModelVersion, pk=pk)


def registry_summary() -> dict[str, dict[str, object]]:
    """Per kind: number of versions and the newest one's time."""
    rows = ModelVersion.objects.values("kind").annotate(n=Count("pk"), latest=Max("created_at"))
    return {r["kind"]: {"versions": r["n"], "latest": r["latest"]} for r in rows}


def scoring_latest() -> ModelVersion | None:
    """The version of the most recent nightly anomaly scoring (its metrics summarise the run)."""
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.ANOMALY).order_by("-training_end", "-created_at").first()


# --------------------------------------------------------------------------- attribution


def attribution_imports() -> QuerySet[AttributionImport]:
    return AttributionImport.objects.select_related("version").defer("content").order_by("-uploaded_at", "-pk")


def attribution_journeys_latest() -> AttributionImport | None:
    """The newest nightly build from first-party journeys (the attribution page's default)."""
    return attribution_imports().filter(source=AttributionImport.Source.JOURNEYS).first()


def attribution_import_get(*, pk: int) -> AttributionImport:
    return get_object_or_404(AttributionImport.objects.select_related("version").defer("content"), pk=pk)


def attribution_results(*, attribution_import: AttributionImport) -> list[AttributionResult]:
    return list(attribution_import.results.select_related("version").order_by("model", "channel"))


# --------------------------------------------------------------------------- budget


def budget_curves_latest(*, scope: str, target: str | None = None) -> ModelVersion | None:
    """The newest fitted response curves for a scope and target.

    Without a target: revenue's, where the workspace has any (the nightly fit's default when it
    reports conversion value), else the newest of any target. Not simply the newest: one plan
    for conversions would turn everyone's planner and the overview's budget card to conversions.
    """
    qs = ModelVersion.objects.filter(kind=ModelVersion.Kind.BUDGET, params__scope=scope)
    order = ("-training_end", "-created_at", "-pk")
    if target:
        return qs.filter(params__target=target).order_by(*order).first()
    return qs.filter(params__target="conversion_value").order_by(*order).first() or qs.order_by(*order).first()


def budget_scenarios(*, limit: int = 20) -> QuerySet[BudgetScenario]:
    return BudgetScenario.objects.select_related("version").order_by("-created_at", "-pk")[:limit]


def budget_scenario_get(*, pk: int) -> BudgetScenario:
    return get_object_or_404(BudgetScenario.objects.select_related("version"), pk=pk)


def has_any_findings() -> bool:
    return AnomalyFinding.objects.exists()


def finding_filter_q(*, search: str) -> Q:
    """Free-text filter over the label and explanation (the anomalies page's search box)."""
    return Q(label__icontains=search) | Q(explanation__icontains=search) | Q(key__icontains=search)

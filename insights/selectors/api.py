"""Reads of the insights API: the stored findings, forecasts and attribution, filtered as the
endpoints' parameters say. Each function narrows the app's own reads (`results`), so the API
shows exactly what the insight pages show; the API's serializers map the rows to JSON and
nothing else, so pointing anomalies at another record later changes this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from insights.models import AnomalyFinding, AttributionImport, AttributionResult, Scope
from insights.selectors import results
from insights.selectors.results import ForecastSeries


def anomalies_filtered(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    severities: Sequence[str] | None = None,
    platforms: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    campaigns: Sequence[str] | None = None,
    scope: str | None = None,
    direction: str | None = None,
) -> QuerySet[AnomalyFinding]:
    """Findings newest first; `campaigns` keeps the findings of those campaigns' own series."""
    if campaigns:
        if scope not in (None, Scope.CAMPAIGN):
            return AnomalyFinding.objects.none()  # a campaign's findings are all at campaign scope
        scope = Scope.CAMPAIGN
    qs = results.anomalies_for(
        date_from=date_from,
        date_to=date_to,
        scope=scope,
        keys=campaigns or None,
        metrics=metrics,
        platforms=platforms,
        direction=direction,
    )
    if severities:
        qs = qs.filter(severity__in=list(severities))
    return qs


def forecast_series(
    *, metrics: Sequence[str], scope: str | None = None, keys: Sequence[str] | None = None
) -> list[ForecastSeries]:
    """Every stored forecast of these metrics: workspace, then platforms, then campaigns, by key."""
    scopes = [scope] if scope else [Scope.WORKSPACE, Scope.PLATFORM, Scope.CAMPAIGN]
    found: list[ForecastSeries] = []
    for metric in metrics:
        for one_scope in scopes:
            found += sorted(results.forecasts_for_many(metric=metric, scope=one_scope, keys=keys), key=lambda s: s.key)
    return found


@dataclass(frozen=True)
class AttributionAnswer:
    """One import of conversion paths and its results, grouped by model."""

    record: AttributionImport
    models: dict[str, list[AttributionResult]]


def attribution_imports_filtered(
    *, ids: Sequence[int] | None = None, source: str | None = None
) -> QuerySet[AttributionImport]:
    qs = results.attribution_imports()
    if ids:
        qs = qs.filter(pk__in=list(ids))
    if source:
        qs = qs.filter(source=source)
    return qs


def attribution_answers(
    imports: Sequence[AttributionImport], *, models: Sequence[str] | None = None
) -> list[AttributionAnswer]:
    """The results of a page of imports in one query, grouped per import and model."""
    rows = AttributionResult.objects.select_related("version").filter(attribution_import__in=list(imports))
    if models:
        rows = rows.filter(model__in=list(models))
    grouped: dict[int, dict[str, list[AttributionResult]]] = {i.pk: {} for i in imports}
    for row in rows.order_by("model", "-conversions", "channel"):
        grouped[row.attribution_import_id].setdefault(row.model, []).append(row)
    return [AttributionAnswer(record=i, models=grouped[i.pk]) for i in imports]

"""Reads of the insights API: the stored findings, forecasts and attribution, filtered as the
endpoints' parameters say. Each function narrows the app's own reads (`results`), so the API
shows exactly what the insight pages show; the API's serializers map the rows to JSON and
nothing else, so pointing anomalies at another record later changes this module only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import QuerySet

from insights.models import AnomalyFinding, AttributionImport, AttributionResult, Scope
from insights.results_version import results_version
from insights.selectors import results
from insights.selectors.results import ForecastSeries
from warehouse.queries import data_version

T = TypeVar("T")
ANSWER_TIMEOUT = 300  # seconds, like the metrics API's answers


def cached_answer(endpoint: str, question: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """An endpoint's answer through the workspace's cache (the key function adds the schema).

    Keyed by the endpoint, the question (validated parameters, page, host) and two versions: the
    stored insight results' (`results_changed`) and the warehouse's (a finished run), so new
    results or new data are answered fresh. An error raised by `compute` is not cached.
    """
    digest = hashlib.sha256(json.dumps(question, sort_keys=True, default=str).encode()).hexdigest()[:32]
    key = f"insights:api:{endpoint}:{digest}:v{results_version()}.{data_version()}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    answer = compute()
    cache.set(key, answer, ANSWER_TIMEOUT)
    return answer


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

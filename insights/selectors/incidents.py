"""Reads of incidents: the Anomalies page (filtered, paginated) and one incident by id.

The page lists incidents (one per entity and day), not the single-metric findings behind them:
a marketer reads one line per event, and opens the metric findings from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from bosco.platforms import platform_label
from insights.models import Incident, Scope
from insights.selectors.pages import InsightsWorkspace, Page
from insights.selectors.results import incident_counts, incident_lines, scoring_latest, severities_at_least

#: incidents per page: a screenful on a laptop, a few thumbs on a phone
INCIDENTS_PER_PAGE = 20


@dataclass(frozen=True)
class IncidentFilters:
    """The page's filters, already validated by the view (dates inclusive)."""

    date_from: date
    date_to: date
    severity: str = ""
    platform: str = ""
    metric: str = ""
    scope: str = ""
    search: str = ""


def incidents_for(filters: IncidentFilters) -> QuerySet[Incident]:
    qs = Incident.objects.filter(
        date__gte=filters.date_from,
        date__lte=filters.date_to,
        severity__in=severities_at_least(filters.severity or "low"),
    )
    if filters.platform:
        qs = qs.filter(platform=filters.platform)
    if filters.scope:
        qs = qs.filter(scope=filters.scope)
    if filters.metric:
        qs = qs.filter(metrics__contains=[{"metric": filters.metric}])  # jsonb containment
    if filters.search:
        qs = qs.filter(Q(label__icontains=filters.search) | Q(summary__icontains=filters.search))
    return qs.order_by("-date", "-score", "pk")


def incident_get(*, pk: int) -> Incident:
    return get_object_or_404(Incident, pk=pk)


@dataclass(frozen=True)
class AnomaliesPage(Page):
    incidents: list[Incident]
    page_obj: PaginatorPage[Any]
    total: int
    counts: dict[str, int]
    scoring: Any
    history_days: int
    min_days: int
    date_from: date
    date_to: date
    platform_choices: list[tuple[str, str]]


def anomalies_page(
    *, workspace: InsightsWorkspace, filters: IncidentFilters, page_number: str | int, min_days: int
) -> AnomaliesPage:
    """One page of the incidents matching the filters, newest and strongest first."""
    qs = incidents_for(filters)
    page_obj = Paginator(qs, INCIDENTS_PER_PAGE).get_page(page_number)  # out-of-range numbers clamp
    scoring = scoring_latest()
    platforms = set(Incident.objects.exclude(platform="").values_list("platform", flat=True).distinct())
    return AnomaliesPage(
        incidents=incident_lines(list(page_obj.object_list), currency=workspace.currency),
        page_obj=page_obj,
        total=page_obj.paginator.count,
        counts=incident_counts(date_from=filters.date_from, date_to=filters.date_to),
        scoring=scoring,
        history_days=int((scoring.metrics or {}).get("history_days", 0)) if scoring else 0,
        min_days=min_days,
        date_from=filters.date_from,
        date_to=filters.date_to,
        platform_choices=[(p, platform_label(p)) for p in sorted(platforms | {filters.platform} - {""})],
    )


def scope_choices() -> list[tuple[str, str]]:
    return [(s.value, s.label) for s in Scope]

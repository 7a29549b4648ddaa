"""One selector per insight page, each returning a typed page object: what the page shows.

The views parse the request (filters, ids), call one of these, and render the page object's
fields (`page.context()`); reads come from `insights.selectors` (stored results and series),
figures from `insights.charts`, labels and units from the metric catalogue.

    page = forecasts_page(workspace=InsightsWorkspace("EUR", date(2026, 11, 30)), metric="spend", series_id="workspace:")
    render(request, "insights/forecasts.html", {**page.context(), ...})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import pandas as pd
from django.db.models import QuerySet

from bosco.formatting import format_percent
from bosco.platforms import TOTAL_COLOR, platform_color
from insights import charts
from insights.ml.anomaly import score_series
from insights.ml.planning import PERIODS
from insights.models import AnomalyFinding, AttributionImport, Incident, ModelVersion, Scope
from insights.selectors import results
from insights.selectors.journeys_page import JourneysPanel, journeys_panel
from insights.selectors.series import Entity, entity_series, platform_series
from insights.services.scoring import ANOMALY_WARMUP_DAYS, FORECAST_METRICS
from warehouse.metrics import format_metric, metric_label, metric_unit

ANOMALY_PAGE_LIMIT = 200
#: the attribution table leads with last touch and the data-driven models: the comparison that
#: matters should not need a horizontal scroll
TABLE_MODEL_ORDER = (
    "last_touch",
    "shapley",
    "markov_1",
    "first_touch",
    "linear",
    "position_based",
    "time_decay",
    "markov_2",
    "markov_3",
)


@dataclass(frozen=True)
class InsightsWorkspace:
    """What every insight page reads of its workspace."""

    currency: str
    as_of: date  # the workspace's last complete day


class Page:
    """A page object: its fields are the template's context."""

    def context(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def findings_shown(findings: Any, currency: str) -> list[Any]:
    """Findings with their value and expected range formatted in the metric's unit."""
    out = list(findings)
    for f in out:
        f.shown_value = format_metric(f.metric, f.value, currency)
        f.shown_expected = format_metric(f.metric, f.expected, currency)
        f.shown_range = f"{format_metric(f.metric, f.lower, currency)} – {format_metric(f.metric, f.upper, currency)}"
    return out


def _entity_color(scope: str, platform: str) -> str:
    return platform_color(platform) if scope != Scope.WORKSPACE and platform else TOTAL_COLOR


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class OverviewPage(Page):
    scoring: ModelVersion | None
    counts: dict[str, int]
    #: medium and high incidents of the last 7 days (the low ones are counted beside it)
    week_total: int
    #: medium and high incidents of the last 14 days, newest first, with their metric lines
    recent: list[Incident]
    #: low incidents of those days, counted when none is medium or high ("3 low ones not shown")
    recent_low: int
    kpis: list[dict[str, Any]]
    revenue_chart: charts.Figure | None
    chart_days: int
    has_data: bool
    budget: ModelVersion | None
    budget_month: float | None
    budget_band: list[float] | None
    #: the plan keeps the current split (no move is a sure gain): "+€0, 80%: €0 to €0" reads broken
    budget_holds: bool
    latest_import: AttributionImport | None
    attribution_top: list[dict[str, Any]]


def _revenue_chart(total: pd.DataFrame, *, workspace: InsightsWorkspace) -> charts.Figure:
    """Revenue of the last days with the 14-day forecast and the medium and high incidents marked."""
    revenue = "conversion_value"
    figure = charts.lines_figure(
        [charts.line(metric_label(revenue), list(total.index), total[revenue].tolist(), color=TOTAL_COLOR)],
        metric=revenue,
        currency=workspace.currency,
        height=300,
        legend=False,
    )
    band = results.forecasts_for(metric=revenue, scope=Scope.WORKSPACE)
    if band:
        figure["data"] += charts.forecast_band_traces(
            band.points, color=TOTAL_COLOR, metric=revenue, currency=workspace.currency
        )
    # the workspace's incidents of medium and above, as the list beside it: a dot per event on
    # the revenue line (hover: its probable cause), not one per metric finding and not the low ones
    revenue_by_day = {ts.date(): float(v) for ts, v in total[revenue].items()}
    events = [
        {"date": i.date, "value": revenue_by_day[i.date], "severity": i.severity, "explanation": i.summary}
        for i in results.incidents_top(
            date_from=total.index[0].date(),
            date_to=workspace.as_of,
            scope=Scope.WORKSPACE,
            min_severity="medium",
            limit=len(total),
        )
        if i.date in revenue_by_day
    ]
    figure["data"] += charts.anomaly_marker_traces(events)
    return figure


def _attribution_top(latest_import: AttributionImport | None) -> list[dict[str, Any]]:
    """Each channel's share of conversions under last touch, Markov and Shapley, Shapley first."""
    if latest_import is None:
        return []
    rows = results.attribution_results(attribution_import=latest_import)
    shares = {(r.model, r.channel): r.conversions / latest_import.conversions for r in rows}
    top = [
        {
            "channel": channel,
            "last_touch": shares.get(("last_touch", channel)),
            "markov": shares.get(("markov_1", channel)),
            "shapley": shares.get(("shapley", channel)),
        }
        for channel in latest_import.channels
    ]
    top.sort(key=lambda r: -(r["shapley"] or 0))
    return top[:5]


def overview_page(*, workspace: InsightsWorkspace) -> OverviewPage:
    """What changed, what comes next, where budget should go: one screen of the latest results."""
    as_of = workspace.as_of
    counts = results.incident_counts(date_from=as_of - timedelta(days=6), date_to=as_of)
    # The most severe incidents (medium and above) of the last two weeks, newest first: the
    # Anomalies page's list in short, not the single-metric findings behind it.
    recent = results.incidents_top(date_from=as_of - timedelta(days=13), date_to=as_of, min_severity="medium")
    kpis = []
    revenue_chart = None
    series = platform_series(as_of=as_of, days=90)
    if series:
        total = series[0].frame
        for metric in ("conversion_value", "spend"):
            band = results.forecasts_for(metric=metric, scope=Scope.WORKSPACE)
            last7 = float(total[metric].tail(7).sum())
            next7 = band.total(7) if band else None
            kpis.append(
                {
                    "metric": metric,
                    "label": metric_label(metric),
                    "next7": next7,
                    "last7": last7,
                    "change": (next7 - last7) / last7 if next7 is not None and last7 > 0 else None,
                    # the days each number covers: the forecast starts after the newest complete
                    # day, which may already be over in the workspace's zone ("next" would mislead)
                    "next_days": band.days(7) if band else None,
                    "last_days": (as_of - timedelta(days=6), as_of),
                }
            )
        revenue_chart = _revenue_chart(total, workspace=workspace)
    budget = results.budget_curves_latest(scope=Scope.PLATFORM)
    budget_month = (budget.metrics.get("uplift_at_current_budget") or 0) * PERIODS["month"] if budget else None
    budget_band = [(v or 0) * PERIODS["month"] for v in budget.metrics.get("uplift_band", [0, 0])] if budget else None
    latest_import = results.attribution_imports().first()
    return OverviewPage(
        scoring=results.scoring_latest(),
        counts=counts,
        week_total=counts["medium"] + counts["high"],
        recent=results.incident_lines(recent, currency=workspace.currency),
        recent_low=0 if recent else results.incident_counts(date_from=as_of - timedelta(days=13), date_to=as_of)["low"],
        kpis=kpis,
        revenue_chart=revenue_chart,
        chart_days=len(series[0].frame) if series else 0,
        has_data=bool(series),
        budget=budget,
        budget_month=budget_month,
        budget_band=budget_band,
        budget_holds=budget_month is not None
        and budget_band is not None
        and all(abs(v) < 0.5 for v in (budget_month, *budget_band)),
        latest_import=latest_import,
        attribution_top=_attribution_top(latest_import),
    )


# --------------------------------------------------------------------------- anomalies


@dataclass(frozen=True)
class AnomalyDetailPage(Page):
    finding: AnomalyFinding
    shown_value: str
    shown_expected: str
    shown_range: str
    chart: charts.Figure | None
    others: QuerySet[AnomalyFinding]
    ratio: float | None


def _anomaly_chart(finding: AnomalyFinding, *, workspace: InsightsWorkspace) -> charts.Figure | None:
    """The finding's series around it with the range it would not have been flagged in."""
    entity = Entity(finding.scope, finding.key, finding.label, finding.platform)
    show_from = finding.date - timedelta(days=45)
    show_to = min(finding.date + timedelta(days=21), workspace.as_of)
    history = entity_series(entity=entity, as_of=show_to, days=(show_to - show_from).days + 1 + ANOMALY_WARMUP_DAYS)
    if history is None or len(history.metric(finding.metric)) < 3:
        return None
    # counts never go below one of their unit: the detector's floor (as in nightly scoring)
    floor = 1.0 if metric_unit(finding.metric) == "count" else 0.0
    scored = score_series(history.metric(finding.metric), floor=floor)
    visible = scored[scored.index >= pd.Timestamp(show_from)]
    color = _entity_color(finding.scope, finding.platform)
    figure = charts.lines_figure(
        [charts.line(metric_label(finding.metric), list(visible.index), visible["value"].tolist(), color=color)],
        metric=finding.metric,
        currency=workspace.currency,
        height=320,
    )
    # the band goes under the line
    figure["data"][:0] = charts.expected_band_traces(
        list(visible.index), visible["lower"].tolist(), visible["upper"].tolist(), color=color
    )
    around = results.anomalies_for(
        date_from=show_from, date_to=show_to, scope=finding.scope, keys=[finding.key], metrics=[finding.metric]
    )
    figure["data"] += charts.anomaly_marker_traces(around)
    return figure


def anomaly_detail_page(*, workspace: InsightsWorkspace, pk: int) -> AnomalyDetailPage:
    """One finding in context: the series, its expected range and every finding around it (404 if unknown)."""
    finding = findings_shown([results.anomaly_get(pk=pk)], workspace.currency)[0]
    others = results.anomalies_for(
        date_from=finding.date - timedelta(days=3),
        date_to=finding.date + timedelta(days=3),
        scope=finding.scope,
        keys=[finding.key],
    ).exclude(pk=finding.pk)[:10]
    return AnomalyDetailPage(
        finding=finding,
        shown_value=finding.shown_value,
        shown_expected=finding.shown_expected,
        shown_range=finding.shown_range,
        chart=_anomaly_chart(finding, workspace=workspace),
        others=others,
        ratio=(finding.value / finding.expected) if finding.expected else None,
    )


# --------------------------------------------------------------------------- forecasts


@dataclass(frozen=True)
class ForecastsPage(Page):
    metric: str
    metric_choices: list[tuple[str, str]]
    entities: list[results.ForecastEntity]
    entity: results.ForecastEntity | None
    entity_id: str
    band: results.ForecastSeries | None
    chart: charts.Figure | None
    platform_charts: list[dict[str, Any]]
    next_7: float | None
    next_7_days: tuple[date, date] | None
    next_14: float | None
    actual_7: float | None
    change_7: float | None
    scoring: ModelVersion | None


def _platform_forecast_charts(*, metric: str, workspace: InsightsWorkspace) -> list[dict[str, Any]]:
    """A small chart per platform: its recent actuals and its forecast."""
    actuals = {s.entity.key: s for s in platform_series(as_of=workspace.as_of, days=42)}
    out = []
    for item in results.forecasts_for_many(metric=metric, scope=Scope.PLATFORM):
        color = platform_color(item.key)
        lines = []
        if item.key in actuals:
            values = actuals[item.key].frame[metric]
            lines.append(charts.line(item.label, list(values.index), values.tolist(), color=color))
        figure = charts.lines_figure(lines, metric=metric, currency=workspace.currency, height=200, legend=False)
        figure["data"] += charts.forecast_band_traces(
            item.points, name=item.label, color=color, metric=metric, currency=workspace.currency
        )
        figure["layout"]["margin"]["t"] = 8
        out.append({"series": item, "chart": figure, "color": color})
    return out


def forecasts_page(*, workspace: InsightsWorkspace, metric: str, series_id: str) -> ForecastsPage:
    """Actuals and the stored forecast with its 80%/95% bands of one metric and series.

    An unknown metric reads as revenue, an unknown series as the first one (the workspace).
    """
    if metric not in FORECAST_METRICS:
        metric = "conversion_value"
    entities = results.forecast_entities()
    scope, _, key = series_id.partition(":")
    entity = next((e for e in entities if e.scope == scope and e.key == key), entities[0] if entities else None)
    band = results.forecasts_for(metric=metric, scope=entity.scope, key=entity.key) if entity else None
    chart = None
    actual_7 = None
    if entity is not None:
        series = entity_series(
            entity=Entity(entity.scope, entity.key, entity.label, entity.platform), as_of=workspace.as_of, days=84
        )
        color = _entity_color(entity.scope, entity.platform)
        lines = []
        if series is not None:
            values = series.frame[metric]
            lines.append(
                charts.line(f"{metric_label(metric)} (actual)", list(values.index), values.tolist(), color=color)
            )
            actual_7 = float(values.tail(7).sum())
        chart = charts.lines_figure(lines, metric=metric, currency=workspace.currency, height=340)
        if band:
            chart["data"] += charts.forecast_band_traces(
                band.points, color=color, metric=metric, currency=workspace.currency
            )
        if series is not None:
            chart["data"] += charts.anomaly_marker_traces(
                results.anomalies_for(
                    date_from=series.first_day,
                    date_to=workspace.as_of,
                    scope=entity.scope,
                    keys=[entity.key],
                    metrics=[metric],
                )
            )
    platform_charts = []
    if entity is not None and entity.scope == Scope.WORKSPACE:
        platform_charts = _platform_forecast_charts(metric=metric, workspace=workspace)
    next_7 = band.total(7) if band else None
    return ForecastsPage(
        metric=metric,
        metric_choices=[(m, metric_label(m)) for m in FORECAST_METRICS],
        entities=entities,
        entity=entity,
        entity_id=f"{entity.scope}:{entity.key}" if entity else "",
        band=band,
        chart=chart,
        platform_charts=platform_charts,
        next_7=next_7,
        next_7_days=band.days(7) if band else None,
        next_14=band.total() if band else None,
        actual_7=actual_7,
        change_7=(next_7 - actual_7) / actual_7 if next_7 is not None and actual_7 else None,
        scoring=results.scoring_latest(),
    )


# --------------------------------------------------------------------------- attribution


@dataclass(frozen=True)
class AttributionPage(Page):
    imports: list[AttributionImport]
    selected: AttributionImport | None
    measure: str
    models: list[tuple[str, str, str]]
    table: list[dict[str, Any]]
    chart: charts.Figure | None
    #: a build from first-party journeys: its paths, distributions and the platforms' claims
    journeys: JourneysPanel | None


def attribution_page(
    *, workspace: InsightsWorkspace, selected: AttributionImport | None, measure: str
) -> AttributionPage:
    """The imports, and the selected one's credit per channel and model (conversions or value)."""
    measure = "conversion_value" if measure == "conversion_value" else "conversions"
    table: list[dict[str, Any]] = []
    table_models: list[str] = []
    chart = None
    journeys = None
    if selected is not None:
        rows = results.attribution_results(attribution_import=selected)
        journeys = journeys_panel(selected=selected, rows=rows, currency=workspace.currency)
        present = {r.model for r in rows}
        table_models = [m for m in TABLE_MODEL_ORDER if m in present]
        total = selected.conversion_value if measure == "conversion_value" else selected.conversions
        by = {(r.channel, r.model): getattr(r, measure) for r in rows}
        swatches = charts.channel_swatches(selected.channels)
        for channel in selected.channels:
            cells = [
                {"value": by.get((channel, m), 0.0), "share": by.get((channel, m), 0.0) / total if total else None}
                for m in table_models
            ]
            table.append({"channel": channel, "color": swatches.get(channel), "cells": cells})
        sort_model = "shapley" if "shapley" in table_models else (table_models[-1] if table_models else None)
        if sort_model:
            index = table_models.index(sort_model)
            table.sort(key=lambda row: -row["cells"][index]["value"])
        models = [m for m in charts.MODEL_LABELS if m in present]
        chart = charts.attribution_bar(rows, measure=measure, models=models, currency=workspace.currency)
    return AttributionPage(
        imports=list(results.attribution_imports()[:50]),
        selected=selected,
        measure=measure,
        models=[(m, charts.MODEL_LABELS[m], charts.MODEL_SHORT_LABELS[m]) for m in table_models],
        table=table,
        chart=chart,
        journeys=journeys,
    )


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RegistryPage(Page):
    versions: list[ModelVersion]
    kind: str
    kinds: list[tuple[str, str]]
    summary: dict[str, dict[str, object]]


def registry_page(*, kind: str = "") -> RegistryPage:
    """Every trained version: what it was trained on, with which code, how well, and what uses it."""
    if kind not in ModelVersion.Kind.values:
        kind = ""
    versions = list(results.model_versions(kind=kind or None, limit=200))
    for version in versions:
        _describe(version)
    return RegistryPage(
        versions=versions,
        kind=kind,
        kinds=[("", "All")] + [(k.value, k.label) for k in ModelVersion.Kind],
        summary=results.registry_summary(),
    )


def _preview(data: Any, limit: int = 1200) -> str:
    text = json.dumps(data, indent=1, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "\n…"


def _quality(v: ModelVersion) -> str:
    """A one-line quality summary of a version, by kind."""
    m = v.metrics or {}
    if v.kind == ModelVersion.Kind.ANOMALY:
        sev = m.get("by_severity", {})
        return f"{m.get('series', 0)} series, {m.get('findings', 0)} findings ({sev.get('high', 0)} high)"
    if v.kind == ModelVersion.Kind.FORECAST:
        prev = m.get("previous_forecast")
        if prev and prev.get("wape") is not None:
            return (
                f"Previous forecast: WAPE {format_percent(prev['wape'])}, "
                f"80% band held on {format_percent(prev.get('coverage_80'))} of {prev.get('days')} days"
            )
        return f"{m.get('history_days', 0)} days of history"
    if v.kind == ModelVersion.Kind.BUDGET:
        r2 = m.get("r_squared")
        return f"R² {r2:.2f} on {m.get('periods', 0)} days, {m.get('channels', 0)} channels" if r2 is not None else ""
    return f"{m.get('paths', 0):,} paths, {m.get('channels', 0)} channels; every model sums to the total"


def _describe(v: Any) -> None:
    """Attach a one-line quality summary, a usage count and JSON previews for the registry table."""
    v.quality = _quality(v)
    counts = [
        (v.n_anomalies, "finding"),
        (v.n_forecast_points, "forecast day"),
        (v.n_attribution, "attribution result"),
        (v.n_scenarios, "scenario"),
    ]
    v.usage = ", ".join(f"{n:,} {label}{'s' if n != 1 else ''}" for n, label in counts if n) or "—"
    params = dict(v.params or {})
    if v.kind == ModelVersion.Kind.BUDGET:
        model = params.get("model", {})
        params = {
            "scope": params.get("scope"),
            "target": params.get("target"),
            "bootstrap refits": len(params.get("refits", [])),
            "curves": model.get("curves", {}),
        }
    v.params_preview = _preview(params)

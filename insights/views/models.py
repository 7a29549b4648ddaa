"""Insight pages: overview, anomalies, forecasts, attribution, budget planner and the model registry.

Views parse the request, check the role, and call one selector or service; figures come from
`insights.charts`. Every member may look; importing attribution paths, saving budget scenarios
and starting a scoring run need `Permission.EDIT_INSIGHTS` (owner, admin, analyst). Numbers are
shown in the workspace's reporting currency, "yesterday" is the workspace's own yesterday.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from bosco.formatting import currency_symbol, format_money, format_percent
from bosco.platforms import TOTAL_COLOR, platform_color, platform_label
from insights import charts, selectors, services
from insights.ml.planning import PERIOD_LABELS, PERIODS, curve_points
from insights.models import ModelVersion, Scope
from insights.selectors.series import Entity, entity_series, last_complete_day, platform_series
from insights.services.paths_csv import REQUIRED, SAMPLE_CSV
from insights.views.links import campaign_url
from warehouse.metrics import format_metric, metric_label

FORECAST_METRICS = services.FORECAST_METRICS
ANOMALY_PERIODS = {"7": 7, "30": 30, "90": 90}
ANOMALY_PAGE_LIMIT = 200
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
TABS = (
    ("overview", "Overview", "insights:overview"),
    ("anomalies", "Anomalies", "insights:anomalies"),
    ("forecasts", "Forecasts", "insights:forecasts"),
    ("attribution", "Attribution", "insights:attribution"),
    ("budget", "Budget planner", "insights:budget"),
    ("registry", "Models", "insights:registry"),
)


# --------------------------------------------------------------------------- helpers


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _can_edit(request: HttpRequest) -> bool:
    return _membership(request).can(Permission.EDIT_INSIGHTS)


def _forbidden(what: str) -> HttpResponse:
    return HttpResponse(f"Only owners, admins and analysts can {what}.", status=403)


@dataclass(frozen=True)
class PageContext:
    currency: str
    time_zone: str
    as_of: date


def _workspace(request: HttpRequest) -> PageContext:
    tenant = request.tenant  # type: ignore[attr-defined]
    return PageContext(tenant.reporting_currency, tenant.time_zone, last_complete_day(tenant.time_zone))


def _context(request: HttpRequest, tab: str, **extra: Any) -> dict[str, Any]:
    ws = _workspace(request)
    return {
        "section": "insights",
        "tab": tab,
        "tabs": TABS,
        "currency": ws.currency,
        "currency_symbol": currency_symbol(ws.currency).strip(),
        "as_of": ws.as_of,
        "can_edit": _can_edit(request),
        **extra,
    }


def _shown(findings: Any, currency: str) -> list[Any]:
    """Findings with their value and expected range formatted in the metric's unit."""
    out = list(findings)
    for f in out:
        f.shown_value = format_metric(f.metric, f.value, currency)
        f.shown_expected = format_metric(f.metric, f.expected, currency)
        f.shown_range = f"{format_metric(f.metric, f.lower, currency)} – {format_metric(f.metric, f.upper, currency)}"
    return out


def _entity_color(scope: str, platform: str) -> str:
    return platform_color(platform) if scope != Scope.WORKSPACE and platform else TOTAL_COLOR


def _int(value: str | None, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _float(value: str | None) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


# --------------------------------------------------------------------------- overview


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """What changed, what comes next, where budget should go: one screen of the latest results."""
    ws = _workspace(request)
    week_from = ws.as_of - timedelta(days=6)
    scoring = selectors.scoring_latest()
    counts = selectors.anomaly_counts(date_from=week_from, date_to=ws.as_of)
    # The strongest findings of the last two weeks, newest first.
    strongest = selectors.anomalies_for(date_from=ws.as_of - timedelta(days=13), date_to=ws.as_of).order_by("-score")[
        :6
    ]
    recent = sorted(strongest, key=lambda f: (f.date, f.score), reverse=True)
    revenue_chart = None
    kpis = []
    series = platform_series(as_of=ws.as_of, days=90)
    if series:
        total = series[0].frame
        for metric in ("conversion_value", "spend"):
            band = selectors.forecasts_for(metric=metric, scope=Scope.WORKSPACE)
            last7 = float(total[metric].tail(7).sum())
            next7 = band.total(7) if band else None
            kpis.append(
                {
                    "metric": metric,
                    "label": metric_label(metric),
                    "next7": next7,
                    "last7": last7,
                    "change": (next7 - last7) / last7 if next7 is not None and last7 > 0 else None,
                }
            )
        revenue = "conversion_value"
        fig = charts.lines_figure(
            [charts.line(metric_label(revenue), list(total.index), total[revenue].tolist(), color=TOTAL_COLOR)],
            metric=revenue,
            currency=ws.currency,
            height=300,
            legend=False,
        )
        band = selectors.forecasts_for(metric=revenue, scope=Scope.WORKSPACE)
        if band:
            fig["data"] += charts.forecast_band_traces(
                band.points, color=TOTAL_COLOR, metric=revenue, currency=ws.currency
            )
        fig["data"] += charts.anomaly_marker_traces(
            selectors.anomalies_for(
                date_from=total.index[0].date(), date_to=ws.as_of, scope=Scope.WORKSPACE, metrics=[revenue]
            )
        )
        revenue_chart = fig
    budget = selectors.budget_curves_latest(scope=Scope.PLATFORM)
    latest_import = selectors.attribution_imports().first()
    attribution_top = []
    if latest_import is not None:
        results = selectors.attribution_results(attribution_import=latest_import)
        shares = {(r.model, r.channel): r.conversions / latest_import.conversions for r in results}
        for channel in latest_import.channels:
            attribution_top.append(
                {
                    "channel": channel,
                    "last_touch": shares.get(("last_touch", channel)),
                    "markov": shares.get(("markov_1", channel)),
                    "shapley": shares.get(("shapley", channel)),
                }
            )
        attribution_top.sort(key=lambda r: -(r["shapley"] or 0))
    context = _context(
        request,
        "overview",
        scoring=scoring,
        counts=counts,
        week_total=sum(counts.values()),
        recent=recent,
        kpis=kpis,
        revenue_chart=revenue_chart,
        chart_days=len(series[0].frame) if series else 0,
        has_data=bool(series),
        budget=budget,
        budget_month=(budget.metrics.get("uplift_at_current_budget") or 0) * PERIODS["month"] if budget else None,
        budget_band=[(v or 0) * PERIODS["month"] for v in budget.metrics.get("uplift_band", [0, 0])]
        if budget
        else None,
        latest_import=latest_import,
        attribution_top=attribution_top[:5],
        campaign_url=campaign_url,
    )
    return render(request, "insights/overview.html", context)


@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    """Start a scoring run of this workspace now (the nightly task, on demand)."""
    if not _can_edit(request):
        return _forbidden("start a scoring run")
    from insights.tasks import score_workspace

    score_workspace.delay_on_commit(request.tenant.schema_name)  # type: ignore[attr-defined]
    messages.success(request, "Scoring started. New findings and forecasts appear here in a minute or two.")
    return HttpResponseRedirect(reverse("insights:overview"))


# --------------------------------------------------------------------------- anomalies


@dataclass(frozen=True)
class AnomalyFilters:
    period: str
    severity: str
    metric: str
    scope: str
    platform: str
    q: str

    def query(self, **override: str) -> str:
        values = {**self.__dict__, **override}
        return urlencode({k: v for k, v in values.items() if v})


def _anomaly_filters(request: HttpRequest) -> AnomalyFilters:
    get = request.GET
    period = get.get("period", "30")
    return AnomalyFilters(
        period=period if period in ANOMALY_PERIODS else "30",
        severity=get.get("severity", "") if get.get("severity") in selectors.SEVERITY_ORDER else "",
        metric=get.get("metric", "") if get.get("metric") in services.ANOMALY_METRICS else "",
        scope=get.get("scope", "") if get.get("scope") in Scope.values else "",
        platform=get.get("platform", "")[:32],
        q=get.get("q", "").strip()[:100],
    )


@require_GET
def anomalies(request: HttpRequest) -> HttpResponse:
    """All findings with filters; the results table is an htmx fragment the filters replace."""
    ws = _workspace(request)
    filters = _anomaly_filters(request)
    date_from = ws.as_of - timedelta(days=ANOMALY_PERIODS[filters.period] - 1)
    qs = selectors.anomalies_for(
        date_from=date_from,
        date_to=ws.as_of,
        scope=filters.scope or None,
        metrics=[filters.metric] if filters.metric else None,
        min_severity=filters.severity or "low",
        platforms=[filters.platform] if filters.platform else None,
    )
    if filters.q:
        qs = qs.filter(selectors.finding_filter_q(search=filters.q))
    total = qs.count()
    findings = _shown(qs[:ANOMALY_PAGE_LIMIT], ws.currency)
    scoring = selectors.scoring_latest()
    history_days = int((scoring.metrics or {}).get("history_days", 0)) if scoring else 0
    counts = selectors.anomaly_counts(date_from=date_from, date_to=ws.as_of)
    platforms = sorted(
        {f.platform for f in findings if f.platform} | ({filters.platform} if filters.platform else set())
    )
    context = _context(
        request,
        "anomalies",
        filters=filters,
        findings=findings,
        total=total,
        limit=ANOMALY_PAGE_LIMIT,
        counts=counts,
        scoring=scoring,
        history_days=history_days,
        min_days=services.ANOMALY_MIN_DAYS,
        date_from=date_from,
        periods=[("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")],
        severities=[("", "Any severity"), ("medium", "Medium and high"), ("high", "High only")],
        metric_choices=[(m, metric_label(m)) for m in services.ANOMALY_METRICS],
        scope_choices=[(s.value, s.label) for s in Scope],
        platform_choices=[(p, platform_label(p)) for p in platforms],
        campaign_url=campaign_url,
    )
    if getattr(request, "htmx", False):
        response = render(request, "insights/anomalies.html#results", context)
        response["HX-Push-Url"] = request.get_full_path()  # filters stay in the address, shareable
        return response
    return render(request, "insights/anomalies.html", context)


@require_GET
def anomaly_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One finding in context: the series, its expected range and every finding around it."""
    from insights.ml.anomaly import COUNT_METRICS, score_series

    ws = _workspace(request)
    finding = _shown([selectors.anomaly_get(pk=pk)], ws.currency)[0]
    entity = Entity(finding.scope, finding.key, finding.label, finding.platform)
    show_from = finding.date - timedelta(days=45)
    show_to = min(finding.date + timedelta(days=21), ws.as_of)
    history = entity_series(
        entity=entity,
        as_of=show_to,
        days=(show_to - show_from).days + 1 + services.ANOMALY_WARMUP_DAYS,
    )
    chart = None
    if history is not None and len(history.metric(finding.metric)) >= 3:
        values = history.metric(finding.metric)
        scored = score_series(values, floor=1.0 if finding.metric in COUNT_METRICS else 0.0)
        visible = scored[scored.index >= pd.Timestamp(show_from)]
        color = _entity_color(finding.scope, finding.platform)
        fig = charts.lines_figure(
            [charts.line(metric_label(finding.metric), list(visible.index), visible["value"].tolist(), color=color)],
            metric=finding.metric,
            currency=ws.currency,
            height=320,
        )
        # the band goes under the line
        fig["data"][:0] = charts.expected_band_traces(
            list(visible.index), visible["lower"].tolist(), visible["upper"].tolist(), color=color
        )
        around = selectors.anomalies_for(
            date_from=show_from, date_to=show_to, scope=finding.scope, keys=[finding.key], metrics=[finding.metric]
        )
        fig["data"] += charts.anomaly_marker_traces(around)
        chart = fig
    others = selectors.anomalies_for(
        date_from=finding.date - timedelta(days=3),
        date_to=finding.date + timedelta(days=3),
        scope=finding.scope,
        keys=[finding.key],
    ).exclude(pk=finding.pk)[:10]
    context = _context(
        request,
        "anomalies",
        finding=finding,
        shown_value=finding.shown_value,
        shown_expected=finding.shown_expected,
        shown_range=finding.shown_range,
        chart=chart,
        others=others,
        link=campaign_url(finding.key) if finding.scope == Scope.CAMPAIGN else None,
        ratio=(finding.value / finding.expected) if finding.expected else None,
    )
    return render(request, "insights/anomaly_detail.html", context)


# --------------------------------------------------------------------------- forecasts


@require_GET
def forecasts(request: HttpRequest) -> HttpResponse:
    """Actuals and the stored forecast with its 80%/95% bands, per metric and series."""
    ws = _workspace(request)
    metric = request.GET.get("metric", "conversion_value")
    if metric not in FORECAST_METRICS:
        metric = "conversion_value"
    entities = selectors.forecast_entities()
    chosen_id = request.GET.get("series", "workspace:")
    scope, _, key = chosen_id.partition(":")
    entity = next((e for e in entities if e.scope == scope and e.key == key), entities[0] if entities else None)
    band = selectors.forecasts_for(metric=metric, scope=entity.scope, key=entity.key) if entity else None
    chart = None
    actual_7 = None
    if entity is not None:
        series = entity_series(
            entity=Entity(entity.scope, entity.key, entity.label, entity.platform), as_of=ws.as_of, days=84
        )
        color = _entity_color(entity.scope, entity.platform)
        lines = []
        if series is not None:
            values = series.frame[metric]
            lines.append(
                charts.line(f"{metric_label(metric)} (actual)", list(values.index), values.tolist(), color=color)
            )
            actual_7 = float(values.tail(7).sum())
        fig = charts.lines_figure(lines, metric=metric, currency=ws.currency, height=340)
        if band:
            fig["data"] += charts.forecast_band_traces(band.points, color=color, metric=metric, currency=ws.currency)
        if series is not None:
            fig["data"] += charts.anomaly_marker_traces(
                selectors.anomalies_for(
                    date_from=series.first_day,
                    date_to=ws.as_of,
                    scope=entity.scope,
                    keys=[entity.key],
                    metrics=[metric],
                )
            )
        chart = fig
    platform_charts = []
    if entity is not None and entity.scope == Scope.WORKSPACE:
        actuals = {s.entity.key: s for s in platform_series(as_of=ws.as_of, days=42)}
        for item in selectors.forecasts_for_many(metric=metric, scope=Scope.PLATFORM):
            lines = []
            if item.key in actuals:
                values = actuals[item.key].frame[metric]
                lines.append(
                    charts.line(item.label, list(values.index), values.tolist(), color=platform_color(item.key))
                )
            fig = charts.lines_figure(lines, metric=metric, currency=ws.currency, height=200, legend=False)
            fig["data"] += charts.forecast_band_traces(
                item.points, name=item.label, color=platform_color(item.key), metric=metric, currency=ws.currency
            )
            fig["layout"]["margin"]["t"] = 8
            platform_charts.append({"series": item, "chart": fig, "color": platform_color(item.key)})
    next_7 = band.total(7) if band else None
    context = _context(
        request,
        "forecasts",
        metric=metric,
        metric_choices=[(m, metric_label(m)) for m in FORECAST_METRICS],
        entities=entities,
        entity=entity,
        entity_id=f"{entity.scope}:{entity.key}" if entity else "",
        band=band,
        chart=chart,
        platform_charts=platform_charts,
        next_7=next_7,
        next_14=band.total() if band else None,
        actual_7=actual_7,
        change_7=(next_7 - actual_7) / actual_7 if next_7 is not None and actual_7 else None,
        scoring=selectors.scoring_latest(),
        campaign_url=campaign_url,
    )
    if getattr(request, "htmx", False):
        response = render(request, "insights/forecasts.html#forecast", context)
        response["HX-Push-Url"] = request.get_full_path()
        return response
    return render(request, "insights/forecasts.html", context)


# --------------------------------------------------------------------------- attribution


def _attribution_context(
    request: HttpRequest, selected: Any, *, error: str | None = None, name: str = ""
) -> dict[str, Any]:
    ws = _workspace(request)
    measure = "conversion_value" if request.GET.get("measure") == "conversion_value" else "conversions"
    imports = list(selectors.attribution_imports()[:50])
    table: list[dict[str, Any]] = []
    models: list[str] = []
    table_models: list[str] = []
    chart = None
    swatches: dict[str, str] = {}
    if selected is not None:
        results = selectors.attribution_results(attribution_import=selected)
        present = {r.model for r in results}
        models = [m for m in charts.MODEL_LABELS if m in present]
        # The table leads with last touch and the data-driven models: the comparison that matters
        # should not need a horizontal scroll.
        table_models = [m for m in TABLE_MODEL_ORDER if m in present]
        total = selected.conversion_value if measure == "conversion_value" else selected.conversions
        by = {(r.channel, r.model): getattr(r, measure) for r in results}
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
        chart = charts.attribution_bar(results, measure=measure, models=models, currency=ws.currency)
    return _context(
        request,
        "attribution",
        imports=imports,
        selected=selected,
        measure=measure,
        models=[(m, charts.MODEL_LABELS[m], charts.MODEL_SHORT_LABELS[m]) for m in table_models],
        table=table,
        chart=chart,
        error=error,
        import_name=name,
        required=REQUIRED,
    )


@require_GET
def attribution(request: HttpRequest) -> HttpResponse:
    selected = selectors.attribution_imports().first()
    return render(request, "insights/attribution.html", _attribution_context(request, selected))


@require_GET
def attribution_import(request: HttpRequest, pk: int) -> HttpResponse:
    selected = selectors.attribution_import_get(pk=pk)
    return render(request, "insights/attribution.html", _attribution_context(request, selected))


@require_POST
def attribution_upload(request: HttpRequest) -> HttpResponse:
    """Import a CSV of conversion paths; a bad file re-shows the page with the reason, storing nothing."""
    if not _can_edit(request):
        return _forbidden("import attribution paths")
    upload = request.FILES.get("file")
    name = request.POST.get("name", "").strip()
    if upload is None:
        error = "Choose a CSV file to import."
    else:
        try:
            record, created = services.import_attribution_csv(
                data=upload.read(), filename=upload.name or "paths.csv", name=name, user_id=request.user.pk
            )
        except services.InsightsError as exc:
            error = str(exc)
        else:
            if created:
                messages.success(request, f"Imported {record.paths:,} paths across {len(record.channels)} channels.")
            else:
                messages.info(request, "This file was imported before; showing that import.")
            return HttpResponseRedirect(reverse("insights:attribution_import", args=[record.pk]))
    # Re-shown like any invalid form (200): the page itself is fine, the file was not.
    context = _attribution_context(request, selectors.attribution_imports().first(), error=error, name=name)
    return render(request, "insights/attribution.html", context)


@require_POST
def attribution_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("delete attribution imports")
    record = selectors.attribution_import_get(pk=pk)
    services.attribution_import_delete(pk=record.pk)
    messages.success(request, f"Deleted “{record.name}”.")
    return HttpResponseRedirect(reverse("insights:attribution"))


@require_GET
def attribution_sample(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(SAMPLE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bosco-paths-sample.csv"'
    return response


# --------------------------------------------------------------------------- budget planner


def _planner_input(request: HttpRequest, source: Any) -> services.PlannerInput:
    scope = source.get("scope", Scope.PLATFORM)
    target = source.get("target") or None
    period = source.get("period", "month")
    bounds: dict[str, tuple[float | None, float | None]] = {}
    for name in source:
        if name.startswith(("lo.", "hi.")):
            channel = name[3:]
            low, high = bounds.get(channel, (None, None))
            if name.startswith("lo."):
                low = _float(source.get(name))
            else:
                high = _float(source.get(name))
            bounds[channel] = (low, high)
    return services.PlannerInput(
        scope=scope if scope in (Scope.PLATFORM, Scope.CAMPAIGN) else Scope.PLATFORM,
        target=target if target in services.BUDGET_TARGETS else None,
        period=period if period in PERIODS else "month",
        budget=_float(source.get("budget")),
        bounds=bounds,
    )


def _planner_context(request: HttpRequest, inputs: services.PlannerInput) -> dict[str, Any]:
    ws = _workspace(request)
    context = _context(
        request,
        "budget",
        inputs=inputs,
        period_label=PERIOD_LABELS[inputs.period],
        periods=[(p, PERIOD_LABELS[p].removeprefix("per ").capitalize()) for p in PERIODS],
        scenarios=[(s, scenario_query(s)) for s in selectors.budget_scenarios()],
    )
    try:
        view = services.plan_budget_for_workspace(inputs, money=lambda v: format_money(v, ws.currency, decimals=0))
    except services.InsightsError as exc:
        context["unavailable"] = str(exc)
        return context
    plan = view.plan
    # Platforms keep their own colours; campaigns get distinct colours of their own.
    colors = charts.channel_swatches(view.curves.channels)
    context.update(
        view=view,
        plan=plan,
        target=view.target,
        target_label="revenue" if view.target == "conversion_value" else "conversions",
        money_target=view.target == "conversion_value",
        channels=[
            {
                "key": c,
                "label": view.curves.label(c),
                "color": colors[c],
                "lo": view.bounds[c][0],
                "hi": view.bounds[c][1],
                "history": view.curves.model.historical_spend[c] * view.factor,
                "max_seen": view.curves.model.max_spend[c] * view.factor,
            }
            for c in view.curves.channels
        ],
        budget=view.budget,
        historical_budget=sum(view.curves.model.historical_spend.values()) * view.factor,
        r_squared=view.version.metrics.get("r_squared"),
        fit_version=view.version,
    )
    if plan is not None:
        # Show each curve around the decision (current split to recommendation), where the fit
        # has data; far from past spend the curve is extrapolation.
        lower = {c.channel: 0.4 * min(c.current_spend, c.spend) / view.factor for c in plan.channels}
        upper = {
            c.channel: max(min(c.upper, 1.6 * max(c.current_spend, c.spend)), 1.1 * max(c.current_spend, c.spend))
            / view.factor
            for c in plan.channels
        }
        current = {c.channel: c.current_spend / view.factor for c in plan.channels}
        points = curve_points(view.curves, upper=upper, lower=lower, relative_to=current)
        scaled_curves = [
            {
                "channel": p.channel,
                "label": p.label,
                "spend": [v * view.factor for v in p.spend],
                "outcome": [v * view.factor for v in p.outcome],
                "low": [v * view.factor for v in p.low],
                "high": [v * view.factor for v in p.high],
            }
            for p in points
        ]
        context.update(
            allocation_chart=charts.budget_allocation_bar(plan.channels, currency=ws.currency, colors=colors),
            curves_chart=charts.response_curves_figure(
                scaled_curves, plan.channels, currency=ws.currency, target=view.target, colors=colors, relative=True
            ),
            plan_rows=[{"plan": c, "color": colors[c.channel]} for c in plan.channels],
            roas=plan.total_outcome / plan.budget if plan.budget else None,
            current_roas=plan.current_total_outcome / plan.budget if plan.budget else None,
            plan_cpa=plan.budget / plan.total_outcome if plan.total_outcome > 0 else None,
            current_cpa=plan.budget / plan.current_total_outcome if plan.current_total_outcome > 0 else None,
            query=_planner_query(inputs, view),
        )
    return context


def _planner_query(inputs: services.PlannerInput, view: services.PlannerView) -> str:
    params: dict[str, str] = {"scope": inputs.scope, "period": inputs.period, "budget": f"{view.budget:.2f}"}
    if inputs.target:
        params["target"] = inputs.target
    for channel, (low, high) in view.bounds.items():
        params[f"lo.{channel}"] = f"{low:.2f}"
        params[f"hi.{channel}"] = f"{high:.2f}"
    return urlencode(params)


@require_GET
def budget(request: HttpRequest) -> HttpResponse:
    """The planner. htmx requests re-solve only the allocation and return the `plan` fragment."""
    inputs = _planner_input(request, request.GET)
    fragment = request.GET.get("fragment")
    htmx = getattr(request, "htmx", False)
    if not htmx and not fragment:
        latest = selectors.budget_curves_latest(scope=inputs.scope, target=inputs.target)
        as_of = _workspace(request).as_of
        if latest is None or latest.training_end is None or latest.training_end < as_of:
            # Fitting takes seconds: show the page now and load the planner into it.
            context = _context(
                request,
                "budget",
                inputs=inputs,
                deferred=request.GET.urlencode(),
                scenarios=[(s, scenario_query(s)) for s in selectors.budget_scenarios()],
            )
            return render(request, "insights/budget.html", context)
    context = _planner_context(request, inputs)
    if htmx and fragment == "planner":
        return render(request, "insights/budget.html#planner", context)
    if htmx:
        return render(request, "insights/budget.html#plan", context)
    return render(request, "insights/budget.html", context)


@require_POST
def budget_save(request: HttpRequest) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("save budget scenarios")
    inputs = _planner_input(request, request.POST)
    ws = _workspace(request)
    try:
        view = services.plan_budget_for_workspace(inputs, money=lambda v: format_money(v, ws.currency, decimals=0))
        scenario = services.budget_scenario_save(view=view, name=request.POST.get("name", ""), user_id=request.user.pk)
    except services.InsightsError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(
            reverse("insights:budget")
            + "?"
            + urlencode({k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"})
        )
    messages.success(request, f"Scenario “{scenario.name}” saved.")
    return HttpResponseRedirect(reverse("insights:budget") + "?" + _planner_query(inputs, view))


@require_POST
def budget_scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("delete budget scenarios")
    scenario = selectors.budget_scenario_get(pk=pk)
    services.budget_scenario_delete(pk=scenario.pk)
    messages.success(request, f"Scenario “{scenario.name}” deleted.")
    return HttpResponseRedirect(reverse("insights:budget"))


def scenario_query(scenario: Any) -> str:
    params: dict[str, str] = {
        "scope": scenario.scope,
        "period": scenario.period,
        "budget": f"{scenario.budget:.2f}",
        "target": scenario.target,
    }
    for channel, (low, high) in (scenario.bounds or {}).items():
        params[f"lo.{channel}"] = f"{float(low):.2f}"
        params[f"hi.{channel}"] = f"{float(high):.2f}"
    return urlencode(params)


# --------------------------------------------------------------------------- registry


@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    """Every trained version: what it was trained on, with which code, how well, and what uses it."""
    kind = request.GET.get("kind", "")
    if kind not in ModelVersion.Kind.values:
        kind = ""
    versions = list(selectors.model_versions(kind=kind or None, limit=200))
    for version in versions:
        _describe(version)
    context = _context(
        request,
        "registry",
        versions=versions,
        kind=kind,
        kinds=[("", "All")] + [(k.value, k.label) for k in ModelVersion.Kind],
        summary=selectors.registry_summary(),
    )
    return render(request, "insights/registry.html", context)


def _preview(data: Any, limit: int = 1200) -> str:
    text = json.dumps(data, indent=1, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "\n…"


def _describe(v: Any) -> None:
    """Attach a one-line quality summary, a usage count and JSON previews for the registry table."""
    m = v.metrics or {}
    if v.kind == ModelVersion.Kind.ANOMALY:
        sev = m.get("by_severity", {})
        v.quality = f"{m.get('series', 0)} series, {m.get('findings', 0)} findings ({sev.get('high', 0)} high)"
    elif v.kind == ModelVersion.Kind.FORECAST:
        prev = m.get("previous_forecast")
        if prev and prev.get("wape") is not None:
            v.quality = (
                f"Previous forecast: WAPE {format_percent(prev['wape'])}, "
                f"80% band held on {format_percent(prev.get('coverage_80'))} of {prev.get('days')} days"
            )
        else:
            v.quality = f"{m.get('history_days', 0)} days of history"
    elif v.kind == ModelVersion.Kind.BUDGET:
        r2 = m.get("r_squared")
        v.quality = (
            f"R² {r2:.2f} on {m.get('periods', 0)} days, {m.get('channels', 0)} channels" if r2 is not None else ""
        )
    else:
        v.quality = f"{m.get('paths', 0):,} paths, {m.get('channels', 0)} channels; every model sums to the total"
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
    v.metrics_preview = _preview(m)

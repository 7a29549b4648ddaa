"""Insight pages: overview, anomalies, forecasts, attribution, budget planner and the model registry.

Views parse the request, check the role, call one page selector (`insights.selectors.pages`,
`insights.selectors.planner`: a typed page object with its figures) or one service, and render. Every member may look; importing attribution paths, saving budget scenarios
and starting a scoring run need `Permission.EDIT_INSIGHTS` (owner, admin, analyst). Numbers are
shown in the workspace's reporting currency, "yesterday" is the workspace's own yesterday.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from bosco.formatting import currency_symbol, format_money
from insights import selectors, services
from insights.ml.planning import PERIODS
from insights.models import Scope
from insights.selectors import pages, planner
from insights.selectors.lift_tests import lift_test_rows
from insights.selectors.pages import InsightsWorkspace
from insights.services.paths_csv import REQUIRED, SAMPLE_CSV
from insights.tasks import score_workspace
from insights.views.links import campaign_url
from warehouse.selectors.freshness import newest_complete_day

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


def _workspace(request: HttpRequest) -> InsightsWorkspace:
    tenant = request.tenant  # type: ignore[attr-defined]
    return InsightsWorkspace(tenant.reporting_currency, newest_complete_day(time_zone=tenant.time_zone))


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
    page = pages.overview_page(workspace=_workspace(request))
    context = _context(request, "overview", **page.context(), campaign_url=campaign_url)
    return render(request, "insights/overview.html", context)


@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    """Start a scoring run of this workspace now (the nightly task, on demand)."""
    if not _can_edit(request):
        return _forbidden("start a scoring run")
    score_workspace.delay_on_commit(request.tenant.schema_name)  # type: ignore[attr-defined]
    messages.success(request, "Scoring started. New findings and forecasts appear here in a minute or two.")
    return HttpResponseRedirect(reverse("insights:overview"))


# --------------------------------------------------------------------------- anomalies
# The list of incidents is in insights/views/incidents.py.


@require_GET
def anomaly_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One finding in context: the series, its expected range and every finding around it."""
    page = pages.anomaly_detail_page(workspace=_workspace(request), pk=pk)
    finding = page.finding
    link = campaign_url(finding.key) if finding.scope == Scope.CAMPAIGN else None
    context = _context(request, "anomalies", **page.context(), link=link)
    return render(request, "insights/anomaly_detail.html", context)


# --------------------------------------------------------------------------- forecasts


@require_GET
def forecasts(request: HttpRequest) -> HttpResponse:
    """Actuals and the stored forecast with its 80%/95% bands, per metric and series."""
    page = pages.forecasts_page(
        workspace=_workspace(request),
        metric=request.GET.get("metric", "conversion_value"),
        series_id=request.GET.get("series", "workspace:"),
    )
    context = _context(request, "forecasts", **page.context(), campaign_url=campaign_url)
    if getattr(request, "htmx", False):
        response = render(request, "insights/forecasts.html#forecast", context)
        response["HX-Push-Url"] = request.get_full_path()
        return response
    return render(request, "insights/forecasts.html", context)


# --------------------------------------------------------------------------- attribution


def _attribution_context(
    request: HttpRequest, selected: Any, *, error: str | None = None, name: str = ""
) -> dict[str, Any]:
    page = pages.attribution_page(
        workspace=_workspace(request), selected=selected, measure=request.GET.get("measure", "")
    )
    return _context(request, "attribution", **page.context(), error=error, import_name=name, required=REQUIRED)


@require_GET
def attribution(request: HttpRequest) -> HttpResponse:
    # First-party journeys lead when the workspace has them; otherwise the newest CSV import.
    selected = selectors.attribution_journeys_latest() or selectors.attribution_imports().first()
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
    context = _context(request, "budget", **planner.planner_frame(inputs=inputs).context())
    try:
        view = services.plan_budget_for_workspace(inputs, money=lambda v: format_money(v, ws.currency, decimals=0))
    except services.InsightsError as exc:
        context["unavailable"] = str(exc)
        return context
    context.update(planner.planner_page(view=view, currency=ws.currency).context())
    if inputs.scope == Scope.PLATFORM:
        context["lift_tests"] = lift_test_rows(target=view.target, labels=view.curves.labels)
    return context


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
                scenarios=planner.saved_scenarios(),
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
        sent = {k: str(v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}  # each key's last value
        return HttpResponseRedirect(
            reverse("insights:budget")
            + "?"
            # A value with NUL is left out: the page it goes back to refuses NUL in its query.
            + urlencode({k: v for k, v in sent.items() if "\x00" not in k + v})
        )
    messages.success(request, f"Scenario “{scenario.name}” saved.")
    return HttpResponseRedirect(reverse("insights:budget") + "?" + planner.planner_query(inputs, view))


@require_POST
def budget_scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("delete budget scenarios")
    scenario = selectors.budget_scenario_get(pk=pk)
    services.budget_scenario_delete(pk=scenario.pk)
    messages.success(request, f"Scenario “{scenario.name}” deleted.")
    return HttpResponseRedirect(reverse("insights:budget"))


# --------------------------------------------------------------------------- registry


@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    """Every trained version: what it was trained on, with which code, how well, and what uses it."""
    page = pages.registry_page(kind=request.GET.get("kind", ""))
    return render(request, "insights/registry.html", _context(request, "registry", **page.context()))

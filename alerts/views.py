"""The alerts page: the rules (create, edit, delete; e-mail, Slack or webhook), recent incidents
with their numbers and a small chart each, and the delivery log with its failures. Every member
may look; changing rules needs `Permission.EDIT_INSIGHTS` (owner, admin, analyst). A form with
errors is shown again with status 400 and nothing is saved. A webhook's signing secret is shown
once, on the page after the save (kept in the session until then, never rendered again)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from alerts import channels, charts, selectors, services
from alerts.forms import RuleForm
from alerts.models import AlertIncident, AlertRule, RuleKind
from warehouse import metrics as m
from warehouse.selectors import QueryError

FORBIDDEN = "Only owners, admins and analysts can change alert rules."
#: incidents drawn with a chart (one metrics query each); older ones show their numbers only
CHARTED_INCIDENTS = 8
SECRET_SESSION_KEY = "alerts_new_webhook_secret"  # noqa: S105  (a session key name, not a secret)


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _can_edit(request: HttpRequest) -> bool:
    return _membership(request).can(Permission.EDIT_INSIGHTS)


def _chart(incident: AlertIncident, currency: str) -> dict[str, Any] | None:
    rule = incident.rule
    try:
        series = selectors.incident_series(incident=incident)
    except (m.UnknownMetric, QueryError):
        return None  # a rule whose metric left the catalogue: its numbers still show
    if series is None or not series.points:
        return None
    if series.cumulative:
        return charts.pacing_figure(
            series.points, budget=float(rule.monthly_budget or 0), currency=currency, projected=incident.value
        )
    return charts.metric_incident_figure(
        series.points,
        metric=series.metric,
        currency=currency,
        label=m.metric_label(series.metric),
        threshold=incident.threshold if rule.kind == RuleKind.THRESHOLD else None,
        window=(incident.window_from, incident.window_to),
        expected=incident.baseline if rule.kind == RuleKind.ANOMALY else None,
    )


def _incident_rows(currency: str) -> list[dict[str, Any]]:
    rows = []
    for index, incident in enumerate(selectors.incidents_recent()):
        rows.append(
            {
                "incident": incident,
                "facts": channels.incident_facts(incident.rule, incident, currency),
                "chart": _chart(incident, currency) if index < CHARTED_INCIDENTS else None,
                "chart_id": f"incident-chart-{incident.pk}",
            }
        )
    return rows


def _page(request: HttpRequest, form: RuleForm, *, editing: AlertRule | None = None, status: int = 200) -> HttpResponse:
    currency = request.tenant.reporting_currency  # type: ignore[attr-defined]
    now = timezone.now()
    context: dict[str, Any] = {
        "section": "alerts",
        "form": form,
        "editing": editing,
        "can_edit": _can_edit(request),
        "rules": selectors.rules_all(),
        "incident_rows": _incident_rows(currency),
        "deliveries": selectors.deliveries_recent(),
        "failures_week": selectors.delivery_failures_since(since=now - timedelta(days=7)),
        "new_secret": request.session.pop(SECRET_SESSION_KEY, None),
        "currency": currency,
        "now": now,
    }
    return render(request, "alerts/page.html", context, status=status)


def _save(request: HttpRequest, form: RuleForm, *, editing: AlertRule | None) -> HttpResponse:
    if not _can_edit(request):
        return HttpResponse(FORBIDDEN, status=403)
    if not form.is_valid():
        return _page(request, form, editing=editing, status=400)
    with transaction.atomic():
        rule = form.save()
        secret = services.webhook_secret_issue(rule=rule, renew=bool(form.cleaned_data.get("new_secret")))
    if secret:
        request.session[SECRET_SESSION_KEY] = {"rule": rule.name, "secret": secret}
    messages.success(request, f"Alert rule “{rule.name}” saved.")
    return HttpResponseRedirect(reverse("alerts:page"))


@require_http_methods(["GET", "POST"])
def alerts_page(request: HttpRequest) -> HttpResponse:
    _membership(request)
    if request.method == "POST":
        return _save(request, RuleForm(request.POST), editing=None)
    return _page(request, RuleForm())


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    _membership(request)
    rule = selectors.rule_get(pk=rule_id)
    if request.method == "POST":
        return _save(request, RuleForm(request.POST, instance=rule), editing=rule)
    return _page(request, RuleForm(instance=rule), editing=rule)


@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    if not _can_edit(request):
        return HttpResponse(FORBIDDEN, status=403)
    rule = selectors.rule_get(pk=rule_id)
    try:
        services.rule_delete(rule=rule)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Alert rule “{rule.name}” deleted.")
    return HttpResponseRedirect(reverse("alerts:page"))


@require_POST
def incident_resolve(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Resolve an incident by hand (no message is sent); if its condition still holds, the next
    evaluation opens a new one."""
    if not _can_edit(request):
        return HttpResponse(FORBIDDEN, status=403)
    incident = selectors.incident_get(pk=incident_id)
    try:
        services.incident_resolve(incident=incident)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Incident “{incident.subject}” resolved.")
    return HttpResponseRedirect(reverse("alerts:page") + "#incidents")

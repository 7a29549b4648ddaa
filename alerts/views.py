"""The alerts page: the rules (create, edit, delete), recent incidents with their numbers, and the
delivery log. Every member may look; changing rules needs `Permission.EDIT_INSIGHTS` (owner,
admin, analyst). A form with errors is shown again with status 400 and nothing is saved."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from alerts import selectors, services
from alerts.forms import RuleForm
from alerts.models import AlertRule

FORBIDDEN = "Only owners, admins and analysts can change alert rules."


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _can_edit(request: HttpRequest) -> bool:
    return _membership(request).can(Permission.EDIT_INSIGHTS)


def _page(request: HttpRequest, form: RuleForm, *, editing: AlertRule | None = None, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "section": "alerts",
        "form": form,
        "editing": editing,
        "can_edit": _can_edit(request),
        "rules": selectors.rules_all(),
        "incidents": selectors.incidents_recent(),
        "deliveries": selectors.deliveries_recent(),
        "currency": request.tenant.reporting_currency,  # type: ignore[attr-defined]
        "now": timezone.now(),
    }
    return render(request, "alerts/page.html", context, status=status)


def _save(request: HttpRequest, form: RuleForm, *, editing: AlertRule | None) -> HttpResponse:
    if not _can_edit(request):
        return HttpResponse(FORBIDDEN, status=403)
    if not form.is_valid():
        return _page(request, form, editing=editing, status=400)
    rule = form.save()
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

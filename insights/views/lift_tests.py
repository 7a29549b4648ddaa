"""Lift tests on the budget planner page: record an experiment's result, or delete one.

Both need `Permission.EDIT_INSIGHTS`; each parses the form, calls one service and goes back to
the planner, where the curves refit with the tests on the next plan.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from bosco.formatting import format_money
from insights.services.budget import budget_curves_get_or_fit
from insights.services.common import InsightsError
from insights.services.lift_tests import LIFT_TARGETS, budget_lift_test_add, budget_lift_test_delete
from insights.views.models import _can_edit, _float, _forbidden, _workspace


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _back(target: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("insights:budget") + f"?scope=platform&target={target}#lift-tests")


@require_POST
def lift_test_add(request: HttpRequest) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("record lift tests")
    target = request.POST.get("target", "")
    if target and target not in LIFT_TARGETS:
        messages.error(request, "The lift test was not recorded: a lift test measures revenue or conversions.")
        return _back("conversion_value")
    try:
        version = budget_curves_get_or_fit(scope="platform", target=target or None)
        target = str(version.params.get("target", target))
        test = budget_lift_test_add(
            channel=request.POST.get("channel", ""),
            target=target,
            start=_date(request.POST.get("start")),
            end=_date(request.POST.get("end")),
            spend_before=_float(request.POST.get("spend_before")),
            spend_after=_float(request.POST.get("spend_after")),
            lift=_float(request.POST.get("lift")),
            lift_sd=_float(request.POST.get("lift_sd")),
            channels=list(version.params.get("channels", [])),
            note=request.POST.get("note", ""),
            user_id=request.user.pk,
        )
    except InsightsError as exc:
        messages.error(request, f"The lift test was not recorded: {exc}")
        return _back(target)
    currency = _workspace(request).currency
    messages.success(
        request,
        f"Lift test recorded: {format_money(test.spend_after - test.spend_before, currency)} a day more on "
        f"{version.params.get('labels', {}).get(test.channel, test.channel)}; the curves refit with it now.",
    )
    return _back(target)


@require_POST
def lift_test_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("delete lift tests")
    budget_lift_test_delete(pk=pk)
    messages.success(request, "Lift test deleted; the curves refit without it.")
    target = request.POST.get("target", "")
    return _back(target if target in LIFT_TARGETS else "conversion_value")

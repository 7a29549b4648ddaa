"""The events page under Forecasts: the workspace's sales and launches, and its holiday country.

The nightly forecasts learn one effect per event name from its past occurrences and apply it to
its future ones, and learn the public holidays of the chosen country the same way. Every member
may look; adding, changing and deleting need `Permission.EDIT_INSIGHTS`. A rejected form comes
back with the message and what was typed; nothing stored changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from insights.selectors.events import events_page
from insights.services.common import InsightsError
from insights.services.events import (
    holiday_country_set,
    workspace_event_add,
    workspace_event_delete,
    workspace_event_update,
)
from insights.views.models import _can_edit, _context, _forbidden, _membership, _workspace


def _date(raw: str | None, label: str) -> date:
    text = (raw or "").strip()
    if not text:
        raise InsightsError(f"Give the {label} date.")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InsightsError(f"“{text}” is not a date (use YYYY-MM-DD).") from exc


def _render(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    page = events_page(today=_workspace(request).as_of)
    editing = extra.pop("editing", None)
    if editing is None and request.GET.get("edit", "").isdigit():
        editing = next((e for e in page.events if e.pk == int(request.GET["edit"])), None)
    context = _context(request, "forecasts", **page.context(), editing=editing, **extra)
    return render(request, "insights/events.html", context, status=status)


@require_GET
def events(request: HttpRequest) -> HttpResponse:
    return _render(request)


def _form(request: HttpRequest) -> dict[str, str]:
    return {k: (request.POST.get(k) or "").strip() for k in ("name", "start", "end")}


@require_POST
def event_add(request: HttpRequest) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("add events")
    form = _form(request)
    try:
        start = _date(form["start"], "start")
        end = _date(form["end"], "end") if form["end"] else None
        event = workspace_event_add(name=form["name"], start=start, end=end)
    except InsightsError as exc:
        return _render(request, status=400, error=str(exc), form=form)
    messages.success(request, f"“{event.name}” added. The next forecast run takes it into account.")
    return HttpResponseRedirect(reverse("insights:events"))


@require_POST
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("change events")
    form = _form(request)
    try:
        start = _date(form["start"], "start")
        end = _date(form["end"], "end") if form["end"] else None
        event = workspace_event_update(event_id=pk, name=form["name"], start=start, end=end)
    except InsightsError as exc:
        editing = {"pk": pk, **form}
        return _render(request, status=400, edit_error=str(exc), editing=editing)
    messages.success(request, f"“{event.name}” saved.")
    return HttpResponseRedirect(reverse("insights:events"))


@require_POST
def event_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("delete events")
    if workspace_event_delete(event_id=pk):
        messages.success(request, "Event deleted.")
    else:
        messages.info(request, "That event was already deleted.")
    return HttpResponseRedirect(reverse("insights:events"))


@require_POST
def holiday_country(request: HttpRequest) -> HttpResponse:
    if not _can_edit(request):
        return _forbidden("change the holiday country")
    raw = request.POST.get("country") or ""
    try:
        workspace = holiday_country_set(
            workspace=request.tenant,  # type: ignore[attr-defined]
            actor_membership=_membership(request),
            country=raw,
        )
    except InsightsError as exc:
        return _render(request, status=400, country_error=str(exc), country_typed=raw)
    request.tenant = workspace  # type: ignore[attr-defined]
    if workspace.holiday_country:
        messages.success(request, f"Forecasts now learn the public holidays of {workspace.holiday_country}.")
    else:
        messages.success(request, "The workspace's own holiday country is cleared.")
    return HttpResponseRedirect(reverse("insights:events"))

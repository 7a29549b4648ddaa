"""The Anomalies page: incidents with filters and pages, and people's feedback on one incident.

Filters live in the address (shareable, and the htmx fragment pushes them). The page opens on
medium severity and above; `severity=any` lists the low ones too. The period is a preset (7, 30
or 90 days) or `custom`, the range given as `from`/`to`; a link that gives only `from`/`to` means a
custom range. The From / To fields always show the range listed, so with a preset they carry its
dates: the preset chosen wins over them. Bad values fall back to the defaults rather than failing
the page, and a range given backwards is read forwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from insights import selectors, services
from insights.models import Incident, Scope
from insights.selectors import incidents as incident_pages
from insights.services.incidents import mark_incident
from insights.services.scoring import ANOMALY_MIN_DAYS
from insights.views.links import campaign_url
from insights.views.models import _can_edit, _context, _forbidden, _workspace
from warehouse.metrics import metric_label

ANOMALY_PERIODS = {"7": 7, "30": 30, "90": 90}
DEFAULT_PERIOD = "30"
#: the period of a range given as From / To
CUSTOM_PERIOD = "custom"
#: the page opens on what is worth reading: most incidents are low (a move of 3 to 5 robust
#: standard deviations), and a list led by them buries the few that matter
DEFAULT_SEVERITY = "medium"
#: the address's value for "every severity" (an empty or unknown value means the default)
ANY_SEVERITY = "any"
#: the longest range the page lists (the nightly scoring re-checks 90 days; older incidents stay)
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class AnomalyQuery:
    """The filters as the address carries them (strings, "" when unset)."""

    period: str
    date_from: str
    date_to: str
    severity: str
    metric: str
    scope: str
    platform: str
    q: str

    def query(self, **override: Any) -> str:
        values = {**self.__dict__, **override}
        names = {"date_from": "from", "date_to": "to"}
        return urlencode({names.get(k, k): v for k, v in values.items() if v})


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _severity(raw: str | None) -> str:
    """The severity floor the address asks for: "any", a known level, else the default."""
    if raw == ANY_SEVERITY or raw in selectors.SEVERITY_ORDER:
        return str(raw)
    return DEFAULT_SEVERITY


def _query(request: HttpRequest) -> AnomalyQuery:
    get = request.GET
    period = get.get("period", "")
    start, end = _date(get.get("from")), _date(get.get("to"))
    if period in ANOMALY_PERIODS:
        start = end = None  # the form sends the dates it shows; a preset chosen beside them wins
    else:
        period = CUSTOM_PERIOD if start or end else DEFAULT_PERIOD
    return AnomalyQuery(
        period=period,
        date_from=start.isoformat() if start else "",
        date_to=end.isoformat() if end else "",
        severity=_severity(get.get("severity")),
        metric=get.get("metric", "") if get.get("metric") in services.ANOMALY_METRICS else "",
        scope=get.get("scope", "") if get.get("scope") in Scope.values else "",
        platform=get.get("platform", "").strip()[:32],
        q=get.get("q", "").strip()[:100],
    )


def _filters(query: AnomalyQuery, as_of: date) -> incident_pages.IncidentFilters:
    start, end = _date(query.date_from), _date(query.date_to)
    days = ANOMALY_PERIODS.get(query.period, ANOMALY_PERIODS[DEFAULT_PERIOD])
    if start is None and end is None:
        end, start = as_of, as_of - timedelta(days=days - 1)
    else:
        end = end or as_of
        start = start or end - timedelta(days=days - 1)
        start, end = min(start, end), max(start, end)
        start = max(start, end - timedelta(days=MAX_RANGE_DAYS - 1))
    return incident_pages.IncidentFilters(
        date_from=start,
        date_to=end,
        severity="" if query.severity == ANY_SEVERITY else query.severity,
        platform=query.platform,
        metric=query.metric,
        scope=query.scope,
        search=query.q,
    )


@require_GET
def anomalies(request: HttpRequest) -> HttpResponse:
    """Incidents with filters and pages; the results are an htmx fragment the filters replace."""
    workspace = _workspace(request)
    query = _query(request)
    page = incident_pages.anomalies_page(
        workspace=workspace,
        filters=_filters(query, workspace.as_of),
        page_number=request.GET.get("page", 1),
        min_days=ANOMALY_MIN_DAYS,
    )
    context = _context(
        request,
        "anomalies",
        **page.context(),
        filters=query,
        periods=[("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), (CUSTOM_PERIOD, "Custom range")],
        severities=[(ANY_SEVERITY, "Any severity"), ("medium", "Medium and high"), ("high", "High only")],
        any_severity_query=query.query(severity=ANY_SEVERITY),
        metric_choices=[(m, metric_label(m)) for m in services.ANOMALY_METRICS],
        scope_choices=incident_pages.scope_choices(),
        feedback_choices=[(v, label) for v, label in Incident.Feedback.choices if v],
        campaign_url=campaign_url,
    )
    if getattr(request, "htmx", False):
        response = render(request, "insights/anomalies.html#results", context)
        if query.period != CUSTOM_PERIOD:
            # a preset's range is the server's to say: the From / To fields (outside the swapped
            # results) are replaced out of band; a custom range is the one the person just typed
            response.write(render_to_string("insights/anomalies.html#dates", {**context, "oob": True}, request))
        # filters stay in the address, shareable; the canonical query, not the form's every field
        # (a preset's dates, empty selects)
        page_number = request.GET.get("page", "")
        canonical = query.query(**({"page": page_number} if page_number else {}))
        response["HX-Push-Url"] = f"{request.path}?{canonical}" if canonical else request.path
        return response
    return render(request, "insights/anomalies.html", context)


@require_POST
def incident_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an incident expected / not useful (or clear the mark); back to the page it came from."""
    if not _can_edit(request):
        return _forbidden("give feedback on incidents")
    incident = incident_pages.incident_get(pk=pk)
    feedback = request.POST.get("feedback", "")
    if feedback not in Incident.Feedback.values:
        return HttpResponse("Feedback must be expected, not_useful or empty.", status=400)
    mark_incident(incident, feedback=feedback, user_id=request.user.pk)
    if feedback:
        messages.success(
            request, f"Marked {incident.get_feedback_display().lower()}: similar moves are held to a higher bar."
        )
    else:
        messages.success(request, "Feedback cleared.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("insights:anomalies")
    return HttpResponseRedirect(back)

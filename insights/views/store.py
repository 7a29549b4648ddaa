"""The Store page (`/store/`): the shop's orders, refunds, customers and products over the dashboard range."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from insights.selectors import dashboards as dash
from insights.selectors.store_page import store_page
from insights.views.dashboards import _context, _state


@require_GET
@dash.one_data_version
def store(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    context = _context(request, state, "store")
    page = store_page(state=state, currency=context["currency"])
    context.update(page.context(), hide_filters=True, chips=[])
    return render(request, "dashboards/store.html", context)

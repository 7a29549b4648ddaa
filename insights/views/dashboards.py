"""Workspace dashboards: Overview (the home page), Channels, Campaigns and one campaign.

Views stay thin: they read the URL state (`DashboardState`: range, compare, filters, search,
sort, page — bad values fall back with a plain note, never an error page), ask
`insights.selectors.dashboards` for the numbers (the warehouse's metrics layer), build figures with
`insights.charts` and render one template per page. Tables sort, page and search as htmx
fragments of the same view (`HX-Target` names the fragment) and push the clean URL, so a copied
link always reproduces the view. Every member of the workspace may look at every page.

The Billing tab of Settings lives here for now: it only shows the plan, and moves to its app when
that issue lands (the Digests tab is the digests app's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts import selectors as account_selectors
from accounts.roles import Permission
from billing import selectors as billing_selectors
from billing import stripe_client
from billing.entitlements import for_workspace
from billing.models import Interval
from billing.plans import ENTITLEMENTS, PAID_PLANS, Plan
from bosco.platforms import platform_label
from bosco.sources import sources_summary
from insights.selectors import dashboard_pages as pages
from insights.selectors import dashboard_tables as tables
from insights.selectors import dashboards as dash
from insights.selectors.dashboard_state import COMPARES, PRESETS, DashboardState
from insights.selectors.series import workspace_today
from insights.selectors.sessions_page import channel_sessions

#: htmx targets that a page renders alone (the partial of the same name)
FRAGMENTS = {
    "campaign-table": "table",
    "account-table": "accounts",
    "movers": "movers",
}


# --------------------------------------------------------------------------- shared


def _membership(request: HttpRequest) -> Any:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _state(request: HttpRequest, *, sortable: bool = False) -> DashboardState:
    tenant = request.tenant  # type: ignore[attr-defined]
    today = workspace_today(tenant.time_zone)
    plan = for_workspace(tenant.schema_name)
    return DashboardState.parse(
        request.GET,
        today=today,
        sorts=dash.TABLE_SORTS if sortable else (),
        default_sort=dash.DEFAULT_SORT if sortable else "",
        earliest=plan.history_start(today),
        earliest_reason=f"Your {plan.plan_label} plan shows {plan.history_months} months of history, which",
    )


def campaign_href(campaign_id: str, state: DashboardState | None = None) -> str:
    """The campaign page, keeping the range, compare and filters of the page that links to it."""
    return reverse("campaign_detail", args=[campaign_id]) + (state.shared_url() if state else "")


@dataclass(frozen=True)
class Chip:
    label: str
    remove_url: str


def _chips(request: HttpRequest, state: DashboardState, options: dash.FilterOptions, default_sort: str) -> list[Chip]:
    """The active filters, each with a link that removes it."""
    path = request.path
    chips = [
        Chip(
            platform_label(p),
            path + state.url(default_sort=default_sort, platforms=tuple(x for x in state.platforms if x != p)),
        )
        for p in state.platforms
    ]
    chips += [
        Chip(
            options.account_name(a),
            path + state.url(default_sort=default_sort, accounts=tuple(x for x in state.accounts if x != a)),
        )
        for a in state.accounts
    ]
    if state.search:
        chips.append(Chip(f"“{state.search}”", path + state.url(default_sort=default_sort, search="")))
    return chips


def _context(request: HttpRequest, state: DashboardState, section: str, *, default_sort: str = "") -> dict[str, Any]:
    _membership(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    status = dash.data_status()
    currency = status.currency or tenant.reporting_currency
    options = dash.filter_options() if status.has_data else dash.FilterOptions([], [])
    settling = status.settling_span(state.platforms)
    compare_range = state.compare_range()
    return {
        # A compare period partly before the first synced day overstates every change.
        "compare_uncovered": bool(compare_range and status.oldest_day and compare_range[0] < status.oldest_day),
        "section": section,
        "state": state,
        "status": status,
        "currency": currency,
        "currency_pending": bool(status.currency) and status.currency != tenant.reporting_currency,
        "reporting_currency": tenant.reporting_currency,
        "options": options,
        "presets": PRESETS.items(),
        "compares": COMPARES.items(),
        "dashboard_qs": state.shared_url(),
        "chips": _chips(request, state, options, default_sort),
        "clear_filters_url": request.path + state.url(default_sort=default_sort, platforms=(), accounts=(), search=""),
        "settling": settling,
        "time_zone": tenant.time_zone,
        "default_sort": default_sort,
    }


def _fragment(request: HttpRequest) -> str | None:
    """The partial an htmx request asks for (by its target), unless htmx restores history."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return FRAGMENTS.get(htmx.target or "")


def _empty_or_none(request: HttpRequest, context: dict[str, Any], title: str) -> HttpResponse | None:
    """A workspace without data yet: lead it to connect (or wait for) its first source."""
    if context["status"].has_data:
        return None
    sources = sources_summary()
    context.update(title=title, has_connection=sources.has_connection, syncing=sources.syncing)
    return render(request, "dashboards/empty.html", context)


def _headers(request: HttpRequest, state: DashboardState, table: dash.Table, default_sort: str) -> list[dict[str, Any]]:
    """Sortable column headers: the link sorts descending first, then flips."""
    out = []
    for column in table.columns:
        active = state.sort_key == column.metric
        if active:
            next_sort = column.metric if state.sort_descending else f"-{column.metric}"
        else:
            next_sort = f"-{column.metric}"
        out.append(
            {
                "column": column,
                "url": request.path + state.url(default_sort=default_sort, sort=next_sort),
                "aria_sort": ("descending" if state.sort_descending else "ascending") if active else "none",
                "arrow": ("↓" if state.sort_descending else "↑") if active else "",
            }
        )
    return out


def _pager(request: HttpRequest, state: DashboardState, table: dash.Table, default_sort: str) -> dict[str, str]:
    return {
        "prev": request.path + state.url(default_sort=default_sort, page=state.page - 1) if state.page > 1 else "",
        "next": request.path + state.url(default_sort=default_sort, page=state.page + 1) if table.has_next else "",
    }


# --------------------------------------------------------------------------- pages


@require_GET
@dash.one_data_version
def overview(request: HttpRequest) -> HttpResponse:
    """KPI tiles with deltas, spend and revenue by platform over time, ROAS by platform, movers."""
    state = _state(request)
    context = _context(request, state, "overview")
    empty = _empty_or_none(request, context, "Overview")
    if empty is not None:
        return empty
    slice_ = dash.slice_for(state)
    currency = context["currency"]
    if _fragment(request) == "movers":
        context["movers"] = tables.movers(state, slice_, currency, url_for=lambda c: campaign_href(c, state))
        return render(request, "dashboards/overview.html#movers", context)
    page = pages.overview_page(state=state, slice_=slice_, currency=currency, settling=context["settling"])
    context.update(page.context())
    return render(request, "dashboards/overview.html", context)


@require_GET
@dash.one_data_version
def channels(request: HttpRequest) -> HttpResponse:
    """Platforms and ad accounts side by side: totals row, deltas, daily spend sparklines."""
    state = _state(request, sortable=True)
    context = _context(request, state, "channels", default_sort=dash.DEFAULT_SORT)
    empty = _empty_or_none(request, context, "Channels")
    if empty is not None:
        return empty
    slice_ = dash.slice_for(state)
    currency = context["currency"]
    total = dash.totals(state, slice_)
    accounts = tables.account_table(state, slice_, total, currency)
    context.update(
        slice=slice_,
        accounts=accounts,
        account_headers=_headers(request, state, accounts, dash.DEFAULT_SORT),
        account_pager=_pager(request, state, accounts, dash.DEFAULT_SORT),
    )
    if _fragment(request) == "accounts":
        return render(request, "dashboards/channels.html#accounts", context)
    platforms = tables.platform_table(state, slice_, total, currency)
    context.update(platforms=platforms, platform_headers=_headers(request, state, platforms, dash.DEFAULT_SORT))
    context["sessions"] = channel_sessions(date_from=state.date_from, date_to=state.date_to)
    return render(request, "dashboards/channels.html", context)


@require_GET
@dash.one_data_version
def campaigns(request: HttpRequest) -> HttpResponse:
    """Every campaign with data in the range: sortable, searchable, paginated, totals row."""
    state = _state(request, sortable=True)
    context = _context(request, state, "campaigns", default_sort=dash.DEFAULT_SORT)
    empty = _empty_or_none(request, context, "Campaigns")
    if empty is not None:
        return empty
    slice_ = dash.slice_for(state)
    currency = context["currency"]
    total = dash.totals(state, slice_)
    table = tables.campaign_table(state, slice_, total, currency, url_for=lambda c: campaign_href(c, state))
    context.update(
        slice=slice_,
        table=table,
        headers=_headers(request, state, table, dash.DEFAULT_SORT),
        pager=_pager(request, state, table, dash.DEFAULT_SORT),
        hidden_params=[(k, v) for k, v in state.params(default_sort=dash.DEFAULT_SORT) if k not in ("q", "page")],
    )
    if _fragment(request) == "table":
        return render(request, "dashboards/campaigns.html#table", context)
    return render(request, "dashboards/campaigns.html", context)


@require_GET
@dash.one_data_version
def campaign_detail(request: HttpRequest, campaign_id: str) -> HttpResponse:
    """One campaign: its KPIs against the compare period, daily chart and daily metrics."""
    state = _state(request)
    context = _context(request, state, "campaigns")
    page = pages.campaign_page(
        state=state, campaign_id=campaign_id, currency=context["currency"], status=context["status"]
    )
    if page is None:
        raise Http404("No such campaign in this workspace.")
    info = page.campaign
    last_delivery_url = ""
    if not page.delivered and info.last_day:
        start = max(info.first_day or info.last_day, info.last_day - timedelta(days=29))
        last_delivery_url = request.path + state.url(preset="custom", date_from=start, date_to=info.last_day)
    context.update(
        **page.context(),
        last_delivery_url=last_delivery_url,
        # The page is one campaign: list filters do not apply here, but they are kept for the way back.
        chips=[],
        hide_filters=True,
        kept_filters=[(k, v) for k, v in state.params() if k in ("platform", "account", "q")],
        back_url=reverse("campaigns") + state.shared_url(),
    )
    return render(request, "dashboards/campaign_detail.html", context)


# --------------------------------------------------------------------------- settings tabs


@require_GET
def settings_billing(request: HttpRequest) -> HttpResponse:
    """The workspace's plan and what it includes, against what the workspace uses now; owners subscribe here."""
    membership = _membership(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    plans = [(Plan(key), ENTITLEMENTS[key]) for key in Plan.values]
    current = for_workspace(tenant.schema_name)
    return render(
        request,
        "workspace/settings_billing.html",
        {
            "section": "settings",
            "tab": "billing",
            # A trial shows as the trial (of Growth, the summary says); afterwards the plan itself.
            "plan": Plan(current.plan) if current.plan in Plan.values and current.status != "trialing" else Plan.TRIAL,
            "entitlements": current,
            "account": billing_selectors.account_for_schema(tenant.schema_name),
            "plans": plans,
            "paid_plans": [Plan(key) for key in PAID_PLANS],
            "intervals": Interval.choices,
            "billing_configured": stripe_client.is_configured(),
            "can_manage_billing": membership.can(Permission.MANAGE_BILLING),
            "checkout_result": request.GET.get("checkout", ""),
            "connections_used": sources_summary().connections_used,
            "members_used": account_selectors.seats_taken(workspace=tenant),
        },
    )

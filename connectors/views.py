"""The Data sources page and its actions: connect, OAuth callback, choose accounts, pause/resume,
re-authorise, disconnect, settings and "Sync now". Views parse, check the role, call one service.

Everyone in the workspace may look; changing anything needs `MANAGE_CONNECTIONS` (owner, admin).
The OAuth start is a GET link (the CSP's form-action only allows Bosco's own hosts); every other
action is a POST with the CSRF token. While a sync runs, the connections table polls itself with
htmx (`?fragment=connections`) so progress updates without a page reload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from bosco.redirects import safe_next
from bosco.ui.diagram import layered_diagram
from connectors import selectors, services
from connectors.airbyte import selectors as airbyte_selectors
from connectors.errors import ConnectionFlowError, ConnectorError
from connectors.models import Platform, SyncRun
from warehouse import selectors as warehouse
from warehouse.queries import data_version


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _can_manage(request: HttpRequest) -> bool:
    return _membership(request).can(Permission.MANAGE_CONNECTIONS)


def _forbidden() -> HttpResponse:
    return HttpResponse("Only workspace owners and admins can change data sources.", status=403)


def _back(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("connectors:data_sources"))


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # members only reach these views (WorkspaceAccessMiddleware)


@require_GET
def data_sources(request: HttpRequest) -> HttpResponse:
    _membership(request)
    views = selectors.connections_for_page()
    context = {
        "section": "sources",
        "connections": views,
        "runs": selectors.runs_recent(limit=25),
        "can_manage": _can_manage(request),
        "polling": any(v.active_run for v in views),
        "platforms": Platform.choices,
    }
    fragment = request.GET.get("fragment")
    if fragment in ("connections", "runs") and getattr(request, "htmx", False):
        return render(request, f"connectors/data_sources.html#{fragment}", context)
    if fragment == "restatements" and getattr(request, "htmx", False):
        return render(request, "connectors/_restatements.html", _restatements())
    if views:
        # What the warehouse made of the landed data: its runs, data tests and quarantine,
        # through its own selectors and fragments.
        tests = warehouse.data_test_results_latest()
        context["warehouse_runs"] = warehouse.transform_runs_recent(limit=5)
        context["warehouse_tests"] = tests
        context["warehouse_test_counts"] = {
            status: sum(1 for t in tests if t.status == status) for status in ("pass", "warn", "fail")
        }
        context["warehouse_quarantine"] = warehouse.quarantine_summary(limit=10)
        context.update(_freshness_and_lineage(warehouse))
    return render(request, "connectors/data_sources.html", context)


#: how far back the page's restatement log looks
RESTATEMENTS_DAYS = 14


def _freshness_and_lineage(warehouse: Any) -> dict[str, Any]:
    """The warehouse's freshness and lineage graph (drawn as a layered diagram).

    The restatement log is a fragment of its own (`?fragment=restatements`, loaded by htmx
    after the page): summing a busy workspace's day-level restatements takes seconds.
    """
    graph = warehouse.lineage_graph()
    nodes = []
    for node in graph.nodes:
        run = node.last_run
        status = run.status if run else ("source" if node.materialization == "source" else "never")
        when = f"last run {timezone.localtime(run.started_at):%b %-d, %H:%M}: {run.status}" if run else status
        nodes.append(
            {"name": node.name, "layer": node.layer, "status": status, "title": f"{node.description} ({when})"}
        )
    return {
        "warehouse_status": warehouse.warehouse_status(),
        "lineage": graph,
        "lineage_diagram": layered_diagram(
            nodes,
            graph.edges,
            layers=(("sources", "seeds"), "staging", "dimensions", "facts", "rollups"),
            box_w=190,
            gap_x=32,
        ),
    }


def _restatements() -> dict[str, Any]:
    """Restated numbers of the last RESTATEMENTS_DAYS, cached until the next warehouse run
    (only a run can add restatements)."""

    # "1": the format of what is cached (a list of warehouse RestatedMetric); bump if it changes.
    key = f"ds:restatements:1:{RESTATEMENTS_DAYS}:v{data_version()}"
    cached = cache.get(key)
    if cached is None:
        since = timezone.now() - timedelta(days=RESTATEMENTS_DAYS)
        cached = {"restatements": warehouse.restatements_since(since=since, limit=25), "since": since}
        cache.set(key, cached, 3600)
    return cached


@require_GET
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _membership(request)
    connection = selectors.connection_get(pk=pk)
    view = next((v for v in selectors.connections_for_page() if v.connection.pk == connection.pk), None)
    context = {
        "section": "sources",
        "view": view,
        "connection": connection,
        "accounts": selectors.accounts_for(connection=connection),
        "runs": selectors.runs_recent(connection=connection, limit=50),
        "can_manage": _can_manage(request),
        "polling": bool(view and view.active_run),
        "airbyte_card": airbyte_selectors.airbyte_card(connection=connection)
        if connection.platform == Platform.AIRBYTE
        else None,
    }
    if request.GET.get("fragment") == "status" and getattr(request, "htmx", False):
        return render(request, "connectors/connection_detail.html#status", context)
    return render(request, "connectors/connection_detail.html", context)


@require_GET
def connect(request: HttpRequest, platform: str) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    if platform not in Platform.values:
        raise Http404
    try:
        url = services.oauth_begin(
            platform=platform, user_id=_user_id(request), session=request.session, shop=request.GET.get("shop", "")
        )
    except ConnectorError as exc:  # over the plan's data sources, or read-only
        messages.error(request, exc.user_message)
        return HttpResponseRedirect(reverse("connectors:data_sources"))
    if platform == Platform.SHOPIFY:
        # The shop comes from a form, and the CSP's form-action also covers where a form's answer
        # redirects to: the store's install page is reached by a link (and a refresh) instead.
        return render(request, "connectors/shopify_continue.html", {"section": "sources", "install_url": url})
    return HttpResponseRedirect(url)


@require_GET
def reauthorize(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection = selectors.connection_get(pk=pk)
    url = services.oauth_begin(
        platform=connection.platform,
        user_id=_user_id(request),
        session=request.session,
        connection=connection,
    )
    return HttpResponseRedirect(url)


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """The platform's answer, handed over by the shared callback on the public site (views_public)."""
    if not _can_manage(request):
        return _forbidden()
    try:
        outcome = services.oauth_complete(params=request.GET, user_id=_user_id(request), session=request.session)
    except ConnectionFlowError as exc:
        declined = exc.message == "consent denied"
        return render(
            request,
            "connectors/oauth_result.html",
            {"section": "sources", "message": exc.user_message, "declined": declined},
            status=200 if declined else 400,
        )
    connection = outcome.connection
    if (outcome.created and not outcome.sync_started) or not connection.accounts.filter(selected=True).exists():
        messages.success(request, f"{connection.get_platform_display()} connected. Choose the ad accounts to sync.")
        return HttpResponseRedirect(reverse("connectors:accounts", args=[connection.pk]))
    if outcome.created:
        messages.success(
            request, f"{connection.label or connection.get_platform_display()} connected. Its history is syncing now."
        )
        return _back(request)
    messages.success(
        request,
        f"{connection.get_platform_display()} re-authorised."
        + (" Syncing resumes now." if outcome.sync_started else ""),
    )
    return _back(request)


@require_http_methods(["GET", "POST"])
def choose_accounts(request: HttpRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get(pk=pk)
    can_manage = _can_manage(request)
    error = ""
    if request.method == "POST":
        if not can_manage:
            return _forbidden()
        try:
            run = services.connection_accounts_select(
                connection=connection, external_ids=request.POST.getlist("accounts"), user_id=request.user.pk
            )
        except ConnectorError as exc:
            error = exc.user_message
        else:
            messages.success(
                request,
                "Accounts saved. History is being synced — progress shows below." if run else "Accounts saved.",
            )
            return _back(request)
    return render(
        request,
        "connectors/choose_accounts.html",
        {
            "section": "sources",
            "connection": connection,
            "accounts": selectors.accounts_for(connection=connection),
            "can_manage": can_manage,
            "error": error,
        },
        status=400 if error else 200,
    )


def _action(request: HttpRequest, pk: int, do: object, success: str) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection = selectors.connection_get(pk=pk)
    try:
        do(connection)  # type: ignore[operator]
    except ConnectorError as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, success)
    return HttpResponseRedirect(safe_next(request, request.POST.get("next"), reverse("connectors:data_sources")))


@require_POST
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection = selectors.connection_get(pk=pk)
    try:
        _run, created = services.sync_request(
            connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=request.user.pk
        )
    except ConnectorError as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, "Sync started." if created else "A sync is already running for this connection.")
    return _back(request)


@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk, lambda c: services.connection_pause(connection=c), "Connection paused. Synced data is kept."
    )


@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request, pk, lambda c: services.connection_resume(connection=c, user_id=request.user.pk), "Connection resumed."
    )


@require_POST
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    delete_data = request.POST.get("delete_data") == "on"
    return _action(
        request,
        pk,
        lambda c: services.connection_disconnect(connection=c, delete_data=delete_data),
        "Disconnected. Bosco deleted its access tokens"
        + (" and the data synced from this connection." if delete_data else "; the data synced so far is kept."),
    )


@require_POST
def update_settings(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_manage(request):
        return _forbidden()
    connection = selectors.connection_get(pk=pk)
    try:
        services.connection_settings_update(
            connection=connection,
            lookback_days=_int(request.POST.get("lookback_days"), "lookback window"),
            backfill_days=_int(request.POST.get("backfill_days"), "history"),
            sync_interval_hours=_int(request.POST.get("sync_interval_hours"), "sync interval"),
        )
    except ConnectorError as exc:
        messages.error(request, exc.user_message)
    else:
        messages.success(request, "Sync settings saved.")
    return HttpResponseRedirect(reverse("connectors:detail", args=[connection.pk]))


def _int(raw: str | None, what: str) -> int:
    try:
        return int(str(raw or "").strip())
    except ValueError as exc:
        raise ConnectorError(f"bad {what}", user_message=f"The {what} must be a whole number.") from exc

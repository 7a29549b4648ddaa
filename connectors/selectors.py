"""Reads of the connectors app, shaped for the Data sources page (one query per kind of thing)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from bosco.sources import SourcesSummary
from connectors import conf
from connectors.clock import account_today
from connectors.models import Connection, ConnectionAccount, Platform, StreamCursor, SyncRun


@dataclass
class ConnectionView:
    """A connection with everything its row on the page shows."""

    connection: Connection
    selected: list[ConnectionAccount]
    available: int
    active_run: SyncRun | None
    last_run: SyncRun | None
    rows_landed: int
    history_from: date | None
    backfill_percent: float | None
    needs_accounts: bool
    warnings: list[str] = field(default_factory=list)


def connection_get(*, pk: int) -> Connection:
    connection = Connection.objects.filter(pk=pk).first()
    if connection is None:
        raise Http404("No such connection")
    return connection


def sources_summary() -> SourcesSummary:
    """The workspace's sources as the pages of other apps see them (`bosco.sources`)."""
    views = connections_for_page()
    return SourcesSummary(
        connections_used=sum(1 for v in views if v.connection.status != Connection.Status.DISCONNECTED),
        has_connection=any(v.selected for v in views),
        syncing=any(v.active_run for v in views),
    )


def connections_for_page() -> list[ConnectionView]:
    connections = list(
        Connection.objects.prefetch_related(
            Prefetch("accounts", queryset=ConnectionAccount.objects.order_by("name", "external_id"))
        ).order_by("status", "created_at")
    )
    ids = [c.pk for c in connections]
    runs_by_connection: dict[int, list[SyncRun]] = defaultdict(list)
    latest = (
        SyncRun.objects.filter(connection_id__in=ids)
        .order_by("connection_id", "-created_at", "-id")
        .distinct("connection_id")
    )
    for run in latest:
        runs_by_connection[run.connection_id].append(run)
    active = {
        r.connection_id: r for r in SyncRun.objects.filter(connection_id__in=ids, status__in=SyncRun.ACTIVE_STATUSES)
    }
    rows = dict(
        StreamCursor.objects.filter(connection_id__in=ids)
        .values_list("connection_id")
        .annotate(total=Sum("rows_landed"))
        .values_list("connection_id", "total")
    )
    daily_cursors: dict[int, list[StreamCursor]] = defaultdict(list)
    for cursor in StreamCursor.objects.filter(connection_id__in=ids, stream__endswith="_daily"):
        daily_cursors[cursor.connection_id].append(cursor)
    # Disconnected connections go last.
    connections.sort(key=lambda c: (c.status == Connection.Status.DISCONNECTED, c.created_at))
    out: list[ConnectionView] = []
    for connection in connections:
        accounts = list(connection.accounts.all())
        selected = [a for a in accounts if a.selected]
        history_from, percent = _backfill_state(connection, selected, daily_cursors[connection.pk])
        warnings = [
            f"{a.name} ({a.display_id}) is no longer accessible with this sign-in."
            for a in selected
            if not a.accessible
        ]
        out.append(
            ConnectionView(
                connection=connection,
                selected=selected,
                available=len(accounts),
                active_run=active.get(connection.pk),
                last_run=next(iter(runs_by_connection.get(connection.pk, [])), None),
                rows_landed=int(rows.get(connection.pk) or 0),
                history_from=history_from,
                backfill_percent=percent,
                needs_accounts=not selected and connection.status != Connection.Status.DISCONNECTED,
                warnings=warnings,
            )
        )
    return out


def _backfill_state(
    connection: Connection, selected: list[ConnectionAccount], cursors: list[StreamCursor]
) -> tuple[date | None, float | None]:
    """Oldest day synced for every selected account, and how much of the wanted history that is."""
    if not selected or connection.platform == Platform.AIRBYTE:  # Airbyte sources keep their own cursors
        return None, None
    by_account = {c.account_id: c for c in cursors}
    wanted_days = max(1, min(connection.backfill_days, conf.max_history_days(connection.platform)))
    froms: list[date] = []
    percents: list[float] = []
    for account in selected:
        cursor = by_account.get(account.external_id)
        if cursor is None or cursor.covered_from is None or cursor.covered_to is None:
            percents.append(0.0)
            continue
        today = account_today(account.time_zone)
        froms.append(cursor.covered_from)
        have = (min(cursor.covered_to, today) - cursor.covered_from).days + 1
        percents.append(max(0.0, min(100.0, 100.0 * have / wanted_days)))
    return (min(froms) if froms else None), (min(percents) if percents else None)


def runs_recent(*, connection: Connection | None = None, limit: int = 25) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.select_related("connection").order_by("-created_at", "-id")
    if connection is not None:
        runs = runs.filter(connection=connection)
    return runs[:limit]


def any_run_active() -> bool:
    return SyncRun.objects.filter(status__in=SyncRun.ACTIVE_STATUSES).exists()


def accounts_for(*, connection: Connection) -> QuerySet[ConnectionAccount]:
    return connection.accounts.order_by("-selected", "name", "external_id")


def raw_rows_for(*, connection: Connection) -> int:
    """Records this connection landed, as its cursors counted them."""
    total = StreamCursor.objects.filter(connection=connection).aggregate(total=Sum("rows_landed"))["total"]
    return int(total or 0)


def platform_names() -> list[str]:
    """The platforms a workspace can connect natively today, as people know them ("Google Ads",
    "Meta Ads"); the Airbyte bridge is not a platform but the door for every other source."""
    return [
        str(label) for value, label in Connection._meta.get_field("platform").choices or () if value != Platform.AIRBYTE
    ]


@dataclass(frozen=True)
class ConnectionHealth:
    """What data-health alerts need to know about one connection."""

    pk: int
    label: str
    needs_reauth: bool
    last_run_id: int | None
    last_run_failed: bool


def connection_health() -> list[ConnectionHealth]:
    """Every connection with its status and whether its latest finished sync failed."""
    connections = list(
        Connection.objects.exclude(status__in=(Connection.Status.PAUSED, Connection.Status.DISCONNECTED)).order_by("pk")
    )
    latest = {
        r.connection_id: r
        for r in SyncRun.objects.filter(connection_id__in=[c.pk for c in connections], finished_at__isnull=False)
        .order_by("connection_id", "-finished_at", "-id")
        .distinct("connection_id")
    }
    return [
        ConnectionHealth(
            pk=c.pk,
            label=c.label or str(c),
            needs_reauth=c.status == Connection.Status.NEEDS_REAUTH,
            last_run_id=latest[c.pk].pk if c.pk in latest else None,
            last_run_failed=c.pk in latest and latest[c.pk].status == SyncRun.Status.FAILED,
        )
        for c in connections
    ]


@dataclass(frozen=True)
class ConnectionsHealth:
    """The workspace's connections by state, for the support console's health list."""

    active: int
    failing: int
    needs_reauth: int
    paused: int
    last_success_at: datetime | None
    failed_runs_24h: int


def connections_health_summary() -> ConnectionsHealth:
    """Counts by state and the newest successful sync, in two queries."""
    counts = dict(
        Connection.objects.exclude(status=Connection.Status.DISCONNECTED)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    last = Connection.objects.aggregate(last=Max("last_success_at"))["last"]
    failed = SyncRun.objects.filter(
        status=SyncRun.Status.FAILED, finished_at__gte=timezone.now() - timedelta(hours=24)
    ).count()
    return ConnectionsHealth(
        active=counts.get(Connection.Status.ACTIVE, 0),
        failing=counts.get(Connection.Status.ERROR, 0),
        needs_reauth=counts.get(Connection.Status.NEEDS_REAUTH, 0),
        paused=counts.get(Connection.Status.PAUSED, 0),
        last_success_at=last,
        failed_runs_24h=failed,
    )


def connections_all() -> QuerySet[Connection]:
    """Every connection, disconnected ones last (support's drill-down)."""
    return Connection.objects.order_by("status", "pk")


def run_get(*, pk: int) -> SyncRun:
    try:
        return SyncRun.objects.select_related("connection").get(pk=pk)
    except SyncRun.DoesNotExist:
        raise Http404("No such sync run") from None

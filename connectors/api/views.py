"""Connections API: list and status, trigger a sync, and the sync runs.

Ids are the connection's and run's integers in this workspace's schema. A malformed, missing or
other workspace's id answers the same 404. Starting a sync needs a read-write key or a role
with MANAGE_CONNECTIONS; it answers 202 with the queued run, or 409 when one is already going
(with its id) or the connection cannot sync now (paused, needs re-authorisation, no accounts).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Permission
from bosco.api.authentication import ApiKeyUser
from bosco.api.exceptions import Conflict
from bosco.api.params import PAGINATION_PARAMS, NoQueryParams, query_params_validate
from bosco.api.viewsets import WorkspaceViewSet
from connectors.api.serializers import ConnectionOut, SyncRunOut
from connectors.errors import ConnectorError
from connectors.models import Connection, ConnectionAccount, SyncRun
from connectors.services import sync_request

_BIGINT_MAX = 2**63 - 1
_CONNECTION_ID = OpenApiParameter("connection_id", int, OpenApiParameter.PATH, description="The connection's id.")
_RUN_ID = OpenApiParameter("run_id", int, OpenApiParameter.PATH, description="The sync run's id.")


def _int_id(value: str) -> int:
    """A path id as an integer, or the same 404 as a missing one."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= _BIGINT_MAX:
        raise exceptions.NotFound("No such resource in this workspace.")
    return int(value)


_RUN_FIELDS = tuple(name for name in SyncRunOut().get_fields() if name != "connection")


def _run_dict(run: SyncRun) -> dict[str, Any]:
    return {**{name: getattr(run, name) for name in _RUN_FIELDS}, "connection_id": run.connection_id}


def _account_dict(connection: Connection, account: ConnectionAccount) -> dict[str, Any]:
    # The warehouse keys Meta accounts without `act_` and Google Ads customers without dashes.
    native = account.external_id.removeprefix("act_").replace("-", "")
    return {
        "id": account.display_id,
        "account": f"{connection.platform}:{native}",
        "name": account.name,
        "currency": account.currency,
        "time_zone": account.time_zone,
        "selected": account.selected,
        "accessible": account.accessible,
    }


def connections_as_dicts(connections: list[Connection]) -> list[dict[str, Any]]:
    """A page of connections with their accounts, active and last runs: three queries in all."""
    ids = [c.pk for c in connections]
    active = {
        r.connection_id: r for r in SyncRun.objects.filter(connection_id__in=ids, status__in=SyncRun.ACTIVE_STATUSES)
    }
    last = {
        r.connection_id: r
        for r in SyncRun.objects.filter(connection_id__in=ids)
        .order_by("connection_id", "-created_at", "-id")
        .distinct("connection_id")
    }
    out = []
    for c in connections:
        out.append(
            {
                "id": c.pk,
                "platform": c.platform,
                "label": c.label,
                "status": c.status,
                "status_message": c.status_message,
                "accounts": [_account_dict(c, a) for a in c.accounts.all()],
                "sync_interval_hours": c.sync_interval_hours,
                "lookback_days": c.lookback_days,
                "backfill_days": c.backfill_days,
                "last_sync_at": c.last_sync_at,
                "last_success_at": c.last_success_at,
                "next_sync_at": c.next_sync_at,
                "created_at": c.created_at,
                "active_run": _run_dict(active[c.pk]) if c.pk in active else None,
                "last_run": _run_dict(last[c.pk]) if c.pk in last else None,
            }
        )
    return out


class ConnectionViewSet(WorkspaceViewSet):
    """Platform connections, their accounts and sync runs."""

    write_permission = Permission.MANAGE_CONNECTIONS

    def workspace_queryset(self) -> QuerySet[Connection]:
        accounts = ConnectionAccount.objects.order_by("-selected", "name", "external_id")
        return Connection.objects.prefetch_related(Prefetch("accounts", queryset=accounts)).order_by("created_at", "id")

    def _connection(self, connection_id: str) -> Connection:
        connection = self.get_queryset().filter(pk=_int_id(connection_id)).first()
        if connection is None:
            raise exceptions.NotFound("No such resource in this workspace.")
        return connection

    @extend_schema(
        operation_id="connections_list",
        summary="Connections",
        description="Every platform connection with its accounts and sync state.",
        responses=ConnectionOut(many=True),
    )
    def list(self, request: Request) -> Response:
        query_params_validate(request, NoQueryParams, extra=PAGINATION_PARAMS)
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(ConnectionOut(connections_as_dicts(page), many=True).data)

    @extend_schema(
        operation_id="connections_retrieve",
        summary="One connection",
        description="A connection with its accounts, its running sync and its last sync.",
        parameters=[_CONNECTION_ID],
        responses=ConnectionOut,
    )
    def retrieve(self, request: Request, connection_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        connection = self._connection(connection_id)
        return Response(ConnectionOut(connections_as_dicts([connection])[0]).data)

    @extend_schema(
        operation_id="connections_sync",
        summary="Start a sync",
        description=(
            "Queues a manual sync of the connection's selected accounts (the lookback window, plus any history"
            " not yet backfilled). Poll the run at the `Location` it answers with."
        ),
        parameters=[_CONNECTION_ID],
        request=None,
        responses={
            202: OpenApiResponse(SyncRunOut, description="Queued."),
        },
    )
    def sync(self, request: Request, connection_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        connection = self._connection(connection_id)
        user = request.user
        requested_by = None if isinstance(user, ApiKeyUser) else user.pk
        try:
            run, created = sync_request(connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=requested_by)
        except ConnectorError as exc:
            raise Conflict(exc.user_message, code="sync-not-possible") from exc
        if not created:
            raise Conflict(
                "A sync of this connection is already queued or running; follow that run.",
                code="sync-already-running",
                sync_run=run.pk,
            )
        location = f"/api/v1/connections/{connection.pk}/runs/{run.pk}"
        return Response(SyncRunOut(_run_dict(run)).data, status=202, headers={"Location": location})

    @extend_schema(
        operation_id="connections_runs_list",
        summary="Sync runs of a connection",
        description="Newest first.",
        parameters=[_CONNECTION_ID],
        responses=SyncRunOut(many=True),
    )
    def runs(self, request: Request, connection_id: str) -> Response:
        query_params_validate(request, NoQueryParams, extra=PAGINATION_PARAMS)
        connection = self._connection(connection_id)
        page = self.paginate_queryset(SyncRun.objects.filter(connection=connection).order_by("-created_at", "-id"))
        assert page is not None
        return self.get_paginated_response(SyncRunOut([_run_dict(r) for r in page], many=True).data)

    @extend_schema(
        operation_id="connections_runs_retrieve",
        summary="One sync run",
        description="Poll it to follow a sync's progress.",
        parameters=[_CONNECTION_ID, _RUN_ID],
        responses=SyncRunOut,
    )
    def run(self, request: Request, connection_id: str, run_id: str) -> Response:
        query_params_validate(request, NoQueryParams)
        connection = self._connection(connection_id)
        run = SyncRun.objects.filter(connection=connection, pk=_int_id(run_id)).first()
        if run is None:
            raise exceptions.NotFound("No such resource in this workspace.")
        return Response(SyncRunOut(_run_dict(run)).data)

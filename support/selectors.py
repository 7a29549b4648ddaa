"""Reads of the support console: the audit log, impersonations, exports, and a workspace's runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import schema_context

from accounts.models import Workspace
from connectors import selectors as connectors_selectors
from support.models import AuditEntry, Impersonation, WorkspaceExport
from warehouse import selectors as warehouse_selectors


def audit_for_workspace(*, workspace: Workspace, limit: int = 200) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(workspace_slug=workspace.slug).order_by("-created_at", "-pk")[:limit]


def impersonations_for_workspace(*, workspace: Workspace, limit: int = 50) -> QuerySet[Impersonation]:
    """When and why support looked at the workspace as one of its members (shown to its owners)."""
    return Impersonation.objects.filter(workspace=workspace).select_related("member").order_by("-started_at")[:limit]


def exports_for_workspace(*, workspace: Workspace) -> QuerySet[WorkspaceExport]:
    return WorkspaceExport.objects.filter(workspace=workspace).order_by("-created_at")


@dataclass(frozen=True)
class WorkspaceRuns:
    """The drill-down: a workspace's connections, sync runs (with errors) and warehouse state."""

    connections: list[Any]
    sync_runs: list[Any]
    transform_runs: list[Any]
    data_tests_failing: list[Any]
    quarantine: list[Any]


def workspace_runs(*, workspace: Workspace, limit: int = 50) -> WorkspaceRuns:
    """Read live from the workspace's schema (one workspace: a handful of queries)."""
    with schema_context(workspace.schema_name):
        return WorkspaceRuns(
            connections=list(connectors_selectors.connections_all()),
            sync_runs=list(connectors_selectors.runs_recent(limit=limit)),
            transform_runs=list(warehouse_selectors.transform_runs_recent(limit=20)),
            data_tests_failing=[r for r in warehouse_selectors.data_test_results_latest() if r.status != "pass"],
            quarantine=warehouse_selectors.quarantine_summary(limit=20),
        )

"""Support's actions on a workspace. Each one requires a reason and writes an `AuditEntry` in the
same transaction as its effect (both or neither): resync a connection or a range of days, retry
a failed run, pause a connection, impersonate a member (read-only), suspend and reactivate,
export, delete. Extending a trial and granting a plan are billing's services; billing announces
them (`billing.signals.support_change_made`) and `support.receivers` records them here.

Tenant data is changed through each app's services inside the workspace's schema
(`schema_context`); public rows (the audit) live in the public schema on the same connection,
so one transaction covers both.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import secrets
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.models import User, Workspace
from accounts.signals import SESSION_SCHEMA_KEY
from billing import services as billing_services
from billing.entitlements import invalidate as entitlements_invalidate
from bosco import workspace_facts
from bosco.db import connection as db
from bosco.tasks import enqueue
from connectors import selectors as connectors_selectors
from connectors import services as connectors_services
from connectors.errors import ConnectorError
from connectors.models import SyncRun
from digests import services as digests_services
from insights.selectors.results import scoring_latest
from support.models import AuditEntry, Impersonation, WorkspaceExport, WorkspaceHealth
from warehouse import selectors as warehouse_selectors
from warehouse.services.exports import facts_export_csv

logger = logging.getLogger(__name__)

IMPERSONATION_TICKET = timedelta(seconds=60)
IMPERSONATION_LIFETIME = timedelta(hours=1)
#: the session key that marks a workspace-host session as support's impersonation
IMPERSONATION_SESSION_KEY = "_bosco_impersonation"


class SupportError(Exception):
    """An action support cannot take as asked, with a message to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise SupportError("Say why (at least a few words): every support action is recorded with its reason.")
    return reason


def audit_record(
    *, workspace: Workspace | None, slug: str = "", actor: Any, action: str, reason: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one entry to the audit log (the only way entries are made)."""
    return AuditEntry.objects.create(
        workspace=workspace,
        workspace_slug=workspace.slug if workspace is not None else slug,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=getattr(actor, "email", "") or "system",
        action=action,
        reason=reason,
        detail=detail,
    )


# --------------------------------------------------------------------------- digests


@transaction.atomic
def digest_resend(*, actor: User, workspace: Workspace, member_id: int, reason: str) -> AuditEntry:
    """Send a member this workspace's digest for its latest period again, now (a digest that was
    lost or went to a filter); the send is the digests app's own, recorded there as manual."""
    reason = _reason(reason)
    member = accounts_selectors.memberships_for_workspace(workspace=workspace).filter(user_id=member_id).first()
    if member is None:
        raise SupportError("That person is not a member of this workspace.")
    try:
        send = digests_services.send_now(user=member.user, workspace=workspace)
    except ValidationError as exc:
        raise SupportError(" ".join(exc.messages)) from exc
    return audit_record(
        workspace=workspace,
        actor=actor,
        action="digest_resend",
        reason=reason,
        detail={
            "member": member.user.email,
            "digest_send": send.pk,
            "period": f"{send.period_start}–{send.period_end}",
        },
    )


# --------------------------------------------------------------------------- connections and runs


def _in_workspace(workspace: Workspace, do: Any) -> Any:
    try:
        with schema_context(workspace.schema_name):
            return do()
    except ConnectorError as exc:
        raise SupportError(exc.user_message) from exc


@transaction.atomic
def connection_resync(
    *,
    actor: User,
    workspace: Workspace,
    connection_id: int,
    reason: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> AuditEntry:
    """Sync a connection now; with a range, its days (from `date_from` on) are read again."""
    reason = _reason(reason)
    if date_from and date_to and date_from > date_to:
        raise SupportError("The first day must not be after the last day.")
    if date_from and date_from > timezone.localdate():
        raise SupportError("The first day is in the future.")

    def do() -> SyncRun:
        connection = connectors_selectors.connection_get(pk=connection_id)
        return connectors_services.connection_resync(
            connection=connection, date_from=date_from, requested_by_id=actor.pk
        )

    run = _in_workspace(workspace, do)
    detail = {"connection_id": connection_id, "run_id": run.pk}
    if date_from:
        detail |= {"date_from": date_from.isoformat(), "date_to": (date_to or timezone.localdate()).isoformat()}
    action = "resync_range" if date_from else "resync"
    return audit_record(workspace=workspace, actor=actor, action=action, reason=reason, detail=detail)


@transaction.atomic
def run_retry(*, actor: User, workspace: Workspace, run_id: int, reason: str) -> AuditEntry:
    """A failed (or cancelled) run's connection syncs again; the engine resumes from its cursors."""
    reason = _reason(reason)

    def do() -> tuple[SyncRun, SyncRun]:
        failed = connectors_selectors.run_get(pk=run_id)
        if failed.status not in (SyncRun.Status.FAILED, SyncRun.Status.CANCELLED):
            raise SupportError(f"Run #{run_id} is {failed.get_status_display().lower()}; only a failed run is retried.")
        run, _ = connectors_services.sync_request(
            connection=failed.connection, kind=SyncRun.Kind.MANUAL, requested_by_id=actor.pk
        )
        return failed, run

    failed, run = _in_workspace(workspace, do)
    detail = {"failed_run_id": failed.pk, "run_id": run.pk, "connection_id": failed.connection_id}
    return audit_record(workspace=workspace, actor=actor, action="retry_run", reason=reason, detail=detail)


@transaction.atomic
def connection_pause(*, actor: User, workspace: Workspace, connection_id: int, reason: str) -> AuditEntry:
    reason = _reason(reason)

    def do() -> Any:
        connection = connectors_selectors.connection_get(pk=connection_id)
        return connectors_services.connection_pause(connection=connection)

    _in_workspace(workspace, do)
    detail = {"connection_id": connection_id}
    return audit_record(workspace=workspace, actor=actor, action="pause_connection", reason=reason, detail=detail)


# --------------------------------------------------------------------------- suspend


@transaction.atomic
def workspace_suspend(*, actor: User, workspace: Workspace, reason: str) -> AuditEntry:
    """Read-only and no syncs (beat skips it, queued runs are skipped); reversible, nothing deleted."""
    reason = _reason(reason)
    if workspace.status == Workspace.Status.SUSPENDED:
        raise SupportError("This workspace is already suspended.")
    accounts_services.workspace_status_set(workspace=workspace, status=Workspace.Status.SUSPENDED)
    entitlements_invalidate(workspace.schema_name)
    return audit_record(workspace=workspace, actor=actor, action="suspend", reason=reason, detail={})


@transaction.atomic
def workspace_reactivate(*, actor: User, workspace: Workspace, reason: str) -> AuditEntry:
    reason = _reason(reason)
    if workspace.status != Workspace.Status.SUSPENDED:
        raise SupportError("This workspace is not suspended.")
    accounts_services.workspace_status_set(workspace=workspace, status=Workspace.Status.ACTIVE)
    entitlements_invalidate(workspace.schema_name)
    return audit_record(workspace=workspace, actor=actor, action="reactivate", reason=reason, detail={})


# --------------------------------------------------------------------------- impersonation


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def impersonation_start(
    *, actor: User, workspace: Workspace, member_id: int, reason: str, now: datetime | None = None
) -> tuple[Impersonation, str]:
    """A 60-second single-use ticket that opens a read-only session as the member on the workspace's host."""
    reason = _reason(reason)
    now = now or timezone.now()
    member = accounts_selectors.memberships_for_workspace(workspace=workspace).filter(user_id=member_id).first()
    if member is None:
        raise SupportError("That person is not a member of this workspace.")
    token = secrets.token_urlsafe(32)
    impersonation = Impersonation.objects.create(
        workspace=workspace,
        actor=actor,
        actor_email=actor.email,
        member=member.user,
        reason=reason,
        token_hash=_hash(token),
        ticket_expires_at=now + IMPERSONATION_TICKET,
        started_at=now,
        expires_at=now + IMPERSONATION_LIFETIME,
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="impersonate",
        reason=reason,
        detail={"member": member.user.email, "impersonation_id": impersonation.pk},
    )
    return impersonation, token


def impersonation_enter(*, token: str, workspace: Workspace) -> Impersonation:
    """Spend a ticket on the host it was made for."""
    now = timezone.now()
    with transaction.atomic():
        updated = Impersonation.objects.filter(
            token_hash=_hash(token or ""), workspace=workspace, used_at__isnull=True, ticket_expires_at__gt=now
        ).update(used_at=now)
        if updated != 1:
            raise SupportError("This support link has expired or was already used.")
        return Impersonation.objects.select_related("member").get(token_hash=_hash(token))


def impersonation_live(*, pk: int, schema_name: str) -> Impersonation | None:
    impersonation = Impersonation.objects.filter(pk=pk, workspace__schema_name=schema_name).first()
    return impersonation if impersonation is not None and impersonation.is_live() else None


def impersonation_end(*, pk: int) -> None:
    Impersonation.objects.filter(pk=pk, ended_at__isnull=True).update(ended_at=timezone.now())


# --------------------------------------------------------------------------- export and delete


def export_dir() -> Path:
    path = Path(settings.SUPPORT_EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


@transaction.atomic
def export_request(*, actor: User, workspace: Workspace, reason: str, then_delete: bool = False) -> WorkspaceExport:
    """Queue an export of the workspace's warehouse facts; with `then_delete`, the workspace is
    suspended now and deleted once the export exists (the export is kept for the retention days)."""
    reason = _reason(reason)
    if then_delete:
        confirm = WorkspaceExport.objects.filter(workspace=workspace, then_delete=True, status="queued")
        if confirm.exists():
            raise SupportError("The deletion of this workspace is already under way.")
        if workspace.status != Workspace.Status.SUSPENDED:
            accounts_services.workspace_status_set(workspace=workspace, status=Workspace.Status.SUSPENDED)
            entitlements_invalidate(workspace.schema_name)
    export = WorkspaceExport.objects.create(
        workspace=workspace, workspace_slug=workspace.slug, requested_by=actor, then_delete=then_delete
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="delete" if then_delete else "export",
        reason=reason,
        detail={"export_id": export.pk, "retention_days": settings.SUPPORT_EXPORT_RETENTION_DAYS},
    )
    enqueue("support.tasks.build_export", export.pk, on_commit=True)
    return export


def export_build(*, export_id: int) -> WorkspaceExport:
    """Write the zip (one CSV per table: the daily fact, and the connections), then, if asked,
    queue the deletion. Runs in a worker, in the public schema; reads the workspace's schema."""
    export = WorkspaceExport.objects.select_related("workspace").get(pk=export_id)
    if export.status != WorkspaceExport.Status.QUEUED or export.workspace is None:
        return export
    workspace = export.workspace
    path = export_dir() / f"{workspace.slug}-{export.pk}-{secrets.token_hex(8)}.zip"
    rows: dict[str, int] = {}
    try:
        with schema_context(workspace.schema_name), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
            with bundle.open("ad_performance_daily.csv", "w") as out:
                lines = 0
                # every day there is: no platform reports before 2000, none past tomorrow anywhere
                last = timezone.localdate() + timedelta(days=1)
                for chunk in facts_export_csv(date_from=date(2000, 1, 1), date_to=last):
                    out.write(chunk)
                    lines += chunk.count(b"\n")
                rows["ad_performance_daily"] = max(0, lines - 1)
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(["id", "platform", "label", "status", "created_at", "last_success_at"])
            connections = list(connectors_selectors.connections_all())
            for c in connections:
                writer.writerow([c.pk, c.platform, c.label, c.status, c.created_at, c.last_success_at or ""])
            bundle.writestr("connections.csv", text.getvalue())
            rows["connections"] = len(connections)
    except Exception as exc:
        logger.exception("export %s of %s failed", export.pk, workspace.schema_name)
        path.unlink(missing_ok=True)
        WorkspaceExport.objects.filter(pk=export.pk).update(
            status=WorkspaceExport.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        WorkspaceExport.objects.filter(pk=export.pk).update(
            status=WorkspaceExport.Status.DONE,
            path=str(path),
            size_bytes=path.stat().st_size,
            rows=rows,
            finished_at=now,
            expires_at=now + timedelta(days=settings.SUPPORT_EXPORT_RETENTION_DAYS),
        )
        if export.then_delete:
            enqueue("support.tasks.purge_workspace", workspace.pk, export.pk, on_commit=True)
    export.refresh_from_db()
    return export


def _cache_keys_drop(schema_name: str) -> int:
    """Every cache key of the workspace (django-tenants' keys start with its schema)."""
    client = cache.raw_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{schema_name}:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)


def _sessions_drop(schema_name: str) -> int:
    """Sessions signed in on the workspace's host (they name its schema)."""
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_SCHEMA_KEY) == schema_name:
            doomed.append(session.pk)
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def workspace_purge(*, workspace_id: int, export_id: int) -> bool:
    """Delete the workspace for good once its export exists: schema, public rows, sessions, cache.

    What stays: the export (until its retention ends) and the audit log (which records the deletion)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    export = WorkspaceExport.objects.filter(pk=export_id).first()
    if workspace is None:
        return False  # already purged (a redelivered task)
    if export is None or export.status != WorkspaceExport.Status.DONE or not export.then_delete:
        raise SupportError("A workspace is deleted only after its export exists.")
    schema_name = workspace.schema_name
    _sessions_drop(schema_name)  # first: nobody is signed in there while it goes
    with transaction.atomic():
        billing_services.account_forget(workspace=workspace)
        audit_record(
            workspace=None,
            slug=workspace.slug,
            actor=export.requested_by,
            action="deleted",
            reason="Deleted after its export was made.",
            detail={"export_id": export.pk},
        )
        accounts_services.workspace_drop(workspace=workspace)
    _cache_keys_drop(schema_name)  # last: a request still finishing could have written one
    logger.info("workspace %s deleted (export %s kept)", schema_name, export.pk)
    return True


def exports_expire(*, now: datetime | None = None) -> int:
    """Remove exports past their retention: the file, then the row."""
    now = now or timezone.now()
    expired = list(WorkspaceExport.objects.filter(expires_at__lte=now))
    for export in expired:
        if export.path:
            Path(export.path).unlink(missing_ok=True)
    WorkspaceExport.objects.filter(pk__in=[e.pk for e in expired]).delete()
    return len(expired)


# --------------------------------------------------------------------------- health


def health_refresh() -> WorkspaceHealth:
    """Summarise the current workspace's health into its public row (run in the workspace's schema)."""
    workspace = accounts_selectors.workspace_for_schema(schema_name=db.schema_name)
    if workspace is None:
        raise SupportError("health is refreshed inside a workspace's schema")
    conns = connectors_selectors.connections_health_summary()
    status = warehouse_selectors.warehouse_status()
    failures = sum(1 for r in warehouse_selectors.data_test_results_latest() if r.status == "fail")
    scoring = scoring_latest()
    problems = []
    if conns.failing:
        problems.append(f"{conns.failing} connection{'s' if conns.failing > 1 else ''} failing")
    if conns.needs_reauth:
        problems.append(f"{conns.needs_reauth} need{'s' if conns.needs_reauth == 1 else ''} re-authorisation")
    if conns.failed_runs_24h:
        problems.append(f"{conns.failed_runs_24h} failed sync{'s' if conns.failed_runs_24h > 1 else ''} in 24 h")
    if failures:
        problems.append(f"{failures} data test{'s' if failures > 1 else ''} failing")
    if status["quarantined_rows"]:
        problems.append(f"{status['quarantined_rows']} quarantined rows")
    stale_before = timezone.now() - timedelta(hours=settings.SUPPORT_STALE_DATA_HOURS)
    if conns.active and (conns.last_success_at is None or conns.last_success_at < stale_before):
        problems.append("no successful sync in the last day")
    if workspace.status == Workspace.Status.SUSPENDED:
        problems.append("suspended")
    values = {
        "connections_active": conns.active,
        "connections_failing": conns.failing,
        "connections_needs_reauth": conns.needs_reauth,
        "connections_paused": conns.paused,
        "last_success_at": conns.last_success_at,
        "newest_day": status["newest_day"],
        "data_as_of": status["data_as_of"],
        "data_test_failures": failures,
        "quarantined_rows": status["quarantined_rows"],
        "last_scoring_at": scoring.created_at if scoring is not None else None,
        "last_digest_at": workspace_facts.read(workspace_facts.LAST_DIGEST_SENT),
        "problems": problems,
        "anything_wrong": bool(problems),
        "refreshed_at": timezone.now(),
    }
    health, _ = WorkspaceHealth.objects.update_or_create(workspace=workspace, defaults=values)
    return health

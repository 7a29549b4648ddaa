"""The support console's own state (public schema): the append-only audit of every support action,
a health summary per workspace (refreshed by workers, read by the console's list), impersonation
sessions (the owner sees them in Settings) and workspace exports.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise ValueError("the support audit is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("the support audit is append-only")


class AuditEntry(models.Model):
    """One support action: who, when, which workspace, what and why. Never edited, never deleted.

    The workspace's slug is copied: the entry outlives the workspace (a deletion is itself an
    entry) and the person (the actor's e-mail is copied too)."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    workspace_slug = models.CharField(max_length=40, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_email = models.EmailField()
    action = models.CharField(max_length=40)
    reason = models.TextField()
    #: what the action touched (connection, run, dates, plan, export id, …)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} on {self.workspace_slug} by {self.actor_email}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the support audit is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("the support audit is append-only")


class WorkspaceHealth(models.Model):
    """A summary of one workspace's health, written by `support.services.health_refresh` in a
    worker (after each warehouse run and every 15 minutes), so the console's list over thousands
    of workspaces reads one public table instead of every schema."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    connections_active = models.PositiveIntegerField(default=0)
    connections_failing = models.PositiveIntegerField(default=0)
    connections_needs_reauth = models.PositiveIntegerField(default=0)
    connections_paused = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    #: the newest day with data in the warehouse (data freshness)
    newest_day = models.DateField(null=True, blank=True)
    data_as_of = models.DateTimeField(null=True, blank=True)
    data_test_failures = models.PositiveIntegerField(default=0)
    quarantined_rows = models.PositiveBigIntegerField(default=0)
    last_scoring_at = models.DateTimeField(null=True, blank=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    #: short phrases, one per problem found ("2 connections failing", …); empty: all well
    problems = models.JSONField(default=list, blank=True)
    anything_wrong = models.BooleanField(default=False, db_index=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workspace__name",)
        verbose_name = "workspace health"
        verbose_name_plural = "workspace health"

    def __str__(self) -> str:
        return f"health of {self.workspace}"


class Impersonation(models.Model):
    """Support looking at a workspace as one of its members: read-only, shown on every page, and
    listed to the workspace's owners in Settings (when, who, why)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_email = models.EmailField()
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    #: SHA-256 of the single-use ticket that opens the session on the workspace's host
    token_hash = models.CharField(max_length=64, unique=True)
    ticket_expires_at = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)
    #: the session ends by itself then (or earlier, when support ends it)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at",)

    def __str__(self) -> str:
        return f"{self.actor_email} as {self.member_id} in {self.workspace_id}"

    def is_live(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.ended_at is None and self.expires_at > now


class WorkspaceExport(models.Model):
    """A zip of a workspace's warehouse facts (CSV files), made by a worker and kept for
    `SUPPORT_EXPORT_RETENTION_DAYS`; with `then_delete` the workspace is deleted once it exists."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    workspace_slug = models.CharField(max_length=40)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    then_delete = models.BooleanField(default=False)
    path = models.CharField(max_length=500, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    rows = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"export {self.pk} of {self.workspace_slug}"

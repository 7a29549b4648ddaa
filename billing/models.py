"""Shared (public-schema) billing state: one account per workspace, the Stripe events seen, and an
append-only audit of every change support makes by hand.

The workspace's plan and status live here; `billing.entitlements` turns them into what the
workspace may do. Stripe is the source of truth for paid subscriptions: webhook handling re-reads
the subscription and copies its state here (see `billing.services.subscription_apply`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.plans import Plan


class Interval(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


class Status(models.TextChoices):
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    PAUSED = "paused", "Paused"
    COMPED = "comped", "Granted by support"


class BillingAccount(models.Model):
    """A workspace's plan and subscription state, as last learned from Stripe or set by support."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="billing")
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.GROWTH)
    interval = models.CharField(max_length=10, choices=Interval.choices, default=Interval.MONTHLY)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRIALING)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    #: a support grant (status comped) lasts until then; empty: until support ends it
    comped_until = models.DateTimeField(null=True, blank=True)
    #: after a failed payment the workspace keeps working until then, then turns read-only
    grace_until = models.DateTimeField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    #: the `created` (unix seconds) of the newest Stripe event applied; older snapshots never win
    last_event_created = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("workspace__name",)

    def __str__(self) -> str:
        return f"{self.workspace} — {self.get_plan_display()} ({self.get_status_display()})"

    def snapshot(self) -> dict[str, Any]:
        """The fields an audit entry records before and after a change."""
        return {
            "plan": self.plan,
            "interval": self.interval,
            "status": self.status,
            "trial_end": self.trial_end.isoformat() if self.trial_end else None,
            "comped_until": self.comped_until.isoformat() if self.comped_until else None,
            "current_period_end": self.current_period_end.isoformat() if self.current_period_end else None,
            "grace_until": self.grace_until.isoformat() if self.grace_until else None,
            "stripe_subscription_id": self.stripe_subscription_id,
        }


class StripeEvent(models.Model):
    """Every webhook event id once. The row is inserted on receipt; `processed_at` is set in the
    same transaction as the event's effect, so an effect is applied exactly once."""

    id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField(help_text="Stripe's `created` (unix seconds)")
    account = models.ForeignKey(BillingAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("-received_at",)
        indexes = [models.Index(fields=("processed_at", "received_at"), name="stripe_event_pending")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class TrialNotice(models.Model):
    """One row per workspace and milestone (7 or 1 day before the trial ends): the e-mail went out."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="trial_notices")
    days_before = models.PositiveSmallIntegerField()
    trial_end = models.DateTimeField(help_text="the trial end this notice was about (an extension re-arms it)")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("account", "days_before", "trial_end"), name="one_notice_per_milestone")
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day trial notice for {self.account_id}"


class BillingChange(models.Model):
    """Append-only audit of billing changes made by support (who, when, why, before and after)."""

    # The audit outlives the workspace and the person: names are copied, the links may go.
    account = models.ForeignKey(BillingAccount, on_delete=models.SET_NULL, null=True, related_name="changes")
    workspace_slug = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_email = models.EmailField()
    action = models.CharField(max_length=40)
    reason = models.TextField()
    before = models.JSONField()
    after = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.action} on {self.workspace_slug} by {self.actor_email}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("billing changes are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("billing changes are append-only")

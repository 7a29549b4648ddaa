"""Digest subscriptions, the white-label look of a workspace's digests, and one record per send.

A shared app (public schema): a member's digest settings span their workspaces (one combined
e-mail for an agency member), and the beat fan-out finds every due digest with one query
instead of visiting each workspace schema.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Frequency(models.TextChoices):
    OFF = "off", "No digest"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Delivery(models.TextChoices):
    PER_WORKSPACE = "per_workspace", "One e-mail per workspace"
    COMBINED = "combined", "One combined e-mail for all my workspaces"


class DigestProfile(models.Model):
    """A member's own digest settings, the same in every workspace: time zone and grouping."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_profile")
    #: an IANA zone; digests arrive at the chosen hour of THIS zone (DST handled by zoneinfo)
    time_zone = models.CharField(max_length=64, default="UTC")
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.PER_WORKSPACE)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"digest profile of {self.user}"


class DigestSubscription(models.Model):
    """What one member wants from one workspace: how often, which weekday, at which local hour."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="digest_subscriptions")
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    #: weekly digests: the weekday they arrive on (Monday = 0)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    #: the local hour (member's time zone) the digest is sent at, 0–23
    hour = models.PositiveSmallIntegerField(default=8)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="digests_subscription_one_per_member"),
            models.CheckConstraint(condition=Q(hour__gte=0, hour__lte=23), name="digests_subscription_hour"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="digests_subscription_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.workspace}: {self.frequency}"


class DigestBranding(models.Model):
    """White-label digests (Agency plan): the agency's logo, colours and sender name."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="digest_branding")
    sender_name = models.CharField(max_length=80, blank=True, default="")
    logo_url = models.URLField(max_length=500, blank=True, default="")
    primary_color = models.CharField(max_length=7, default="#4f46e5")
    accent_color = models.CharField(max_length=7, default="#0f172a")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"branding of {self.workspace}"


class DigestSend(models.Model):
    """One digest for one member and one period: claimed (committed) before any SMTP talk.

    pending → sending → sent | failed. `sending` is committed before the SMTP conversation starts,
    so a redelivered task never sends it again (at most once); a `sending` left by a dead worker
    turns `failed` ("interrupted") once it is older than the stale limit, never back to pending.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Sent on request"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_sends")
    #: the schema of a per-workspace digest, or "combined" for an agency member's one e-mail
    scope = models.CharField(max_length=70)
    #: the workspaces the e-mail covers (schema names; one unless combined)
    schemas = models.JSONField(default=list)
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULED)
    #: the period the digest reports on, in the member's time zone (inclusive)
    period_start = models.DateField()
    period_end = models.DateField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    to_email = models.EmailField()
    message_id = models.CharField(max_length=200, blank=True, default="")
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: when the current (or last) attempt committed `sending`
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # Exactly one scheduled digest per member, scope and period, however often beat fires.
            models.UniqueConstraint(
                fields=["user", "scope", "frequency", "period_start"],
                condition=Q(kind="scheduled"),
                name="digests_send_once_per_period",
            )
        ]
        indexes = [models.Index(fields=["state", "claimed_at"], name="digests_send_state_claimed")]

    def __str__(self) -> str:
        return f"{self.frequency} digest {self.period_start}…{self.period_end} to {self.to_email}: {self.state}"

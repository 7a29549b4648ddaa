"""Alert rules, the incidents they open, and every delivery of a notification (per workspace schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bosco.crypto import EncryptedTextField


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold"
    CHANGE = "change", "Change vs previous period"
    ANOMALY = "anomaly", "Anomaly"
    DATA_HEALTH = "data_health", "Data health"
    PACING = "pacing", "Spend pacing vs monthly budget"


class CompareTo(models.TextChoices):
    """What a change rule compares its window with."""

    PREVIOUS_PERIOD = "previous_period", "the previous period"
    SAME_WEEKDAY = "same_weekday", "the same weekdays last week"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class Comparison(models.TextChoices):
    ABOVE = "above", "above"
    BELOW = "below", "below"


class ScopeKind(models.TextChoices):
    WORKSPACE = "workspace", "Whole workspace"
    PLATFORM = "platform", "Platform"
    ACCOUNT = "account", "Ad account"
    CAMPAIGN = "campaign", "Campaigns whose name contains"


class HealthCheck(models.TextChoices):
    SYNC_FAILED = "sync_failed", "A sync failed"
    NEEDS_REAUTH = "needs_reauth", "A connection needs re-authorisation"
    STALE_DATA = "stale_data", "Data is older than N hours"
    DATA_TESTS = "data_tests", "A data test failed or rows were quarantined"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class AlertRule(models.Model):
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    #: a name of the one metric catalogue (warehouse/metrics.py); empty for data-health rules
    metric = models.CharField(max_length=32, blank=True, default="")
    comparison = models.CharField(max_length=8, choices=Comparison.choices, default=Comparison.ABOVE)
    #: threshold rules: the metric's value; change rules: the change in percent; pacing rules: the
    #: tolerance in percent around the budget; anomaly rules: unused (see min_severity);
    #: data-health "stale_data": hours
    threshold = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(default=1)
    #: change rules: the previous period of the same length, or the same weekdays a week earlier
    compare_to = models.CharField(max_length=16, choices=CompareTo.choices, default=CompareTo.PREVIOUS_PERIOD)
    #: pacing rules: the month's spend budget in the workspace's reporting currency
    monthly_budget = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices, default=ScopeKind.WORKSPACE)
    #: platform code, "platform:account_id", or a campaign-name fragment
    scope_value = models.CharField(max_length=200, blank=True, default="")
    min_spend = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    min_conversions = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    min_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    health_check = models.CharField(max_length=16, choices=HealthCheck.choices, blank=True, default="")
    #: where notifications go: e-mail to `recipients`, or a Slack / generic webhook URL
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    #: e-mail addresses, one per entry
    recipients = models.JSONField(default=list, blank=True)
    #: Slack incoming-webhook or generic webhook URL (a Slack URL is itself a credential: encrypted)
    webhook_url = EncryptedTextField(blank=True, null=True, default="")
    #: HMAC-SHA256 key of the generic webhook's signature, shown once when made (encrypted at rest)
    webhook_secret = EncryptedTextField(blank=True, null=True, default="")
    enabled = models.BooleanField(default=True)
    muted = models.BooleanField(default=False)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    #: built-in data-health rules are created by the app, not a member (they can be muted, not deleted)
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["health_check"], condition=Q(builtin=True), name="alerts_rule_one_builtin_per_check"
            ),
            models.CheckConstraint(condition=Q(window_days__in=(1, 3, 7)), name="alerts_rule_window_days"),
        ]

    def __str__(self) -> str:
        return self.name


class AlertIncident(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    #: what the incident is about (rule + subject): one open incident per key
    dedup_key = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    subject = models.CharField(max_length=300, blank=True, default="")
    #: the numbers: observed value, the threshold it crossed, the compared value, the window
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    baseline = models.FloatField(null=True, blank=True)
    #: the worst value notified so far: only a worse one notifies again
    notified_value = models.FloatField(null=True, blank=True)
    window_from = models.DateField(null=True, blank=True)
    window_to = models.DateField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    opened_at = models.DateTimeField(auto_now_add=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], condition=Q(state="open"), name="alerts_incident_one_open")
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.subject} ({self.state})"


class Delivery(models.Model):
    Channel = Channel

    class Event(models.TextChoices):
        OPENED = "opened", "Opened"
        WORSENED = "worsened", "Worsened"
        RESOLVED = "resolved", "Resolved"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"

    incident = models.ForeignKey(AlertIncident, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    event = models.CharField(max_length=10, choices=Event.choices)
    target = models.CharField(max_length=320)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    #: the HTTP status of the last attempt of a Slack / webhook delivery
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.target}: {self.outcome}"


class DeliveryAttempt(models.Model):
    """One try of a delivery and what came of it (the delivery log shows them)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Delivery.Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("delivery_id", "number")

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"

"""Serializers of the alerts API: typed input (then the page's own rule form checks the meaning,
so the page and the API refuse the same rules with the same messages) and the outputs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alerts.models import (
    AlertIncident,
    Channel,
    CompareTo,
    Comparison,
    Delivery,
    HealthCheck,
    RuleKind,
    ScopeKind,
    Severity,
)
from alerts.outbound import MAX_URL_LENGTH, url_display

WINDOWS = (1, 3, 7)


class RuleIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    metric = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    comparison = serializers.ChoiceField(choices=Comparison.choices, required=False, default=Comparison.ABOVE)
    threshold = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True, default=None, coerce_to_string=False
    )
    window_days = serializers.ChoiceField(choices=[(w, str(w)) for w in WINDOWS], required=False, default=1)
    compare_to = serializers.ChoiceField(
        choices=CompareTo.choices,
        required=False,
        default=CompareTo.PREVIOUS_PERIOD,
        help_text="Change rules: the previous period of the same length, or the same weekdays one week earlier.",
    )
    monthly_budget = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        coerce_to_string=False,
        help_text="Pacing rules: the month's spend budget in the workspace's currency (threshold = tolerance in %).",
    )
    scope_kind = serializers.ChoiceField(choices=ScopeKind.choices, required=False, default=ScopeKind.WORKSPACE)
    scope_value = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    min_spend = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=0)
    min_conversions = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=0)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)
    health_check = serializers.ChoiceField(
        choices=[("", "none"), *HealthCheck.choices], required=False, allow_blank=True, default=""
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, default=Channel.EMAIL)
    recipients = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, default=list, max_length=20
    )
    webhook_url = serializers.CharField(
        max_length=MAX_URL_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text=(
            "Slack / webhook channels: the URL (https, resolving to public addresses only). Never returned; "
            "on a change, leave it out to keep the current one."
        ),
    )
    renew_secret = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="Webhook channel: issue a new signing secret (returned once, in this answer).",
    )
    enabled = serializers.BooleanField(required=False, default=True)
    muted = serializers.BooleanField(required=False, default=False)
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RuleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    metric = serializers.CharField(allow_blank=True)
    comparison = serializers.ChoiceField(choices=Comparison.choices)
    threshold = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True, coerce_to_string=False)
    window_days = serializers.IntegerField()
    compare_to = serializers.ChoiceField(choices=CompareTo.choices)
    monthly_budget = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True, coerce_to_string=False)
    scope_kind = serializers.ChoiceField(choices=ScopeKind.choices)
    scope_value = serializers.CharField(allow_blank=True)
    min_spend = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=False)
    min_conversions = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices)
    health_check = serializers.CharField(allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices)
    recipients = serializers.ListField(child=serializers.CharField())
    webhook_target = serializers.SerializerMethodField(
        help_text="Scheme and host of the Slack / webhook URL (its path may be a credential, so it is not shown)."
    )
    webhook_secret = serializers.CharField(
        source="issued_secret",
        default=None,
        allow_null=True,
        help_text="The webhook's signing secret: only in the answer that issued it (create, or renew_secret).",
    )
    enabled = serializers.BooleanField()
    muted = serializers.BooleanField()
    snoozed_until = serializers.DateTimeField(allow_null=True)
    builtin = serializers.BooleanField(help_text="Built-in data-health rules can be changed or muted, not deleted.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_webhook_target(self, rule: Any) -> str | None:
        return url_display(rule.webhook_url) if rule.webhook_url else None


class IncidentOut(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    state = serializers.ChoiceField(choices=AlertIncident.State.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    subject = serializers.CharField(allow_blank=True)
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    baseline = serializers.FloatField(allow_null=True, help_text="The previous period's or the expected value.")
    window_from = serializers.DateField(allow_null=True)
    window_to = serializers.DateField(allow_null=True)
    message = serializers.CharField(
        allow_blank=True, help_text="The settling note (days a platform may still revise) or the anomaly's summary."
    )
    opened_at = serializers.DateTimeField()
    last_notified_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    event = serializers.ChoiceField(choices=Delivery.Event.choices)
    target = serializers.CharField(help_text="The e-mail address, or the Slack / webhook host.")
    outcome = serializers.ChoiceField(choices=Delivery.Outcome.choices)
    attempts = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True, help_text="HTTP status of the last attempt.")
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class IncidentDetailOut(IncidentOut):
    deliveries = DeliveryOut(many=True, help_text="Every notification of the incident and its outcome.")


class IncidentQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=AlertIncident.State.choices, required=False)
    rule = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

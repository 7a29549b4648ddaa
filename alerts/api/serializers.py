"""Serializers of the alerts API: typed input (then the page's own rule form checks the meaning,
so the page and the API refuse the same rules with the same messages) and the outputs."""

from __future__ import annotations

from rest_framework import serializers

from alerts.models import AlertIncident, Comparison, HealthCheck, RuleKind, ScopeKind, Severity

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
    scope_kind = serializers.ChoiceField(choices=ScopeKind.choices, required=False, default=ScopeKind.WORKSPACE)
    scope_value = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    min_spend = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=0)
    min_conversions = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=0)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)
    health_check = serializers.ChoiceField(
        choices=[("", "none"), *HealthCheck.choices], required=False, allow_blank=True, default=""
    )
    recipients = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, default=list, max_length=20
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
    scope_kind = serializers.ChoiceField(choices=ScopeKind.choices)
    scope_value = serializers.CharField(allow_blank=True)
    min_spend = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=False)
    min_conversions = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices)
    health_check = serializers.CharField(allow_blank=True)
    recipients = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    muted = serializers.BooleanField()
    snoozed_until = serializers.DateTimeField(allow_null=True)
    builtin = serializers.BooleanField(help_text="Built-in data-health rules can be changed or muted, not deleted.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


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
    opened_at = serializers.DateTimeField()
    last_notified_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class IncidentQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=AlertIncident.State.choices, required=False)
    rule = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

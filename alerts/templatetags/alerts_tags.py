"""How the alerts page writes a rule and an incident's numbers (units from the metric catalogue)."""

from __future__ import annotations

from django import template

from alerts.models import AlertIncident, AlertRule, RuleKind
from warehouse.metrics import format_metric, metric_label

register = template.Library()


@register.filter
def rule_summary(rule: AlertRule, currency: str) -> str:
    """ "Spend above €500.00 over the last 3 days", "Data health: A sync failed", …"""
    if rule.kind == RuleKind.DATA_HEALTH:
        return f"Data health: {rule.get_health_check_display()}"
    label = metric_label(rule.metric)
    days = "the last day" if rule.window_days == 1 else f"the last {rule.window_days} days"
    if rule.kind == RuleKind.ANOMALY:
        return f"{label} anomalies, {rule.get_min_severity_display().lower()} or worse, over {days}"
    if rule.kind == RuleKind.CHANGE:
        direction = "rises" if rule.comparison == "above" else "falls"
        return f"{label} {direction} by {rule.threshold:.0f} % or more over {days}, vs the period before"
    threshold = format_metric(rule.metric, rule.threshold, currency) if rule.threshold is not None else "—"
    return f"{label} {rule.comparison} {threshold} over {days}"


@register.simple_tag
def incident_number(incident: AlertIncident, value: float | None, currency: str) -> str:
    if value is None:
        return "—"
    rule = incident.rule
    if rule.kind == RuleKind.CHANGE:
        return f"{value:+.1f} %"
    if rule.kind == RuleKind.DATA_HEALTH:
        return f"{value:,.0f}"
    return format_metric(rule.metric, value, currency)

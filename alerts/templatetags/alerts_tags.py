"""How the alerts page writes a rule and an incident's numbers (units from the metric catalogue)."""

from __future__ import annotations

from django import template

from alerts.models import AlertIncident, AlertRule, Channel, CompareTo, RuleKind
from alerts.outbound import url_display
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
        versus = "the same weekdays last week" if rule.compare_to == CompareTo.SAME_WEEKDAY else "the period before"
        return f"{label} {direction} by {rule.threshold:.0f} % or more over {days}, vs {versus}"
    if rule.kind == RuleKind.PACING:
        budget = format_metric("spend", rule.monthly_budget, currency) if rule.monthly_budget else "—"
        way = "over" if rule.comparison == "above" else "under"
        return f"Spend heading {way} the monthly budget of {budget} by more than {rule.threshold or 0:.0f} %"
    threshold = format_metric(rule.metric, rule.threshold, currency) if rule.threshold is not None else "—"
    return f"{label} {rule.comparison} {threshold} over {days}"


@register.filter
def rule_channel(rule: AlertRule) -> str:
    """Where a rule's notifications go: its addresses, or the Slack / webhook host."""
    if rule.channel == Channel.EMAIL:
        return ", ".join(rule.recipients) if rule.recipients else "owners and admins (e-mail)"
    return f"{rule.get_channel_display()} · {url_display(rule.webhook_url)}"


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

"""Writes of the alerts app: rules, evaluation (incidents), and the deliveries of notifications.

Evaluation turns what a rule sees into findings (one per subject: the workspace, an anomaly, a
connection) and reconciles them with the rule's open incidents:

- a new finding opens an incident (its dedup key is rule + subject) and notifies once;
- a finding of an open incident notifies again only if it got worse by `WORSEN_MARGIN`;
- an open incident without a finding is resolved, with a "resolved" message;
- a low-volume window (below the rule's minimum spend / conversions) changes nothing;
- a muted or snoozed rule still records incidents but sends nothing.

Notifications are `Delivery` rows, sent by a task queued on commit (`alerts.tasks.send_delivery`),
which retries transient failures (SMTP down, timeouts) with backoff.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.roles import Permission
from accounts.selectors import memberships_for_workspace, workspace_url
from alerts import selectors
from alerts.models import SEVERITY_RANK, AlertIncident, AlertRule, Comparison, Delivery, RuleKind, Severity
from bosco.db import connection
from bosco.tasks import TransientError, enqueue
from warehouse import metrics as m
from warehouse.selectors import QueryError

logger = logging.getLogger("bosco.alerts")

#: an open incident notifies again only when its value moved this much further past the threshold
WORSEN_MARGIN = 0.10
#: deliveries give up after this many attempts (the task retries with backoff in between)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Finding:
    dedup_key: str
    subject: str
    value: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    severity: str = Severity.MEDIUM
    message: str = ""
    window: tuple[Any, Any] = (None, None)


@dataclass
class EvaluationReport:
    rules: int = 0
    opened: int = 0
    worsened: int = 0
    resolved: int = 0
    skipped_low_volume: int = 0
    deliveries: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


# --------------------------------------------------------------------------- rules


def rule_save(*, rule: AlertRule | None = None, **fields: Any) -> AlertRule:
    """Create or update a rule from validated fields (the form and the API validate first)."""
    rule = rule or AlertRule()
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    return rule


def rule_delete(*, rule: AlertRule) -> None:
    if rule.builtin:
        raise ValueError("built-in rules cannot be deleted; mute them instead")
    rule.delete()


# --------------------------------------------------------------------------- evaluation


def _breached(comparison: str, value: float, threshold: float) -> bool:
    return value > threshold if comparison == Comparison.ABOVE else value < threshold


def _metric_findings(rule: AlertRule, workspace: Any, now: datetime, report: EvaluationReport) -> list[Finding] | None:
    """Findings of a threshold or change rule; None when the window must not count (low volume)."""
    filters = selectors.scope_filters(scope_kind=rule.scope_kind, scope_value=rule.scope_value)
    if filters is None:
        return None  # the scope matches no campaign (yet): nothing to judge, nothing to resolve
    last_day = selectors.last_complete_day(workspace.time_zone, now=now)
    numbers = selectors.window_numbers(rule=rule, filters=filters, last_day=last_day)
    if numbers.spend < float(rule.min_spend) or numbers.conversions < float(rule.min_conversions):
        report.skipped_low_volume += 1
        return None
    threshold = float(rule.threshold or 0)
    if rule.kind == RuleKind.THRESHOLD:
        value, baseline = numbers.value, numbers.previous
    else:
        value = None if numbers.change is None else numbers.change * 100
        baseline = numbers.previous
        if value is not None and rule.comparison == Comparison.BELOW:
            threshold = -threshold  # "falls by 20 %" is a change below −20 %
    if value is None or not _breached(rule.comparison, value, threshold):
        return []
    settling = selectors.settling_platforms(date_from=numbers.date_from, date_to=numbers.date_to)
    return [
        Finding(
            dedup_key=f"rule:{rule.pk}:{rule.scope_kind}:{rule.scope_value}",
            subject=_scope_label(rule),
            value=value,
            threshold=threshold,
            baseline=baseline,
            window=(numbers.date_from, numbers.date_to),
            # said plainly, so nobody mistakes a number the platform may still revise for a final one
            message=f"Still settling: {', '.join(settling)} may revise these days." if settling else "",
        )
    ]


def _scope_label(rule: AlertRule) -> str:
    if rule.scope_kind == "workspace":
        return "the whole workspace"
    return f"{rule.get_scope_kind_display().lower()} {rule.scope_value}"


def _anomaly_findings(rule: AlertRule, workspace: Any, now: datetime) -> list[Finding]:
    last_day = selectors.last_complete_day(workspace.time_zone, now=now)
    return [
        Finding(
            dedup_key=f"rule:{rule.pk}:anomaly:{hit.key}",
            subject=hit.subject,
            value=hit.value,
            baseline=hit.expected,
            severity=hit.severity,
            window=(hit.date, hit.date),
        )
        for hit in selectors.anomaly_hits(rule=rule, last_day=last_day)
    ]


def _health_findings(rule: AlertRule, now: datetime) -> list[Finding]:
    hours = float(rule.threshold) if rule.threshold is not None else None
    return [
        Finding(
            dedup_key=f"rule:{rule.pk}:health:{p.key}",
            subject=p.subject,
            value=p.value,
            threshold=hours,
            severity=Severity.HIGH,
        )
        for p in selectors.health_problems(check=rule.health_check, hours=hours, now=now)
    ]


def _findings(rule: AlertRule, workspace: Any, now: datetime, report: EvaluationReport) -> list[Finding] | None:
    if rule.kind in (RuleKind.THRESHOLD, RuleKind.CHANGE):
        return _metric_findings(rule, workspace, now, report)
    if rule.kind == RuleKind.ANOMALY:
        return _anomaly_findings(rule, workspace, now)
    return _health_findings(rule, now)


def _worse(rule: AlertRule, incident: AlertIncident, finding: Finding) -> bool:
    if SEVERITY_RANK.get(finding.severity, 0) > SEVERITY_RANK.get(incident.severity, 0):
        return True
    if finding.value is None or incident.notified_value is None or rule.kind == RuleKind.DATA_HEALTH:
        return False
    before, now = incident.notified_value, finding.value
    step = max(abs(before) * WORSEN_MARGIN, 1e-9)
    if rule.kind == RuleKind.ANOMALY:
        return abs(now - (finding.baseline or 0)) > abs(before - (finding.baseline or 0)) + step
    return now > before + step if rule.comparison == Comparison.ABOVE else now < before - step


def _silenced(rule: AlertRule, now: datetime) -> bool:
    return rule.muted or (rule.snoozed_until is not None and rule.snoozed_until > now)


def rule_evaluate(*, rule: AlertRule, workspace: Any, now: datetime | None = None) -> EvaluationReport:
    """Evaluate one rule and reconcile its incidents (one transaction; deliveries queued on commit)."""
    now = now or timezone.now()
    report = EvaluationReport(rules=1)
    findings = _findings(rule, workspace, now, report)
    if findings is None:
        return report
    with transaction.atomic():
        open_incidents = selectors.incidents_open_for(rule=rule)
        notify = not _silenced(rule, now)
        for finding in findings:
            incident = open_incidents.pop(finding.dedup_key, None)
            if incident is None:
                incident = _incident_open(rule, finding)
                report.opened += 1
                event = Delivery.Event.OPENED
            elif _worse(rule, incident, finding):
                report.worsened += 1
                event = Delivery.Event.WORSENED
            else:
                _incident_refresh(incident, finding, notified=False)
                continue
            _incident_refresh(incident, finding, notified=notify, now=now)
            if notify:
                report.deliveries += _deliveries_create(rule, incident, event, workspace)
        for incident in open_incidents.values():
            incident.state = AlertIncident.State.RESOLVED
            incident.resolved_at = now
            incident.save(update_fields=["state", "resolved_at"])
            report.resolved += 1
            if notify and incident.last_notified_at is not None:
                report.deliveries += _deliveries_create(rule, incident, Delivery.Event.RESOLVED, workspace)
    return report


def _incident_open(rule: AlertRule, finding: Finding) -> AlertIncident:
    return AlertIncident.objects.create(rule=rule, dedup_key=finding.dedup_key, subject=finding.subject)


def _incident_refresh(
    incident: AlertIncident, finding: Finding, *, notified: bool, now: datetime | None = None
) -> None:
    """The latest numbers; when notified, they become the bar a later "worse" must pass."""
    incident.subject = finding.subject
    incident.value, incident.threshold, incident.baseline = finding.value, finding.threshold, finding.baseline
    incident.severity = finding.severity
    incident.window_from, incident.window_to = finding.window
    incident.message = finding.message
    fields = ["subject", "value", "threshold", "baseline", "severity", "window_from", "window_to", "message"]
    if notified:
        incident.notified_value, incident.last_notified_at = finding.value, now
        fields += ["notified_value", "last_notified_at"]
    incident.save(update_fields=fields)


def workspace_evaluate(*, workspace: Any, now: datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled rule of the current workspace (each rule on its own)."""
    total = EvaluationReport()
    for rule in selectors.rules_enabled():
        try:
            report = rule_evaluate(rule=rule, workspace=workspace, now=now)
        except (m.UnknownMetric, QueryError) as exc:
            # a rule saved before its metric left the catalogue: the others still run
            logger.warning("alert rule %s cannot be evaluated (%s); skipped", rule.pk, exc)
            continue
        for key, value in report.as_dict().items():
            setattr(total, key, getattr(total, key) + value)
    return total


# --------------------------------------------------------------------------- deliveries


def _recipients(rule: AlertRule, workspace: Any) -> list[str]:
    """The rule's addresses; a rule without any (the built-in ones) tells the owners and admins."""
    if rule.recipients:
        return list(dict.fromkeys(rule.recipients))
    memberships = memberships_for_workspace(workspace=workspace).select_related("user")
    return sorted({ms.user.email for ms in memberships if ms.can(Permission.MANAGE_WORKSPACE)})


def _deliveries_create(rule: AlertRule, incident: AlertIncident, event: str, workspace: Any) -> int:
    recipients = _recipients(rule, workspace)
    for address in recipients:
        delivery = Delivery.objects.create(incident=incident, event=event, target=address)
        enqueue("alerts.tasks.send_delivery", connection.schema_name, delivery.pk, on_commit=True)
    return len(recipients)


def _formatted(rule: AlertRule, value: float | None, currency: str) -> str:
    if value is None:
        return "—"
    if rule.kind == RuleKind.CHANGE:
        return f"{value:+.1f} %"
    if rule.kind == RuleKind.DATA_HEALTH:
        return f"{value:,.0f}"
    return m.format_metric(rule.metric, value, currency)


def delivery_message(*, delivery: Delivery, workspace: Any) -> EmailMultiAlternatives:
    """The e-mail of one delivery: a plain-text part and an HTML part with inlined CSS."""
    incident, rule = delivery.incident, delivery.incident.rule
    currency = workspace.reporting_currency
    context = {
        "workspace": workspace,
        "rule": rule,
        "incident": incident,
        "event": delivery.event,
        "metric_label": m.metric_label(rule.metric) if rule.metric else "",
        "value": _formatted(rule, incident.value, currency),
        "threshold": _formatted(rule, incident.threshold, currency),
        "baseline": _formatted(rule, incident.baseline, currency) if rule.kind != RuleKind.CHANGE else "",
        "link": workspace_url(workspace=workspace, path="/alerts/"),
    }
    verb = {"opened": "Alert", "worsened": "Worse", "resolved": "Resolved"}[delivery.event]
    subject = f"[Bosco] {verb}: {rule.name} — {incident.subject}"
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("alerts/email/incident.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.target],
    )
    message.attach_alternative(render_to_string("alerts/email/incident.html", context), "text/html")
    return message


def delivery_send(*, delivery_id: int, workspace: Any) -> str:
    """Send one delivery; a transient failure is recorded and raised (the task retries it)."""
    delivery = selectors.delivery_get(pk=delivery_id)
    if delivery is None or delivery.outcome in (Delivery.Outcome.SENT, Delivery.Outcome.FAILED):
        return delivery.outcome if delivery else "missing"  # sent before a redelivery, or gone
    delivery.attempts += 1
    try:
        delivery_message(delivery=delivery, workspace=workspace).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return _delivery_failed(delivery, f"refused: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        if delivery.attempts >= MAX_ATTEMPTS:
            return _delivery_failed(delivery, f"{type(exc).__name__}: {exc}")
        delivery.outcome, delivery.error = Delivery.Outcome.RETRYING, f"{type(exc).__name__}: {exc}"
        delivery.save(update_fields=["outcome", "error", "attempts"])
        raise TransientError(f"alert e-mail {delivery.pk} not sent: {exc}") from exc
    delivery.outcome, delivery.error, delivery.sent_at = Delivery.Outcome.SENT, "", timezone.now()
    delivery.save(update_fields=["outcome", "error", "attempts", "sent_at"])
    return delivery.outcome


def _delivery_failed(delivery: Delivery, error: str) -> str:
    delivery.outcome, delivery.error = Delivery.Outcome.FAILED, error[:2000]
    delivery.save(update_fields=["outcome", "error", "attempts"])
    logger.warning("alert delivery %s failed: %s", delivery.pk, error)
    return delivery.outcome


def incident_resolve(*, incident: AlertIncident, now: datetime | None = None) -> AlertIncident:
    """Resolve an open incident by hand (no message). If the condition still holds, the next
    evaluation opens a new incident and notifies again."""
    if incident.state != AlertIncident.State.OPEN:
        raise ValueError("This incident is already resolved.")
    incident.state, incident.resolved_at = AlertIncident.State.RESOLVED, now or timezone.now()
    incident.save(update_fields=["state", "resolved_at"])
    return incident

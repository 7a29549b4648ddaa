"""Writes of the alerts app: rules, evaluation (incidents), and the deliveries of notifications.

Evaluation turns what a rule sees into findings (one per subject: the workspace, an anomaly, a
connection) and reconciles them with the rule's open incidents:

- a new finding opens an incident (its dedup key is rule + subject) and notifies once;
- a finding of an open incident notifies again only if it got worse by `WORSEN_MARGIN`;
- an open incident without a finding is resolved, with a "resolved" message;
- a low-volume window (below the rule's minimum spend / conversions) changes nothing;
- a muted or snoozed rule still records incidents but sends nothing.

Notifications are `Delivery` rows, sent by a task queued on commit (`alerts.tasks.send_delivery`,
notifications queue), which retries transient failures (SMTP down, a timeout, a 5xx) with
exponential backoff. Every attempt is a `DeliveryAttempt` with its outcome (status code / error).
What a message says per channel is built in `alerts.channels`; Slack and webhook URLs pass the
SSRF gate of `alerts.outbound` when saved and again before every attempt.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from accounts.roles import Permission
from accounts.selectors import memberships_for_workspace
from alerts import channels, outbound, selectors
from alerts.models import (
    SEVERITY_RANK,
    AlertIncident,
    AlertRule,
    Channel,
    Comparison,
    Delivery,
    DeliveryAttempt,
    RuleKind,
    Severity,
)
from bosco.db import connection
from bosco.tasks import TransientError, enqueue
from warehouse import metrics as m
from warehouse.selectors import QueryError
from warehouse.selectors.freshness import newest_complete_day

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


def webhook_secret_issue(*, rule: AlertRule, renew: bool = False) -> str | None:
    """Give a generic-webhook rule its signing secret (or a new one when `renew`); returns the new
    secret, to be shown once, or None when nothing changed. Receivers verify with it (docs/alerts.md)."""
    if rule.channel != Channel.WEBHOOK or (rule.webhook_secret and not renew):
        return None
    secret = "whsec_" + secrets.token_urlsafe(32)
    rule.webhook_secret = secret
    rule.save(update_fields=["webhook_secret", "updated_at"])
    return secret


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
    last_day = newest_complete_day(time_zone=workspace.time_zone, now=now)
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
    return [
        Finding(
            dedup_key=f"rule:{rule.pk}:{rule.scope_kind}:{rule.scope_value}",
            subject=_scope_label(rule),
            value=value,
            threshold=threshold,
            baseline=baseline,
            window=(numbers.date_from, numbers.date_to),
            message=_settling_note(numbers.date_from, numbers.date_to),
        )
    ]


def _settling_note(date_from: Any, date_to: Any) -> str:
    """Said plainly, so nobody mistakes a number the platform may still revise for a final one."""
    settling = selectors.settling_platforms(date_from=date_from, date_to=date_to)
    return f"Still settling: {', '.join(settling)} may revise these days." if settling else ""


#: a month's first days project too far: pacing is judged from this day of the month on
PACING_FIRST_DAY = 3


def _pacing_findings(rule: AlertRule, workspace: Any, now: datetime, report: EvaluationReport) -> list[Finding] | None:
    """Month-to-date spend projected to the month's end, against the budget ± the tolerance."""
    filters = selectors.scope_filters(scope_kind=rule.scope_kind, scope_value=rule.scope_value)
    if filters is None:
        return None
    last_day = newest_complete_day(time_zone=workspace.time_zone, now=now)
    if last_day.day < PACING_FIRST_DAY:
        return None  # two days of a month say little about its end; nothing judged, nothing resolved
    pace = selectors.pacing_numbers(filters=filters, last_day=last_day)
    if pace.spend < float(rule.min_spend) or pace.conversions < float(rule.min_conversions):
        report.skipped_low_volume += 1
        return None
    budget = float(rule.monthly_budget or 0)
    tolerance = float(rule.threshold or 0) / 100
    line = budget * (1 + tolerance) if rule.comparison == Comparison.ABOVE else budget * (1 - tolerance)
    if budget <= 0 or not _breached(rule.comparison, pace.projected, line):
        return []
    return [
        Finding(
            # one incident per month: a new month is a new question
            dedup_key=f"rule:{rule.pk}:pacing:{pace.month_start:%Y-%m}:{rule.scope_kind}:{rule.scope_value}",
            subject=f"{_scope_label(rule)}, {pace.month_start:%B %Y}",
            value=pace.projected,
            threshold=budget,
            baseline=pace.spend,
            window=(pace.month_start, pace.date_to),
            message=_settling_note(pace.month_start, pace.date_to),
        )
    ]


def _scope_label(rule: AlertRule) -> str:
    if rule.scope_kind == "workspace":
        return "the whole workspace"
    return f"{rule.get_scope_kind_display().lower()} {rule.scope_value}"


def _anomaly_findings(rule: AlertRule, workspace: Any, now: datetime) -> list[Finding]:
    """The insights' incidents at or above the rule's severity (their summary says what moved)."""
    last_day = newest_complete_day(time_zone=workspace.time_zone, now=now)
    findings = []
    for hit in selectors.anomaly_hits(rule=rule, last_day=last_day):
        note = _settling_note(hit.date, hit.date)
        findings.append(
            Finding(
                dedup_key=f"rule:{rule.pk}:anomaly:{hit.key}",
                subject=hit.subject,
                value=hit.value,
                baseline=hit.expected,
                severity=hit.severity,
                window=(hit.date, hit.date),
                message=" ".join(part for part in (hit.summary, note) if part),
            )
        )
    return findings


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
    if rule.kind == RuleKind.PACING:
        return _pacing_findings(rule, workspace, now, report)
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
        # One evaluation of a rule at a time: a warehouse run's evaluation and the hourly one (or
        # a redelivered task) meeting here would both see no open incident and open two.
        AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
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
    """One delivery per e-mail recipient, or one to the rule's Slack / webhook URL; each sent by
    its own task, queued when the evaluation commits."""
    if rule.channel == Channel.EMAIL:
        targets = _recipients(rule, workspace)
    else:
        targets = [outbound.url_display(rule.webhook_url)]
    for target in targets:
        delivery = Delivery.objects.create(incident=incident, channel=rule.channel, event=event, target=target)
        enqueue("alerts.tasks.send_delivery", connection.schema_name, delivery.pk, on_commit=True)
    return len(targets)


def delivery_message(*, delivery: Delivery, workspace: Any) -> EmailMultiAlternatives:
    """The e-mail of one delivery (see `alerts.channels`)."""
    return channels.email_message(delivery=delivery, workspace=workspace)


class _Retry(Exception):
    """An attempt failed in a way the next one may not (recorded, then retried with backoff)."""


class _Fail(Exception):
    """An attempt failed in a way no retry will fix (recorded as the delivery's final outcome)."""


def _send_email(delivery: Delivery, workspace: Any) -> int | None:
    try:
        delivery_message(delivery=delivery, workspace=workspace).send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise _Fail(f"refused: {exc}") from exc  # a bounce: the address, not the moment, is wrong
    except (smtplib.SMTPException, OSError) as exc:
        raise _Retry(f"{type(exc).__name__}: {exc}") from exc
    return None


def _send_http(delivery: Delivery, workspace: Any) -> int | None:
    """POST the Slack message or the signed webhook document; 2xx is sent, a 3xx / 4xx fails for
    good (redirects are not followed), a 408 / 429 / 5xx / timeout / refused connection retries."""
    rule = delivery.incident.rule
    if rule.channel != delivery.channel:
        raise _Fail(f"the rule now sends by {rule.get_channel_display()}; this message was dropped")
    headers: dict[str, str] = {}
    if delivery.channel == Channel.SLACK:
        body = channels.body_bytes(channels.slack_payload(delivery=delivery, workspace=workspace))
    else:
        if not rule.webhook_secret:
            raise _Fail("the rule has no signing secret: issue one on the Alerts page (nothing unsigned is sent)")
        body = channels.body_bytes(channels.webhook_payload(delivery=delivery, workspace=workspace))
        timestamp = int(time.time())
        headers = {
            "X-Bosco-Event": delivery.event,
            "X-Bosco-Delivery": str(delivery.pk),
            "X-Bosco-Timestamp": str(timestamp),
            "X-Bosco-Signature": outbound.signature(secret=rule.webhook_secret or "", timestamp=timestamp, body=body),
        }
    try:
        answer = outbound.post_json(url=rule.webhook_url or "", body=body, headers=headers)
    except outbound.UnsafeURL as exc:
        raise _Fail(f"URL refused: {exc}") from exc
    except outbound.SendFailed as exc:
        raise _Retry(str(exc)) from exc
    code = answer.status_code
    delivery.status_code = code
    if 200 <= code < 300:
        return code
    if 300 <= code < 400:
        where = f" to {outbound.url_display(answer.location)}" if answer.location else ""
        raise _Fail(f"HTTP {code}: the receiver redirected{where}; Bosco does not follow redirects")
    detail = " ".join(answer.excerpt.split())[:300]
    message = f"HTTP {code}: {detail}" if detail else f"HTTP {code}"
    if code in (408, 429) or code >= 500:
        raise _Retry(message)
    raise _Fail(message)


def delivery_send(*, delivery_id: int, workspace: Any) -> str:
    """Make one attempt at a delivery and record it; a transient failure is recorded and raised
    (the task retries it with backoff) until `MAX_ATTEMPTS`. Sent and failed deliveries are final:
    a redelivered task sends nothing twice."""
    delivery = selectors.delivery_get(pk=delivery_id)
    if delivery is None or delivery.outcome in (Delivery.Outcome.SENT, Delivery.Outcome.FAILED):
        return delivery.outcome if delivery else "missing"  # sent before a redelivery, or gone
    delivery.attempts += 1
    started = time.monotonic()
    send = _send_email if delivery.channel == Channel.EMAIL else _send_http
    try:
        status = send(delivery, workspace)
    except _Fail as exc:
        return _delivery_record(delivery, Delivery.Outcome.FAILED, str(exc), started)
    except _Retry as exc:
        if delivery.attempts >= MAX_ATTEMPTS:
            gave_up = f"{exc} (gave up after {delivery.attempts} attempts)"
            return _delivery_record(delivery, Delivery.Outcome.FAILED, gave_up, started)
        _delivery_record(delivery, Delivery.Outcome.RETRYING, str(exc), started)
        raise TransientError(f"alert delivery {delivery.pk} not sent: {exc}") from exc
    delivery.status_code, delivery.sent_at = status, timezone.now()
    return _delivery_record(delivery, Delivery.Outcome.SENT, "", started)


def _delivery_record(delivery: Delivery, outcome: str, error: str, started: float) -> str:
    """The attempt's outcome on the delivery and in its attempt log, in one transaction."""
    delivery.outcome, delivery.error = outcome, error[:2000]
    with transaction.atomic():
        delivery.save(update_fields=["outcome", "error", "attempts", "status_code", "sent_at"])
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            outcome=outcome,
            status_code=delivery.status_code,
            error=error[:2000],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    if outcome == Delivery.Outcome.FAILED:
        logger.warning("alert delivery %s failed: %s", delivery.pk, error)
    return outcome


def incident_resolve(*, incident: AlertIncident, now: datetime | None = None) -> AlertIncident:
    """Resolve an open incident by hand (no message). If the condition still holds, the next
    evaluation opens a new incident and notifies again."""
    if incident.state != AlertIncident.State.OPEN:
        raise ValueError("This incident is already resolved.")
    incident.state, incident.resolved_at = AlertIncident.State.RESOLVED, now or timezone.now()
    incident.save(update_fields=["state", "resolved_at"])
    return incident

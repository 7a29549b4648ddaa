"""What a notification says, per channel: an e-mail (plain text + HTML with inline CSS), a Slack
Block Kit message, a generic webhook's JSON document. Pure building, no sending and no writes:
`services.delivery_send` sends what these return and records the outcome.

All three say the same thing, from one `Notice`: the rule, what it is about, the numbers in the
workspace's currency and number format (the metric catalogue's units), the settling note, and a
link to the incident on the Alerts page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from accounts.selectors import workspace_url
from alerts.models import AlertIncident, AlertRule, CompareTo, Delivery, RuleKind
from warehouse import metrics as m

VERBS = {"opened": "Alert", "worsened": "Worse", "resolved": "Resolved"}
#: version of the webhook document; a change that breaks receivers gets a new one
WEBHOOK_SCHEMA = "bosco.alert.v1"


@dataclass(frozen=True)
class Notice:
    verb: str
    title: str
    subject: str
    #: (label, formatted value); the first is the headline number
    facts: list[tuple[str, str]]
    note: str
    link: str


def formatted(rule: AlertRule, value: float | None, currency: str, *, as_change: bool = False) -> str:
    """A number of an incident in its unit: a change in percent, a count for data health, else the
    metric's unit (spend for pacing)."""
    if value is None:
        return "—"
    if as_change:
        return f"{value:+.1f} %"
    if rule.kind == RuleKind.DATA_HEALTH:
        return f"{value:,.0f}"
    if rule.kind == RuleKind.ANOMALY and not rule.metric:
        return f"{value:,.2f}"  # the incident's metric varies (its name is in the subject)
    return m.format_metric(_metric(rule), value, currency)


def _metric(rule: AlertRule) -> str:
    return "spend" if rule.kind == RuleKind.PACING else rule.metric or "spend"


def _days(incident: AlertIncident) -> str:
    if incident.window_from is None:
        return ""
    if incident.window_to in (None, incident.window_from):
        return incident.window_from.isoformat()
    return f"{incident.window_from.isoformat()} to {incident.window_to.isoformat()}"


def incident_facts(rule: AlertRule, incident: AlertIncident, currency: str) -> list[tuple[str, str]]:
    """The numbers of an incident, labelled, in the order a reader needs them."""
    facts: list[tuple[str, str]] = []
    label = m.metric_label(rule.metric) if rule.metric else "Value"
    if rule.kind == RuleKind.THRESHOLD:
        facts += [
            (label, formatted(rule, incident.value, currency)),
            (f"Alert when {rule.comparison}", formatted(rule, incident.threshold, currency)),
        ]
        if incident.baseline is not None:
            facts.append(("Previous period", formatted(rule, incident.baseline, currency)))
    elif rule.kind == RuleKind.CHANGE:
        facts += [
            (f"{label} change", formatted(rule, incident.value, currency, as_change=True)),
            (f"Alert when {rule.comparison}", formatted(rule, incident.threshold, currency, as_change=True)),
        ]
        compared = "Same weekdays last week" if rule.compare_to == CompareTo.SAME_WEEKDAY else "Previous period"
        if incident.baseline is not None:
            facts.append((compared, formatted(rule, incident.baseline, currency)))
    elif rule.kind == RuleKind.PACING:
        facts += [
            ("Projected month-end spend", formatted(rule, incident.value, currency)),
            ("Monthly budget", formatted(rule, incident.threshold, currency)),
            ("Spent so far", formatted(rule, incident.baseline, currency)),
            ("Tolerance", f"±{float(rule.threshold or 0):.0f} %"),
        ]
    elif rule.kind == RuleKind.ANOMALY:
        facts += [
            (m.metric_label(rule.metric) if rule.metric else "Value", formatted(rule, incident.value, currency)),
            ("Expected about", formatted(rule, incident.baseline, currency)),
            ("Severity", incident.get_severity_display()),
        ]
    else:
        facts.append(("Check", rule.get_health_check_display()))
    if _days(incident):
        facts.append(("Days", _days(incident)))
    return facts


def notice(*, delivery: Delivery, workspace: Any) -> Notice:
    incident, rule = delivery.incident, delivery.incident.rule
    verb = VERBS[delivery.event]
    return Notice(
        verb=verb,
        title=f"{verb}: {rule.name}",
        subject=incident.subject,
        facts=incident_facts(rule, incident, workspace.reporting_currency),
        note=incident.message,
        link=workspace_url(workspace=workspace, path=f"/alerts/#incident-{incident.pk}"),
    )


def email_message(*, delivery: Delivery, workspace: Any) -> EmailMultiAlternatives:
    """The e-mail of one delivery: a plain-text part and an HTML part with inlined CSS."""
    told = notice(delivery=delivery, workspace=workspace)
    context = {"workspace": workspace, "notice": told, "event": delivery.event, "rule": delivery.incident.rule}
    message = EmailMultiAlternatives(
        subject=f"[Bosco] {told.title} — {told.subject}"[:200],
        body=render_to_string("alerts/email/incident.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.target],
    )
    message.attach_alternative(render_to_string("alerts/email/incident.html", context), "text/html")
    return message


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(*, delivery: Delivery, workspace: Any) -> dict[str, Any]:
    """A Block Kit message: header, what it is about, the numbers as fields, the settling note,
    a button to the incident; `text` is the fallback for notifications and old clients."""
    told = notice(delivery=delivery, workspace=workspace)
    icon = {"Alert": ":rotating_light:", "Worse": ":warning:", "Resolved": ":white_check_mark:"}[told.verb]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": told.title[:150], "emoji": True}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{icon} *{_slack_escape(told.subject)}* · {_slack_escape(workspace.name)}",
            },
        },
    ]
    if told.facts:
        blocks.append(
            {
                "type": "section",
                # Slack allows at most 10 fields of at most 2,000 characters
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(label)}*\n{_slack_escape(value)}"}
                    for label, value in told.facts[:10]
                ],
            }
        )
    if told.note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(told.note)}]})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the incident"},
                    "url": told.link,
                    "action_id": "open_incident",
                }
            ],
        }
    )
    headline = f" — {told.facts[0][0]}: {told.facts[0][1]}" if told.facts else ""
    return {"text": f"{told.title} — {told.subject}{headline}", "blocks": blocks}


def webhook_payload(*, delivery: Delivery, workspace: Any) -> dict[str, Any]:
    """The generic webhook's JSON document (documented field by field in docs/alerts.md)."""
    incident, rule = delivery.incident, delivery.incident.rule
    told = notice(delivery=delivery, workspace=workspace)
    return {
        "schema": WEBHOOK_SCHEMA,
        "delivery_id": delivery.pk,
        "event": delivery.event,
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            "kind": rule.kind,
            "metric": rule.metric or None,
            "comparison": rule.comparison,
            "window_days": rule.window_days,
            "scope": {"kind": rule.scope_kind, "value": rule.scope_value},
        },
        "incident": {
            "id": incident.pk,
            "state": incident.state,
            "severity": incident.severity,
            "subject": incident.subject,
            "value": incident.value,
            "threshold": incident.threshold,
            "baseline": incident.baseline,
            "window_from": incident.window_from.isoformat() if incident.window_from else None,
            "window_to": incident.window_to.isoformat() if incident.window_to else None,
            "settling_note": incident.message or None,
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        },
        "currency": workspace.reporting_currency,
        "text": [{"label": label, "value": value} for label, value in told.facts],
        "link": told.link,
    }


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()

"""Slack and webhook deliveries against a real local HTTP receiver: the Block Kit message and the
signed JSON document as the receiver reads them, the signature verified the way docs/alerts.md
tells receivers to, and every way a receiver can fail (500, 404, a redirect, a hang, nobody
listening, a URL that turned private since it was saved) recorded attempt by attempt."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Workspace
from alerts import services
from alerts.models import AlertIncident, AlertRule, Delivery, DeliveryAttempt
from bosco.tasks import TransientError
from tests.alerts.conftest import Inbox, Receiver, make_rule

pytestmark = pytest.mark.django_db(transaction=True)  # deliveries commit their attempts


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/alerts.md shows it."""
    timestamp = headers["x-bosco-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-bosco-signature"], f"v1={expected}")


def http_delivery(rule: AlertRule, *, event: str = "opened") -> Delivery:
    incident = AlertIncident.objects.create(
        rule=rule,
        dedup_key=f"k{AlertIncident.objects.count()}",
        subject="the whole workspace",
        value=812.4,
        threshold=500.0,
        baseline=430.0,
        message="Still settling: meta may revise these days.",
    )
    return Delivery.objects.create(incident=incident, channel=rule.channel, event=event, target="receiver")


def channel_rule(channel: str, url: str) -> AlertRule:
    rule = make_rule(name="Spend & <budget>", channel=channel, webhook_url=url, recipients=[], threshold=500)
    services.webhook_secret_issue(rule=rule)
    rule.refresh_from_db()
    return rule


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Any:
    workspace = make_workspace("hook", reporting_currency="EUR")
    with schema_context(workspace.schema_name):
        yield workspace


def test_slack_gets_a_block_kit_message_with_the_numbers_and_a_link(
    workspace: Workspace, http_receiver: Receiver
) -> None:
    rule = channel_rule("slack", http_receiver.url("/ok"))
    assert rule.webhook_secret in ("", None)  # Slack URLs carry their own secret: no signature
    delivery = http_delivery(rule)
    assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "sent"

    (request,) = http_receiver.received
    message = request.json()
    assert message["text"].startswith("Alert: Spend & <budget> — the whole workspace — Spend: €812.40")
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert fields[:3] == ["*Spend*\n€812.40", "*Alert when above*\n€500.00", "*Previous period*\n€430.00"]
    assert message["blocks"][3]["elements"][0]["text"] == "Still settling: meta may revise these days."
    assert "&amp; &lt;budget&gt;" not in message["blocks"][0]["text"]["text"]  # plain_text: not escaped
    button = message["blocks"][4]["elements"][0]
    assert button["url"].endswith(f"/alerts/#incident-{delivery.incident_id}") and "hook." in button["url"]
    assert "x-bosco-signature" not in request.headers

    delivery.refresh_from_db()
    assert (delivery.outcome, delivery.status_code, delivery.attempts) == ("sent", 200, 1)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.outcome, attempt.status_code, attempt.error) == (1, "sent", 200, "")


def test_a_webhook_gets_a_signed_json_document(workspace: Workspace, http_receiver: Receiver) -> None:
    rule = channel_rule("webhook", http_receiver.url("/ok"))
    assert rule.webhook_secret.startswith("whsec_") and len(rule.webhook_secret) > 40
    delivery = http_delivery(rule, event="worsened")
    assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "sent"

    (request,) = http_receiver.received
    assert verify(rule.webhook_secret, request.headers, request.body)
    assert not verify("whsec_wrong", request.headers, request.body)
    assert not verify(rule.webhook_secret, request.headers, request.body + b" ")  # a changed body fails
    assert request.headers["x-bosco-event"] == "worsened"
    assert request.headers["x-bosco-delivery"] == str(delivery.pk)
    document = json.loads(request.body)
    assert document["schema"] == "bosco.alert.v1" and document["event"] == "worsened"
    assert document["workspace"] == {"slug": "hook", "name": workspace.name}
    assert document["rule"]["kind"] == "threshold" and document["rule"]["metric"] == "spend"
    assert (document["incident"]["value"], document["incident"]["threshold"]) == (812.4, 500.0)
    assert document["currency"] == "EUR"
    assert {"label": "Spend", "value": "€812.40"} in document["text"]
    assert document["link"].endswith(f"/alerts/#incident-{delivery.incident_id}")


@pytest.mark.parametrize(
    ("path", "outcome", "retried", "error"),
    [
        ("/fail", "retrying", True, "HTTP 500: receiver says no"),
        ("/gone", "failed", False, "HTTP 404: receiver says no"),
        ("/redirect", "failed", False, "the receiver redirected to http://127.0.0.1:"),
        ("/hang", "retrying", True, "timed out after 1 s"),
    ],
)
def test_receiver_failures_are_recorded_and_retried_only_when_worth_it(
    workspace: Workspace, http_receiver: Receiver, path: str, outcome: str, retried: bool, error: str
) -> None:
    http_receiver.hang_seconds = 3
    delivery = http_delivery(channel_rule("webhook", http_receiver.url(path)))
    if retried:
        with pytest.raises(TransientError):
            services.delivery_send(delivery_id=delivery.pk, workspace=workspace)
    else:
        assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == outcome
    delivery.refresh_from_db()
    assert delivery.outcome == outcome and error in delivery.error
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.outcome == outcome and error in attempt.error
    if path == "/redirect":
        assert "does not follow redirects" in delivery.error and http_receiver.hits("/ok") == []
        assert attempt.status_code == 302
    # the incident and the rule are untouched by a failed delivery
    assert AlertIncident.objects.get(pk=delivery.incident_id).state == "open"


def test_a_500_is_retried_until_the_attempts_run_out(workspace: Workspace, http_receiver: Receiver) -> None:
    delivery = http_delivery(channel_rule("slack", http_receiver.url("/fail")))
    for _ in range(services.MAX_ATTEMPTS - 1):
        with pytest.raises(TransientError):
            services.delivery_send(delivery_id=delivery.pk, workspace=workspace)
    assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"
    delivery.refresh_from_db()
    assert delivery.attempts == services.MAX_ATTEMPTS and "gave up after 5 attempts" in delivery.error
    outcomes = list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("number", "outcome", "status_code"))
    assert outcomes == [(n, "retrying", 500) for n in range(1, 5)] + [(5, "failed", 500)]
    # final: a redelivered task sends nothing more
    assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"
    assert len(http_receiver.received) == services.MAX_ATTEMPTS


def test_the_url_is_checked_again_before_sending(workspace: Workspace, http_receiver: Receiver, settings: Any) -> None:
    """Saved while allowed; by send time the address is no longer acceptable (as after a DNS
    change to a private address): nothing is sent, the delivery fails with the reason."""
    delivery = http_delivery(channel_rule("webhook", http_receiver.url("/ok", host="localhost")))
    settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK = False
    assert services.delivery_send(delivery_id=delivery.pk, workspace=workspace) == "failed"
    delivery.refresh_from_db()
    assert delivery.error.startswith("URL refused: The URL points inside a private network: localhost (127.0.0.1)")
    assert http_receiver.received == []


def test_a_bouncing_address_fails_alone(workspace: Workspace, smtp_server: Inbox) -> None:
    async def refuse(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.handle_RCPT = refuse  # type: ignore[attr-defined]
    rule = make_rule(recipients=["bounce@example.com", "ana@example.com"], threshold=500)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="the whole workspace", value=812.4)
    sent = [Delivery.objects.create(incident=incident, event="opened", target=address) for address in rule.recipients]
    outcomes = [services.delivery_send(delivery_id=d.pk, workspace=workspace) for d in sent]
    assert outcomes == ["failed", "sent"]
    bounced = Delivery.objects.get(target="bounce@example.com")
    assert "550" in bounced.error and bounced.attempts == 1
    assert [m["To"] for m in smtp_server.messages] == ["ana@example.com"]
    text = smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "Spend: €812.40" in text and f"/alerts/#incident-{incident.pk}" in text
    assert AlertIncident.objects.get().state == "open"

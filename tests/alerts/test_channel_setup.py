"""Setting up Slack / webhook channels and the new rule kinds on the page and through the API: the
same refusals with the same messages (a private, loopback or plain-http URL, a missing budget), the
webhook's signing secret shown exactly once, URLs stored encrypted and never shown back in full."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from accounts.models import Membership, User, Workspace
from alerts.models import AlertIncident, AlertRule, Delivery
from tests.alerts.conftest import api, make_rule

pytestmark = pytest.mark.django_db

SLACK_URL = "https://8.8.8.8/services/T000/B000/tokentokentoken"
FORM = {
    "name": "Spend to Slack",
    "kind": "threshold",
    "metric": "spend",
    "comparison": "above",
    "threshold": "500",
    "window_days": "1",
    "compare_to": "previous_period",
    "scope_kind": "workspace",
    "min_spend": "0",
    "min_conversions": "0",
    "min_severity": "medium",
    "enabled": "on",
    "channel": "slack",
    "webhook_url": SLACK_URL,
}


@pytest.fixture
def owner_client(alert_workspace: Workspace, workspace_client: Any) -> Any:
    return workspace_client(User.objects.get(email="owner@alrt.example"), alert_workspace)


def test_a_slack_rule_is_saved_with_its_url_encrypted_and_never_shown(owner_client: Any) -> None:
    assert owner_client.post("/alerts/", FORM).status_code == 302
    rule = AlertRule.objects.get(name="Spend to Slack")
    assert (rule.channel, rule.webhook_url, rule.recipients, rule.webhook_secret or "") == ("slack", SLACK_URL, [], "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_url FROM alerts_alertrule WHERE id = %s", [rule.pk])
        assert "tokentoken" not in cursor.fetchone()[0]  # a Slack URL is a credential: encrypted at rest
    page = owner_client.get("/alerts/").content.decode()
    assert "Slack · https://8.8.8.8/…" in page and "tokentoken" not in page
    edit = owner_client.get(f"/alerts/rules/{rule.pk}/").content.decode()
    assert "tokentoken" not in edit and "Leave empty to keep it" in edit

    # an edit that leaves the URL empty keeps it
    assert (
        owner_client.post(f"/alerts/rules/{rule.pk}/", {**FORM, "webhook_url": "", "threshold": "600"}).status_code
        == 302
    )
    rule.refresh_from_db()
    assert (rule.webhook_url, float(rule.threshold)) == (SLACK_URL, 600.0)


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"webhook_url": "https://10.0.0.7/hook"}, "10.0.0.7 is a private address"),
        ({"webhook_url": "https://localhost/hook"}, "localhost (127.0.0.1) is a loopback address"),
        ({"webhook_url": "https://169.254.169.254/"}, "a link-local address"),
        ({"webhook_url": "https://[::ffff:127.0.0.1]/"}, "an IPv4-mapped IPv6 address"),
        ({"webhook_url": "not a url"}, "spaces or control characters"),
        ({"webhook_url": "hooks.slack.com/x"}, "must start with https://"),
        ({"webhook_url": ""}, "Give the URL Slack messages are sent to."),
        ({"recipients_text": "ana@example.com"}, "E-mail recipients are for the e-mail channel"),
        ({"kind": "pacing", "monthly_budget": ""}, "Give the month&#x27;s budget"),
        ({"kind": "pacing", "monthly_budget": "1000", "threshold": "150"}, "between 0 and 100"),
        ({"kind": "pacing", "monthly_budget": "-5"}, "more than 0"),
        ({"compare_to": "last_year"}, "not one of the available choices"),
        ({"channel": "pigeon"}, "not one of the available choices"),
    ],
)
def test_bad_channel_setups_are_refused_at_their_field(
    owner_client: Any, changes: dict[str, str], field_message: str
) -> None:
    before = AlertRule.objects.count()
    response = owner_client.post("/alerts/", {**FORM, **changes})
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert AlertRule.objects.count() == before


def test_plain_http_is_refused_where_production_refuses_it(owner_client: Any, settings: Any) -> None:
    settings.ALERTS_WEBHOOK_ALLOW_HTTP = False
    response = owner_client.post("/alerts/", {**FORM, "webhook_url": "http://8.8.8.8/hook"})
    assert response.status_code == 400 and "plain http is not allowed" in response.content.decode()


def test_the_webhook_secret_is_shown_once(owner_client: Any) -> None:
    response = owner_client.post("/alerts/", {**FORM, "channel": "webhook", "name": "To our endpoint"}, follow=True)
    rule = AlertRule.objects.get(name="To our endpoint")
    assert rule.webhook_secret.startswith("whsec_")
    assert rule.webhook_secret in response.content.decode()
    assert rule.webhook_secret not in owner_client.get("/alerts/").content.decode()  # once only

    # a new secret on request; the old one is gone
    old = rule.webhook_secret
    renewed = owner_client.post(  # the edit form
        f"/alerts/rules/{rule.pk}/",
        {**FORM, "channel": "webhook", "name": "To our endpoint", "new_secret": "on"},
        follow=True,
    )
    rule.refresh_from_db()
    assert rule.webhook_secret != old and rule.webhook_secret in renewed.content.decode()

    # back to e-mail: no URL or secret is kept for nothing
    owner_client.post(
        f"/alerts/rules/{rule.pk}/", {**FORM, "channel": "email", "webhook_url": "", "name": "To our endpoint"}
    )
    rule.refresh_from_db()
    assert (rule.channel, rule.webhook_url or "", rule.webhook_secret or "") == ("email", "", "")


def test_the_page_shows_failures_and_the_incident_chart(owner_client: Any) -> None:
    rule = make_rule(name="Spend watch", threshold=1, channel="webhook", webhook_url="https://8.8.8.8/x")
    incident = AlertIncident.objects.create(
        rule=rule, dedup_key="k", subject="the whole workspace", value=50.0, threshold=1.0
    )
    incident.window_from = incident.window_to = incident.opened_at.date()
    incident.save()
    Delivery.objects.create(
        incident=incident,
        channel="webhook",
        event="opened",
        target="https://8.8.8.8/…",
        outcome="failed",
        attempts=1,
        status_code=302,
        error="HTTP 302: the receiver redirected; Bosco does not follow redirects",
    )
    html = owner_client.get("/alerts/").content.decode()
    assert "1 notification failed or is being retried in the last 7 days" in html
    assert "HTTP 302" in html and "does not follow redirects" in html
    assert f'id="incident-{incident.pk}"' in html and f'data-plotly="incident-chart-{incident.pk}"' in html


def test_api_creates_a_webhook_rule_and_returns_its_secret_once(
    alert_workspace: Workspace, keys: dict[str, str]
) -> None:
    client = api(alert_workspace, keys["write"])
    body = {"name": "Hook", "kind": "threshold", "metric": "spend", "threshold": 10, "channel": "webhook"}
    created = client.post("/api/v1/alerts/rules", {**body, "webhook_url": SLACK_URL}, content_type="application/json")
    assert created.status_code == 201, created.content
    answer = created.json()
    rule = AlertRule.objects.get(pk=answer["id"])
    assert answer["webhook_secret"] == rule.webhook_secret and rule.webhook_secret.startswith("whsec_")
    assert answer["webhook_target"] == "https://8.8.8.8/…" and "webhook_url" not in answer
    again = client.get(f"/api/v1/alerts/rules/{rule.pk}").json()
    assert again["webhook_secret"] is None and again["channel"] == "webhook"
    # a change without the URL keeps it; renew_secret issues a new secret, once
    renewed = client.patch(f"/api/v1/alerts/rules/{rule.pk}", {"renew_secret": True}, "application/json").json()
    rule.refresh_from_db()
    assert renewed["webhook_secret"] == rule.webhook_secret != answer["webhook_secret"]
    assert rule.webhook_url == SLACK_URL


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"channel": "slack", "webhook_url": "https://192.168.1.1/x"}, "webhook_url", "private address"),
        ({"channel": "webhook", "webhook_url": "https://localhost/x"}, "webhook_url", "loopback address"),
        ({"channel": "webhook"}, "webhook_url", "Give the URL"),
        (
            {"channel": "slack", "webhook_url": SLACK_URL, "recipients": ["a@example.com"]},
            "recipients",
            "e-mail channel",
        ),
        ({"kind": "pacing"}, "monthly_budget", "Give the month's budget"),
        ({"kind": "change", "compare_to": "yesterday"}, "compare_to", "not a valid choice"),
    ],
)
def test_api_refuses_bad_channels_like_the_page(
    alert_workspace: Workspace,
    keys: dict[str, str],
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = AlertRule.objects.count()
    body = {"name": "Bad", "kind": "threshold", "metric": "spend", "threshold": 10, **changes}
    response = api(alert_workspace, keys["write"]).post("/api/v1/alerts/rules", body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"].startswith(field) and message in e["message"] for e in errors), errors
    assert AlertRule.objects.count() == before


def test_api_incident_detail_lists_its_deliveries(alert_workspace: Workspace, keys: dict[str, str]) -> None:
    rule = make_rule(threshold=1)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="s", value=2.0, message="Still settling")
    Delivery.objects.create(incident=incident, event="opened", target="ana@example.com", outcome="failed", error="550")
    detail = api(alert_workspace, keys["read"]).get(f"/api/v1/alerts/incidents/{incident.pk}").json()
    assert detail["message"] == "Still settling"
    assert [(d["channel"], d["outcome"], d["error"]) for d in detail["deliveries"]] == [("email", "failed", "550")]


def test_an_incident_is_resolved_by_hand_on_the_page(
    owner_client: Any, alert_workspace: Workspace, workspace_client: Any, make_user: Any
) -> None:
    rule = make_rule(threshold=1)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="the whole workspace", value=2.0)
    assert f"/alerts/incidents/{incident.pk}/resolve/" in owner_client.get("/alerts/").content.decode()

    viewer = make_user("viewer@example.com")
    Membership.objects.create(user=viewer, workspace=alert_workspace, role="viewer")
    refused = workspace_client(viewer, alert_workspace).post(f"/alerts/incidents/{incident.pk}/resolve/")
    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.state == "open"

    done = owner_client.post(f"/alerts/incidents/{incident.pk}/resolve/", follow=True)
    incident.refresh_from_db()
    assert incident.state == "resolved" and incident.resolved_at is not None
    assert "resolved." in done.content.decode() and Delivery.objects.count() == 0  # no message sent
    again = owner_client.post(f"/alerts/incidents/{incident.pk}/resolve/", follow=True)
    assert "already resolved" in again.content.decode()
    assert owner_client.post("/alerts/incidents/999999/resolve/").status_code == 404

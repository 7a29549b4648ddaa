"""The alerts page in a real browser: a rule with an unknown metric is refused with a message at
its field, the corrected rule is saved and read back on the next page, an incident shows its
numbers. Screenshots: artifacts/screenshots/alerts-*.png."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from accounts.models import User
from alerts.models import AlertIncident, AlertRule, Delivery


def test_create_a_rule_in_the_browser(web: Any, make_workspace: Any) -> None:
    workspace = make_workspace("bell")
    with schema_context(workspace.schema_name):
        rule = AlertRule.objects.create(
            name="Spend over budget", kind="threshold", metric="spend", threshold=500, recipients=["ana@example.com"]
        )
        incident = AlertIncident.objects.create(
            rule=rule, dedup_key="k", subject="the whole workspace", value=812.4, threshold=500, baseline=430.0
        )
        Delivery.objects.create(incident=incident, event="opened", target="ana@example.com", outcome="sent", attempts=1)
    web.login(User.objects.get(email="owner@bell.example"), workspace)
    page = web.page
    web.goto("/alerts/", workspace)
    assert page.locator("#incidents").inner_text().count("€812") == 1

    page.fill("input[name=name]", "ROAS dropped")
    page.fill("input[name=metric]", "roaz")
    page.select_option("select[name=comparison]", "below")
    page.fill("input[name=threshold]", "2.5")
    page.select_option("select[name=window_days]", "7")
    page.fill("textarea[name=recipients_text]", "ana@example.com")
    page.click("#rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    form_text = page.locator("#rule-form").inner_text()
    assert "unknown metric 'roaz'" in form_text and "This field is required" not in form_text
    web.screenshot("alerts-form-error")
    # the refused form answers 400 on purpose, which chromium logs; nothing else may be logged
    assert [e for e in web.errors if "status of 400" not in e] == []
    web.errors.clear()

    page.fill("input[name=metric]", "roas")
    page.click("#rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == web.url("/alerts/", workspace)
    rules = page.locator("#rules").inner_text()
    assert "ROAS dropped" in rules and "ROAS below 2.50× over the last 7 days" in rules
    web.screenshot("alerts-page")
    with schema_context(workspace.schema_name):
        assert AlertRule.objects.get(name="ROAS dropped").recipients == ["ana@example.com"]


def test_slack_and_webhook_rules_through_the_form(web: Any, make_workspace: Any) -> None:
    """A private URL is refused at its field; a Slack rule and a webhook rule are saved; the
    webhook's signing secret is shown once; an incident shows its numbers and its chart."""

    from playwright.sync_api import expect

    from tests.insights.conftest import land_history, yesterday_utc

    workspace = make_workspace("hooks")
    last = yesterday_utc()
    with schema_context(workspace.schema_name):
        land_history(as_of=last, days=14)
        rule = AlertRule.objects.create(name="Spend spike", kind="threshold", metric="spend", threshold=100)
        incident = AlertIncident.objects.create(
            rule=rule,
            dedup_key="k",
            subject="the whole workspace",
            value=4321.0,
            threshold=100.0,
            window_from=last,
            window_to=last,
        )
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
    web.login(User.objects.get(email="owner@hooks.example"), workspace)
    page = web.page
    web.goto("/alerts/", workspace)
    expect(page.locator(f"[data-plotly='incident-chart-{incident.pk}'] .main-svg").first).to_be_visible()
    assert "does not follow redirects" in page.locator("#deliveries").inner_text()
    assert "1 notification failed" in page.locator("#delivery-failures").inner_text()

    page.fill("input[name=name]", "Spend to Slack")
    page.fill("input[name=metric]", "spend")
    page.fill("input[name=threshold]", "500")
    page.select_option("select[name=channel]", "slack")
    page.fill("input[name=webhook_url]", "https://10.0.0.5/services/T0/B0/x")
    page.click("#rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    form_text = page.locator("#rule-form").inner_text()
    assert "The URL points inside a private network: 10.0.0.5 is a private address." in form_text
    web.screenshot("alerts-channel-error")
    assert [e for e in web.errors if "status of 400" not in e] == []
    web.errors.clear()

    page.fill("input[name=webhook_url]", "https://8.8.8.8/services/T0/B0/x")
    page.click("#rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Slack · https://8.8.8.8/…" in page.locator("#rules").inner_text()

    page.fill("input[name=name]", "Pacing to our endpoint")
    page.select_option("select[name=kind]", "pacing")
    page.fill("input[name=monthly_budget]", "20000")
    page.fill("input[name=threshold]", "10")
    page.select_option("select[name=channel]", "webhook")
    page.fill("input[name=webhook_url]", "https://8.8.8.8/bosco-hook")
    page.click("#rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    secret = page.locator("#webhook-secret [data-secret]").inner_text()
    assert secret.startswith("whsec_")
    rules = page.locator("#rules").inner_text()
    assert "Spend heading over the monthly budget of €20,000 by more than 10 %" in rules
    assert "Webhook · https://8.8.8.8/…" in rules
    web.screenshot("alerts-channels")
    with schema_context(workspace.schema_name):
        saved = AlertRule.objects.get(name="Pacing to our endpoint")
        assert (saved.kind, saved.channel, saved.webhook_secret, saved.metric) == ("pacing", "webhook", secret, "spend")
        assert AlertRule.objects.get(name="Spend to Slack").channel == "slack"
    web.goto("/alerts/", workspace)
    assert page.locator("#webhook-secret").count() == 0  # shown once

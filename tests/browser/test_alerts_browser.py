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

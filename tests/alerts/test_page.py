"""The alerts page through Django's test client: rules listed, created, edited, deleted; every bad
input answered with a form error (status 400) and nothing saved; viewers may look, not change."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership, User, Workspace
from alerts.models import AlertIncident, AlertRule, Delivery
from tests.alerts.conftest import make_rule, spend_of
from tests.insights.conftest import in_schema

pytestmark = pytest.mark.django_db

VALID = {
    "name": "CPA too high",
    "kind": "threshold",
    "metric": "cpa",
    "comparison": "above",
    "threshold": "50",
    "window_days": "3",
    "scope_kind": "workspace",
    "scope_value": "",
    "min_spend": "0",
    "min_conversions": "0",
    "min_severity": "medium",
    "health_check": "",
    "enabled": "on",
    "recipients_text": "ana@example.com, ben@example.com",
}


@pytest.fixture
def owner_client(alert_workspace: Workspace, workspace_client: Any) -> Any:
    return workspace_client(User.objects.get(email="owner@alrt.example"), alert_workspace)


def rules_named(name: str) -> list[AlertRule]:
    return list(AlertRule.objects.filter(name=name))


def test_page_lists_builtin_rules_incidents_and_deliveries(owner_client: Any, alert_workspace: Workspace) -> None:
    rule = make_rule(name="Spend watch", threshold=spend_of(1) / 2)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="the whole workspace", value=1234.5)
    Delivery.objects.create(
        incident=incident, event="opened", target="ana@example.com", outcome="failed", error="550 no"
    )
    page = owner_client.get("/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "A connection needs re-authorisation" in html and "built-in" in html
    assert "€1,234" in html  # the incident's value in the workspace's currency and format
    assert "550 no" in html and "Failed" in html  # the delivery log shows failures


def test_create_a_rule(owner_client: Any) -> None:
    response = owner_client.post("/alerts/", VALID)
    assert response.status_code == 302
    (rule,) = rules_named("CPA too high")
    assert (rule.metric, rule.window_days, rule.recipients) == ("cpa", 3, ["ana@example.com", "ben@example.com"])
    assert "CPA above €50.00 over the last 3 days" in owner_client.get("/alerts/").content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"metric": "cpx"}, "metric", "unknown metric"),
        # store and blended metrics exist for the whole workspace only
        ({"metric": "mer", "scope_kind": "account", "scope_value": "x"}, "scope_kind", "covers the whole store"),
        ({"metric": ""}, "metric", "Choose the metric"),
        ({"threshold": "-5"}, "threshold", "never negative"),
        ({"metric": "ctr", "threshold": "150"}, "threshold", "cannot exceed 100"),
        ({"threshold": "0", "comparison": "below"}, "threshold", "could never fire"),
        ({"threshold": "abc"}, "threshold", "Enter a number"),
        ({"kind": "change", "threshold": "0"}, "threshold", "percentage between 0 and 1000"),
        ({"window_days": "5"}, "window_days", "Select a valid choice"),
        ({"scope_kind": "campaign", "scope_value": "zz-no-such-campaign"}, "scope_value", "No campaigns"),
        ({"scope_kind": "platform", "scope_value": "tiktok"}, "scope_value", "matches “tiktok”"),
        ({"scope_kind": "account", "scope_value": ""}, "scope_value", "Say which"),
        ({"recipients_text": "ana@example.com, not-an-address"}, "recipients_text", "not-an-address"),
        ({"min_spend": "-1"}, "min_spend", "cannot be negative"),
        ({"kind": "data_health", "metric": "", "health_check": ""}, "health_check", "Choose what"),
        ({"kind": "data_health", "health_check": "stale_data", "threshold": "0"}, "threshold", "hours"),
    ],
)
def test_bad_input_gets_a_form_error_and_saves_nothing(
    owner_client: Any, changes: dict[str, str], field: str, message: str
) -> None:
    before = AlertRule.objects.count()
    response = owner_client.post("/alerts/", {**VALID, **changes})
    assert response.status_code == 400
    assert message in " ".join(str(e) for e in response.context["form"].errors[field])
    assert "The rule was not saved" in response.content.decode()
    assert AlertRule.objects.count() == before


def test_edit_keeps_the_rule_and_changes_it(owner_client: Any) -> None:
    owner_client.post("/alerts/", VALID)
    (rule,) = rules_named("CPA too high")
    response = owner_client.post(f"/alerts/rules/{rule.pk}/", {**VALID, "threshold": "80", "muted": "on"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (float(rule.threshold), rule.muted) == (80.0, True)
    bad = owner_client.post(f"/alerts/rules/{rule.pk}/", {**VALID, "metric": "nope"})
    assert bad.status_code == 400
    rule.refresh_from_db()
    assert rule.metric == "cpa"


def test_delete_a_rule_but_not_a_builtin_one(owner_client: Any) -> None:
    owner_client.post("/alerts/", VALID)
    (rule,) = rules_named("CPA too high")
    assert owner_client.post(f"/alerts/rules/{rule.pk}/delete/").status_code == 302
    assert not rules_named("CPA too high")
    builtin = AlertRule.objects.filter(builtin=True).first()
    owner_client.post(f"/alerts/rules/{builtin.pk}/delete/")
    assert AlertRule.objects.filter(pk=builtin.pk).exists()


def test_viewers_see_the_page_but_cannot_change_rules(
    alert_workspace: Workspace, make_user: Any, workspace_client: Any
) -> None:
    viewer = make_user("viewer@example.com")
    Membership.objects.create(user=viewer, workspace=alert_workspace, role="viewer")
    client = workspace_client(viewer, alert_workspace)
    page = client.get("/alerts/")
    assert page.status_code == 200 and "Save rule" not in page.content.decode()
    assert client.post("/alerts/", VALID).status_code == 403
    builtin = AlertRule.objects.filter(builtin=True).first()
    assert client.post(f"/alerts/rules/{builtin.pk}/delete/").status_code == 403
    assert not rules_named("CPA too high")


__all__ = ["in_schema"]

"""Alert rules count against the plan (billing's one entitlements function), on the page and the
API alike: the rule that does not fit is refused with the plan's message, and nothing is saved.
The built-in data-health rules never count."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.models import Membership, User, Workspace
from alerts.models import AlertRule
from billing import services as billing_services
from billing.models import BillingAccount
from tests.alerts.conftest import make_rule
from tests.alerts.test_page import VALID
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


def _grant(workspace: Workspace, plan: str) -> None:
    staff = User.objects.create_user("support@bosco.example", "x", is_staff=True)
    account = BillingAccount.objects.get(workspace=workspace)
    billing_services.plan_grant(account_id=account.pk, actor=staff, plan=plan, until=None, reason="plan limit test")


def test_a_starter_workspace_cannot_make_a_sixth_rule_on_the_page(
    alert_workspace: Workspace, workspace_client: Any
) -> None:
    _grant(alert_workspace, "starter")
    builtin = AlertRule.objects.filter(builtin=True).count()
    assert builtin > 0
    for n in range(5):
        make_rule(name=f"rule {n}")
    client = workspace_client(User.objects.get(email="owner@alrt.example"), alert_workspace)
    response = client.post("/alerts/", {**VALID, "name": "one too many"})
    assert response.status_code == 400
    assert "Your Starter plan includes 5 alert rules, and 5 exist." in response.content.decode()
    assert not AlertRule.objects.filter(name="one too many").exists()
    # Editing an existing rule is not adding one.
    rule = AlertRule.objects.get(name="rule 0")
    assert client.post(f"/alerts/rules/{rule.pk}/", {**VALID, "name": "rule 0 renamed"}).status_code == 302
    assert AlertRule.objects.filter(builtin=True).count() == builtin


def test_the_api_refuses_a_rule_over_the_plan_with_a_problem_document(alert_workspace: Workspace) -> None:
    _grant(alert_workspace, "growth")  # 50 rules, and API access
    AlertRule.objects.bulk_create(
        [
            AlertRule(name=f"rule {n}", kind="threshold", metric="spend", comparison="above", window_days=1)
            for n in range(50)
        ]
    )
    owner = Membership.objects.get(workspace=alert_workspace, role="owner")
    _, key = account_services.api_key_create(workspace=alert_workspace, actor=owner, name="w", scope="read_write")
    client = Client(HTTP_HOST=host_of(alert_workspace), HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        "/api/v1/alerts/rules",
        {"name": "fifty-one", "kind": "threshold", "metric": "cpa", "threshold": 40, "window_days": 3},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "includes 50 alert rules" in response.content.decode()
    assert not AlertRule.objects.filter(name="fifty-one").exists()

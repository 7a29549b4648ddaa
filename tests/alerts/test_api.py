"""/api/v1/alerts/rules and /api/v1/alerts/incidents: CRUD, filters, resolve, the same refusals
as the page (problem documents), and keys' scopes."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Workspace
from alerts.models import AlertIncident, AlertRule
from tests.alerts.conftest import api, make_rule

pytestmark = pytest.mark.django_db


RULE = {"name": "CPA watch", "kind": "threshold", "metric": "cpa", "threshold": 40, "window_days": 3}


def test_rules_crud(alert_workspace: Workspace, keys: dict[str, str]) -> None:
    client = api(alert_workspace, keys["write"])
    created = client.post("/api/v1/alerts/rules", RULE, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["metric"], body["window_days"], body["threshold"], body["builtin"]) == ("cpa", 3, 40.0, False)
    assert created["Location"] == f"/api/v1/alerts/rules/{body['id']}"

    listed = client.get("/api/v1/alerts/rules").json()
    assert {r["name"] for r in listed["results"]} >= {"CPA watch", "A sync failed"}

    changed = client.patch(
        f"/api/v1/alerts/rules/{body['id']}", {"muted": True, "recipients": ["ana@example.com"]}, "application/json"
    )
    assert changed.status_code == 200
    rule = AlertRule.objects.get(pk=body["id"])
    assert (rule.muted, rule.recipients, float(rule.threshold)) == (True, ["ana@example.com"], 40.0)

    assert client.delete(f"/api/v1/alerts/rules/{body['id']}").status_code == 204
    assert client.get(f"/api/v1/alerts/rules/{body['id']}").status_code == 404
    builtin = AlertRule.objects.filter(builtin=True).first()
    refused = client.delete(f"/api/v1/alerts/rules/{builtin.pk}")
    assert refused.status_code == 409 and "mute them instead" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"metric": "cpx"}, "metric", "unknown metric"),
        ({"threshold": -3}, "threshold", "never negative"),
        ({"scope_kind": "campaign", "scope_value": "zz-none"}, "scope_value", "No campaigns"),
        ({"window_days": 5}, "window_days", "not a valid choice"),
        ({"recipients": ["not-an-address"]}, "recipients", "valid email"),
        ({"kind": "sometimes"}, "kind", "not a valid choice"),
        ({"threshold": "lots"}, "threshold", "valid number"),
    ],
)
def test_bad_rules_get_a_problem_and_nothing_is_saved(
    alert_workspace: Workspace, keys: dict[str, str], changes: dict[str, Any], field: str, message: str
) -> None:
    before = AlertRule.objects.count()
    response = api(alert_workspace, keys["write"]).post(
        "/api/v1/alerts/rules", {**RULE, **changes}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"].startswith(field) and message in e["message"] for e in errors), errors
    assert AlertRule.objects.count() == before


def test_incidents_list_filter_and_resolve(alert_workspace: Workspace, keys: dict[str, str]) -> None:
    rule = make_rule(threshold=1)
    other = make_rule(name="other", threshold=1)
    opened = AlertIncident.objects.create(rule=rule, dedup_key="a", subject="the whole workspace", value=5.0)
    AlertIncident.objects.create(rule=other, dedup_key="b", subject="x", state="resolved")
    reader = api(alert_workspace, keys["read"])
    assert [i["id"] for i in reader.get("/api/v1/alerts/incidents?state=open").json()["results"]] == [opened.pk]
    assert len(reader.get(f"/api/v1/alerts/incidents?rule={other.pk}").json()["results"]) == 1
    assert reader.get("/api/v1/alerts/incidents?state=maybe").status_code == 400
    assert reader.post(f"/api/v1/alerts/incidents/{opened.pk}/resolve").status_code == 403  # read-only key

    writer = api(alert_workspace, keys["write"])
    resolved = writer.post(f"/api/v1/alerts/incidents/{opened.pk}/resolve")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    assert writer.post(f"/api/v1/alerts/incidents/{opened.pk}/resolve").status_code == 409
    assert writer.get("/api/v1/alerts/incidents/abc").status_code == 404


def test_read_only_keys_cannot_change_rules(alert_workspace: Workspace, keys: dict[str, str]) -> None:
    response = api(alert_workspace, keys["read"]).post("/api/v1/alerts/rules", RULE, content_type="application/json")
    assert response.status_code == 403
    assert not AlertRule.objects.filter(name="CPA watch").exists()

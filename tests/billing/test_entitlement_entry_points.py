"""Entitlements at the entry points the other billing tests reach only through services: the
connection settings form (sync interval and history synced), the facts export API (history
shown), a suspended workspace's API and tasks (read-only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import ApiKey, Membership, Workspace
from accounts.roles import Role
from accounts.services import api_key_create
from billing import entitlements
from billing.models import BillingAccount
from tests.conftest import host_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_workspace: Any) -> Workspace:
    return make_workspace("acme")


def _plan(workspace: Workspace, plan: str) -> None:
    BillingAccount.objects.filter(workspace=workspace).update(status="active", plan=plan)
    entitlements._redis().delete(entitlements._cache_key(workspace.schema_name))


def _owner_client(workspace: Workspace, workspace_client: Any) -> Client:
    return workspace_client(Membership.objects.get(workspace=workspace, role=Role.OWNER).user, workspace)


def _api(workspace: Workspace) -> Client:
    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER)
    _, raw = api_key_create(workspace=workspace, actor=owner, name="ci", scope=ApiKey.Scope.READ_WRITE)
    return Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_connection_settings_form_refuses_an_interval_or_history_beyond_the_plan(acme, workspace_client) -> None:
    from connectors.models import Connection

    _plan(acme, "starter")  # every 6 hours at most, 24 months
    with schema_context(acme.schema_name):
        conn = Connection.objects.create(
            platform="google_ads", lookback_days=3, backfill_days=30, sync_interval_hours=6
        )
    client = _owner_client(acme, workspace_client)
    for fields, message in (
        ({"sync_interval_hours": "1", "backfill_days": "30"}, "Starter"),
        ({"sync_interval_hours": "6", "backfill_days": "900"}, "Starter"),
    ):
        page = client.post(f"/data-sources/{conn.pk}/settings/", {"lookback_days": "3", **fields}, follow=True)
        assert page.status_code == 200
        shown = " ".join(str(m) for m in page.context["messages"])
        assert message in shown and "Plan and billing" in shown, shown
    with schema_context(acme.schema_name):
        conn.refresh_from_db()
        assert (conn.sync_interval_hours, conn.backfill_days) == (6, 30), "nothing changed"


def test_the_facts_export_api_refuses_days_before_the_plans_history(acme) -> None:
    _plan(acme, "growth")  # 37 months, with API access
    api = _api(acme)
    old = api.get("/api/v1/exports/facts.csv?date_from=2020-01-01&date_to=2020-01-31")
    assert old.status_code == 400
    assert "37 months of history" in old.content.decode()
    recent = (timezone.localdate() - timedelta(days=10)).isoformat()
    assert api.get(f"/api/v1/exports/facts.csv?date_from={recent}&date_to={recent}").status_code == 200


@pytest.mark.django_db(transaction=True)  # the cached entitlements are dropped on commit
def test_a_suspended_workspace_refuses_api_writes_and_skips_scoring(acme, make_user) -> None:
    from insights.tasks import score_workspace
    from support.services import workspace_suspend

    _plan(acme, "growth")
    api = _api(acme)
    staff = make_user("support@bosco.example", is_staff=True)
    workspace_suspend(actor=staff, workspace=acme, reason="Chargeback under review")
    assert api.post("/api/v1/connections/1/sync").status_code == 403
    result = score_workspace.apply(args=[acme.schema_name]).get()
    assert "suspended" in result["skipped"]
